"""Compile time of every catalogue form: read and check the YAML, compile the JSON Schema and
the UI schema, and make the validator ready (built and run once, which resolves references and
compiles patterns)."""

from __future__ import annotations

from functools import partial
from typing import Any

from _common import catalogue_files, per_call

from forms.compiled import _validator_class
from forms.compiler import compile_schema, compile_ui_schema
from forms.examples import example_submission
from forms.language import parse_text
from forms.model import FormDefinition


def _compile(form: FormDefinition) -> tuple[dict[str, Any], dict[str, Any]]:
    return compile_schema(form), compile_ui_schema(form)


def _ready(schema: dict[str, Any], example: dict[str, Any]) -> bool:
    return _validator_class()(schema).is_valid(example)


def main() -> None:
    print(f"{'form':58} {'fields':>6} {'parse ms':>9} {'compile ms':>11} {'ready ms':>13}")
    for path in catalogue_files():
        raw = path.read_bytes()
        form = parse_text(raw, path.name)
        schema = compile_schema(form)
        parse_s = per_call(partial(parse_text, raw, path.name))
        compile_s = per_call(partial(_compile, form))
        example = example_submission(form)
        build_s = per_call(partial(_ready, schema, example))
        fields = sum(1 for _ in form.leaves())
        print(f"{form.id:58} {fields:6d} {parse_s * 1e3:9.2f} {compile_s * 1e3:11.2f} "
              f"{build_s * 1e3:13.3f}")


if __name__ == "__main__":
    main()

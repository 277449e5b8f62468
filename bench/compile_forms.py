"""Compile time of every catalogue form: read and check the YAML, compile the JSON Schema and
the UI schema, and make the validator ready (built and run once, which resolves references and
compiles patterns)."""

from __future__ import annotations

from _common import catalogue_files, per_call

from forms.compiled import _validator_class
from forms.compiler import compile_schema, compile_ui_schema
from forms.examples import example_submission
from forms.language import parse_text


def main() -> None:
    print(f"{'form':58} {'fields':>6} {'parse ms':>9} {'compile ms':>11} {'ready ms':>13}")
    for path in catalogue_files():
        raw = path.read_bytes()
        form = parse_text(raw, path.name)
        schema = compile_schema(form)
        parse_s = per_call(lambda raw=raw, name=path.name: parse_text(raw, name))
        compile_s = per_call(lambda form=form: (compile_schema(form), compile_ui_schema(form)))
        example = example_submission(form)
        build_s = per_call(
            lambda schema=schema, example=example: _validator_class()(schema).is_valid(example))
        fields = sum(1 for _ in form.leaves())
        print(f"{form.id:58} {fields:6d} {parse_s * 1e3:9.2f} {compile_s * 1e3:11.2f} "
              f"{build_s * 1e3:13.3f}")


if __name__ == "__main__":
    main()

"""The catalogue: real official forms, transcribed with their exact labels and bound to the
registers wherever the shared field lists say the state holds the data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft7Validator, Draft202012Validator

from forms.compiled import compile_form
from forms.language import parse_text
from service.forms import CATALOGUE_DIR
from tests.conftest import SHARED_FORMS

FILES = sorted(CATALOGUE_DIR.glob("*.yaml"))
SOURCE = re.compile(r"\.\./shared/forms/([\w.-]+\.json)")


def _source(path: Path) -> dict:
    match = SOURCE.search(path.read_text())
    assert match, f"{path.name} does not name the shared field list it transcribes"
    return json.loads((SHARED_FORMS / match.group(1)).read_text())


def test_at_least_ten_official_forms() -> None:
    assert len(FILES) >= 10
    assert len({_source(p)["title"] for p in FILES}) >= 10


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_form_compiles_to_valid_schemas(path: Path) -> None:
    form = parse_text(path.read_bytes(), path.name)
    compiled = compile_form(form.id, form.version, "test", lambda: form)
    Draft202012Validator.check_schema(compiled.schema)
    Draft7Validator.check_schema(compiled.draft07)
    assert compiled.trimming_report["meets_target"], compiled.trimming_report["verdict"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_labels_are_the_official_ones(path: Path) -> None:
    form = parse_text(path.read_bytes(), path.name)
    official = {f["label"] for f in _source(path)["fields"]}
    ours = [f.label for _, f in form.leaves() if f.official] + [d.label for d in form.dropped]
    assert [label for label in ours if label not in official] == []
    assert form.legal_basis and form.title


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_field_the_registers_hold_is_bound(path: Path) -> None:
    form = parse_text(path.read_bytes(), path.name)
    bound = {f.label for _, f in form.leaves() if f.prefill}
    dropped = {d.label for d in form.dropped}
    missing = [f["label"] for f in _source(path)["fields"]
               if f["prefill_class"] == "record" and f["kind"] != "signature"
               and f["label"] not in bound | dropped]
    assert missing == []

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
from service.catalogue import CATALOGUE_DIR
from tests.conftest import OFFICIAL_FORMS, SHARED_FORMS, node_paths

FILES = sorted(CATALOGUE_DIR.glob("*.yaml"))
#: the field list a form transcribes: a file of ../shared/forms/ (copied into the fixtures), or,
#: for a form whose list exists only here, a comment
#: ``# field list: tests/fixtures/official-forms/NAME.json``
SOURCE = re.compile(r"(?:\.\./shared/forms/|^# field list: tests/fixtures/official-forms/)"
                    r"([\w.-]+\.json)", re.MULTILINE)


def _source(path: Path) -> dict:
    match = SOURCE.search(path.read_text())
    assert match, f"{path.name} does not name the shared field list it transcribes"
    return json.loads((OFFICIAL_FORMS / match.group(1)).read_text())


def test_fixture_copies_match_the_shared_folder() -> None:
    if not SHARED_FORMS.is_dir():
        pytest.skip("../shared/forms is not beside this clone; the copies are used as they are")
    shared = {p.name: p.read_bytes() for p in SHARED_FORMS.glob("*.json")}
    copies = {p.name: p.read_bytes() for p in OFFICIAL_FORMS.glob("*.json")}
    # every shared list has an identical copy; lists transcribed for this catalogue only are allowed
    assert {name: copies.get(name) for name in shared} == shared


SHARED_PATH = re.compile(r"\.\./shared/forms/([\w.-]+\.json)")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_shared_field_list_named_exists(path: Path) -> None:
    """A form names ``../shared/forms/NAME.json`` only for a list really there (a list made for
    this catalogue is named by the ``# field list:`` comment instead); the copies stand in when
    the shared folder is not beside this clone."""
    folder = SHARED_FORMS if SHARED_FORMS.is_dir() else OFFICIAL_FORMS
    missing = [name for name in SHARED_PATH.findall(path.read_text())
               if not (folder / name).is_file()]
    assert missing == [], f"{path.name} names field lists not in {folder}"


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
    # the first lists (../shared/forms/) leave out the printed commitment; a list that records
    # one (as every list transcribed for this catalogue does) has each commitment checked too
    lists_commitment = any(re.search(r"cam (đoan|kết)", label) for label in official)
    ours = [f.label for _, f in form.leaves()
            if f.official and (f.type != "commitment" or lists_commitment)]
    ours += [d.label for d in form.dropped]
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


def _set(data, pointer, value):
    node = data
    for part in pointer[:-1]:
        node = node[part]
    node[pointer[-1]] = value


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_validators_agree(path: Path) -> None:
    """The cached validator's fast paths (code lists, the province switch) give exactly the
    errors of jsonschema's own Draft 2020-12 validator, and two implementations no one here
    wrote (jsonschema-rs on the 2020-12 schema, fastjsonschema on the draft-07 rendition) give
    the same verdicts, on valid data and on every field replaced by wrong values."""
    import copy

    import fastjsonschema
    import jsonschema_rs
    from jsonschema import FormatChecker

    from forms.examples import example_submission

    form = parse_text(path.read_bytes(), path.name)
    compiled = compile_form(form.id, form.version, "agree", lambda: form)
    standard = Draft202012Validator(compiled.schema, format_checker=FormatChecker())
    rust = jsonschema_rs.Draft202012Validator(compiled.schema, validate_formats=True)
    draft07 = fastjsonschema.compile(compiled.draft07)

    def fast_ok(instance) -> bool:
        try:
            draft07(instance)
        except fastjsonschema.JsonSchemaValueException:
            return False
        return True

    data = example_submission(form)
    assert compiled.errors(data) == []
    assert standard.is_valid(data) and rust.is_valid(data) and fast_ok(data)

    def verdict(validator, instance):
        return sorted((list(map(str, e.absolute_path)), e.validator)
                      for e in validator.iter_errors(instance))

    checked = 0
    for pointer in list(node_paths(data)):
        if not pointer:
            continue
        for wrong in ("zz", "99999", 7, None, {"province": "01", "commune": "26734"}):
            mutated = copy.deepcopy(data)
            _set(mutated, pointer, wrong)
            ours = verdict(compiled.validator, mutated)
            assert ours == verdict(standard, mutated), (pointer, wrong)
            assert rust.is_valid(mutated) == (not ours), (pointer, wrong)
            assert fast_ok(mutated) == (not ours), (pointer, wrong)
            checked += bool(ours)
    assert checked > 0

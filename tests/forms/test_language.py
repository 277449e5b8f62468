"""The form language: definitions are read, checked and every problem reported at once."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from forms.language import (
    MAX_DEFINITION_BYTES,
    MAX_GROUP_DEPTH,
    DefinitionError,
    parse,
    parse_text,
)
from forms.model import Field, FormDefinition
from tests.conftest import node_paths, sample_definition


def problems_of(text: str, fmt: str = "yaml") -> list:
    with pytest.raises(DefinitionError) as info:
        parse_text(text, f"bad.{fmt}", fmt)
    return info.value.problems


def field_at(form: FormDefinition, path: tuple[str, ...]) -> Field:
    field = form.find(path)
    assert field is not None, path
    return field


def test_sample_parses_with_sections_groups_and_bindings() -> None:
    form = parse_text(sample_definition("mau-thu"), "sample.yaml")
    assert form.id == "mau-thu" and form.version == 1
    assert [s.id for s in form.sections] == ["nguoi_ke_khai", "me", "thanh_vien"]
    ho_ten = form.find(("nguoi_ke_khai", "ho_ten"))
    assert ho_ten is not None and ho_ten.prefill is not None
    assert (ho_ten.prefill.record, ho_ten.prefill.mode) == ("population.full_name", "verified")
    ngay_sinh = field_at(form, ("nguoi_ke_khai", "ngay_sinh"))
    assert ngay_sinh.prefill is not None and ngay_sinh.prefill.mode == "suggested"
    mother = form.sections[1].person
    assert mother is not None and mother.relations == ("mother",)
    so = field_at(form, ("thanh_vien", "ds", "so"))
    assert so.when is not None and so.when.field == ("thanh_vien", "ds", "co_giay_to")
    assert field_at(form, ("thanh_vien", "ds")).repeat == (0, 5)


def test_every_problem_is_listed_with_its_path() -> None:
    data = yaml.safe_load(sample_definition("mau-thu"))
    fields = data["sections"][0]["fields"]
    fields[0]["type"] = "signature"  # unknown type
    fields[1]["id"] = "gioi_tinh"  # duplicate of fields[2]
    fields[4]["when"] = {"field": "khong_co"}  # condition on a missing field
    fields[3]["prefill"] = "population.shoe_size"  # unknown record path
    data["code_lists"]["rong"] = []  # empty code list
    data["sections"][1]["fields"][0]["id"] = "Họ tên"  # not an identifier
    with pytest.raises(DefinitionError) as info:
        parse(data, "form.yaml")
    found = {(p.path, p.code) for p in info.value.problems}
    assert ("sections[0].fields[0].type", "unknown_type") in found
    assert ("sections[0].fields[2].id", "duplicate_id") in found
    assert ("sections[0].fields[4].when.field", "unknown_condition_field") in found
    assert ("sections[0].fields[3].prefill.record", "unknown_record_path") in found
    assert ("code_lists.rong", "empty_code_list") in found
    assert ("sections[1].fields[0].id", "bad_id") in found
    assert all(p.file == "form.yaml" and p.message for p in info.value.problems)


def test_binding_must_fit_the_field_type() -> None:
    data = yaml.safe_load(sample_definition("mau-thu"))
    data["sections"][0]["fields"][1]["prefill"] = "population.full_name"  # a name into a date
    data["sections"][0]["fields"][2]["prefill"] = "population.ethnicity"  # wrong code list
    with pytest.raises(DefinitionError) as info:
        parse(data)
    codes = [(p.path, p.code) for p in info.value.problems]
    assert ("sections[0].fields[1].prefill.record", "incompatible_record") in codes
    assert ("sections[0].fields[2].prefill.record", "incompatible_record") in codes


def test_group_depth_is_limited() -> None:
    field: dict = {"id": "la", "type": "text", "label": "Lá"}
    for i in range(MAX_GROUP_DEPTH + 1):
        field = {"id": f"nhom_{i}", "type": "group", "label": "Nhóm", "fields": [field]}
    data = yaml.safe_load(sample_definition("mau-thu"))
    data["sections"][0]["fields"].append(field)
    with pytest.raises(DefinitionError) as info:
        parse(data)
    assert [p.code for p in info.value.problems] == ["too_deep"]


def test_a_group_at_the_depth_limit_is_accepted() -> None:
    field: dict = {"id": "la", "type": "text", "label": "Lá"}
    for i in range(MAX_GROUP_DEPTH):
        field = {"id": f"nhom_{i}", "type": "group", "label": "Nhóm", "fields": [field]}
    data = yaml.safe_load(sample_definition("mau-thu"))
    data["sections"][0]["fields"].append(field)
    assert parse(data).find(("nguoi_ke_khai", "nhom_2", "nhom_1", "nhom_0", "la")) is not None


@pytest.mark.parametrize(
    ("text", "fmt", "code"),
    [
        ("id: [unclosed", "yaml", "malformed"),
        ('{"id": ', "json", "malformed"),
        ("- a\n- b\n", "yaml", "not_a_mapping"),
        ("a: &x [1]\nb: *x\n", "yaml", "malformed"),  # aliases are refused
        ("[" * 5000 + "]" * 5000, "json", "too_deep"),
        ("x" * (MAX_DEFINITION_BYTES + 1), "yaml", "too_large"),
    ],
)
def test_unreadable_definitions(text: str, fmt: str, code: str) -> None:
    assert [p.code for p in problems_of(text, fmt)] == [code]


def test_json_and_yaml_mean_the_same() -> None:
    data = yaml.safe_load(sample_definition("mau-thu"))
    assert parse_text(json.dumps(data), "f.json") == parse_text(sample_definition("mau-thu"),
                                                                "f.yaml")


def test_condition_values_are_checked_against_the_code_list() -> None:
    data = yaml.safe_load(sample_definition("mau-thu"))
    data["sections"][0]["fields"][4]["when"] = {"field": "loai", "equals": "hộ chiếu"}
    with pytest.raises(DefinitionError) as info:
        parse(data)
    assert [p.code for p in info.value.problems] == ["bad_condition_value"]


def test_condition_cannot_look_into_a_repeated_group_from_outside() -> None:
    data = yaml.safe_load(sample_definition("mau-thu"))
    data["sections"][0]["fields"][4]["when"] = {"field": "thanh_vien.ds.co_giay_to"}
    with pytest.raises(DefinitionError) as info:
        parse(data)
    assert [p.code for p in info.value.problems] == ["bad_condition"]


def test_unknown_keys_and_missing_metadata_are_reported() -> None:
    data = yaml.safe_load(sample_definition("mau-thu"))
    del data["legal_basis"]
    data["agency_level"] = "district"
    data["sections"][0]["fields"][0]["lable"] = "typo"
    with pytest.raises(DefinitionError) as info:
        parse(data)
    found = {(p.path, p.code) for p in info.value.problems}
    assert ("legal_basis", "missing") in found
    assert ("agency_level", "bad_agency_level") in found
    assert ("sections[0].fields[0].lable", "unknown_key") in found


def test_the_documented_example_is_a_valid_definition() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "forms.md").read_text()
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    form = parse_text(example, "docs/forms.md")
    types = {f.type for _, f in form.leaves()}
    assert types >= {"text", "date", "address", "choice", "phone", "partial_date", "boolean",
                     "personal_id", "attachment", "commitment"}
    member = field_at(form, ("thanh_vien", "thanh_vien")).person
    assert member is not None and member.relations == ("household_member",)


def test_no_definition_makes_the_checker_crash() -> None:
    """Random damage to a good definition (any YAML value at any place, extra keys) is always
    either refused with problems or accepted and compiled to a valid schema: never an
    exception a designer would see as a traceback. Seeded, so a failure can be replayed."""
    import copy
    import random

    from jsonschema import Draft202012Validator

    from forms.compiler import compile_schema, compile_ui_schema

    values: list[Any] = [None, 0, -1, 10**20, 1.5, True, "", "x", "Ồ", [], [1, 2], {},
                         {"a": 1}, [[]], [{}], {"field": 3}, "population.full_name", "khac",
                         ["khac"], {"min": 9}]
    keys = ["type", "when", "prefill", "person", "repeat", "fields", "codes", "id", "label",
            "detail", "precision", "media_types", "relation", "sex", "mode", "record"]
    base = yaml.safe_load(sample_definition("mau-thu"))
    paths = [p for p in node_paths(base) if p]
    rng = random.Random(20261126)
    accepted = refused = 0
    for _ in range(3000):
        data = copy.deepcopy(base)
        for _ in range(rng.randint(1, 3)):
            path = rng.choice(paths)
            node = data
            try:
                for key in path[:-1]:
                    node = node[key]
                if isinstance(node, dict) and rng.random() < 0.25:
                    node[rng.choice(keys)] = rng.choice(values)
                else:
                    node[path[-1]] = rng.choice(values)
            except (KeyError, IndexError, TypeError):
                continue
        try:
            form = parse(data)
        except DefinitionError as exc:
            assert exc.problems and all(p.message for p in exc.problems)
            refused += 1
            continue
        Draft202012Validator.check_schema(compile_schema(form))
        compile_ui_schema(form)
        accepted += 1
    assert accepted and refused

"""Compiled schemas: standard JSON Schema that other validators and renderers accept."""

from __future__ import annotations

import copy

import pytest
from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker

from forms.compiled import compile_form
from forms.compiler import compile_schema, compile_ui_schema, to_draft07
from forms.language import parse_text
from tests.conftest import sample_definition, valid_data

# Keywords of the 2020-12 vocabularies the compiler may use; anything else must be x-tokhai-*.
STANDARD = {
    "$schema", "$id", "$ref", "$defs", "title", "description", "type", "properties",
    "required", "additionalProperties", "items", "minItems", "maxItems", "uniqueItems",
    "minLength", "maxLength", "pattern", "format", "minimum", "maximum", "const", "enum",
    "oneOf", "anyOf", "allOf", "if", "then", "readOnly", "not", "propertyNames",
}


@pytest.fixture(scope="module")
def form():
    return parse_text(sample_definition("mau-thu"), "sample.yaml")


@pytest.fixture(scope="module")
def schema(form):
    return compile_schema(form)


def keywords(node, out: set[str]) -> set[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            out.add(key)
            if key in ("properties", "$defs"):
                for sub in value.values():
                    keywords(sub, out)
            elif not key.startswith("x-tokhai"):
                keywords(value, out)
    elif isinstance(node, list):
        for item in node:
            keywords(item, out)
    return out


def test_schema_is_valid_2020_12_with_stable_id(schema) -> None:
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "urn:tokhai:form:mau-thu:v1"
    assert schema["title"] == "Tờ khai thử nghiệm"
    assert schema["additionalProperties"] is False


def test_only_standard_keywords_and_x_tokhai_extensions(schema) -> None:
    used = keywords(schema, set())
    assert {k for k in used if not k.startswith("x-tokhai")} <= STANDARD


def test_no_ref_has_siblings(schema) -> None:
    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                assert set(node) == {"$ref"}
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)


def test_fields_compile_to_the_expected_keywords(schema) -> None:
    person = schema["properties"]["nguoi_ke_khai"]
    ho_ten = person["properties"]["ho_ten"]
    assert ho_ten["readOnly"] is True
    assert ho_ten["x-tokhai-prefill"] == {"record": "population.full_name", "mode": "verified",
                                          "source": "Cơ sở dữ liệu quốc gia về dân cư"}
    assert "readOnly" not in person["properties"]["ngay_sinh"]  # suggested stays editable
    assert person["properties"]["gioi_tinh"]["oneOf"] == [
        {"enum": ["nam"], "title": "Nam"}, {"enum": ["nu"], "title": "Nữ"}]
    # conditional: its schema and requirement only in the then, its name allowed
    assert "ghi_ro" not in person["required"] and "ghi_ro" not in person["properties"]
    assert "ghi_ro" in person["propertyNames"]["enum"]
    assert person["allOf"] == [{"if": {"properties": {"loai": {"const": "khac"}},
                                       "required": ["loai"]},
                                "then": {"properties": {"ghi_ro": {
                                    "title": "Ghi rõ loại giấy tờ", "type": "string",
                                    "maxLength": 200, "minLength": 1,
                                    "x-tokhai-when": {"field": "nguoi_ke_khai.loai",
                                                      "equals": "khac"}}},
                                         "required": ["ghi_ro"]}}]
    ds = schema["properties"]["thanh_vien"]["properties"]["ds"]
    assert ds["type"] == "array" and ds["maxItems"] == 5
    assert ds["items"]["propertyNames"] == {"enum": ["ten", "co_giay_to", "so"]}


def validate(schema, data, cls=Draft202012Validator):
    return sorted((list(e.absolute_path), e.validator)
                  for e in cls(schema, format_checker=FormatChecker()).iter_errors(data))


def test_valid_data_passes_in_both_dialects(schema) -> None:
    assert validate(schema, valid_data()) == []
    draft07 = to_draft07(schema)
    Draft7Validator.check_schema(draft07)
    assert draft07["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert "$defs" not in draft07 and "definitions" in draft07
    assert validate(draft07, valid_data(), Draft7Validator) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["nguoi_ke_khai"].update(loai="khac"), ([("nguoi_ke_khai",), "required"])),
        (lambda d: d["nguoi_ke_khai"].update(ngay_sinh="1990-02-31"),
         ([("nguoi_ke_khai", "ngay_sinh"), "format"])),
        (lambda d: d["nguoi_ke_khai"]["noi_o"].update(commune="26734"),
         ([("nguoi_ke_khai", "noi_o", "commune"), "oneOf"])),
        (lambda d: d["nguoi_ke_khai"].update(thua="x"), ([("nguoi_ke_khai",), "enum"])),
        (lambda d: d["me"].update(thua="x"), ([("me",), "additionalProperties"])),
        (lambda d: d["thanh_vien"]["ds"][0].update(co_giay_to=True),
         ([("thanh_vien", "ds", 0), "required"])),
        (lambda d: d["me"].update(nam_sinh="65"), ([("me", "nam_sinh"), "pattern"])),
        (lambda d: d["thanh_vien"].update(cam_doan=False),
         ([("thanh_vien", "cam_doan"), "const"])),
    ],
)
def test_invalid_data_fails_the_same_way_in_both_dialects(schema, change, expected) -> None:
    data = copy.deepcopy(valid_data())
    change(data)
    path, keyword = expected
    want = [(list(path), keyword)]
    assert validate(schema, data) == want
    assert validate(to_draft07(schema), data, Draft7Validator) == want


def test_ui_schema_follows_rjsf_conventions(form) -> None:
    ui = compile_ui_schema(form)
    assert ui["ui:order"] == ["nguoi_ke_khai", "me", "thanh_vien"]
    assert ui["nguoi_ke_khai"]["ui:order"][:3] == ["ho_ten", "ngay_sinh", "gioi_tinh"]
    assert ui["nguoi_ke_khai"]["ho_ten"]["ui:readonly"] is True
    assert "ui:readonly" not in ui["nguoi_ke_khai"]["ngay_sinh"]
    assert ui["nguoi_ke_khai"]["ngay_sinh"]["ui:widget"] == "date"
    assert "ui:help" in ui["nguoi_ke_khai"]["ngay_sinh"]
    assert ui["thanh_vien"]["ds"]["items"]["ui:order"] == ["ten", "co_giay_to", "so"]


def test_compiled_forms_are_cached_by_digest(form) -> None:
    loads = []

    def load():
        loads.append(1)
        return form

    first = compile_form("mau-thu", 1, "digest-a", load)
    again = compile_form("mau-thu", 1, "digest-a", load)
    changed = compile_form("mau-thu", 1, "digest-b", load)
    assert first is again and changed is not first and len(loads) == 2
    assert first.validator is first.validator
    assert first.errors(valid_data()) == []
    errors = first.errors({"nguoi_ke_khai": {}})
    assert {(e["field"], e["keyword"]) for e in errors} == {("/", "required"),
                                                           ("/nguoi_ke_khai", "required")}


def test_a_binding_chosen_by_an_answer_names_every_record_it_may_read() -> None:
    """Not only the first: a client reading the schema learns which answer reads which
    register (the birth register for a birth, the marriage register for a marriage)."""
    form = parse_text("""
id: ban-sao-trich-luc
version: 1
title: Tờ khai cấp bản sao trích lục
legal_basis: Thông tư 04/2020/TT-BTP
procedure_code: local.1
agency_level: commune
code_lists:
  su_kien: [{code: khai_sinh, label: Khai sinh}, {code: ket_hon, label: Kết hôn}]
sections:
  - id: yeu_cau
    title: Yêu cầu
    fields:
      - {id: loai, type: choice, codes: su_kien, label: Loại sự kiện}
      - id: noi_dang_ky
        type: text
        label: Nơi đăng ký
        prefill:
          by: loai
          records: {khai_sinh: civil_status.birth_registration_authority,
                    ket_hon: civil_status.marriage_registration_authority}
""", "ban-sao.yaml")
    field = compile_schema(form)["properties"]["yeu_cau"]["properties"]["noi_dang_ky"]
    doc = field["x-tokhai-prefill"]
    assert doc["by"] == "yeu_cau.loai" and doc["mode"] == "suggested" and "record" not in doc
    assert [(r["answer"], r["record"]) for r in doc["records"]] == [
        ("khai_sinh", "civil_status.birth_registration_authority"),
        ("ket_hon", "civil_status.marriage_registration_authority")]
    assert all(r["source"] == "Cơ sở dữ liệu hộ tịch điện tử" for r in doc["records"])
    ui = compile_ui_schema(form)["yeu_cau"]["noi_dang_ky"]
    assert ui["ui:help"] == "Gợi ý từ Cơ sở dữ liệu hộ tịch điện tử; có thể sửa."

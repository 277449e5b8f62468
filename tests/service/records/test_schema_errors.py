"""The schema's errors told in Vietnamese (submissions.schema_errors) for the shapes the
compiler uses so that form libraries render right: objects closed by ``propertyNames``, the
commune as the chosen province's list, places told apart by ``kind``, rules across fields,
text patterns with their message."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from forms import rules
from forms.compiled import CompiledForm
from forms.compiler import compile_schema, compile_ui_schema
from forms.language import parse_text
from service.records.submissions import schema_errors

DEFINITION = """
id: thu-loi
version: 1
title: Tờ khai thử thông báo lỗi
legal_basis: Thông tư thử nghiệm 01/2026
procedure_code: "1.000002"
agency_level: commune
code_lists:
  loai_giay_to:
    - {code: cccd, label: Thẻ căn cước}
    - {code: khac, label: Khác}
sections:
  - id: a
    title: Phần A
    fields:
      - {id: loai, type: choice, codes: loai_giay_to, label: Loại giấy tờ}
      - {id: ghi_ro, type: text, label: Ghi rõ, when: {field: loai, equals: khac}}
      - {id: noi_o, type: address, label: Nơi ở}
      - {id: noi_sinh, type: place, label: Nơi sinh}
      - {id: so_ho_chieu, type: text, label: Số hộ chiếu, required: false, pattern: passport}
      - {id: so_dinh_danh, type: personal_id, label: Số định danh cá nhân, required: false}
rules:
  - {at_least_one: [a.so_ho_chieu, a.so_dinh_danh], message: Ghi số hộ chiếu hoặc số định danh.}
  - {at_most_one: [a.so_ho_chieu, a.so_dinh_danh]}
"""

NOT_IN_PROVINCE = "không thuộc tỉnh, thành phố đã chọn"
TODAY = date(2026, 1, 15)


@pytest.fixture(scope="module")
def compiled() -> CompiledForm:
    form = parse_text(DEFINITION, "thu-loi.yaml")
    return CompiledForm(form, compile_schema(form), compile_ui_schema(form))


def valid() -> dict[str, Any]:
    return {"a": {"loai": "cccd", "noi_o": {"province": "01", "commune": "00004"},
                  "noi_sinh": {"kind": "former", "text": "Xã Tân Lập, tỉnh Hà Tây"},
                  "so_dinh_danh": "001090012345"}}


def errors(compiled: CompiledForm, data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in schema_errors(compiled, data)]


def test_valid_data_has_no_error(compiled: CompiledForm) -> None:
    assert errors(compiled, valid()) == []


def test_an_unknown_key_of_an_object_closed_by_property_names(compiled: CompiledForm) -> None:
    """Section a holds a conditional field, so it is closed by propertyNames: the unknown key
    is named, not the section."""
    assert "propertyNames" in compiled.schema["properties"]["a"]
    data = valid()
    data["a"]["thua"] = 1
    data["a"]["a/b"] = 2
    found = schema_errors(compiled, data)
    assert [(e["field"], e["code"]) for e in found] == [
        ("/a/a~1b", "unknown_field"), ("/a/thua", "unknown_field")]
    assert found[1]["message"] == "Trường 'thua' không có trên tờ khai."
    assert found[1]["message_en"] == "'thua' is not on the form."


def test_a_key_of_another_kind_of_place(compiled: CompiledForm) -> None:
    data = valid()
    data["a"]["noi_sinh"]["province"] = "01"
    assert errors(compiled, data) == [("/a/noi_sinh/province", "unknown_field")]
    data["a"]["noi_sinh"]["moon"] = "x"
    assert errors(compiled, data) == [("/a/noi_sinh/moon", "unknown_field"),
                                      ("/a/noi_sinh/province", "unknown_field")]


@pytest.mark.parametrize("where", ["noi_o", "noi_sinh"])
def test_a_commune_of_another_province(compiled: CompiledForm, where: str) -> None:
    data = valid()
    data["a"][where] = {"province": "79", "commune": "00004"}
    if where == "noi_sinh":
        data["a"][where]["kind"] = "current"
    found = schema_errors(compiled, data)
    assert [(e["field"], e["code"]) for e in found] == [(f"/a/{where}/commune", "not_in_list")]
    assert found[0]["message"] == ("'Xã, phường, đặc khu' không có trong danh mục (xã, phường "
                                   "không thuộc tỉnh, thành phố đã chọn).")
    assert NOT_IN_PROVINCE in found[0]["message"]


def test_a_place_without_its_kind_or_with_an_unknown_one(compiled: CompiledForm) -> None:
    data = valid()
    del data["a"]["noi_sinh"]["kind"]
    assert errors(compiled, data) == [("/a/noi_sinh/kind", "required")]
    data["a"]["noi_sinh"]["kind"] = "moon"
    found = schema_errors(compiled, data)
    assert [(e["field"], e["code"]) for e in found] == [("/a/noi_sinh/kind", "not_in_list")]
    assert found[0]["message"] == "'Loại nơi chốn' không có trong danh mục."


def test_a_place_abroad_needs_a_country_other_than_viet_nam(compiled: CompiledForm) -> None:
    data = valid()
    data["a"]["noi_sinh"] = {"kind": "abroad"}
    assert errors(compiled, data) == [("/a/noi_sinh/country", "required")]
    data["a"]["noi_sinh"]["country"] = "VN"
    found = schema_errors(compiled, data)
    assert [(e["field"], e["code"]) for e in found] == [("/a/noi_sinh/country", "not_in_list")]
    assert NOT_IN_PROVINCE not in found[0]["message"]


def test_a_rule_across_fields_is_left_to_the_rule_check(compiled: CompiledForm) -> None:
    """The schema says the rules it can (forms.rules fragments in the section's allOf), but
    their errors are the rule check's, which names the fields: no vague second error on the
    section."""
    data = valid()
    del data["a"]["so_dinh_danh"]
    assert [e["code"] for e in rules.rule_errors(compiled.definition, data, TODAY)] == [
        "at_least_one"]
    assert [e.validator for e in compiled.validator.iter_errors(data)] == ["not"]
    assert schema_errors(compiled, data) == []
    data["a"].update(so_dinh_danh="001090012345", so_ho_chieu="C1234567")
    assert [e["code"] for e in rules.rule_errors(compiled.definition, data, TODAY)] == [
        "at_most_one"]
    assert [e.validator for e in compiled.validator.iter_errors(data)] == ["not"]
    assert schema_errors(compiled, data) == []


def test_a_text_pattern_error_says_the_fields_message(compiled: CompiledForm) -> None:
    data = valid()
    data["a"]["so_ho_chieu"] = "c123"
    del data["a"]["so_dinh_danh"]
    [found] = schema_errors(compiled, data)
    field = compiled.definition.find(("a", "so_ho_chieu"))
    assert field is not None and field.pattern_message
    assert (found["field"], found["code"], found["message"]) == (
        "/a/so_ho_chieu", "bad_format", field.pattern_message)

"""Compiled schemas in the shapes react-jsonschema-form renders right with its default settings
(tests/forms/test_rjsf.py renders them), with the same verdicts in Draft 2020-12 and draft-07."""

from __future__ import annotations

import dataclasses

import pytest
from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker

from forms.compiler import compile_schema, to_draft07
from forms.language import parse_text
from forms.model import Condition, FormDefinition, Rule

DEFINITION = """
id: rjsf-thu
version: 1
title: Tờ khai thử hiển thị
legal_basis: Thông tư thử nghiệm 01/2026
procedure_code: "1.000001"
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
      - {id: ghi_chu, type: text, label: Ghi chú, required: false,
         when: {field: loai, equals: khac}}
      - {id: co_con, type: boolean, label: Có con}
      - {id: nam_sinh, type: partial_date, label: Năm hoặc ngày sinh}
      - {id: noi_o, type: address, label: Nơi ở}
      - {id: giay_to, type: attachment, label: Giấy tờ, media_types: [application/pdf]}
      - {id: giay_khac, type: attachment, label: Giấy khác, required: false,
         media_types: [image/png]}
      - {id: noi_sinh, type: place, label: Nơi sinh}
  - id: b
    title: Phần B
    fields:
      - {id: so_con, type: integer, label: Số con, minimum: 1,
         when: {field: a.co_con, equals: true}}
      - id: ds
        type: group
        label: Các con
        repeat: {max: 3}
        required: false
        fields:
          - {id: ten, type: text, label: Tên}
          - {id: co_giay_to, type: boolean, label: Có giấy tờ}
          - {id: so, type: personal_id, label: Số định danh, when: co_giay_to}
      - {id: cam_doan, type: commitment, label: Tôi cam đoan.}
"""


@pytest.fixture(scope="module")
def form() -> FormDefinition:
    return parse_text(DEFINITION, "rjsf-thu.yaml")


def valid() -> dict:
    return {
        "a": {"loai": "cccd", "co_con": False, "nam_sinh": "1990-05",
              "noi_o": {"province": "01", "commune": "00004"},
              "giay_to": [{"document_id": "TL-1", "media_type": "application/pdf"}],
              "noi_sinh": {"kind": "current", "province": "01", "commune": "00004"}},
        "b": {"ds": [{"ten": "An", "co_giay_to": False}], "cam_doan": True},
    }


def verdicts(schema: dict, data: dict) -> list[tuple[list, str]]:
    """The errors of both dialects, which must be the same."""
    out = []
    for s, cls in ((schema, Draft202012Validator), (to_draft07(schema), Draft7Validator)):
        cls.check_schema(s)
        out.append(sorted((list(e.absolute_path), str(e.validator))
                          for e in cls(s, format_checker=FormatChecker()).iter_errors(data)))
    assert out[0] == out[1]
    return out[0]


def test_valid_data_passes(form) -> None:
    assert verdicts(compile_schema(form), valid()) == []


def test_an_optional_conditional_field_is_not_required_when_shown(form) -> None:
    data = valid()
    data["a"].update(loai="khac", ghi_ro="Giấy phép lái xe")  # ghi_chu (required: false) absent
    assert verdicts(compile_schema(form), data) == []
    del data["a"]["ghi_ro"]  # ghi_ro (required by default) is
    assert verdicts(compile_schema(form), data) == [(["a"], "required")]


def test_rules_go_into_the_scope_objects_and_the_root(form) -> None:
    """forms.rules' fragments join the allOf of their object (an anyOf as a doubly negated
    assertion, which renderers leave alone) and its description is the root's
    x-tokhai-rules; the verdicts are the rule's."""
    ruled = dataclasses.replace(form, rules=(
        Rule("at_least_one", (("b", "so_con"), ("b", "ds"))),))
    schema = compile_schema(ruled)
    assert [r["kind"] for r in schema["x-tokhai-rules"]] == ["at_least_one"]
    wrapped = schema["properties"]["b"]["allOf"][-1]
    assert set(wrapped) == {"not"} and set(wrapped["not"]) == {"not"}
    data = valid()
    del data["b"]["ds"]
    assert verdicts(schema, data) == [(["b"], "not")]
    assert verdicts(compile_schema(form), data) == []


def test_composite_conditions_compile(form) -> None:
    """any/not/empty in the if: ghi_ro is asked when loai is khac or when nam_sinh is empty
    and co_con is not true."""
    ghi_ro = form.find(("a", "ghi_ro"))
    when = Condition(any_of=(
        Condition(field=("a", "loai"), equals="khac"),
        Condition(all_of=(Condition(field=("a", "nam_sinh"), empty=True),
                          Condition(negate=Condition(field=("a", "co_con")))))))
    section = form.sections[0]
    fields = tuple(dataclasses.replace(f, when=when) if f is ghi_ro else f
                   for f in section.fields)
    composite = dataclasses.replace(
        form, sections=(dataclasses.replace(section, fields=fields), *form.sections[1:]))
    schema = compile_schema(composite)
    verdicts(schema, valid())  # the dialects agree

    def asks(data: dict) -> bool:
        return any("'ghi_ro' is a required property" in e.message
                   for e in Draft202012Validator(schema).iter_errors(data))

    data = valid()
    assert not asks(data)
    del data["a"]["nam_sinh"]  # empty, and co_con false: asked
    assert asks(data)
    data["a"]["co_con"] = True  # not (co_con): no longer holds
    assert not asks(data)
    data["a"]["loai"] = "khac"
    assert asks(data)
    assert schema["properties"]["a"]["allOf"][0]["then"]["properties"]["ghi_ro"][
        "x-tokhai-when"]["any"][1] == {"all": [{"field": "a.nam_sinh", "empty": True},
                                             {"not": {"field": "a.co_con"}}]}

"""The new types compile to standard JSON Schema that validators no one here wrote apply the
same way: valid and invalid values of each."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import fastjsonschema
import jsonschema_rs
import pytest
from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker

from forms.compiler import compile_schema, to_draft07
from tests.forms.test_language_constructs import constructs

FORM = constructs()
SCHEMA = compile_schema(FORM)
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=FormatChecker())
DRAFT07 = Draft7Validator(to_draft07(SCHEMA), format_checker=FormatChecker())


def field_schema(*path: str) -> dict[str, Any]:
    """The field's schema with the root's $defs, wherever the compiler put it."""
    node: Any = SCHEMA
    for part in path:
        node = _property(node, part)
    return {"$defs": SCHEMA.get("$defs", {}), **node}


def _property(node: dict[str, Any], name: str) -> dict[str, Any]:
    if name in node.get("properties", {}):
        return node["properties"][name]
    for key in ("allOf", "oneOf", "anyOf"):
        for sub in node.get(key, []):
            for branch in (sub, sub.get("then", {})):
                if name in branch.get("properties", {}):
                    return branch["properties"][name]
    raise KeyError(name)


@cache
def validators(path: tuple[str, ...]) -> tuple[Callable[[Any], bool], ...]:
    """python-jsonschema on the 2020-12 schema and on the draft-07 rendition, jsonschema-rs on
    2020-12, fastjsonschema on draft-07: each a verdict function."""
    schema = {"$schema": SCHEMA["$schema"], **field_schema(*path)}
    seven = to_draft07(schema)
    fast = fastjsonschema.compile(seven)

    def fast_ok(value: Any) -> bool:
        try:
            fast(value)
        except fastjsonschema.JsonSchemaValueException:
            return False
        return True

    return (Draft202012Validator(schema, format_checker=FormatChecker()).is_valid,
            Draft7Validator(seven, format_checker=FormatChecker()).is_valid,
            jsonschema_rs.Draft202012Validator(schema, validate_formats=True).is_valid,
            fast_ok)


def valid(path: tuple[str, ...], value: Any) -> bool:
    """The verdict of python-jsonschema on the 2020-12 schema, which the draft-07 rendition
    (python-jsonschema and fastjsonschema) and jsonschema-rs on 2020-12 must share."""
    standard, *others = validators(path)
    ok = standard(value)
    assert [other(value) for other in others] == [ok] * len(others), value
    return ok


def test_the_schema_is_valid_in_both_dialects() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    Draft7Validator.check_schema(to_draft07(SCHEMA))


@pytest.mark.parametrize(("value", "ok"), [
    ("08:30", True), ("23:59", True), ("00:00:59", True), ("24:00", False), ("8:30", False),
    ("08:60", False), ("08:30:60", False), ("08h30", False), (830, False),
])
def test_time(value: Any, ok: bool) -> None:
    assert valid(("nguoi_khai", "gio"), value) == ok


@pytest.mark.parametrize(("value", "ok"), [
    ("2024-05-01T08:30", True), ("2024-02-29T23:59:59", True), ("2023-02-29T08:00", False),
    ("2024-04-31T08:00", False), ("2024-05-01 08:30", False), ("2024-05-01T08:30+07:00", False),
    ("2024-05-01", False), ("1900-02-29T00:00", False), ("2000-02-29T00:00", True),
])
def test_date_time_is_a_calendar_date_and_a_time_without_offset(value: Any, ok: bool) -> None:
    assert valid(("nguoi_khai", "thoi_diem"), value) == ok


@pytest.mark.parametrize(("value", "ok"), [
    ("001090012345", True), ("123456789", True), ("1234567890", False), ("00109001234A", False),
])
def test_personal_id_with_old_id_card(value: str, ok: bool) -> None:
    assert valid(("nguoi_khai", "so_dinh_danh"), value) == ok
    assert valid(("nguoi_duoc_khai", "so_dinh_danh"), value) == (len(value) == 12 and ok)


@pytest.mark.parametrize(("value", "ok"), [
    ({"type": "ho_chieu", "number": "C1234567"}, True),
    ({"type": "ho_chieu", "number": "c1234567"}, False),
    ({"type": "ho_chieu", "number": "C123456"}, False),
    ({"type": "cmnd", "number": "123456789"}, True),
    ({"type": "cmnd", "number": "001090012345"}, False),
    ({"type": "the_can_cuoc", "number": "001090012345"}, True),
    ({"type": "dinh_danh", "number": "123456789"}, False),
    ({"type": "khac", "number": "AB-12/2020"}, True),
    ({"type": "khac", "number": "AB 12"}, False),
    ({"type": "khac", "number": "x" * 31}, False),
    ({"type": "the_xanh", "number": "1"}, False),
    ({"type": "ho_chieu"}, False),
    ({"type": "ho_chieu", "number": "C1234567", "extra": 1}, False),
])
def test_id_document_number_depends_on_the_type(value: Any, ok: bool) -> None:
    assert valid(("nguoi_khai", "giay_to"), value) == ok


#: values of a place offering every kind (nguoi_khai.noi_sinh), and whether they are valid
PLACES: list[tuple[Any, bool]] = [
    ({"kind": "current", "province": "01", "commune": "00004"}, True),
    ({"kind": "current", "province": "01", "commune": "00004", "detail": "Số 1"}, True),
    ({"kind": "current", "province": "79", "commune": "00004"}, False),  # not in the province
    ({"kind": "current", "province": "01"}, False),
    ({"kind": "current", "province": "01", "commune": "00004", "text": "Hà Tây"}, False),
    ({"kind": "current", "province": "01", "commune": "00004", "country": "FR"}, False),
    ({"province": "01", "commune": "00004"}, False),  # no kind
    ({}, False),
    ({"kind": "abroad", "country": "FR", "detail": "Paris"}, True),
    ({"kind": "abroad", "country": "FR"}, True),
    ({"kind": "abroad", "country": "VN"}, False),
    ({"kind": "abroad", "country": "XX"}, False),
    ({"kind": "abroad"}, False),
    ({"kind": "abroad", "country": "FR", "text": "Paris"}, False),
    ({"kind": "abroad", "country": "FR", "province": "01"}, False),
    ({"kind": "abroad", "country": "FR", "detail": "x" * 201}, False),
    ({"kind": "former", "text": "Xã Tân Lập, huyện Đan Phượng, tỉnh Hà Tây"}, True),
    ({"kind": "former", "text": ""}, False),
    ({"kind": "former"}, False),
    ({"kind": "former", "text": "x" * 201}, False),
    ({"kind": "former", "text": "Hà Tây", "province": "01"}, False),
    ({"kind": "former", "text": "Hà Tây", "detail": "Số 1"}, False),
    ({"kind": "former", "text": "Hà Tây", "moon": 1}, False),
    ({"kind": "moon"}, False),
    ({"kind": "moon", "text": "Hà Tây"}, False),
    ({"kind": None, "text": "Hà Tây"}, False),
    ("Hà Tây", False),
]


@pytest.mark.parametrize(("value", "ok"), PLACES)
def test_place(value: Any, ok: bool) -> None:
    assert valid(("nguoi_khai", "noi_sinh"), value) == ok


def test_place_offers_only_its_kinds() -> None:
    assert valid(("nguoi_khai", "noi_cu"), {"kind": "former", "text": "Hà Tây"})
    assert valid(("nguoi_khai", "noi_cu"), {"kind": "abroad", "country": "LA"})
    assert not valid(("nguoi_khai", "noi_cu"),
                     {"kind": "current", "province": "01", "commune": "00004"})
    assert not valid(("nguoi_khai", "noi_cu"), {"kind": "former", "text": "Hà Tây",
                                                "province": "01"})


def test_a_place_is_a_kind_to_choose_then_the_kinds_fields() -> None:
    """No kind is chosen by a renderer's defaults: kind's options are {enum: [kind], title}
    (never const); each kind's fields sit in the then of an if on kind, closed to that
    kind's keys (propertyNames); the object is closed to every kind's keys."""
    place = field_schema("nguoi_khai", "noi_cu")
    assert place["required"] == ["kind"] and set(place["properties"]) == {"kind"}
    assert place["properties"]["kind"]["oneOf"] == [
        {"enum": ["former"], "title": "Tên đơn vị hành chính cũ"},
        {"enum": ["abroad"], "title": "Nước ngoài"}]
    assert place["propertyNames"] == {"enum": ["kind", "text", "country", "detail"]}
    assert "oneOf" not in place and "additionalProperties" not in place
    ifs = [(branch["if"], branch["then"]["propertyNames"]) for branch in place["allOf"]]
    assert ifs == [
        ({"properties": {"kind": {"const": "former"}}, "required": ["kind"]},
         {"enum": ["kind", "text"]}),
        ({"properties": {"kind": {"const": "abroad"}}, "required": ["kind"]},
         {"enum": ["kind", "country", "detail"]})]

    def consts(node: Any) -> list[Any]:
        if isinstance(node, dict):
            return [c for k, v in node.items() if k != "if" for c in consts(v)] + (
                [node["const"]] if "const" in node else [])
        return [c for v in node for c in consts(v)] if isinstance(node, list) else []

    assert consts(field_schema("nguoi_khai", "noi_sinh")) == []  # outside an if


@pytest.mark.parametrize(("path", "value", "ok"), [
    (("nguoi_khai", "so_ho_chieu"), "C1234567", True),
    (("nguoi_khai", "so_ho_chieu"), "C12345678", False),
    (("nguoi_khai", "so_ho_chieu"), "xC1234567", False),
    (("nguoi_khai", "so_quyen"), "01/2024", True),
    (("nguoi_khai", "so_quyen"), "01/2024/x", False),
    (("nguoi_khai", "so_quyen"), "a01/2024", False),
])
def test_text_patterns_match_the_whole_value(path: tuple[str, ...], value: str,
                                             ok: bool) -> None:
    assert valid(path, value) == ok


def test_text_pattern_carries_its_message() -> None:
    assert field_schema("nguoi_khai", "so_quyen")["x-tokhai-message"] == (
        "Quyển số viết như 01/2024.")


def test_computed_text_is_read_only_and_not_required() -> None:
    schema = field_schema("nguoi_khai", "cam_doan_nhan")
    assert schema["type"] == "string" and schema["readOnly"] is True
    assert "cam_doan_nhan" not in SCHEMA["properties"]["nguoi_khai"].get("required", [])

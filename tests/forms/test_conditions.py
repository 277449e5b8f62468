"""Conditions on form data: composite conditions, repeated groups, hidden means absent."""

from __future__ import annotations

from typing import Any

from forms.conditions import concrete, drop_hidden, holds, instances, shown
from forms.model import Condition
from tests.forms.test_language_constructs import constructs

A = ("s", "a")
B = ("s", "b")


def test_simple_and_empty_conditions() -> None:
    data: dict[str, Any] = {"s": {"a": "x", "b": False}}
    assert holds(Condition(A), data, ("s", "c"))
    assert not holds(Condition(A, empty=True), data, ("s", "c"))
    assert holds(Condition(B, empty=True), data, ("s", "c"))  # "no" is no answer
    assert holds(Condition(("s", "missing"), empty=True), data, ("s", "c"))
    assert holds(Condition(A, equals="x"), data, ("s", "c"))
    assert not holds(Condition(B, equals=0), data, ("s", "c"))  # False is not 0
    assert holds(Condition(A, one_of=("y", "x")), data, ("s", "c"))
    assert holds(Condition(("s", "e"), empty=True), {"s": {"e": ""}}, ("s", "c"))


def test_composite_conditions() -> None:
    data = {"s": {"a": "x"}}
    yes, no = Condition(A), Condition(B)
    assert holds(Condition(all_of=(yes, Condition(B, empty=True))), data, ("s", "c"))
    assert not holds(Condition(all_of=(yes, no)), data, ("s", "c"))
    assert holds(Condition(any_of=(no, yes)), data, ("s", "c"))
    assert not holds(Condition(any_of=(no, no)), data, ("s", "c"))
    assert holds(Condition(negate=no), data, ("s", "c"))
    assert not holds(Condition(negate=Condition(negate=no)), data, ("s", "c"))


def test_conditions_inside_repeated_items_read_their_own_item() -> None:
    data = {"s": {"g": [{"a": "x"}, {}]}}
    cond = Condition(("s", "g", "a"))
    assert holds(cond, data, ("s", "g", "0", "b"))
    assert not holds(cond, data, ("s", "g", "1", "b"))
    assert concrete(("s", "g", "a"), ("s", "g", "1", "b")) == ("s", "g", "1", "a")
    assert concrete(("t", "x"), ("s", "g", "1", "b")) == ("t", "x")


def answers(**first: Any) -> dict[str, Any]:
    return {"nguoi_khai": {"ho_ten": "Nguyễn Văn An", **first},
            "con": {"ds": [{"ho_ten": "Bình", "ngay_sinh": "2010-01-02"}]}}


def test_drop_hidden_removes_values_of_fields_whose_condition_fails() -> None:
    form = constructs()
    data = answers(so_dinh_danh="001090012345", giay_to={"type": "ho_chieu", "number": "C1"},
                   su_kien="khai_sinh", quan_he="cha", ly_do="stale")
    drop_hidden(form, data)
    # an ID number is given, so the other document is hidden; ly_do needs ket_hon, or a
    # parent without an ID number
    assert "giay_to" not in data["nguoi_khai"] and "ly_do" not in data["nguoi_khai"]
    data = answers(giay_to={"type": "ho_chieu", "number": "C1"}, su_kien="khai_sinh",
                   quan_he="me", ly_do="kept")
    drop_hidden(form, data)
    assert data["nguoi_khai"]["giay_to"] and data["nguoi_khai"]["ly_do"] == "kept"


CHAIN = """
id: chuoi-dieu-kien
version: 1
title: Chuỗi điều kiện
legal_basis: Thử
procedure_code: "1.000003"
agency_level: commune
sections:
  - id: s
    title: Phần
    fields:
      - {id: x, type: boolean, label: Có x}
      - {id: a, type: text, label: A, when: x}
      - {id: b, type: text, label: B, when: {field: a, equals: "có"}}
      - {id: c, type: text, label: C, when: {not: {field: b}}}
"""


def test_drop_hidden_reaches_a_fixed_point() -> None:
    from forms.language import parse_text

    form = parse_text(CHAIN, "chain.yaml")
    data = {"s": {"x": False, "a": "có", "b": "y", "c": "z"}}
    drop_hidden(form, data)
    # a is hidden (x is no), so b (a is "có") is hidden next, and then c shows
    assert data == {"s": {"x": False, "c": "z"}}
    assert shown(form, {"s": {"x": True, "a": "có", "b": "y"}}) == {
        ("s", "x"), ("s", "a"), ("s", "b")}


def test_shown_lists_concrete_leaves_for_the_answers() -> None:
    form = constructs()
    seen = shown(form, answers(so_dinh_danh="001090012345", su_kien="ket_hon"))
    assert ("nguoi_khai", "ly_do") in seen  # ket_hon
    assert ("nguoi_khai", "giay_to") not in seen  # an ID number is given
    assert ("con", "ds", "0", "ho_ten") in seen and ("con", "ds", "1", "ho_ten") not in seen
    seen = shown(form, answers(su_kien="khai_sinh", quan_he="con"))
    assert ("nguoi_khai", "giay_to") in seen and ("nguoi_khai", "ly_do") not in seen


def test_shown_does_not_change_the_data() -> None:
    form = constructs()
    data = answers(so_dinh_danh="001090012345", giay_to={"type": "cmnd", "number": "1"})
    shown(form, data)
    assert "giay_to" in data["nguoi_khai"]


def test_instances_follow_every_repeated_item() -> None:
    form = constructs()
    data = {"con": {"ds": [{"a": 1}, {"a": 2}, "not an object"]}}
    assert [t for t, _ in instances(form, data, ("con", "ds"))] == [
        ("con", "ds", "0"), ("con", "ds", "1")]
    assert [t for t, _ in instances(form, data, ())] == [()]
    assert list(instances(form, {}, ("con", "ds"))) == []

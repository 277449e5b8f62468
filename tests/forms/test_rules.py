"""Rules across fields, computed text, and the rules' JSON Schema."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from forms.rules import compile_rules, display, fill_computed, render, rule_errors, rules_doc
from tests.forms.test_language_constructs import constructs

TODAY = date(2026, 3, 15)
FORM = constructs()


def data(**first: Any) -> dict[str, Any]:
    return {"nguoi_khai": {"so_dinh_danh": "001090012345", "dien_thoai": "0912345678",
                           **first},
            "con": {"ds": []}}


def errors(d: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in rule_errors(FORM, d, TODAY)]


def test_valid_answers_break_no_rule() -> None:
    assert errors(data(tu_ngay="2020-01-01", den_ngay="2020-01-01",
                       ngay_su_kien="2026-03-15")) == []


def test_at_least_one() -> None:
    d = data()
    del d["nguoi_khai"]["so_dinh_danh"]
    assert errors(d) == [("/nguoi_khai/so_ho_chieu", "at_least_one")]
    (item,) = rule_errors(FORM, d, TODAY)
    assert item["message"] == ("Cần điền ít nhất một trong các mục: “Số hộ chiếu”, "
                               "“Số định danh cá nhân/CMND”.")
    assert item["message_en"].startswith("Fill in at least one of: “Số hộ chiếu”")
    d["nguoi_khai"]["so_ho_chieu"] = ""  # an empty text is no answer
    assert errors(d) == [("/nguoi_khai/so_ho_chieu", "at_least_one")]


def test_exactly_one() -> None:
    assert errors(data(thu_dien_tu="a@b.vn")) == [("/nguoi_khai/thu_dien_tu", "exactly_one")]
    d = data()
    del d["nguoi_khai"]["dien_thoai"]
    assert errors(d) == [("/nguoi_khai/dien_thoai", "exactly_one")]


def test_not_after_with_the_designers_message() -> None:
    (item,) = rule_errors(FORM, data(tu_ngay="2020-02-01", den_ngay="2020-01-31"), TODAY)
    assert (item["field"], item["code"]) == ("/nguoi_khai/den_ngay", "not_after")
    assert item["message"] == "Từ ngày phải trước đến ngày."
    assert item["message_en"] == "“Từ ngày” must not be after “Đến ngày”."
    assert errors(data(tu_ngay="2020-02-01")) == []  # compared only when both are given


def test_not_future_is_today_in_vietnam() -> None:
    assert errors(data(ngay_su_kien="2026-03-16")) == [("/nguoi_khai/ngay_su_kien",
                                                         "not_future")]
    (item,) = rule_errors(FORM, data(ngay_su_kien="2026-03-16"), TODAY)
    assert item["message"] == "“Ngày xảy ra sự kiện” không được là ngày trong tương lai."
    assert errors(data(ngay_su_kien="2026-03-15")) == []


def test_rules_inside_repeated_groups_are_checked_per_item() -> None:
    d = data()
    d["con"]["ds"] = [
        {"ho_ten": "A", "ngay_sinh": "2010-01-01", "ngay_mat": "2009-12-31"},
        {"ho_ten": "B", "ngay_sinh": "2010-01-01", "ngay_mat": "2011-01-01"},
        {"ho_ten": "C", "ngay_sinh": "2012-01-01", "so_dinh_danh": "001212000001",
         "ghi_chu": "x"},
    ]
    assert errors(d) == [("/con/ds/2/ghi_chu", "at_most_one"), ("/con/ds/0/ngay_mat", "not_after")]
    (first, second) = rule_errors(FORM, d, TODAY)
    assert "“Số định danh của con”" in first["message"]
    assert second["message"] == "“Ngày sinh của con” không được sau “Ngày mất”."


@pytest.mark.parametrize(
    ("a", "b", "broken"),
    [("2020", "2020-05-01", False), ("2021", "2020-05-01", True),
     ("2020-05-01T10:00", "2020-05-01", False), ("2020-05-02T00:00", "2020-05-01", True),
     ("10:00:30", "10:00", False), ("10:01", "10:00:59", True)],
)
def test_order_at_the_precision_both_have(a: str, b: str, broken: bool) -> None:
    from forms.model import Rule
    from forms.rules import _broken

    rule = Rule("not_after", (("s", "a"), ("s", "b")))
    assert (_broken(rule, [], [a, b], TODAY) is not None) == broken
    assert (_broken(Rule("not_after", ()), [], [3, 2], TODAY) is not None)


def test_fill_computed_writes_templates_over_what_was_sent() -> None:
    d = data(danh_xung="ba", ho_ten="Trần Thị Bình", quan_he="me", gio="07:05",
             tu_ngay="2020-01-31", cam_doan_nhan="anything sent")
    d["con"]["ds"] = [{"ho_ten": "An", "loi_khai": "x"}, {"ho_ten": "Bảo"}]
    fill_computed(FORM, d)
    assert d["nguoi_khai"]["cam_doan_nhan"] == (
        "Tôi cam đoan việc nhận Mẹ (Bà Trần Thị Bình, sinh lúc 07:05 ngày 31/01/2020) là "
        "đúng sự thật.")
    assert [i["loi_khai"] for i in d["con"]["ds"]] == ["Con An của Trần Thị Bình",
                                                       "Con Bảo của Trần Thị Bình"]


def test_a_missing_answer_is_the_printed_blank() -> None:
    commitment = FORM.find(("nguoi_khai", "cam_doan"))
    assert commitment is not None
    assert render(FORM, commitment, {}, ("nguoi_khai", "cam_doan")) == (
        "Tôi cam đoan việc nhận … là đúng sự thật.")


def test_display_of_each_kind_of_answer() -> None:
    def show(path: tuple[str, ...], value: Any) -> str:
        f = FORM.find(path)
        assert f is not None
        return display(FORM, f, value)

    assert show(("nguoi_khai", "thoi_diem"), "2024-05-01T08:30") == "08:30 ngày 01/05/2024"
    assert show(("nguoi_khai", "giay_to"), {"type": "ho_chieu", "number": "C1234567"}) == (
        "Hộ chiếu số C1234567")
    assert show(("nguoi_khai", "noi_sinh"), {"kind": "former", "text": "Xã Tân Lập"}) == (
        "Xã Tân Lập")
    assert show(("nguoi_khai", "noi_sinh"), {"kind": "abroad", "country": "FR",
                                            "detail": "Paris"}) == "Paris, Pháp"
    assert show(("nguoi_khai", "noi_sinh"), {"kind": "current", "province": "01",
                                            "commune": "00004"}).endswith("Thành phố Hà Nội")
    assert show(("nguoi_khai", "quan_he"), "ban_than") == "Bản thân"
    assert show(("nguoi_khai", "ho_ten"), None) == "…"


def test_compiled_rules_mean_the_same_as_the_server() -> None:
    fragments = compile_rules(FORM)
    assert set(fragments) == {("nguoi_khai",), ("con", "ds")}
    section = {"allOf": fragments[("nguoi_khai",)]}
    item = {"allOf": fragments[("con", "ds")]}
    ok = data()["nguoi_khai"]
    assert Draft202012Validator(section).is_valid(ok)
    assert not Draft202012Validator(section).is_valid({"dien_thoai": "0912345678"})
    assert not Draft202012Validator(section).is_valid({**ok, "thu_dien_tu": "a@b.vn"})
    assert not Draft202012Validator(section).is_valid({"so_dinh_danh": "001090012345"})
    assert not Draft202012Validator(section).is_valid({**ok, "so_dinh_danh": ""})
    assert Draft202012Validator(item).is_valid({"ghi_chu": "x"})
    assert Draft202012Validator(item).is_valid({})
    assert not Draft202012Validator(item).is_valid({"ghi_chu": "x", "so_dinh_danh": "1"})
    for fragment in fragments[("nguoi_khai",)]:
        assert fragment["x-tokhai-message"]


def test_rules_doc_lists_every_rule() -> None:
    doc = rules_doc(FORM)
    assert [r["kind"] for r in doc] == [r.kind for r in FORM.rules]
    assert doc[2] == {"kind": "not_future", "fields": ["nguoi_khai.ngay_su_kien"],
                      "message": "“Ngày xảy ra sự kiện” không được là ngày trong tương lai.",
                      "message_en": "“Ngày xảy ra sự kiện” must not be in the future.",
                      "in_schema": False}
    assert doc[0]["in_schema"] and not doc[1]["in_schema"]

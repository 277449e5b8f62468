"""The example submission fills the second edition's types and keeps to the form's rules."""

from __future__ import annotations

import re
from datetime import date

import pytest

from forms.examples import example_submission, matching
from forms.language import parse
from forms.rules import rule_errors


@pytest.mark.parametrize("pattern", [
    "[A-Z][0-9]{7}", "^[0-9]{12}$", "(AB|C)?[a-z]+-[0-9]{2}", "[^0-9]{2} [a-z]", "x{0,3}y",
])
def test_matching_text_is_matched_whole(pattern: str) -> None:
    assert re.fullmatch(pattern.strip("^$"), matching(pattern))


def test_examples_fill_new_types_and_keep_at_most_one_field_of_a_rule() -> None:
    form = parse({
        "id": "vi-du", "version": 1, "title": "Tờ khai", "legal_basis": "Thông tư",
        "procedure_code": "local.1", "agency_level": "commune",
        "rules": [{"exactly_one": ["a.so_ho_chieu", "a.so_dinh_danh"]}],
        "sections": [{"id": "a", "title": "A", "fields": [
            {"id": "luc", "type": "time", "label": "Lúc"},
            {"id": "ngay_gio", "type": "date_time", "label": "Ngày giờ"},
            {"id": "giay_to", "type": "id_document", "label": "Giấy tờ"},
            {"id": "noi", "type": "place", "label": "Nơi", "places": ["former"]},
            {"id": "so_ho_chieu", "type": "text", "label": "Số hộ chiếu", "required": False,
             "pattern": "passport"},
            {"id": "so_dinh_danh", "type": "personal_id", "label": "Số định danh",
             "required": False},
            {"id": "cam_doan", "type": "computed", "label": "Cam đoan",
             "template": "Tôi cam đoan lúc {luc}."},
        ]}],
    })
    data = example_submission(form)["a"]
    assert data["luc"] == "08:30" and data["ngay_gio"].startswith("1990-05-17T")
    assert data["noi"]["kind"] == "former" and data["giay_to"]["type"]
    assert re.fullmatch("[A-Z][0-9]{7}", data["so_ho_chieu"])
    assert "so_dinh_danh" not in data and "cam_doan" not in data
    assert rule_errors(form, {"a": data}, date(2026, 1, 1)) == []

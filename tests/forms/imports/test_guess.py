"""Types guessed from printed labels; bindings learnt from the catalogue (#17)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from forms.imports.guess import BindingIndex, guess_type, label_key
from forms.language import parse, parse_text
from forms.model import FormDefinition

CATALOGUE = Path(__file__).resolve().parents[3] / "forms" / "catalogue"


@cache
def index() -> BindingIndex:
    return BindingIndex(parse_text(p.read_text(encoding="utf-8"), p.name)
                        for p in sorted(CATALOGUE.glob("*.yaml")))


@pytest.mark.parametrize(("label", "ftype", "options"), [
    ("Ngày, tháng, năm sinh", "date", {}),
    ("2. Ngày cấp", "date", {}),
    ("Năm sinh", "partial_date", {"precision": "year"}),
    ("Từ tháng, năm", "partial_date", {"precision": "month"}),
    ("Số định danh cá nhân", "personal_id", {}),
    ("Số CCCD", "personal_id", {}),
    ("Số CMND", "personal_id", {"old_id_card": True}),
    ("Số điện thoại liên hệ", "phone", {}),
    ("Email", "email", {}),
    ("Địa chỉ thư điện tử", "email", {}),
    ("Nơi thường trú", "address", {}),
    ("Nơi cư trú (2)", "address", {}),
    ("Địa chỉ liên hệ", "address", {}),
    ("Giới tính", "choice", {"codes": "sex"}),
    ("Dân tộc", "choice", {"codes": "ethnicity"}),
    ("Quốc tịch", "choice", {"codes": "nationality"}),
    ("Quan hệ với người được khai sinh", "choice", {"codes": "relationship"}),
    ("Số tiền đề nghị hỗ trợ", "money", {}),
    ("Lệ phí", "money", {}),
    ("Số lượng bản sao", "integer", {}),
    ("Số bản", "integer", {}),
    ("Mã số thuế", "tax_code", {}),
    ("Chết vào lúc … giờ … phút, ngày … tháng … năm …", "date_time", {}),
    ("Họ, chữ đệm và tên", "text", {}),
    # the parts of an address printed as items of their own
    ("Xã/Phường/Thị trấn", "address", {}),
    ("7c. Quận, huyện", "address", {}),
    ("tỉnh/thành phố", "address", {}),
    ("đường/phố", "address", {}),
    ("Đã chết vào lúc", "date_time", {}),
])
def test_type_from_label(label: str, ftype: str, options: dict[str, Any]) -> None:
    guess = guess_type(label)
    assert (guess.type, guess.options) == (ftype, options)
    assert 0.5 <= guess.confidence <= 1


def test_an_unknown_label_is_text_and_an_uncertain_one_says_so() -> None:
    assert guess_type("Tên cơ sở đào tạo").type == "text"
    assert guess_type("Giấy tờ tùy thân").confidence < 0.7


def test_label_key_normalises() -> None:
    assert label_key("1. Họ,  chữ đệm và TÊN(1):") == "họ, chữ đệm và tên"
    assert label_key("[16]. Kê khai Phụ lục") == "kê khai phụ lục"
    assert label_key("b) Nơi cấp") == "nơi cấp"
    assert label_key("[09.1]. Xã") == "xã"
    assert label_key("2b. Mã số thuế") == "mã số thuế"


def test_an_address_part_is_not_a_longer_label_with_a_unit_in_it() -> None:
    assert guess_type("Tên tổ chức").type == "text"
    assert guess_type("Nơi sinh (tỉnh, thành phố)").type == "place"


@pytest.mark.parametrize(("label", "record"), [
    ("Họ, chữ đệm, tên người yêu cầu", "population.full_name"),
    ("1. Họ, chữ đệm và tên", "population.full_name"),
    ("4. Số định danh cá nhân", "population.personal_id"),
    ("Ngày, tháng, năm sinh", "population.birth_date"),
    ("Nơi cư trú", "population.residence"),
    ("Số điện thoại", None),
])
def test_bindings_learnt_from_the_catalogue(label: str, record: str | None) -> None:
    guess = index().propose(label)
    assert guess is not None and guess.exact
    assert guess.record == record
    assert guess.confidence >= 0.7 or record is None


def test_a_similar_label_is_proposed_with_less_confidence() -> None:
    guess = index().propose("Họ, chữ đệm, tên của người yêu cầu")
    assert guess is not None and not guess.exact
    assert guess.record == "population.full_name"
    assert 0.45 <= guess.confidence < index().propose("Họ, chữ đệm, tên người yêu cầu").confidence  # type: ignore[union-attr]
    assert index().propose("Tên con vật nuôi trong nhà") is None


def test_the_section_teaches_whose_field_it_is() -> None:
    # the child in a birth registration has no record; the mother's section is bound
    child = index().propose("Dân tộc", section="Người được khai sinh")
    mother = index().propose("Dân tộc", section="III. Người mẹ")
    assert child is not None and child.record is None
    assert mother is not None and mother.record == "population.ethnicity"
    assert mother.type == "choice" and dict(mother.options) == {"codes": "ethnicity"}


def _form(label: str, record: str) -> FormDefinition:
    return parse({
        "id": "mau-thu", "version": 1, "title": "Mẫu thử", "legal_basis": "Thử",
        "procedure_code": "local.thu", "agency_level": "commune",
        "sections": [{"id": "a", "title": "A", "fields": [
            {"id": "x", "type": "text", "label": label, "prefill": record}]}]})


def test_the_index_is_what_the_catalogue_passed_in_binds() -> None:
    # no hand-kept list: a label the real catalogue does not know is learnt from the forms given
    assert index().propose("Bí danh thường dùng") is None
    taught = BindingIndex([_form("Bí danh thường dùng", "population.other_name")] * 3
                          + [_form("Bí danh thường dùng", "population.full_name")])
    guess = taught.propose("Bí danh thường dùng:")
    assert guess is not None and guess.record == "population.other_name"
    assert guess.count == 3 and guess.confidence == 0.9


def test_a_catalogue_label_within_a_longer_one_teaches_it() -> None:
    taught = BindingIndex([_form("Số hiệu thẻ thư viện", "population.other_name")])
    guess = taught.propose("3. Số hiệu thẻ thư viện của người đề nghị")
    assert guess is not None and not guess.exact
    assert guess.record == "population.other_name"
    assert guess.learnt_from == "số hiệu thẻ thư viện"

"""Types guessed from printed labels; bindings learnt from the catalogue (#17)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from forms.imports.guess import BindingIndex, guess_type, label_key, names_other_person
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


@pytest.mark.parametrize("label", ["Cấp ngày", "năm", "Tại"])
def test_a_short_common_label_out_of_its_context_is_weak(label: str) -> None:
    # taught by one or two forms about another register (driving licences, marriages)
    guess = index().propose(label, section="I. Thông tin người yêu cầu cấp Phiếu lý lịch tư pháp")
    assert guess is not None and guess.record is not None
    assert guess.generic and guess.confidence < 0.7


def test_a_short_common_label_in_its_context_is_not_weak() -> None:
    guess = index().propose("Cấp ngày", section="Giấy phép lái xe hiện có của người đề nghị")
    assert guess is not None and guess.record == "driving_licence.issue_date"
    assert not guess.generic and guess.confidence >= 0.7


def test_a_specific_short_label_stays_confident() -> None:
    guess = index().propose("Quốc tịch")
    assert guess is not None and guess.record == "population.nationality"
    assert guess.confidence >= 0.7 and not guess.generic


def test_few_teaching_fields_are_weak_evidence() -> None:
    one = BindingIndex([_form("Bí danh thường dùng", "population.other_name")])
    two = BindingIndex([_form("Bí danh thường dùng", "population.other_name")] * 2)
    three = BindingIndex([_form("Bí danh thường dùng", "population.other_name")] * 3)
    assert one.propose("Bí danh thường dùng").confidence < 0.7  # type: ignore[union-attr]
    assert two.propose("Bí danh thường dùng").confidence == 0.85  # type: ignore[union-attr]
    assert three.propose("Bí danh thường dùng").confidence == 1.0  # type: ignore[union-attr]


@pytest.mark.parametrize("label", ["11. Họ và tên cha", "12. Họ và tên mẹ",
                                   "13. Họ và tên vợ/chồng", "Họ, chữ đệm, tên người mẹ",
                                   "Họ và tên con"])
def test_a_label_naming_another_person_never_gets_a_confident_own_record(label: str) -> None:
    guess = index().propose(label)
    assert guess is not None and guess.record == "population.full_name"
    assert guess.other_person and guess.confidence < 0.7


def test_same_words_in_another_order_are_not_the_same_label() -> None:
    guess = index().propose("Họ và tên cha")
    assert guess is not None and not guess.exact


@pytest.mark.parametrize(("label", "other"), [
    ("Họ và tên cha", True), ("Nghề nghiệp của vợ", True), ("Người được khai sinh", True),
    ("Quan hệ với người được khai sinh", False), ("Họ, chữ đệm, tên người yêu cầu", False),
    ("Còn hiệu lực đến", False), ("Nơi cư trú", False),
])
def test_names_other_person(label: str, other: bool) -> None:
    assert names_other_person(label) is other


def test_the_threshold_is_compared_before_rounding() -> None:
    # 6 of 25 fields bind A: 0.6 + 0.4 * 0.24 = 0.696, under 0.7; shown as 0.69, never 0.70
    forms = ([_form("Bí danh thường dùng", "population.other_name")] * 6
             + [_form("Bí danh thường dùng", "population.full_name")] * 5
             + [_form("Bí danh thường dùng", "population.surname")] * 5
             + [_form("Bí danh thường dùng", "population.given_names")] * 5
             + [_form("Bí danh thường dùng", "population.occupation")] * 4)
    guess = BindingIndex(forms).propose("Bí danh thường dùng")
    assert guess is not None and guess.record == "population.other_name"
    assert guess.confidence == 0.69

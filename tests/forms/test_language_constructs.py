# ruff: noqa: E501 - the YAML of a definition reads best on one line per field
"""The form language's second edition: every new construct is read, checked with a problem
naming its path, and means what docs/forms.md says."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from forms import codelists
from forms.language import (
    MAX_PATTERN,
    MAX_RULES,
    MAX_TEMPLATE,
    DefinitionError,
    check_pattern,
    parse,
)
from forms.model import FormDefinition

#: a definition using every construct of the second edition
CONSTRUCTS = """
id: mau-moi
version: 1
title: Tờ khai thử các cấu trúc mới
legal_basis: Thông tư thử nghiệm 01/2026
procedure_code: "1.000002"
agency_level: commune
code_lists:
  su_kien:
    - {code: khai_sinh, label: Khai sinh}
    - {code: ket_hon, label: Kết hôn}
  quan_he_rieng:
    - {code: toi, label: Tôi}
    - {code: bo, label: Bố}
    - {code: ban, label: Bạn}
  danh_xung:
    - {code: ong, label: Ông}
    - {code: ba, label: Bà}
rules:
  - {at_least_one: [nguoi_khai.so_ho_chieu, nguoi_khai.so_dinh_danh]}
  - {not_after: [nguoi_khai.tu_ngay, nguoi_khai.den_ngay], message: "Từ ngày phải trước đến ngày."}
  - {not_future: nguoi_khai.ngay_su_kien}
  - {at_most_one: [con.ds.so_dinh_danh, con.ds.ghi_chu]}
  - {not_after: [con.ds.ngay_sinh, con.ds.ngay_mat]}
  - {exactly_one: [nguoi_khai.dien_thoai, nguoi_khai.thu_dien_tu]}
sections:
  - id: nguoi_khai
    title: Người khai
    fields:
      - {id: danh_xung, type: choice, codes: danh_xung, label: Ông/Bà}
      - {id: ho_ten, type: text, label: Họ tên}
      - {id: so_dinh_danh, type: personal_id, old_id_card: true, label: Số định danh cá nhân/CMND, required: false}
      - {id: so_ho_chieu, type: text, pattern: passport, label: Số hộ chiếu, required: false}
      - {id: so_quyen, type: text, pattern: "[0-9]{1,4}/[0-9]{4}", pattern_message: "Quyển số viết như 01/2024.", label: Quyển số, required: false}
      - {id: giay_to, type: id_document, label: Giấy tờ tùy thân khác, when: {field: so_dinh_danh, empty: true}}
      - {id: gio, type: time, label: Lúc (giờ phút)}
      - {id: thoi_diem, type: date_time, label: Thời điểm, required: false}
      - {id: tu_ngay, type: date, label: Từ ngày, required: false}
      - {id: den_ngay, type: date, label: Đến ngày, required: false}
      - {id: ngay_su_kien, type: date, label: Ngày xảy ra sự kiện, required: false}
      - {id: noi_sinh, type: place, label: Nơi sinh}
      - {id: noi_cu, type: place, places: [former, abroad], label: Nơi xảy ra, required: false}
      - {id: su_kien, type: choice, codes: su_kien, label: Loại sự kiện}
      - id: noi_dang_ky
        type: text
        label: Nơi đăng ký
        prefill: {by: su_kien, records: {khai_sinh: civil_status.birth_registration_authority, ket_hon: civil_status.marriage_registration_authority}}
      - {id: quan_he, type: choice, codes: relationship, label: Quan hệ với người được khai}
      - {id: dien_thoai, type: phone, label: Điện thoại, required: false}
      - {id: thu_dien_tu, type: email, label: Thư điện tử, required: false}
      - id: ly_do
        type: text
        label: Lý do
        when: {any: [{field: su_kien, equals: ket_hon}, {all: [{field: quan_he, in: [cha, me]}, {not: {field: so_dinh_danh}}]}]}
      - {id: cam_doan_nhan, type: computed, label: Lời cam đoan, template: "Tôi cam đoan việc nhận {quan_he} ({danh_xung} {ho_ten}, sinh lúc {gio} ngày {tu_ngay}) là đúng sự thật."}
      - {id: cam_doan, type: commitment, label: "Tôi cam đoan việc nhận … là đúng sự thật.", template: "Tôi cam đoan việc nhận {quan_he} là đúng sự thật."}
  - id: nguoi_duoc_khai
    title: Người được khai
    person: {named_by: so_dinh_danh, allowed: [ward, child, household_member]}
    fields:
      - {id: so_dinh_danh, type: personal_id, label: Số định danh cá nhân}
      - {id: ho_ten, type: text, label: Họ tên, prefill: population.full_name, check_typed: true}
  - id: nguoi_than
    title: Người thân
    person: {relation_by: quan_he}
    fields:
      - {id: quan_he, type: choice, codes: relationship, label: Quan hệ}
      - {id: ho_ten, type: text, label: Họ tên, prefill: population.full_name}
  - id: nguoi_than_khac
    title: Người thân (danh mục riêng)
    person: {relation_by: quan_he, map: {toi: declarant, bo: father}}
    fields:
      - {id: quan_he, type: choice, codes: quan_he_rieng, label: Quan hệ}
      - {id: ngay_sinh, type: date, label: Ngày sinh, prefill: population.birth_date}
  - id: con
    title: Các con
    fields:
      - id: ds
        type: group
        label: Danh sách con
        repeat: {max: 5}
        required: false
        fields:
          - {id: ho_ten, type: text, label: Họ tên con}
          - {id: so_dinh_danh, type: personal_id, label: Số định danh của con, required: false}
          - {id: ghi_chu, type: text, label: Ghi chú, required: false}
          - {id: ngay_sinh, type: date, label: Ngày sinh của con}
          - {id: ngay_mat, type: date, label: Ngày mất, required: false}
          - {id: loi_khai, type: computed, label: Lời khai, template: "Con {ho_ten} của {nguoi_khai.ho_ten}"}
"""


def construct_data() -> dict[str, Any]:
    return yaml.safe_load(CONSTRUCTS)


def constructs() -> FormDefinition:
    return parse(construct_data(), "constructs.yaml")


def problems(data: dict[str, Any]) -> set[tuple[str, str]]:
    with pytest.raises(DefinitionError) as info:
        parse(data, "bad.yaml")
    assert all(p.message and p.file == "bad.yaml" for p in info.value.problems)
    return {(p.path, p.code) for p in info.value.problems}


def field(data: dict[str, Any], section: int, fid: str) -> dict[str, Any]:
    return next(f for f in data["sections"][section]["fields"] if f["id"] == fid)


def test_every_construct_is_read_into_the_model() -> None:
    form = constructs()
    find = form.find
    so = find(("nguoi_khai", "so_dinh_danh"))
    assert so is not None and so.old_id_card and so.type == "personal_id"
    passport = find(("nguoi_khai", "so_ho_chieu"))
    assert passport is not None and passport.pattern == "[A-Z][0-9]{7}"
    assert passport.pattern_message and "hộ chiếu" in passport.pattern_message
    book = find(("nguoi_khai", "so_quyen"))
    assert book is not None and book.pattern == "[0-9]{1,4}/[0-9]{4}"
    assert book.pattern_message == "Quyển số viết như 01/2024."
    other = find(("nguoi_khai", "giay_to"))
    assert other is not None and other.when is not None and other.when.empty
    assert other.when.field == ("nguoi_khai", "so_dinh_danh")
    place = find(("nguoi_khai", "noi_sinh"))
    assert place is not None and place.places == ("current", "abroad", "former")
    assert find(("nguoi_khai", "noi_cu")).places == ("former", "abroad")  # type: ignore[union-attr]
    reg = find(("nguoi_khai", "noi_dang_ky"))
    assert reg is not None and reg.prefill is not None
    assert reg.prefill.by == ("nguoi_khai", "su_kien")
    assert reg.prefill.record_for("ket_hon") == "civil_status.marriage_registration_authority"
    assert reg.prefill.all_records() == ("civil_status.birth_registration_authority",
                                         "civil_status.marriage_registration_authority")
    why = find(("nguoi_khai", "ly_do"))
    assert why is not None and why.when is not None and len(why.when.any_of) == 2
    assert why.when.any_of[1].all_of[1].negate is not None
    assert set(why.when.fields()) == {("nguoi_khai", "su_kien"), ("nguoi_khai", "quan_he"),
                                      ("nguoi_khai", "so_dinh_danh")}
    computed = find(("nguoi_khai", "cam_doan_nhan"))
    assert computed is not None and not computed.required and computed.template
    commitment = find(("nguoi_khai", "cam_doan"))
    assert commitment is not None and commitment.template and commitment.required
    named = form.sections[1].person
    assert named is not None and named.named_by == ("nguoi_duoc_khai", "so_dinh_danh")
    assert named.allowed == ("ward", "child", "household_member")
    chosen = form.sections[2].person
    assert chosen is not None and chosen.relation_by == ("nguoi_than", "quan_he")
    assert dict(chosen.relation_map)["ban_than"] == "declarant"
    assert dict(chosen.relation_map)["nguoi_giam_ho"] == "guardian"
    own = form.sections[3].person
    assert own is not None and dict(own.relation_map) == {"toi": "declarant", "bo": "father"}
    assert [r.kind for r in form.rules] == ["at_least_one", "not_after", "not_future",
                                            "at_most_one", "not_after", "exactly_one"]
    assert form.rules[1].message == "Từ ngày phải trước đến ngày."
    assert form.rules[2].fields == (("nguoi_khai", "ngay_su_kien"),)


def test_every_field_is_official_by_default_commitments_too() -> None:
    form = constructs()
    commitment = form.find(("nguoi_khai", "cam_doan"))
    assert commitment is not None and commitment.official


def test_relationship_list_has_self() -> None:
    assert ("ban_than", "Bản thân") in {(c.code, c.label) for c in codelists.RELATIONSHIPS}
    codes = {c.code for c in codelists.ID_DOCUMENT_TYPES}
    assert {"the_can_cuoc", "ho_chieu", "khac", "cmnd", "dinh_danh"} <= codes
    assert set(codelists.ID_NUMBER_PATTERNS) <= codes
    assert codelists.PERSONAL_ID_DOCUMENT in codes


def test_rules_problems_name_their_path() -> None:
    data = construct_data()
    data["rules"] = [
        {"at_least_two": ["nguoi_khai.ho_ten", "nguoi_khai.gio"]},
        {"at_least_one": ["nguoi_khai.khong_co", "nguoi_khai.so_ho_chieu"]},
        {"not_after": ["nguoi_khai.ho_ten", "nguoi_khai.den_ngay"]},
        {"not_after": ["nguoi_khai.gio", "nguoi_khai.den_ngay"]},
        {"not_future": "nguoi_khai.gio"},
        {"exactly_one": ["nguoi_khai.ho_ten", "nguoi_khai.so_ho_chieu"]},
        {"at_most_one": ["nguoi_khai.so_ho_chieu", "con.ds.ghi_chu"]},
        {"not_after": ["nguoi_khai.tu_ngay"]},
        {"at_least_one": ["so_ho_chieu", "so_dinh_danh"]},
        {"at_least_one": ["nguoi_khai.so_ho_chieu", "nguoi_khai.cam_doan_nhan"]},
        "at_least_one",
        {"at_least_one": ["nguoi_khai.so_ho_chieu", "nguoi_khai.so_dinh_danh"],
         "not_future": "nguoi_khai.tu_ngay"},
    ]
    found = problems(data)
    assert ("rules[0].at_least_two", "unknown_rule_kind") in found
    assert ("rules[1].at_least_one[0]", "rule_field_not_found") in found
    assert ("rules[2].not_after[0]", "rule_field_type") in found
    assert ("rules[3].not_after", "rule_field_type") in found  # a time against a date
    assert ("rules[4].not_future", "rule_field_type") in found
    assert ("rules[5].exactly_one[0]", "rule_field_required") in found
    assert ("rules[6].at_most_one", "rule_repeated") in found
    assert ("rules[7].not_after", "bad_rule") in found
    assert ("rules[8].at_least_one", "bad_rule") in found  # not dotted from the root
    assert ("rules[9].at_least_one[1]", "rule_field_type") in found
    assert ("rules[10]", "not_a_mapping") in found
    assert ("rules[11]", "bad_rule") in found
    assert len(found) == 12


def test_rules_are_limited_in_number() -> None:
    data = construct_data()
    data["rules"] = [{"not_future": "nguoi_khai.tu_ngay"}] * (MAX_RULES + 1)
    assert problems(data) == {("rules", "too_many_rules")}


@pytest.mark.parametrize(
    ("pattern", "ok"),
    [
        ("[A-Z][0-9]{7}", True),
        ("^[0-9]{1,4}/[0-9]{4}$", True),
        ("(?:[A-Z]{2})?[0-9]{6,8}", True),
        ("[A-Za-zÀ-ỹ ]{1,50}", True),
        ("[0-9]+-[0-9]+", True),
        ("(a|b)?c", True),
        ("\\d{9}", False),  # \d means Unicode digits in Python
        ("\\w+", False),
        ("(a)\\1", False),  # backreference
        ("(?=a)a", False),  # lookahead
        ("(?<!a)b", False),  # lookbehind
        ("(?P<x>a)", False),  # named group
        ("(?i)abc", False),  # inline flag
        ("\\p{L}", False),
        ("(a+)+b", False),  # nested quantifier
        ("(a|aa)*b", False),  # a quantified alternation
        ("[0-9]*[0-9]*[0-9]*x", False),  # polynomial backtracking
        ("a{2", False),
        ("a]", False),
        ("a**", False),
        ("[abc", False),
        ("(ab", False),
        ("ab)", False),
        ("a^b", False),
        ("[]a]", False),
        ("\\-", False),  # not an escape in ECMA-262 with the u flag
        ("😀", False),
        ("x" * (MAX_PATTERN + 1), False),
    ],
)
def test_patterns_are_the_safe_common_subset(pattern: str, ok: bool) -> None:
    regex, error = check_pattern(pattern)
    assert (regex is not None) == ok, error
    assert (error is None) == ok


def test_text_pattern_problems() -> None:
    data = construct_data()
    field(data, 0, "so_quyen")["pattern"] = "(?=x)x"
    field(data, 0, "ho_ten")["pattern"] = "[0-9]{3}"  # no message
    field(data, 0, "so_ho_chieu")["pattern_message"] = 5
    field(data, 0, "dien_thoai")["pattern"] = "[0-9]"  # only text fields take a pattern
    field(data, 0, "thu_dien_tu")["pattern_message"] = "x"  # ditto
    found = problems(data)
    assert ("sections[0].fields[4].pattern", "bad_pattern") in found
    assert ("sections[0].fields[1].pattern_message", "missing") in found
    assert ("sections[0].fields[3].pattern_message", "not_text") in found
    assert ("sections[0].fields[16].pattern", "unknown_key") in found
    assert ("sections[0].fields[17].pattern_message", "unknown_key") in found


def test_a_message_without_a_pattern_is_refused() -> None:
    data = construct_data()
    field(data, 0, "ho_ten")["pattern_message"] = "Viết hoa."
    assert problems(data) == {("sections[0].fields[1].pattern_message",
                               "message_without_pattern")}


def test_place_template_and_computed_problems() -> None:
    data = construct_data()
    field(data, 0, "noi_sinh")["places"] = ["current", "moon"]
    field(data, 0, "noi_cu")["places"] = []
    field(data, 0, "cam_doan_nhan")["template"] = "Nhận {khong_co} và {nguoi_khai.cam_doan_nhan}"
    field(data, 0, "cam_doan_nhan")["required"] = True
    field(data, 0, "cam_doan")["template"] = "Lỗi { ngoặc"
    field(data, 0, "ly_do")["prefill"] = None
    data["sections"][0]["fields"].append(
        {"id": "tinh", "type": "computed", "label": "Tính", "prefill": "population.full_name",
         "template": "{con.ds.ho_ten}"})
    data["sections"][0]["fields"].append(
        {"id": "dai", "type": "computed", "label": "Dài", "template": "x" * (MAX_TEMPLATE + 1)})
    data["sections"][0]["fields"].append({"id": "rong", "type": "computed", "label": "Rỗng"})
    found = problems(data)
    assert ("sections[0].fields[11].places", "bad_places") in found
    assert ("sections[0].fields[12].places", "bad_places") in found
    assert ("sections[0].fields[19].template", "unknown_template_field") in found
    assert ("sections[0].fields[19].template", "bad_template") in found  # a computed text
    assert ("sections[0].fields[19].required", "computed_required") in found
    assert ("sections[0].fields[20].template", "bad_template") in found
    assert ("sections[0].fields[21].prefill", "not_bindable") in found
    assert ("sections[0].fields[21].template", "bad_template") in found  # into repeated items
    assert ("sections[0].fields[22].template", "too_long") in found
    assert ("sections[0].fields[23].template", "missing") in found


def test_composite_condition_problems() -> None:
    data = construct_data()
    field(data, 0, "ly_do")["when"] = {
        "any": [{"field": "khong_co"}, {"not": {"field": "su_kien", "equals": "ly_hon"}},
                {"all": []}, {"field": "giay_to", "equals": "x"}]}
    field(data, 0, "giay_to")["when"] = {"field": "so_dinh_danh", "empty": True, "equals": "1"}
    field(data, 0, "so_quyen")["when"] = {"all": [{"field": "ho_ten"}], "any": [{"field": "gio"}]}
    deep: Any = {"field": "ho_ten"}
    for _ in range(5):
        deep = {"not": deep}
    field(data, 0, "thoi_diem")["when"] = deep
    field(data, 0, "tu_ngay")["when"] = {"field": "cam_doan_nhan"}
    found = problems(data)
    assert ("sections[0].fields[18].when.any[0].field", "unknown_condition_field") in found
    assert ("sections[0].fields[18].when.any[1].not.equals", "bad_condition_value") in found
    assert ("sections[0].fields[18].when.any[2].all", "bad_condition") in found
    assert ("sections[0].fields[18].when.any[3].equals", "bad_condition_value") in found
    assert ("sections[0].fields[5].when.empty", "bad_condition") in found
    assert ("sections[0].fields[4].when", "bad_condition") in found
    assert ("sections[0].fields[7].when.not.not.not.not", "too_deep") in found
    assert ("sections[0].fields[8].when.field", "bad_condition") in found


def test_named_person_problems() -> None:
    base = construct_data()
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"named_by": "ho_ten"}, "sections[1].person.named_by", "bad_named_by"),
        ({"named_by": "nguoi_khai.so_dinh_danh"}, "sections[1].person.named_by",
         "bad_named_by"),  # not in this section
        ({"named_by": "so_dinh_danh", "allowed": ["friend"]}, "sections[1].person.allowed",
         "unknown_relation"),
        ({"named_by": "so_dinh_danh", "relation": "child"}, "sections[1].person", "bad_person"),
        ({"named_by": "so_dinh_danh", "sex": "nu"}, "sections[1].person.sex", "bad_person"),
        ({"relation_by": "ho_ten"}, "sections[1].person.relation_by", "bad_relation_by"),
        ({"relation_by": "nguoi_khai.su_kien"}, "sections[1].person.map", "missing"),
        ({"relation_by": "nguoi_khai.quan_he", "map": {"ong_noi": "father"}},
         "sections[1].person.map.ong_noi", "bad_map"),
        ({"relation_by": "nguoi_khai.quan_he", "map": {"cha": "uncle"}},
         "sections[1].person.map", "unknown_relation"),
        ({"relation_by": "con.ds.ghi_chu"}, "sections[1].person.relation_by",
         "bad_relation_by"),
    ]
    for person, path, code in cases:
        data = copy.deepcopy(base)
        data["sections"][1]["person"] = person
        assert (path, code) in problems(data), person
    data = copy.deepcopy(base)
    data["sections"][1]["fields"][0]["prefill"] = "population.personal_id"
    assert ("sections[1].person.named_by", "bad_named_by") in problems(data)


def test_a_named_person_needs_no_bound_number_for_checks() -> None:
    """The named_by field says whose records the typed values are checked against."""
    form = constructs()
    ho_ten = form.find(("nguoi_duoc_khai", "ho_ten"))
    assert ho_ten is not None and ho_ten.check_typed


def test_prefill_by_answer_problems() -> None:
    base = construct_data()
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"by": "ho_ten", "records": {"khai_sinh": "civil_status.birth_registration_authority"}},
         "sections[0].fields[14].prefill.by", "bad_prefill_by"),
        ({"by": "su_kien", "records": {"ly_hon": "civil_status.birth_registration_authority"}},
         "sections[0].fields[14].prefill.records.ly_hon", "bad_prefill_by"),
        ({"by": "su_kien", "records": {"khai_sinh": "population.birth_date"}},
         "sections[0].fields[14].prefill.records.khai_sinh", "incompatible_record"),
        ({"by": "su_kien", "records": {"khai_sinh": "population.shoe_size"}},
         "sections[0].fields[14].prefill.records.khai_sinh", "unknown_record_path"),
        ({"by": "su_kien"}, "sections[0].fields[14].prefill.records", "missing"),
        ({"by": "su_kien", "record": "population.full_name",
          "records": {"khai_sinh": "civil_status.birth_registration_authority"}},
         "sections[0].fields[14].prefill", "bad_prefill"),
        ({"by": "noi_dang_ky",
          "records": {"khai_sinh": "civil_status.birth_registration_authority"}},
         "sections[0].fields[14].prefill.by", "bad_prefill_by"),
    ]
    for prefill, path, code in cases:
        data = copy.deepcopy(base)
        field(data, 0, "noi_dang_ky")["prefill"] = prefill
        assert (path, code) in problems(data), prefill


def test_new_types_take_the_records_that_fit() -> None:
    data = construct_data()
    field(data, 0, "noi_sinh")["prefill"] = "population.home_town"  # an address: current
    field(data, 0, "giay_to")["prefill"] = "population.personal_id"
    assert constructs() and parse(data)
    field(data, 0, "gio")["prefill"] = "population.birth_date"
    field(data, 0, "noi_cu")["prefill"] = "population.full_name"
    assert problems(data) == {("sections[0].fields[6].prefill.record", "incompatible_record"),
                              ("sections[0].fields[12].prefill.record", "incompatible_record")}


def test_every_yaml_example_of_the_documentation_is_yaml() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "forms.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```yaml\n")[1:]]
    assert len(blocks) >= 10
    for block in blocks:
        assert yaml.safe_load(block) is not None


def test_conditions_reading_one_another_in_a_circle_are_refused() -> None:
    # w1 shown when w2 has a value, w2 when w1 has one
    data = construct_data()
    field(data, 0, "tu_ngay")["when"] = "den_ngay"
    field(data, 0, "den_ngay")["when"] = "tu_ngay"
    with pytest.raises(DefinitionError) as info:
        parse(data, "bad.yaml")
    cycles = [p for p in info.value.problems if p.code == "condition_cycle"]
    assert len(cycles) == 1
    assert cycles[0].path in ("sections[0].fields[8].when", "sections[0].fields[9].when")
    assert "nguoi_khai.tu_ngay" in cycles[0].message
    assert "nguoi_khai.den_ngay" in cycles[0].message
    assert "vòng tròn" in cycles[0].message
    # each shown only when the other is empty, through all/not and a dotted path
    data = construct_data()
    field(data, 0, "tu_ngay")["when"] = {"field": "den_ngay", "empty": True}
    field(data, 0, "den_ngay")["when"] = {
        "all": [{"not": {"field": "nguoi_khai.tu_ngay", "empty": True}}]}
    found = problems(data)
    assert ("sections[0].fields[8].when", "condition_cycle") in found \
        or ("sections[0].fields[9].when", "condition_cycle") in found
    # three fields in a circle
    data = construct_data()
    field(data, 0, "tu_ngay")["when"] = "den_ngay"
    field(data, 0, "den_ngay")["when"] = "ngay_su_kien"
    field(data, 0, "ngay_su_kien")["when"] = {"field": "tu_ngay", "empty": True}
    with pytest.raises(DefinitionError) as info:
        parse(data, "bad.yaml")
    (cycle,) = [p for p in info.value.problems if p.code == "condition_cycle"]
    for name in ("tu_ngay", "den_ngay", "ngay_su_kien"):
        assert f"nguoi_khai.{name}" in cycle.message
    # a chain is not a circle
    data = construct_data()
    field(data, 0, "tu_ngay")["when"] = "den_ngay"
    field(data, 0, "den_ngay")["when"] = "ngay_su_kien"
    parse(data, "ok.yaml")


def test_a_group_condition_counts_in_a_circle() -> None:
    data = construct_data()
    group = data["sections"][4]["fields"][0]
    del group["repeat"]
    # the group is shown when a field outside has a value, that field when one inside has
    group["when"] = "con.ghi_them"
    data["sections"][4]["fields"].append(
        {"id": "ghi_them", "type": "text", "label": "Ghi thêm", "required": False,
         "when": "con.ds.ghi_chu"})
    found = problems(data)
    assert ("sections[4].fields[0].when", "condition_cycle") in found \
        or ("sections[4].fields[1].when", "condition_cycle") in found
    # a group shown only when one of its own fields has a value
    data = construct_data()
    group = data["sections"][4]["fields"][0]
    del group["repeat"]
    group["when"] = "con.ds.ghi_chu"
    assert ("sections[4].fields[0].when", "condition_cycle") in problems(data)
    # a field reading itself keeps its own problem, not a second one
    data = construct_data()
    field(data, 0, "tu_ngay")["when"] = "tu_ngay"
    found = problems(data)
    assert ("sections[0].fields[8].when.field", "self_condition") in found
    assert not any(code == "condition_cycle" for _, code in found)

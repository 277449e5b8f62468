"""The trimming figures (forms.trimming): the designer's, under stated assumptions, and one
citizen's, counting only what is shown for them and only values about the right person."""

from __future__ import annotations

from typing import Any

from forms.language import parse_text
from forms.model import FormDefinition
from forms.trimming import ASSUMPTIONS, actual_reduction, trimming_report

HEAD = """
id: mau-thu-trimming
version: 1
title: Tờ khai thử nghiệm
legal_basis: Thông tư thử nghiệm 01/2026
procedure_code: "1.000001"
agency_level: commune
"""


def form(sections: str, extra: str = "") -> FormDefinition:
    return parse_text((HEAD + extra + "sections:\n" + sections).encode(), "thu.yaml")


def prov(*pointers: str, **extra: Any) -> dict[str, dict[str, Any]]:
    return {p: {"register": "population", "mode": "suggested", **extra} for p in pointers}


SIMPLE = """
  - id: nguoi
    title: Người kê khai
    fields:
      - {id: ho_ten, type: text, label: Họ tên, prefill: population.full_name}
      - {id: ly_do, type: text, label: Lý do}
      - {id: cam_doan, type: commitment, label: Tôi cam đoan những điều khai trên là đúng sự thật.}
"""


def test_a_commitment_counts_on_both_sides() -> None:
    """A commitment printed on the paper form is one official field there and one box to tick:
    it was counted typed but not on paper (official defaulted to false for commitments)."""
    f = form(SIMPLE)
    report = trimming_report(f)
    assert report["counts"]["official_fields"] == 3 and report["counts"]["typed"] == 2
    assert report["counts"]["added_by_eform"] == 0
    assert report["reduction_percent"] == 33.3
    assert "commitment_counted" in {a["code"] for a in report["assumptions"]}
    actual = actual_reduction(f, {"nguoi": {"ho_ten": "Nguyễn Văn An"}},
                              prov("/nguoi/ho_ten"), [])
    assert actual["counts"] == {"official_fields": 3, "typed": 2, "prefilled": 1, "computed": 0,
                                "shown": 3, "not_counted": 0}


CONDITIONAL = """
  - id: nguoi
    title: Người kê khai
    fields:
      - {id: ho_ten, type: text, label: Họ tên, prefill: population.full_name}
      - {id: hon_nhan, type: choice, codes: marital_status, label: Tình trạng hôn nhân,
         prefill: population.marital_status}
      - {id: ten_vo_chong, type: text, label: Họ tên vợ/chồng,
         when: {field: hon_nhan, equals: dang_co_vo_chong}}
      - {id: ngay_ket_hon, type: date, label: Ngày đăng ký kết hôn,
         when: {field: hon_nhan, equals: dang_co_vo_chong},
         prefill: civil_status.marriage_registration_date}
      - {id: ban_sao, type: boolean, label: Đề nghị cấp bản sao}
      - {id: so_luong, type: integer, label: Số lượng bản sao, when: {field: ban_sao, equals: true}}
      - {id: ly_do, type: text, label: Lý do}
"""


def test_only_fields_shown_for_the_citizen_count_on_both_sides() -> None:
    """The spouse's name is hidden for a citizen the register says is not married: it is on
    neither side (it counted as typed); an answer still to type (copies wanted) is taken to
    show its field."""
    f = form(CONDITIONAL)
    data: dict[str, Any] = {"nguoi": {"ho_ten": "Lê Thị Thu Hà", "hon_nhan": "chua_ket_hon"}}
    actual = actual_reduction(f, data, prov("/nguoi/ho_ten", "/nguoi/hon_nhan"), [])
    # shown: ho_ten, hon_nhan, ban_sao, so_luong (worst case), ly_do
    assert actual["counts"]["official_fields"] == 5
    assert actual["counts"]["typed"] == 3 and actual["counts"]["prefilled"] == 2
    assert actual["reduction_percent"] == 40.0
    hidden = {m["field"]: m["reason"] for m in actual["missing"]}
    assert hidden == {"/nguoi/ngay_ket_hon": "condition_hidden"}
    # the answer given: no copies -> the count disappears
    data["nguoi"]["ban_sao"] = False
    assert actual_reduction(f, data, prov("/nguoi/ho_ten", "/nguoi/hon_nhan"),
                            [])["counts"]["official_fields"] == 4
    # the designer's figure counts every conditional field as shown, and says so
    report = trimming_report(f)
    assert report["counts"]["official_fields"] == 7
    assert "conditional_shown" in {a["code"] for a in report["assumptions"]}


def test_bound_fields_left_to_type_are_listed_with_why() -> None:
    f = form(CONDITIONAL + """
  - id: ds
    title: Danh sách
    fields:
      - id: nguoi_khac
        type: group
        label: Người khác
        repeat: {max: 3}
        fields:
          - {id: ho_ten, type: text, label: Họ tên, prefill: population.full_name}
""")
    data = {"nguoi": {"hon_nhan": "dang_co_vo_chong"}}
    reported = [{"pointer": "/nguoi/ngay_ket_hon", "register": "civil_status",
                 "person": "Người kê khai", "reason": "no_record"}]
    actual = actual_reduction(f, data, prov("/nguoi/hon_nhan"), reported)
    why = {m["field"]: m["reason"] for m in actual["missing"]}
    assert why == {"/nguoi/ho_ten": "no_value",  # record found, no usable value
                   "/nguoi/ngay_ket_hon": "no_record",  # prefill said so
                   "/ds/nguoi_khac/ho_ten": "not_attempted"}  # a group bound to no one
    assert all(m["register_title"] and m["label"] for m in actual["missing"])


WRONG_PERSON = """
  - id: nguoi_chet
    title: Người đã chết
    person: spouse
    fields:
      - {id: ho_ten, type: text, label: Họ tên, prefill: population.full_name}
      - {id: ngay_sinh, type: date, label: Ngày sinh, prefill: population.birth_date}
      - {id: so_dinh_danh, type: personal_id, label: Số định danh cá nhân}
      - {id: noi_chet, type: text, label: Nơi chết}
"""


def test_a_section_bound_to_a_relation_but_asking_who_does_not_pay() -> None:
    """Binding the deceased's section to the declarant's spouse prefilled a living spouse's
    name and birth date and raised the figure; the section asks for the person's number, so
    the person is whoever the citizen names: the bound fields count as typed."""
    f = form(WRONG_PERSON)
    report = trimming_report(f)
    rows = {r["path"]: r for r in report["fields"]}
    assert rows["/nguoi_chet/ho_ten"]["status"] == "unidentified"
    assert report["counts"]["typed"] == 4 and report["reduction_percent"] == 0.0
    assert "unidentified_person" in {a["code"] for a in report["assumptions"]}
    data = {"nguoi_chet": {"ho_ten": "Trần Thị Bình", "ngay_sinh": "1988-09-02"}}
    actual = actual_reduction(f, data, prov("/nguoi_chet/ho_ten", "/nguoi_chet/ngay_sinh"), [])
    assert actual["counts"]["typed"] == 4 and actual["counts"]["not_counted"] == 2
    assert {m["reason"] for m in actual["missing"]} == {"unidentified_person"}
    # the same section with the number bound too: it is about the spouse, and counts
    bound = form(WRONG_PERSON.replace(
        "label: Số định danh cá nhân}",
        "label: Số định danh cá nhân, prefill: population.personal_id}"))
    assert trimming_report(bound)["counts"]["typed"] == 1


NAMED = """
  - id: nguoi
    title: Người kê khai
    fields:
      - {id: ho_ten, type: text, label: Họ tên, prefill: population.full_name}
  - id: nguoi_duoc_giam_ho
    title: Người được giám hộ
    person: {named_by: so_dinh_danh, allowed: [ward]}
    fields:
      - {id: so_dinh_danh, type: personal_id, label: Số định danh cá nhân}
      - {id: ho_ten, type: text, label: Họ tên, prefill: population.full_name}
      - {id: ngay_sinh, type: date, label: Ngày sinh, prefill: population.birth_date}
"""


def test_a_named_persons_values_count_only_with_their_basis() -> None:
    f = form(NAMED)
    report = trimming_report(f)
    assert report["counts"]["typed"] == 1  # the number; the rest under an allowed relation
    assert "named_person_allowed" in {a["code"] for a in report["assumptions"]}
    data = {"nguoi": {"ho_ten": "Nguyễn Văn An"},
            "nguoi_duoc_giam_ho": {"so_dinh_danh": "001213067890", "ho_ten": "Nguyễn Văn B",
                                   "ngay_sinh": "2013-04-09"}}
    pointers = ("/nguoi_duoc_giam_ho/ho_ten", "/nguoi_duoc_giam_ho/ngay_sinh")
    basis = {"relation": "ward", "named_by": "/nguoi_duoc_giam_ho/so_dinh_danh"}
    good = actual_reduction(f, data, {**prov("/nguoi/ho_ten"), **prov(*pointers, basis=basis)},
                            [])
    assert good["counts"]["typed"] == 1
    # no basis (or a relation the form does not allow): not known to be the named person
    for entries in (prov(*pointers), prov(*pointers, basis={**basis, "relation": "child"})):
        bad = actual_reduction(f, data, {**prov("/nguoi/ho_ten"), **entries}, [])
        assert bad["counts"]["typed"] == 3 and bad["counts"]["not_counted"] == 2
    # nothing named yet: the section's bound fields wait for the answer
    empty = actual_reduction(f, {"nguoi": {"ho_ten": "Nguyễn Văn An"}},
                             prov("/nguoi/ho_ten"), [])
    assert {m["reason"] for m in empty["missing"]} == {"no_answer"}


def test_computed_text_is_never_typed() -> None:
    f = form("""
  - id: nguoi
    title: Người kê khai
    fields:
      - {id: quan_he, type: choice, codes: relationship, label: Quan hệ}
      - {id: cam_ket, type: computed, label: Lời cam kết,
         template: "Tôi cam đoan việc nhận {quan_he} là đúng sự thật."}
""")
    report = trimming_report(f)
    assert report["counts"]["official_fields"] == 2 and report["counts"]["typed"] == 1
    assert report["counts"]["computed"] == 1
    assert actual_reduction(f, {}, {}, [])["counts"]["typed"] == 1


def test_assumptions_are_stated_in_vietnamese_with_a_code() -> None:
    f = form(SIMPLE + """
  - id: ds
    title: Danh sách
    person: household_member
    fields:
      - id: tv
        type: group
        label: Thành viên
        repeat: {max: 3}
        fields:
          - {id: ho_ten, type: text, label: Họ tên, prefill: population.full_name}
""", "dropped:\n  - {label: Người khai ký, reason: signature}\n")
    codes = [a["code"] for a in trimming_report(f)["assumptions"]]
    assert {"records_exist", "repeated_once", "linked_person_exists", "dropped_not_typed",
            "commitment_counted"} <= set(codes)
    assert "conditional_shown" not in codes  # only what this form relies on
    assert all(a["text"] == ASSUMPTIONS[a["code"]] for a in trimming_report(f)["assumptions"])


def test_an_official_computed_field_counts_the_same_in_both_figures() -> None:
    """An official computed field is a paper field the citizen no longer types: in the
    baseline, never typed, in the designer's figure and per citizen (when shown)."""
    f = form("""
  - id: nguoi
    title: Người kê khai
    fields:
      - {id: quan_he, type: choice, codes: relationship, label: Quan hệ}
      - {id: ho_ten, type: text, label: Họ tên, prefill: population.full_name}
      - {id: cam_ket, type: computed, label: Lời cam kết,
         template: "Tôi cam đoan việc nhận {quan_he} là đúng sự thật."}
      - {id: ghi_chu, type: computed, official: false, label: Ghi chú, template: "{ho_ten}"}
      - {id: ve_cha, type: computed, label: Về cha, template: "Cha: {ho_ten}",
         when: {field: quan_he, equals: cha}}
""")
    designer = trimming_report(f)["counts"]
    assert designer["official_fields"] == 4 and designer["typed"] == 1
    assert designer["computed"] == 3
    data = {"nguoi": {"ho_ten": "Nguyễn Văn An", "quan_he": "cha"}}
    shown = actual_reduction(f, data, prov("/nguoi/ho_ten"), [])
    assert shown["counts"]["official_fields"] == designer["official_fields"]
    assert shown["counts"]["typed"] == designer["typed"]
    assert shown["counts"]["computed"] == designer["computed"]
    assert shown["reduction_percent"] == trimming_report(f)["reduction_percent"] == 75.0
    # hidden for this citizen: on neither side, like any other field
    data["nguoi"]["quan_he"] = "me"
    hidden = actual_reduction(f, data, prov("/nguoi/ho_ten"), [])
    assert hidden["counts"]["official_fields"] == 3 and hidden["counts"]["computed"] == 2
    assert hidden["counts"]["typed"] == 1


def test_a_binding_chosen_by_an_answer_lists_every_record() -> None:
    f = form("""
  - id: su_kien
    title: Sự kiện
    fields:
      - {id: loai, type: choice, codes: loai_su_kien, label: Loại sự kiện}
      - id: noi_dang_ky
        type: text
        label: Nơi đăng ký
        prefill:
          by: loai
          records:
            khai_sinh: civil_status.birth_registration_authority
            ket_hon: civil_status.marriage_registration_authority
            thuong_tru: population.id_card_issue_place
""", """code_lists:
  loai_su_kien:
    - {code: khai_sinh, label: Khai sinh}
    - {code: ket_hon, label: Kết hôn}
    - {code: thuong_tru, label: Thường trú}
""")
    row = next(r for r in trimming_report(f)["fields"] if r["path"] == "/su_kien/noi_dang_ky")
    assert row["by"] == "/su_kien/loai"
    assert [(c["answer"], c["answer_label"], c["record"]) for c in row["choices"]] == [
        ("khai_sinh", "Khai sinh", "civil_status.birth_registration_authority"),
        ("ket_hon", "Kết hôn", "civil_status.marriage_registration_authority"),
        ("thuong_tru", "Thường trú", "population.id_card_issue_place")]
    assert all(c["source"] and c["record_label"] for c in row["choices"])
    assert "hộ tịch" in row["source"].lower() and "dân cư" in row["source"].lower()

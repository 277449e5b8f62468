"""draft_from_layout on a hand-made layout of a birth-registration-like form (#17)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from forms.imports.draft import Draft, draft_from_layout
from forms.imports.guess import BindingIndex
from forms.imports.reader import Layout, Line, Span, Table
from forms.language import load_document, parse_text
from forms.model import FormDefinition

CATALOGUE = Path(__file__).resolve().parents[3] / "forms" / "catalogue"


@cache
def catalogue() -> tuple[FormDefinition, ...]:
    return tuple(parse_text(p.read_text(encoding="utf-8"), p.name)
                 for p in sorted(CATALOGUE.glob("*.yaml")))


class _Page:
    """Lines laid out top to bottom on a page, 14 pt apart."""

    def __init__(self) -> None:
        self.lines: list[Line] = []
        self.tables: list[Table] = []
        self.top = 40.0
        self.page = 1

    def add(self, *texts: str, bold: bool = False, size: float = 11.0) -> None:
        spans, x = [], 60.0
        for text in texts:
            spans.append(Span(text, x, x + 5.5 * len(text), bold, size))
            x += 5.5 * len(text) + 60
        self.lines.append(Line(self.page, self.top, self.top + size, tuple(spans)))
        self.top += 14

    def table(self, *rows: tuple[str, ...]) -> None:
        self.tables.append(Table(self.page, self.top, tuple(rows)))
        self.top += 20 * len(rows)

    def new_page(self) -> None:
        self.page += 1
        self.top = 40.0

    def layout(self, from_ocr: bool = False) -> Layout:
        return Layout(tuple(self.lines), tuple(self.tables), self.page, from_ocr)


def birth_form() -> Layout:
    p = _Page()
    p.add("Mẫu số 01/KS", size=10)
    p.add("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True)
    p.add("Độc lập - Tự do - Hạnh phúc", bold=True)
    p.add("---------------")
    p.add("TỜ KHAI ĐĂNG KÝ KHAI SINH", bold=True, size=14)
    p.add("(Ban hành kèm theo Thông tư số 04/2024/TT-BTP ngày 06/6/2024", size=10)
    p.add("của Bộ trưởng Bộ Tư pháp)", size=10)
    p.add("Kính gửi: (1) ..............................................")
    p.add("I. THÔNG TIN NGƯỜI YÊU CẦU", bold=True)
    p.add("Họ, chữ đệm, tên người yêu cầu: ..........................................")
    p.add("Nơi cư trú: (2) .................................................................")
    p.add("Số điện thoại: ....................... Email: ..............................")
    p.add("Quan hệ với người được khai sinh: ..........................................")
    p.add("II. NGƯỜI ĐƯỢC KHAI SINH", bold=True)
    p.add("Họ, chữ đệm, tên: ..........................................................")
    p.add("Ngày, tháng, năm sinh: ………… Giới tính: ………… Dân tộc: …………")
    p.add("Quốc tịch: ........................")
    p.add("Nơi sinh: (3) ....................................................................")
    p.add("III. NGƯỜI MẸ", bold=True)
    p.add("Họ, chữ đệm, tên người mẹ: ...............................................")
    p.add("Năm sinh: ............ Dân tộc: ............ Quốc tịch: ............")
    p.add("IV. THÔNG TIN KHÁC", bold=True)
    p.add("Hình thức nhận kết quả: ☐ Trực tiếp ☐ Bưu chính ☐ Trực tuyến")
    p.add("Đề nghị cấp bản sao: Có ☐ Không ☐")
    p.add("Con chung của vợ chồng:")
    p.add("☐ Có")
    p.add("☐ Không")
    p.add("Những người con khác đã được khai sinh:")
    p.table(("STT", "Họ, chữ đệm, tên", "Ngày, tháng, năm sinh", "Số định danh cá nhân"),
            ("", "", "", ""))
    p.add("Tôi cam đoan nội dung khai trên đây là đúng sự thật và chịu trách nhiệm trước")
    p.add("pháp luật về cam đoan của mình.")
    p.add("Làm tại: ......................., ngày ....... tháng ....... năm ..........")
    p.add("NGƯỜI YÊU CẦU", bold=True)
    p.add("(Ký, ghi rõ họ, chữ đệm, tên)")
    p.add("(1) Ghi tên Ủy ban nhân dân cấp xã có thẩm quyền đăng ký khai sinh.", size=9)
    p.add("(2) Ghi theo nơi đăng ký thường trú; nếu không có nơi thường trú thì ghi",
          size=9)
    p.add("theo nơi đăng ký tạm trú.", size=9)
    p.add("(3) Ghi tên cơ sở y tế hoặc địa danh hành chính.", size=9)
    return p.layout()


@cache
def birth_draft() -> Draft:
    return draft_from_layout(birth_form(), catalogue=catalogue())


def _sections() -> list[dict[str, Any]]:
    return birth_draft().definition["sections"]


def _field(section: int, label: str) -> dict[str, Any]:
    return next(f for f in _sections()[section]["fields"] if f["label"] == label)


def test_the_draft_passes_the_checker_and_is_what_the_yaml_says() -> None:
    draft = birth_draft()
    form = parse_text(draft.yaml, "draft.yaml")
    assert load_document(draft.yaml, "draft.yaml") == draft.definition
    assert form.id == "to-khai-dang-ky-khai-sinh"
    assert draft.from_ocr is False


def test_title_code_and_legal_basis() -> None:
    d = birth_draft().definition
    assert d["title"] == "Tờ khai đăng ký khai sinh"
    assert d["legal_basis"] == ("Mẫu số 01/KS, Ban hành kèm theo Thông tư số 04/2024/TT-BTP "
                                "ngày 06/6/2024 của Bộ trưởng Bộ Tư pháp")
    assert "CỘNG HÒA" not in birth_draft().yaml


def test_sections_from_roman_numerals() -> None:
    assert [s["title"] for s in _sections()] == [
        "I. Thông tin người yêu cầu", "II. Người được khai sinh", "III. Người mẹ",
        "IV. Thông tin khác"]
    assert [s["id"] for s in _sections()] == [
        "thong_tin_nguoi_yeu_cau", "nguoi_duoc_khai_sinh", "nguoi_me", "thong_tin_khac"]


def test_labels_and_several_fields_on_one_line() -> None:
    labels = [[f["label"] for f in s["fields"]] for s in _sections()]
    assert labels[0] == ["Họ, chữ đệm, tên người yêu cầu", "Nơi cư trú", "Số điện thoại",
                         "Email", "Quan hệ với người được khai sinh"]
    assert labels[1] == ["Họ, chữ đệm, tên", "Ngày, tháng, năm sinh", "Giới tính", "Dân tộc",
                         "Quốc tịch", "Nơi sinh"]
    assert labels[2] == ["Họ, chữ đệm, tên người mẹ", "Năm sinh", "Dân tộc", "Quốc tịch"]
    ids = [f["id"] for f in _sections()[1]["fields"]]
    assert ids == ["ho_chu_dem_ten", "ngay_thang_nam_sinh", "gioi_tinh", "dan_toc",
                   "quoc_tich", "noi_sinh"]


def test_types_guessed_and_taught_by_the_catalogue() -> None:
    assert _field(1, "Ngày, tháng, năm sinh")["type"] == "date"
    assert _field(1, "Giới tính")["codes"] == "sex"
    assert _field(1, "Dân tộc")["codes"] == "ethnicity"
    assert _field(0, "Số điện thoại")["type"] == "phone"
    assert _field(0, "Email")["type"] == "email"
    assert _field(0, "Nơi cư trú")["type"] == "address"
    assert _field(0, "Quan hệ với người được khai sinh")["codes"] == "relationship"
    assert _field(2, "Năm sinh")["type"] == "partial_date"


def test_bindings_learnt_from_the_catalogue() -> None:
    assert _field(0, "Họ, chữ đệm, tên người yêu cầu")["prefill"] == "population.full_name"
    assert _field(0, "Nơi cư trú")["prefill"] == "population.residence"
    # the catalogue leaves the child's name unbound (the child has no record yet)
    assert "prefill" not in _field(1, "Họ, chữ đệm, tên")
    # the mother's section: bound as the catalogue's person sections are, marked as a guess
    assert _field(2, "Họ, chữ đệm, tên người mẹ")["prefill"] == "population.full_name"
    findings = birth_draft().findings
    assert any(f.code == "other_person" and f.path == "sections[2]" for f in findings)
    assert any(f.code == "guess" and f.path == "sections[2].fields[0]" for f in findings)
    assert "# ĐOÁN (độ tin cậy 0.60): điền sẵn từ population.full_name" in birth_draft().yaml


def test_tick_boxes_become_choices_and_yes_no() -> None:
    d = birth_draft().definition
    f = _field(3, "Hình thức nhận kết quả")
    assert f["type"] == "choice"
    assert [c["label"] for c in d["code_lists"][f["codes"]]] == [
        "Trực tiếp", "Bưu chính", "Trực tuyến"]
    assert [c["code"] for c in d["code_lists"][f["codes"]]] == [
        "truc_tiep", "buu_chinh", "truc_tuyen"]
    assert _field(3, "Đề nghị cấp bản sao")["type"] == "boolean"
    # options on the lines under their label
    assert _field(3, "Con chung của vợ chồng")["type"] == "boolean"


def test_a_table_is_a_repeated_group_of_its_columns() -> None:
    group = _field(3, "Những người con khác đã được khai sinh")
    assert group["type"] == "group"
    assert group["repeat"] == {"min": 0, "max": 20}
    assert [(f["label"], f["type"]) for f in group["fields"]] == [
        ("Họ, chữ đệm, tên", "text"), ("Ngày, tháng, năm sinh", "date"),
        ("Số định danh cá nhân", "personal_id")]


def test_footnotes_are_the_help_of_their_marks() -> None:
    assert _field(0, "Nơi cư trú")["help"] == (
        "Ghi theo nơi đăng ký thường trú; nếu không có nơi thường trú thì ghi theo nơi đăng "
        "ký tạm trú.")
    assert _field(1, "Nơi sinh")["help"] == "Ghi tên cơ sở y tế hoặc địa danh hành chính."
    assert "(3)" not in birth_draft().yaml


def test_commitment_and_what_is_dropped() -> None:
    fields = _sections()[3]["fields"]
    commitment = [f for f in fields if f["type"] == "commitment"]
    assert [f["label"] for f in commitment] == [
        "Tôi cam đoan nội dung khai trên đây là đúng sự thật và chịu trách nhiệm trước pháp "
        "luật về cam đoan của mình."]
    assert _field(3, "Làm tại")["type"] == "text"
    dropped = [(d["label"], d["reason"]) for d in birth_draft().definition["dropped"]]
    assert dropped == [("Kính gửi", "derived"),
                       ("…, ngày … tháng … năm …", "submission_date"),
                       ("Người yêu cầu", "signature")]
    assert birth_draft().definition["dropped"][0]["note"] == (
        "Ghi tên Ủy ban nhân dân cấp xã có thẩm quyền đăng ký khai sinh.")


def test_no_headings_one_section_and_ocr_said() -> None:
    p = _Page()
    p.add("ĐƠN ĐỀ NGHỊ CẤP GIẤY XÁC NHẬN", bold=True, size=14)
    p.add("Họ và tên: .................. Số định danh cá nhân/CMND: ..................")
    p.add("Ngày cấp: ................ Nơi cấp: ..................")
    p.add("Nội dung đề nghị:")
    p.add(".................................................................")
    p.add(".................................................................")
    draft = draft_from_layout(p.layout(from_ocr=True), catalogue=catalogue())
    parse_text(draft.yaml, "draft.yaml")
    (section,) = draft.definition["sections"]
    assert [(f["label"], f["type"]) for f in section["fields"]] == [
        ("Họ và tên", "text"), ("Số định danh cá nhân/CMND", "personal_id"),
        ("Ngày cấp", "date"), ("Nơi cấp", "text"), ("Nội dung đề nghị", "long_text")]
    assert section["fields"][1].get("old_id_card") is True
    assert draft.from_ocr and any(f.code == "from_ocr" for f in draft.findings)
    assert any(f.code == "no_legal_basis" for f in draft.findings)


def test_a_date_and_time_blank_stays_in_its_label() -> None:
    p = _Page()
    p.add("TỜ KHAI ĐĂNG KÝ KHAI TỬ", bold=True, size=14)
    p.add("Chết vào lúc: ...... giờ ...... phút, ngày ...... tháng ...... năm ......")
    p.add("Hà Nội, ngày ...... tháng ...... năm ......")
    draft = draft_from_layout(p.layout(), catalogue=catalogue())
    parse_text(draft.yaml, "draft.yaml")
    (f,) = draft.definition["sections"][0]["fields"]
    assert f["label"] == "Chết vào lúc: … giờ … phút, ngày … tháng … năm …"
    assert f["type"] == "date_time"
    assert draft.definition["dropped"] == [
        {"label": "Hà Nội, ngày … tháng … năm …", "reason": "submission_date",
         "section": "Thông tin chung"}]


@pytest.mark.parametrize("title", ["Tờ khai", "TỜ KHAI ĐĂNG KÝ KẾT HÔN"])
def test_the_form_id_is_an_ascii_slug_of_the_title(title: str) -> None:
    p = _Page()
    p.add(title, bold=True, size=14)
    p.add("Họ, chữ đệm, tên: ............")
    draft = draft_from_layout(p.layout(), catalogue=BindingIndex(catalogue()))
    assert draft.definition["id"] == {"Tờ khai": "to-khai",
                                      "TỜ KHAI ĐĂNG KÝ KẾT HÔN": "to-khai-dang-ky-ket-hon"}[title]
    parse_text(draft.yaml, "draft.yaml")


def test_the_title_is_under_the_motto_and_an_annex_number_is_part_of_the_basis() -> None:
    p = _Page()
    p.add("Phụ lục 5", bold=True)
    p.add("(Ban hành kèm theo Thông tư 04/2020/TT-BTP)", size=10)
    p.add("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True)
    p.add("Độc lập - Tự do - Hạnh phúc", bold=True)
    p.add("TỜ KHAI CẤP BẢN SAO TRÍCH LỤC HỘ TỊCH", bold=True, size=14)
    p.add("Kính gửi: Ủy ban nhân dân ............")
    # the catalogue types this label as a choice of its own form's list: not copied here
    p.add("Quan hệ với người được cấp bản sao Trích lục hộ tịch: ..........")
    draft = draft_from_layout(p.layout(), catalogue=catalogue())
    parse_text(draft.yaml, "draft.yaml")
    d = draft.definition
    assert d["title"] == "Tờ khai cấp bản sao trích lục hộ tịch"
    assert d["legal_basis"] == "Phụ lục 5, Ban hành kèm theo Thông tư 04/2020/TT-BTP"
    assert d["dropped"] == [{"label": "Kính gửi: Ủy ban nhân dân", "reason": "derived",
                             "section": "Cơ quan tiếp nhận"}]
    (f,) = d["sections"][0]["fields"]
    assert f["type"] != "choice" or f["codes"] in ("relationship",)


def test_signature_blocks_on_two_lines_and_side_by_side() -> None:
    p = _Page()
    p.add("TỜ KHAI ĐĂNG KÝ KẾT HÔN", bold=True, size=14)
    p.add("Giấy tờ tùy thân(5): ..................")
    p.add("Ý KIẾN CỦA CHỦ SỞ HỮU CHỖ Ở", bold=True)
    p.add("HỢP PHÁP(4)", bold=True)
    p.add("(Ký và ghi rõ", size=10)
    p.add("họ tên)", size=10)
    p.add("Bên nữ", "Bên nam", bold=True)
    p.add("(Ký, ghi rõ họ tên)", "(Ký, ghi rõ họ tên)")
    p.add("(4) Chỉ khi chỗ ở không thuộc sở hữu của người khai.", size=9)
    p.add("(5) Ví dụ: Thẻ căn cước số … do … cấp ngày …; người chưa đủ 14 tuổi thì người",
          size=9)
    p.add("đại diện khai và ký thay (Ký và ghi rõ họ tên).", size=9)
    draft = draft_from_layout(p.layout(), catalogue=catalogue())
    parse_text(draft.yaml, "draft.yaml")
    d = draft.definition
    assert [(x["label"], x["reason"]) for x in d["dropped"]] == [
        ("Ý kiến của chủ sở hữu chỗ ở hợp pháp", "signature"),
        ("Bên nữ", "signature"), ("Bên nam", "signature")]
    assert d["dropped"][0]["note"] == "Chỉ khi chỗ ở không thuộc sở hữu của người khai."
    (f,) = d["sections"][0]["fields"]
    assert f["help"] == ("Ví dụ: Thẻ căn cước số … do … cấp ngày …; người chưa đủ 14 tuổi "
                         "thì người đại diện khai và ký thay (Ký và ghi rõ họ tên).")


def test_unrelated_or_other_person_bindings_are_marked_and_found() -> None:
    p = _Page()
    p.add("TỜ KHAI YÊU CẦU CẤP PHIẾU LÝ LỊCH TƯ PHÁP", bold=True, size=14)
    p.add("I. THÔNG TIN NGƯỜI YÊU CẦU", bold=True)
    p.add("1. Họ và tên: ..................................................")
    p.add("2. Cấp ngày: ................ Tại: ...............................")
    p.add("11. Họ và tên cha: ..............................................")
    p.add("12. Họ và tên mẹ: ...............................................")
    draft = draft_from_layout(p.layout(), catalogue=catalogue())
    fields = draft.definition["sections"][0]["fields"]
    by_label = {f["label"]: (i, f) for i, f in enumerate(fields)}
    for label in ("2. Cấp ngày", "Tại", "11. Họ và tên cha", "12. Họ và tên mẹ"):
        i, f = by_label[label]
        path = f"sections[0].fields[{i}]"
        if "prefill" in f:  # a binding may stay, marked as a guess
            assert any(x.code == "guess" and x.path == path and x.confidence is not None
                       and x.confidence < 0.7 for x in draft.findings), label
    for label in ("11. Họ và tên cha", "12. Họ và tên mẹ"):
        i, f = by_label[label]
        assert f["prefill"] == "population.full_name"
        assert any(x.code == "other_person" and x.path == f"sections[0].fields[{i}]"
                   for x in draft.findings)
    i, _ = by_label["1. Họ và tên"]
    assert not any(x.path == f"sections[0].fields[{i}]" for x in draft.findings)
    assert "# ĐOÁN (độ tin cậy 0.60): điền sẵn từ population.full_name" in draft.yaml

"""The layout of Decree 30/2020/NĐ-CP, Annex I, on every result template and on the apology
letter, checked on the PDF itself: fonts and positions of the characters (pdfplumber), the
rules under the agency and the motto, the seal against the text, and the QR code as poppler
renders it and zbar reads it."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pdfplumber
import pytest

from forms.results import TEMPLATES
from service.results import letters, rendering
from storage.models import Dossier
from tests.service.results.test_rendering import ISSUER, render_issued

MM = 72 / 25.4
#: values for every template (a birth, a residence, a judicial record, a household business,
#: a request decided)
DATA: dict[str, Any] = {
    "nguoi_duoc_khai_sinh": {"ho_ten": "Lê Thị Thu Hà", "ngay_sinh": "2026-03-09",
                             "gioi_tinh": "Nữ", "dan_toc": "Kinh", "quoc_tich": "Việt Nam",
                             "noi_sinh": "Bệnh viện Phụ sản Hà Nội"},
    "nguoi_me": {"ho_ten": "Lê Thị Hồng", "nam_sinh": "1990"},
    "nguoi_yeu_cau": {"ho_ten": "Nguyễn Văn Ấn", "so_dinh_danh": "001085012345",
                      "ngay_sinh": "1985-05-01", "gioi_tinh": "Nam",
                      "noi_cu_tru": "5 Phan Đình Phùng, Phường Ba Đình, Thành phố Hà Nội"},
    "qua_trinh": {"noi_o_hien_tai": "5 Phan Đình Phùng, Phường Ba Đình, Thành phố Hà Nội"},
    "ket_qua": {"tinh_trang_an_tich": "Không có án tích"},
    "ho_kinh_doanh": {"ten": "HỘ KINH DOANH PHỞ THÌN", "dia_chi": "13 Lò Đúc",
                      "nganh_nghe": "Dịch vụ ăn uống"},
    "noi_dung": {"noi_dung_de_nghi": "Đăng ký giám hộ cho cháu Lê Văn Bình."},
    "ben_nu": {"ho_ten": "Lê Thị Thu Hà", "ngay_sinh": "1999-08-23", "dan_toc": "Kinh",
               "quoc_tich": "Việt Nam", "noi_cu_tru": "Số 45, đường Lê Lợi",
               "giay_to": "079199054321"},
    "ben_nam": {"ho_ten": "Nguyễn Văn Ấn", "ngay_sinh": "1985-05-01", "dan_toc": "Kinh",
                "quoc_tich": "Việt Nam", "noi_cu_tru": "Số 12, phố Hàng Bạc",
                "giay_to": "001085012345"},
}


def rendered_page(template: str, **kwargs: Any) -> tuple[rendering.Rendered, Any]:
    rendered = render_issued(f"doc-{template}", template, DATA,
                             procedure_name="Đăng ký giám hộ", **kwargs)
    return rendered, pdfplumber.open(io.BytesIO(rendered.pdf))


def words_of(page: Any) -> list[dict[str, Any]]:
    return page.extract_words(extra_attrs=["fontname", "size"], keep_blank_chars=False)


def line_with(page: Any, first: str) -> list[dict[str, Any]]:
    """The words on the line (same baseline) of the first word ``first``."""
    words = words_of(page)
    anchor = next(w for w in words if w["text"] == first)
    return [w for w in words if abs(w["bottom"] - anchor["bottom"]) < 0.6]


def overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float],
             ) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


# -- numbers and dates --------------------------------------------------------------------------

def test_the_number_is_number_slash_type_dash_agency_without_year() -> None:
    assert rendering.document_number(3, "QĐ", "UBND") == "03/QĐ-UBND"  # zero below 10
    assert rendering.document_number(15, "QĐ", "UBND") == "15/QĐ-UBND"
    assert rendering.document_number(123, "TLKS", "UBND") == "123/TLKS-UBND"
    with pytest.raises(ValueError):
        rendering.document_number(0, "QĐ", "UBND")


@pytest.mark.parametrize(("day", "written"), [
    (date(2026, 2, 5), "ngày 05 tháng 02 năm 2026"),
    (date(2019, 6, 29), "ngày 29 tháng 6 năm 2019"),
    (date(2020, 1, 5), "ngày 05 tháng 01 năm 2020"),
    (date(2026, 3, 9), "ngày 09 tháng 3 năm 2026"),
    (date(2026, 12, 10), "ngày 10 tháng 12 năm 2026"),
])
def test_dates_pad_days_below_ten_and_months_one_and_two_only(day: date, written: str) -> None:
    assert rendering.date_words(day) == written


# -- every template -----------------------------------------------------------------------------

@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_header_number_and_italic_place_and_date_on_one_line(template: str) -> None:
    rendered, pdf = rendered_page(template)
    with pdf:
        page = pdf.pages[0]
        line = line_with(page, "Số:")
        text = " ".join(w["text"] for w in line)
        number = rendering.document_number(7, TEMPLATES[template].symbol, "UBND")
        assert f"Số: {number}" in text
        assert "Thử Nghiệm, ngày 27 tháng 11 năm 2026" in text
        left = [w for w in line if w["x1"] < (30 + rendering.LEFT_COLUMN) * MM]
        right = [w for w in line if w["x0"] > (30 + rendering.LEFT_COLUMN) * MM]
        assert " ".join(w["text"] for w in left) == f"Số: {number}"
        assert all("Italic" not in w["fontname"] for w in left)  # the number upright
        assert right and all("Italic" in w["fontname"] for w in right)  # place, date italic
        assert all(round(w["size"]) == 13 for w in line)
        # the national name (bold caps, 12 pt) and the motto (bold, 13 pt) on the right
        national = line_with(page, "CỘNG")
        assert " ".join(w["text"] for w in national).endswith(rendering.NATIONAL_NAME)
        assert all("Bold" in w["fontname"] and round(w["size"]) == 12 for w in national
                   if w["x0"] > (30 + rendering.LEFT_COLUMN) * MM)
        motto = line_with(page, "Độc")
        assert " ".join(w["text"] for w in motto) == rendering.MOTTO
        assert all("Bold" in w["fontname"] and round(w["size"]) == 13 for w in motto)
        # the motto's rule is as long as the motto; the agency's is a third to a half of it
        rules = [ln for ln in page.lines if abs(ln["top"] - ln["bottom"]) < 0.1]
        motto_width = motto[-1]["x1"] - motto[0]["x0"]
        under_motto = [ln for ln in rules if 0 < ln["top"] - motto[0]["bottom"] < 6
                       and ln["x0"] > (30 + rendering.LEFT_COLUMN) * MM]
        assert under_motto and abs(under_motto[0]["width"] - motto_width) < 1.5
        agency = [w for w in words_of(page) if w["x1"] < (30 + rendering.LEFT_COLUMN) * MM
                  and w["bottom"] < line[0]["top"] and "Bold" in w["fontname"]]
        assert " ".join(w["text"] for w in agency) == "ỦY BAN NHÂN DÂN XÃ THỬ NGHIỆM SỐ 4"
        widest = max(max(w["x1"] for w in same) - min(w["x0"] for w in same)
                     for same in ([w for w in agency if abs(w["bottom"] - b) < 0.6]
                                  for b in {w["bottom"] for w in agency}))
        under_agency = [ln for ln in rules if ln["x1"] < (30 + rendering.LEFT_COLUMN) * MM
                        and ln["top"] > agency[-1]["bottom"] and ln["top"] < line[0]["top"]]
        assert under_agency
        assert widest / 3 - 2 <= under_agency[0]["width"] <= widest / 2 + 2


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_set_in_the_serif_on_a4_within_the_margins(template: str) -> None:
    _, pdf = rendered_page(template)
    with pdf:
        page = pdf.pages[0]
        assert (round(page.width), round(page.height)) == (595, 842)
        fonts = {c["fontname"].split("+")[-1] for c in page.chars}
        assert fonts <= {f"TokhaiSerif{s}" for s in ("", "Bold", "Italic", "BoldItalic")}, \
            fonts
        for c in page.chars:  # left 30 mm, right 20 mm, top 20 mm, bottom 20 mm
            assert c["x0"] >= 30 * MM - 0.5 and c["x1"] <= page.width - 20 * MM + 0.5, c
            assert c["top"] >= 20 * MM - 0.5 and c["bottom"] <= page.height - 20 * MM
        title = line_with(page, TEMPLATES[template].title.split()[0])
        assert all("Bold" in w["fontname"] and round(w["size"]) == 14 for w in title)


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_the_signer_block_and_the_seal_cover_no_text(template: str) -> None:
    rendered, pdf = rendered_page(template)
    t = TEMPLATES[template]
    with pdf:
        page = pdf.pages[0]
        text = page.extract_text()
        authority = [t.signer_heading] if t.signer_heading else ["TM. ỦY BAN NHÂN DÂN",
                                                                 "KT. CHỦ TỊCH"]
        for line in [*authority, "PHÓ CHỦ TỊCH", "Nguyễn Văn Thử", "Nơi nhận:"]:
            assert line in text
        column = (30 + rendering.CLOSING_LEFT) * MM
        words = words_of(page)
        first = next(w for w in words if w["x0"] > column and w["text"] == authority[0].split()[0]
                     and "Bold" in w["fontname"])
        heading = [w for w in words if abs(w["bottom"] - first["bottom"]) < 0.6
                   and w["x0"] > column]
        assert " ".join(w["text"] for w in heading) == authority[0]
        signer = next(w for w in words if w["text"] == "Thử" and w["x0"] > column
                      and "Bold" in w["fontname"])
        name = [w for w in words if abs(w["bottom"] - signer["bottom"]) < 0.6]
        assert " ".join(w["text"] for w in name) == "Nguyễn Văn Thử"
        assert all("Bold" in w["fontname"] for w in name)
        # "Nơi nhận:" 12 pt bold italic on the left, level with the authority line
        receivers = line_with(page, "nhận:")
        assert receivers[0]["x0"] < 31 * MM and "BoldItalic" in receivers[0]["fontname"]
        assert round(receivers[0]["size"]) == 12
        assert abs(receivers[0]["top"] - heading[-1]["top"]) < 2
        listed = [w for w in words_of(page) if w["text"] == "Lưu:"]
        assert listed and round(listed[0]["size"]) == 11
        # the signature field (the seal's square) and the seal image cover no character
        x1, y1, x2, y2 = rendered.box
        field = (x1, page.height - y2, x2, page.height - y1)
        (seal,) = page.images
        image = (seal["x0"], seal["top"], seal["x1"], seal["bottom"])
        for c in page.chars:
            box = (c["x0"], c["top"], c["x1"], c["bottom"])
            assert not overlaps(box, field), c["text"]
            assert not overlaps(box, image), c["text"]
        # between the title and the name; the signer and the time beside it, on its right
        assert heading[-1]["bottom"] < image[1] and image[3] < name[0]["top"]
        signed_by = line_with(page, "Ký")
        assert signed_by[0]["x0"] > image[2] and image[1] <= signed_by[0]["top"] <= image[3]
        assert "Thời gian ký: 2026-11-27T09:15:02+07:00" in text
        assert all(round(w["size"]) == 10 for w in signed_by)


@pytest.mark.parametrize("template", sorted(TEMPLATES))
@pytest.mark.parametrize("render", [["-r", "72"], ["-r", "150", "-gray"]],
                         ids=["72dpi", "150dpi-grey"])
def test_the_qr_code_reads_from_a_72_dpi_and_a_150_dpi_grey_render(
        template: str, render: list[str], tmp_path: Path) -> None:
    rendered, pdf = rendered_page(template)
    pdf.close()
    path = tmp_path / "r.pdf"
    path.write_bytes(rendered.pdf)
    subprocess.run(["pdftoppm", *render, "-png", "-f", "1", "-l", "1", str(path),
                    str(tmp_path / "page")], check=True)
    (image,) = tmp_path.glob("page-*.png")
    decoded = subprocess.run(["zbarimg", "-q", "--raw", str(image)], capture_output=True,
                             text=True).stdout.strip()
    assert decoded == f"http://tokhai.test/v/doc-{template}"


def test_a_long_decision_numbers_its_pages_from_the_second() -> None:
    data = {**DATA, "noi_dung": {"noi_dung_de_nghi": "Xin được giám hộ. " * 400}}
    rendered = render_issued("doc-long", "decision", data, procedure_name="Đăng ký giám hộ")
    with pdfplumber.open(io.BytesIO(rendered.pdf)) as pdf:
        assert len(pdf.pages) >= 2
        first, second = pdf.pages[0], pdf.pages[1]
        assert not [c for c in first.chars if c["top"] < 20 * MM]  # page 1 has no number
        number = [c for c in second.chars if c["top"] < 20 * MM]
        assert "".join(c["text"] for c in number) == "2"
        assert abs((number[0]["x0"] + number[0]["x1"]) / 2 - (30 + 80) * MM) < 3  # centred


def test_a_development_document_says_it_has_no_legal_validity_and_nothing_else() -> None:
    for development, validity in ((True, False), (False, True)):
        rendered = render_issued("doc-dev", "decision", DATA, development=development)
        with pdfplumber.open(io.BytesIO(rendered.pdf)) as pdf:
            words = " ".join(pdf.pages[0].extract_text().split()).casefold()
        claims = [m.start() for m in re.finditer("có giá trị pháp lý", words)]
        denied = [i for i in claims if words[max(0, i - 6):i] == "không "]
        if development:
            assert denied and denied == claims  # said, and never the opposite
            assert "thử nghiệm" in words
        else:
            assert claims and not denied  # a production document may say it is valid
        assert ("như bản giấy" in words) is validity


# -- the apology letter ---------------------------------------------------------------------------

def test_the_apology_letter_is_laid_out_like_the_results() -> None:
    moment = datetime(2026, 2, 5, 2, 0, tzinfo=UTC)
    dossier = Dossier(code="UBND-XA-00004-260201-0001", procedure_code="1.001193",
                      procedure_name="Đăng ký khai sinh", channel="online",
                      citizen_id="001085012345", status="submitted",
                      data={"nguoi_yeu_cau": {"ho_ten": "Nguyễn Văn Ấn"}},
                      submitted_at=datetime(2026, 1, 20, 2, 0, tzinfo=UTC),
                      accept_deadline=datetime(2026, 1, 21, 2, 0, tzinfo=UTC),
                      promised_at=datetime(2026, 2, 9, 2, 0, tzinfo=UTC),
                      late_explanation="Mất điện", late_explained_by="Cán bộ A",
                      late_explained_at=moment)
    number = rendering.document_number(1, letters.SYMBOL, ISSUER.abbreviation)
    rendered = letters.apology_letter(
        dossier, ISSUER.name, ISSUER.locality, "doc-letter", "http://tokhai.test/v/doc-letter",
        rendering.Stamp(ISSUER.name, moment, _seal()), issuer=ISSUER, number=number)
    with pdfplumber.open(io.BytesIO(rendered.pdf)) as pdf:
        page = pdf.pages[0]
        text = " ".join(page.extract_text().split())
        line = line_with(page, "Số:")
        assert " ".join(w["text"] for w in line) == \
            "Số: 01/PXL-UBND Thử Nghiệm, ngày 05 tháng 02 năm 2026"
        assert all("Italic" in w["fontname"] for w in line if w["x0"] > 90 * MM)
        for part in ("PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ", "Kính gửi: Ông/Bà Nguyễn Văn Ấn",
                     "ngày 09 tháng 02 năm 2026", "TM. ỦY BAN NHÂN DÂN", "PHÓ CHỦ TỊCH",
                     "Nguyễn Văn Thử", "Nơi nhận:", "- Như trên;", "- Lưu: VT."):
            assert part in text, part
        assert {c["fontname"].split("+")[-1][:11] for c in page.chars} == {"TokhaiSerif"}


def _seal() -> bytes:
    from service.pki.seals import development_seal

    return development_seal(ISSUER.name)

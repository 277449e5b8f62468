"""Rendering a result template to PDF (service.results.rendering), without signing or HTTP."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime

import pdfplumber
from pyhanko.pdf_utils.reader import PdfFileReader

from forms.results import TEMPLATES
from service.pki import validation as verification
from service.pki.seals import development_seal
from service.results import rendering
from service.results.issuance import result_values
from tests.service.pki.test_signing import AGENCY_NAME, DATA, SIGNED_AT, render

BIRTH = {"nguoi_duoc_khai_sinh": {**DATA["nguoi_duoc_khai_sinh"], "dan_toc": "Kinh",
                                  "quoc_tich": "Việt Nam", "noi_sinh": "Bệnh viện Phụ sản"},
         "nguoi_me": {"ho_ten": "Lê Thị Hồng", "nam_sinh": "1990"},
         "nguoi_yeu_cau": DATA["nguoi_yeu_cau"]}
ISSUER = rendering.Issuer(
    AGENCY_NAME, "UBND", "Thử Nghiệm",
    rendering.Signatory("PHÓ CHỦ TỊCH", "Nguyễn Văn Thử", ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH")))


def render_issued(document_id: str = "doc-render", template: str = "birth_extract",
                  data: dict | None = None, issuer: rendering.Issuer = ISSUER,
                  development: bool = False, number: int = 7,
                  procedure_name: str | None = None) -> rendering.Rendered:
    """A result as issuance renders it: with the agency's details and named values."""
    t = TEMPLATES[template]
    values = result_values(t, None, BIRTH if data is None else data)
    return rendering.render_result(rendering.Result(
        t, issuer.name, issuer.locality, rendering.document_number(number, t.symbol,
                                                                   issuer.abbreviation),
        document_id, f"http://tokhai.test/v/{document_id}", "UBND-XA-00004-261127-0001",
        "1.001193", "001085012345", values.rows, values.structured,
        rendering.Stamp(issuer.name, SIGNED_AT, development_seal(issuer.name), development),
        procedure_name=procedure_name, issuer=issuer, values=values.printed,
        form_legal_basis="Phụ lục ban hành kèm Thông tư 04/2020/TT-BTP"))


def text_of(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return "\n".join(page.extract_text() or "" for page in doc.pages)


def test_a_birth_extract_prints_number_agency_dates_and_data() -> None:
    rendered = render_issued("doc-render-1")
    with pdfplumber.open(io.BytesIO(rendered.pdf)) as doc:
        assert len(doc.pages) == 1
        (width, height) = (doc.pages[0].width, doc.pages[0].height)
    assert round(width) == 595 and round(height) == 842  # A4
    text = text_of(rendered.pdf)
    assert "Số: 07/TLKS-UBND" in text and "TRÍCH LỤC KHAI SINH" in text
    assert "ỦY BAN NHÂN DÂN" in text and "XÃ THỬ NGHIỆM SỐ 4" in text  # the agency, two lines
    assert "Thử Nghiệm, ngày 27 tháng 11 năm 2026" in text
    assert "Ngày, tháng, năm sinh: 09/03/2026" in text  # dd/mm/yyyy on paper, not ISO
    assert "2026-03-09" not in text
    assert "Họ, chữ đệm, tên: Lê Thị Thu Hà" in text
    assert "Mã tài liệu: doc-render-1" in text and "http://tokhai.test/v/doc-render-1" in text
    assert "Thời gian ký: 2026-11-27T09:15:02+07:00" in text
    assert "NGƯỜI KÝ TRÍCH LỤC" in text and "Nguyễn Văn Thử" in text


def test_the_signature_field_is_on_the_stamp() -> None:
    rendered = render()
    x1, y1, x2, y2 = rendered.box
    assert rendered.page == 0 and 0 < x1 < x2 <= 595 and 0 < y1 < y2 <= 842


def test_the_data_file_is_embedded_with_the_structured_data() -> None:
    rendered = render_issued("doc-render-2")
    reader = PdfFileReader(io.BytesIO(rendered.pdf))
    embedded = verification.embedded_data(reader)
    assert embedded is not None and embedded == rendered.embedded
    assert embedded["document_id"] == "doc-render-2" and embedded["template"] == "birth_extract"
    assert embedded["number"] == "07/TLKS-UBND" and embedded["issuing_agency"] == AGENCY_NAME
    assert embedded["data"]["ho_ten"] == DATA["nguoi_duoc_khai_sinh"]["ho_ten"]
    assert embedded["data"]["ngay_sinh"] == "2026-03-09"  # the data keeps ISO dates
    assert reader.root["/AF"][0]["/AFRelationship"] == "/Data"


def test_rendering_is_deterministic_for_the_same_inputs() -> None:
    assert render("doc-same").pdf == render("doc-same").pdf
    assert render("doc-same").pdf != render("doc-other").pdf
    later = datetime(2026, 11, 28, 2, 15, 2, tzinfo=UTC)
    assert render("doc-same").pdf != render("doc-same", signed_at=later).pdf


def test_rendering_does_not_depend_on_the_wall_clock() -> None:
    # fpdf2 stamps the wall clock (to the second) as the creation date unless told otherwise:
    # two renderings a second apart used to differ (an intermittent CI failure)
    first = render("doc-clock")
    started = time.time()
    time.sleep(1.05 - (started % 1.0))  # cross into the next wall-clock second
    assert render("doc-clock").pdf == first.pdf
    info = PdfFileReader(io.BytesIO(first.pdf)).trailer["/Info"]
    assert str(info["/CreationDate"]).startswith("D:20261127021502")  # the signing time, UTC


def test_the_paper_date_is_in_vietnam_time_and_padded_as_decree_30_says() -> None:
    # 18:30 UTC on 31 December is already 1 January in Vietnam
    assert rendering.paper_date(datetime(2026, 12, 31, 18, 30, tzinfo=UTC)) == \
        "ngày 01 tháng 01 năm 2027"
    # days below 10 and the months 1 and 2 take a leading zero, no other month does
    assert rendering.paper_date(datetime(2026, 2, 4, 18, 0, tzinfo=UTC)) == \
        "ngày 05 tháng 02 năm 2026"
    assert rendering.paper_date(datetime(2019, 6, 29, 3, 0, tzinfo=UTC)) == \
        "ngày 29 tháng 6 năm 2019"
    assert rendering.paper_date(datetime(2026, 11, 27, 3, 0, tzinfo=UTC)) == \
        "ngày 27 tháng 11 năm 2026"

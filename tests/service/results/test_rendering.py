"""Rendering a result template to PDF (service.results.rendering), without signing or HTTP."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime

import pdfplumber
from pyhanko.pdf_utils.reader import PdfFileReader

from service.pki import validation as verification
from service.results import rendering
from tests.service.pki.test_signing import AGENCY_NAME, DATA, render


def text_of(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return "\n".join(page.extract_text() or "" for page in doc.pages)


def test_a_birth_extract_prints_number_agency_dates_and_data() -> None:
    rendered = render("doc-render-1")
    with pdfplumber.open(io.BytesIO(rendered.pdf)) as doc:
        assert len(doc.pages) == 1
        (width, height) = (doc.pages[0].width, doc.pages[0].height)
    assert round(width) == 595 and round(height) == 842  # A4
    text = text_of(rendered.pdf)
    assert "Số: 7/2026/TLKS" in text and "TRÍCH LỤC KHAI SINH" in text
    assert "ỦY BAN NHÂN DÂN XÃ THỬ" in text and "NGHIỆM SỐ 4" in text  # the agency, wrapped
    assert "Hà Nội, ngày 27 tháng 11 năm 2026" in text
    assert "Ngày, tháng, năm sinh: 09/03/2026" in text  # dd/mm/yyyy on paper, not ISO
    assert "2026-03-09" not in text
    assert "Họ, chữ đệm, tên: Lê Thị Thu Hà" in text
    assert "Mã tài liệu: doc-render-1" in text and "http://tokhai.test/v/doc-render-1" in text
    assert "Thời gian ký: 2026-11-27T09:15:02+07:00" in text


def test_the_signature_field_is_on_the_stamp() -> None:
    rendered = render()
    x1, y1, x2, y2 = rendered.box
    assert rendered.page == 0 and 0 < x1 < x2 <= 595 and 0 < y1 < y2 <= 842


def test_the_data_file_is_embedded_with_the_structured_data() -> None:
    rendered = render("doc-render-2")
    reader = PdfFileReader(io.BytesIO(rendered.pdf))
    embedded = verification.embedded_data(reader)
    assert embedded is not None and embedded == rendered.embedded
    assert embedded["document_id"] == "doc-render-2" and embedded["template"] == "birth_extract"
    assert embedded["number"] == "7/2026/TLKS" and embedded["issuing_agency"] == AGENCY_NAME
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


def test_the_paper_date_is_in_vietnam_time() -> None:
    # 18:30 UTC on 31 December is already 1 January in Vietnam
    assert rendering.paper_date(datetime(2026, 12, 31, 18, 30, tzinfo=UTC)) == \
        "ngày 01 tháng 01 năm 2027"

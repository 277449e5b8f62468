"""bench/pdf_layouts.py, which the PDF importer's benchmark and tests print forms with: both
layouts are PDFs whose text holds every label of the field list (table columns in the table),
the signature blocks and the footnotes; the scanned copy has pages and no text at all."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import pdfplumber
import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bench"))

import pdf_layouts  # noqa: E402

FIELD_LISTS = ROOT / "tests" / "fixtures" / "official-forms"
#: numbered items, a table, footnotes, several signature blocks (CT02); tick boxes with
#: options from the notes, short fields sharing a line (05-ĐK-TCT)
FORMS = ["ct02-to-khai-thay-doi-thong-tin-cu-tru-nguoi-dinh-cu-nuoc-ngoai-tt66-2023",
         "to-khai-dang-ky-thue-05-dk-tct-tt105-2020"]


def _field_list(name: str) -> dict[str, Any]:
    return json.loads((FIELD_LISTS / f"{name}.json").read_text(encoding="utf-8"))


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _read(data: bytes) -> tuple[str, list[str], int]:
    """The text of every page on one line, the cells of every table, the count of pages."""
    assert data.startswith(b"%PDF-")
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        text = " ".join(page.extract_text() or "" for page in pdf.pages)
        cells = [_one_line(cell or "") for page in pdf.pages for table in page.extract_tables()
                 for row in table for cell in row]
        return _one_line(text), cells, len(pdf.pages)


@pytest.fixture(scope="module")
def printed() -> dict[tuple[str, str], bytes]:
    out = {}
    for name in FORMS:
        field_list = _field_list(name)
        out[name, "fpdf"] = pdf_layouts.fpdf_layout(field_list)
        out[name, "html"] = pdf_layouts.chromium_pdf(pdf_layouts.html_layout(field_list))
    return out


@pytest.mark.parametrize("layout", ["fpdf", "html"])
@pytest.mark.parametrize("name", FORMS)
def test_every_label_is_printed(printed: dict[tuple[str, str], bytes], name: str,
                                layout: str) -> None:
    field_list = _field_list(name)
    text, cells, pages = _read(printed[name, layout])
    assert pages >= 1
    for entry in field_list["fields"]:
        assert _one_line(entry["label"]) in text, entry["label"]
        for column in entry.get("items", ()):
            assert _one_line(column["label"]) in cells, column["label"]
    for phrase in (pdf_layouts.MOTTO, pdf_layouts.MOTTO_2, "Ban hành kèm theo",
                   "(Ký, ghi rõ họ tên)"):
        assert phrase in text
    plan = pdf_layouts.plan(field_list)
    for note in plan.footnotes:
        assert _one_line(note) in text


def test_the_plan_of_a_form() -> None:
    plan = pdf_layouts.plan(_field_list(FORMS[1]))
    assert plan.code == "Mẫu số 05-ĐK-TCT"
    sex = next(item for item in plan.items() if item.label == "4. Giới tính")
    assert sex.options == ("Nam", "Nữ")
    assert any(len(line) > 1 for section in plan.sections for line in section.lines)
    assert plan.commitment and plan.commitment.startswith("Tôi cam đoan")
    ct02 = pdf_layouts.plan(_field_list(FORMS[0]))
    assert ct02.addressee == "Kính gửi(1):"
    assert [what for what, _ in ct02.tail].count("signature") == 4
    table = next(item for item in ct02.items() if item.kind == "repeat")
    assert table.columns[0] == "Từ tháng, năm"
    # a date of birth is asked in the body; only the blank "ngày … tháng … năm" is signed
    guardianship = pdf_layouts.plan(_field_list("to-khai-dang-ky-giam-ho"))
    assert [item.label for item in guardianship.items()].count("Ngày, tháng, năm sinh") == 3
    assert guardianship.tail == (("date", "ngày ... tháng ... năm"),
                                 ("signature", "Người yêu cầu"))


def test_the_scanned_copy_has_no_text(printed: dict[tuple[str, str], bytes]) -> None:
    original = printed[FORMS[0], "html"]
    scan = pdf_layouts.scanned(original, dpi=100)
    text, _, pages = _read(scan)
    assert pages == _read(original)[2]
    assert text == ""
    with pdfplumber.open(io.BytesIO(scan)) as pdf:
        assert all(not page.chars and page.images for page in pdf.pages)

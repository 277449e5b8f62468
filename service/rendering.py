"""Result documents as PDF: the layout of an administrative document (Decree 30/2020), the
agency's visible signature with its seal and a QR code, and the structured data inside.

The visible signature is drawn on the page, in the rectangle where the signature field is
then placed, so the seal, the agency's name and the signing time are part of the signed bytes
and every viewer shows them (no viewer-dependent appearance stream). The signing time printed
is the one the signature carries: the signer is given the same instant.

The structured data travels as an embedded JSON file declared as the document's associated
file (``/AF``, relationship ``Data``, as PDF/A-3 does it) and as XMP metadata, so a later
procedure reads it without reading text.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

import fpdf.output
import qrcode
from fontTools import subset as _fonttools_subset
from fpdf import FPDF

from forms.results import ResultTemplate
from service import fonts
from service.worktime import VIETNAM

A4_HEIGHT_MM = 297.0
PT_PER_MM = 72 / 25.4
DATA_FILE = "ket-qua.json"
#: the signature block: seal and signer text, then the QR code to its left (mm, on the page)
STAMP_WIDTH, STAMP_HEIGHT = 78.0, 30.0
SEAL_SIZE = 28.0
DEVELOPMENT_NOTICE = "BẢN THỬ NGHIỆM - KHÓA PHÁT TRIỂN, KHÔNG CÓ GIÁ TRỊ PHÁP LÝ"


@dataclass(frozen=True)
class Stamp:
    """What the visible signature shows (Decree 30/2020, Article 13 and Appendix I)."""

    agency_name: str
    signed_at: datetime
    seal_png: bytes
    development: bool = False

    @property
    def time_text(self) -> str:
        """ISO 8601 with the Vietnam time zone: 2026-11-27T09:15:02+07:00."""
        return self.signed_at.astimezone(VIETNAM).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Result:
    template: ResultTemplate
    agency_name: str
    place: str
    number: str
    document_id: str
    verify_url: str
    dossier_code: str
    procedure_code: str
    owner_id: str
    #: (label, text as printed)
    rows: list[tuple[str, str]]
    #: the structured data embedded in the PDF
    data: dict[str, Any]
    stamp: Stamp
    procedure_name: str | None = None


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    #: the page (0-based) and rectangle (PDF points, x1 y1 x2 y2) of the signature field
    page: int
    box: tuple[int, int, int, int]
    embedded: dict[str, Any] = field(default_factory=dict)


class _WholeFontSubsetting:
    """Stands in for ``fontTools.subset`` inside fpdf2's writer: our fonts (already cut down
    to Vietnamese, 34 KB) are embedded whole, from bytes read once, instead of being subset
    and recompiled for every document (8 ms per font per PDF, most of a result's rendering).
    Other fonts are subset as fpdf2 does. fpdf2 is pinned; ``test_rendering`` checks that
    the embedded fonts still extract as the right text."""

    Options = _fonttools_subset.Options

    class Subsetter:
        def __init__(self, options: Any = None) -> None:
            self.options = options
            self.glyphs: Any = ()

        def populate(self, glyphs: Any = (), **kwargs: Any) -> None:
            self.glyphs = glyphs

        def subset(self, font: Any) -> None:
            if getattr(font, "_tokhai_whole", False):
                return
            real = _fonttools_subset.Subsetter(self.options)
            real.populate(glyphs=self.glyphs)
            real.subset(font)


fpdf.output.ftsubset = _WholeFontSubsetting  # type: ignore[assignment]
_FONT_BYTES = {style: path.read_bytes() for style, path in (("", fonts.REGULAR),
                                                              ("B", fonts.BOLD))}


def paper_date(moment: datetime) -> str:
    local = moment.astimezone(VIETNAM)
    return f"ngày {local.day:02d} tháng {local.month:02d} năm {local.year}"


def document(title: str) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_creator("tokhai")
    pdf.set_producer("tokhai (fpdf2)")
    for style, path in (("", fonts.REGULAR), ("B", fonts.BOLD)):
        pdf.add_font("Noto", style, str(path))
        ttfont = pdf.fonts[f"noto{style}"].ttfont
        ttfont._tokhai_whole = True
        ttfont.save = lambda out, data=_FONT_BYTES[style]: out.write(data)
    pdf.set_margins(25, 20, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    return pdf


def heading(pdf: FPDF, agency_name: str, number: str | None) -> None:
    """The two-column heading of an administrative document: the issuing agency and the
    number on the left, the national name and motto on the right."""
    top = pdf.get_y()
    pdf.set_font("Noto", "B", 11)
    pdf.multi_cell(70, 5.5, agency_name.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
    left_bottom = pdf.get_y()
    pdf.line(pdf.l_margin + 22, left_bottom + 1, pdf.l_margin + 48, left_bottom + 1)
    if number:
        pdf.set_y(left_bottom + 2.5)
        pdf.set_font("Noto", "", 11)
        pdf.cell(70, 6, f"Số: {number}", align="C", new_x="LMARGIN", new_y="NEXT")
        left_bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + 68, top)
    pdf.set_font("Noto", "B", 11)
    pdf.cell(0, 5.5, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="C", new_x="LEFT",
             new_y="NEXT")
    pdf.set_font("Noto", "B", 12)
    pdf.cell(0, 6, "Độc lập - Tự do - Hạnh phúc", align="C", new_x="LEFT", new_y="NEXT")
    middle = pdf.l_margin + 68 + (pdf.w - pdf.r_margin - pdf.l_margin - 68) / 2
    pdf.line(middle - 28, pdf.get_y() + 0.5, middle + 28, pdf.get_y() + 0.5)
    pdf.set_y(max(left_bottom, pdf.get_y()) + 3)


def place_and_date(pdf: FPDF, place: str, moment: datetime) -> None:
    pdf.set_font("Noto", "", 11)
    pdf.set_x(pdf.l_margin + 68)
    pdf.cell(0, 6, f"{place}, {paper_date(moment)}", align="C", new_x="LMARGIN",
             new_y="NEXT")


def render_result(result: Result) -> Rendered:
    """The result as a PDF ready for signing, with the place of its signature field."""
    t = result.template
    pdf = document(f"{t.title.capitalize()} – {result.number}")
    pdf.set_subject(f"Kết quả hồ sơ {result.dossier_code}")
    pdf.set_author(result.agency_name)
    heading(pdf, result.agency_name, result.number)
    place_and_date(pdf, result.place, result.stamp.signed_at)
    pdf.ln(6)
    pdf.set_font("Noto", "B", 14)
    pdf.multi_cell(0, 7, t.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Noto", "", 10)
    pdf.multi_cell(0, 5, f"({t.legal_basis})", align="C", new_x="LMARGIN", new_y="NEXT")
    if result.procedure_name:
        pdf.multi_cell(0, 5, f"Thủ tục: {result.procedure_name}", align="C",
                       new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)
    pdf.set_font("Noto", "", 11)
    for label, text in result.rows:
        pdf.set_font("Noto", "", 11)
        pdf.multi_cell(0, 6.5, f"{label}: {text}", new_x="LMARGIN", new_y="NEXT")
    if t.closing:
        pdf.ln(3)
        pdf.multi_cell(0, 6, t.closing, new_x="LMARGIN", new_y="NEXT")
    page, box = signature_block(pdf, result.agency_name, result.stamp, result.document_id,
                                result.verify_url)
    _footer(pdf, result)
    embedded = _embed(pdf, result)
    return Rendered(bytes(pdf.output()), page, box, embedded)


def signature_block(pdf: FPDF, agency_name: str, stamp: Stamp, document_id: str,
                    verify_url: str) -> tuple[int, tuple[int, int, int, int]]:
    """The signer's title, then the visible signature: the red seal over the left third of
    the signer's text (Decree 30/2020), the agency's name, the signing time, and the QR
    code that leads to the verification of this document."""
    needed = 8 + STAMP_HEIGHT + 12
    if pdf.get_y() + needed > A4_HEIGHT_MM - pdf.b_margin:
        pdf.add_page()
    pdf.ln(6)
    right = pdf.w - pdf.r_margin
    x = right - STAMP_WIDTH
    pdf.set_font("Noto", "B", 11)
    pdf.set_x(x)
    pdf.multi_cell(STAMP_WIDTH, 5, f"TM. {agency_name.upper()}", align="C",
                   new_x="LMARGIN", new_y="NEXT")
    y = pdf.get_y() + 1
    pdf.set_draw_color(200, 0, 0)
    pdf.rect(x, y, STAMP_WIDTH, STAMP_HEIGHT)
    pdf.image(io.BytesIO(stamp.seal_png), x + 1, y + 1, SEAL_SIZE, SEAL_SIZE)
    pdf.set_text_color(200, 0, 0)
    pdf.set_xy(x + SEAL_SIZE * 0.66, y + 3)
    pdf.set_font("Noto", "B", 8)
    pdf.multi_cell(STAMP_WIDTH - SEAL_SIZE * 0.66 - 1, 4, f"Ký bởi: {stamp.agency_name}",
                   new_x="LEFT", new_y="NEXT")
    pdf.set_font("Noto", "", 8)
    pdf.multi_cell(STAMP_WIDTH - SEAL_SIZE * 0.66 - 1, 4,
                   f"Thời gian ký: {stamp.time_text}", new_x="LEFT", new_y="NEXT")
    if stamp.development:
        pdf.set_font("Noto", "B", 7)
        pdf.multi_cell(STAMP_WIDTH - SEAL_SIZE * 0.66 - 1, 3.5, DEVELOPMENT_NOTICE,
                       new_x="LEFT", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_draw_color(0, 0, 0)
    _qr(pdf, verify_url, pdf.l_margin, y, STAMP_HEIGHT)
    pdf.set_font("Noto", "", 7)
    pdf.set_xy(pdf.l_margin + STAMP_HEIGHT + 2, y + 2)
    pdf.multi_cell(x - pdf.l_margin - STAMP_HEIGHT - 4, 3.5,
                   f"Mã tài liệu: {document_id}\nXác thực tại: {verify_url}",
                   align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(y + STAMP_HEIGHT + 2)
    k = PT_PER_MM
    box = (round(x * k), round((A4_HEIGHT_MM - y - STAMP_HEIGHT) * k),
           round((x + STAMP_WIDTH) * k), round((A4_HEIGHT_MM - y) * k))
    return pdf.page - 1, box


def _qr(pdf: FPDF, text: str, x: float, y: float, size: float) -> None:
    """A QR code drawn as vector squares (sharp at any zoom, no image to decode)."""
    code = qrcode.QRCode(border=0, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(text)
    matrix = code.get_matrix()
    cell = size / len(matrix)
    pdf.set_fill_color(0, 0, 0)
    for row, line in enumerate(matrix):
        start = None
        for col, dark in enumerate([*line, False]):
            if dark and start is None:
                start = col
            elif not dark and start is not None:
                pdf.rect(x + start * cell, y + row * cell, (col - start) * cell, cell,
                         style="F")
                start = None


def _footer(pdf: FPDF, result: Result) -> None:
    pdf.set_font("Noto", "", 7)
    pdf.set_text_color(90, 90, 90)
    pdf.multi_cell(0, 3.5, f"Hồ sơ {result.dossier_code} - thủ tục {result.procedure_code}. "
                   "Văn bản điện tử có chữ ký số của cơ quan, có giá trị pháp lý như bản giấy "
                   "(Luật Giao dịch điện tử 2023).", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)


def _embed(pdf: FPDF, result: Result) -> dict[str, Any]:
    payload = {
        "document_id": result.document_id, "number": result.number,
        "template": result.template.code, "title": result.template.title,
        "document_class": result.template.document_class,
        "procedure_code": result.procedure_code, "dossier_code": result.dossier_code,
        "owner_id": result.owner_id, "issuing_agency": result.agency_name,
        "issued_at": result.stamp.signed_at.isoformat(), "data": result.data,
    }
    pdf.embed_file(basename=DATA_FILE, mime_type="application/json",
                   bytes=json.dumps(payload, ensure_ascii=False, indent=1).encode(),
                   desc="Dữ liệu có cấu trúc của kết quả", associated_file_relationship="Data",
                   modification_date=result.stamp.signed_at, compress=True)
    pdf.set_xmp_metadata(_xmp(result))
    return payload


def _xmp(result: Result) -> str:
    e = escape
    issued = result.stamp.signed_at.isoformat(timespec="seconds")
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:pdf="http://ns.adobe.com/pdf/1.3/" '
        'xmlns:tokhai="https://tokhai.gov.vn/ns/result/1.0/">'
        f'<dc:title><rdf:Alt><rdf:li xml:lang="vi">{e(result.template.title)}</rdf:li>'
        '</rdf:Alt></dc:title>'
        f'<dc:creator><rdf:Seq><rdf:li>{e(result.agency_name)}</rdf:li></rdf:Seq></dc:creator>'
        f'<dc:identifier>{e(result.document_id)}</dc:identifier>'
        '<dc:format>application/pdf</dc:format><dc:language><rdf:Bag><rdf:li>vi</rdf:li>'
        '</rdf:Bag></dc:language>'
        f'<xmp:CreateDate>{issued}</xmp:CreateDate><xmp:CreatorTool>tokhai</xmp:CreatorTool>'
        '<pdf:Producer>tokhai (fpdf2, pyHanko)</pdf:Producer>'
        f'<tokhai:DocumentId>{e(result.document_id)}</tokhai:DocumentId>'
        f'<tokhai:Number>{e(result.number)}</tokhai:Number>'
        f'<tokhai:Template>{e(result.template.code)}</tokhai:Template>'
        f'<tokhai:DocumentClass>{e(result.template.document_class)}</tokhai:DocumentClass>'
        f'<tokhai:ProcedureCode>{e(result.procedure_code)}</tokhai:ProcedureCode>'
        f'<tokhai:DossierCode>{e(result.dossier_code)}</tokhai:DossierCode>'
        f'<tokhai:DataFile>{DATA_FILE}</tokhai:DataFile>'
        '</rdf:Description></rdf:RDF></x:xmpmeta>'
    )

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

import copy
import hashlib
import io
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

import qrcode
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont

from forms.results import DATA_FILE, ResultTemplate
from service import fonts
from service.results import fpdf_speedups
from service.worktime import VIETNAM

A4_HEIGHT_MM = 297.0
PT_PER_MM = 72 / 25.4
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


_FONT_BYTES = {style: path.read_bytes() for style, path in (("", fonts.REGULAR),
                                                              ("B", fonts.BOLD))}


def paper_date(moment: datetime) -> str:
    local = moment.astimezone(VIETNAM)
    return f"ngày {local.day:02d} tháng {local.month:02d} năm {local.year}"


_PARSED_FONTS: dict[str, TTFFont] = {}
_PARSED_LOCK = threading.Lock()


def _add_fonts(pdf: FPDF) -> None:
    """Noto regular and bold, parsed once per process: each document gets a copy of the
    parsed font with its own glyph usage, instead of parsing the file again. That needs the
    whole-font patch (service.patches): without it, fpdf2 subsets the parsed font in place, so
    each document parses its own (slower, the same text)."""
    if not fpdf_speedups.installed()["whole_fonts"]:
        for style, path in (("", fonts.REGULAR), ("B", fonts.BOLD)):
            pdf.add_font("Noto", style, str(path))
        return
    with _PARSED_LOCK:
        if not _PARSED_FONTS:
            scratch = FPDF()
            for style, path in (("", fonts.REGULAR), ("B", fonts.BOLD)):
                scratch.add_font("Noto", style, str(path))
                parsed = scratch.fonts[f"noto{style}"]
                assert isinstance(parsed, TTFFont)  # a font added from a file is TrueType
                parsed.ttfont._tokhai_whole = True
                parsed.ttfont.save = lambda out, data=_FONT_BYTES[style]: out.write(data)
                _PARSED_FONTS[style] = parsed
    for style, parsed in _PARSED_FONTS.items():
        # widths, glyph ids and the fontTools object are read-only: shared; what a document
        # changes (the glyphs it uses) is its own
        font = copy.copy(parsed)
        font.i = len(pdf.fonts) + 1
        font.subset = SubsetMap(font)
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        pdf.fonts[f"noto{style}"] = font


def forget_parsed_fonts() -> None:
    """Parse the fonts again at the next document (after the patches changed, in tests)."""
    with _PARSED_LOCK:
        _PARSED_FONTS.clear()


def document(title: str, created: datetime | None = None) -> FPDF:
    """A new A4 document. Results pass ``created`` (the signing time) as its creation date, so
    that the same inputs give the same bytes: fpdf2 would otherwise stamp the wall clock, to the
    second."""
    pdf = FPDF(format="A4")
    if created is not None:
        pdf.set_creation_date(created)
    pdf.set_title(title)
    pdf.set_creator("tokhai")
    pdf.set_producer("tokhai (fpdf2)")
    _add_fonts(pdf)
    pdf.set_margins(25, 20, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    return pdf


def heading(pdf: FPDF, agency_name: str, number: str | None) -> None:
    """The two-column heading of an administrative document: the issuing agency and the
    number on the left, the national name and motto on the right."""
    top = pdf.get_y()
    pdf.set_font("Noto", "B", 11)
    paragraph(pdf, agency_name.upper(), 5.5, 70, align="C")
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


def wrap(pdf: FPDF, text: str, width: float) -> list[str]:
    """Greedy word wrap with the current font. fpdf2's ``multi_cell`` measures the whole
    line again for every character; measuring each word once is what makes a result cheap
    to render. A word wider than the line (a URL) is cut between characters."""
    lines: list[str] = []
    font = pdf.current_font
    assert isinstance(font, TTFFont)  # the document's font is Noto (widths by code point)
    widths = font.cw
    scale = pdf.font_size_pt * 0.001 / pdf.k

    def width_of(text: str) -> float:
        return sum(widths[ord(c)] for c in text) * scale

    space = width_of(" ")
    for raw in text.split("\n"):
        current, used = "", 0.0
        for word in raw.split(" "):
            w = width_of(word)
            while w > width:  # cut an over-long word
                cut = len(word)
                while cut > 1 and width_of(word[:cut]) > width - (
                        used + space if current else 0):
                    cut -= 1
                piece = word[:cut]
                lines.append(f"{current} {piece}" if current else piece)
                current, used = "", 0.0
                word = word[cut:]
                w = width_of(word)
            if current and used + space + w <= width:
                current, used = f"{current} {word}", used + space + w
            elif current:
                lines.append(current)
                current, used = word, w
            else:
                current, used = word, w
        lines.append(current)
    return lines


def paragraph(pdf: FPDF, text: str, height: float, width: float = 0, align: str = "L",
              ) -> None:
    """``text`` wrapped to ``width`` (0: to the right margin) from the current position;
    the position ends at the left margin below it."""
    x = pdf.get_x()
    width = width or pdf.w - pdf.r_margin - x
    for line in wrap(pdf, text, width - 0.5):
        pdf.set_x(x)
        pdf.cell(width, height, line, align=align, new_x="LMARGIN", new_y="NEXT")


def place_and_date(pdf: FPDF, place: str, moment: datetime) -> None:
    pdf.set_font("Noto", "", 11)
    pdf.set_x(pdf.l_margin + 68)
    pdf.cell(0, 6, f"{place}, {paper_date(moment)}", align="C", new_x="LMARGIN",
             new_y="NEXT")


def render_result(result: Result) -> Rendered:
    """The result as a PDF ready for signing, with the place of its signature field."""
    t = result.template
    pdf = document(f"{t.title.capitalize()} – {result.number}", result.stamp.signed_at)
    pdf.set_subject(f"Kết quả hồ sơ {result.dossier_code}")
    pdf.set_author(result.agency_name)
    heading(pdf, result.agency_name, result.number)
    place_and_date(pdf, result.place, result.stamp.signed_at)
    pdf.ln(6)
    pdf.set_font("Noto", "B", 14)
    paragraph(pdf, t.title, 7, align="C")
    pdf.set_font("Noto", "", 10)
    paragraph(pdf, f"({t.legal_basis})", 5, align="C")
    if result.procedure_name:
        paragraph(pdf, f"Thủ tục: {result.procedure_name}", 5, align="C")
    pdf.ln(5)
    pdf.set_font("Noto", "", 11)
    for label, text in result.rows:
        paragraph(pdf, f"{label}: {text}", 6.5)
    if t.closing:
        pdf.ln(3)
        paragraph(pdf, t.closing, 6)
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
    paragraph(pdf, f"TM. {agency_name.upper()}", 5, STAMP_WIDTH, align="C")
    y = pdf.get_y() + 1
    pdf.set_draw_color(200, 0, 0)
    pdf.rect(x, y, STAMP_WIDTH, STAMP_HEIGHT)
    _image(pdf, stamp.seal_png, x + 1, y + 1, SEAL_SIZE)
    pdf.set_text_color(200, 0, 0)
    pdf.set_xy(x + SEAL_SIZE * 0.66, y + 3)
    pdf.set_font("Noto", "B", 8)
    text_x, text_width = x + SEAL_SIZE * 0.66, STAMP_WIDTH - SEAL_SIZE * 0.66 - 1
    paragraph(pdf, f"Ký bởi: {stamp.agency_name}", 4, text_width)
    pdf.set_x(text_x)
    pdf.set_font("Noto", "", 8)
    paragraph(pdf, f"Thời gian ký: {stamp.time_text}", 4, text_width)
    if stamp.development:
        pdf.set_font("Noto", "B", 7)
        pdf.set_x(text_x)
        paragraph(pdf, DEVELOPMENT_NOTICE, 3.5, text_width)
    pdf.set_text_color(0, 0, 0)
    pdf.set_draw_color(0, 0, 0)
    _qr(pdf, verify_url, pdf.l_margin, y, STAMP_HEIGHT)
    pdf.set_font("Noto", "", 7)
    pdf.set_xy(pdf.l_margin + STAMP_HEIGHT + 2, y + 2)
    paragraph(pdf, f"Mã tài liệu: {document_id}\nXác thực tại: {verify_url}", 3.5,
              x - pdf.l_margin - STAMP_HEIGHT - 4)
    pdf.set_y(y + STAMP_HEIGHT + 2)
    k = PT_PER_MM
    box = (round(x * k), round((A4_HEIGHT_MM - y - STAMP_HEIGHT) * k),
           round((x + STAMP_WIDTH) * k), round((A4_HEIGHT_MM - y) * k))
    return pdf.page - 1, box


_DECODED_IMAGES: dict[str, Any] = {}


def _image(pdf: FPDF, png: bytes, x: float, y: float, size: float) -> None:
    """A PNG (the seal) decoded and compressed once per process: fpdf2 looks images up in
    the document's cache by the MD5 of their bytes, so the document gets a copy of the
    decoded image under that name before drawing it."""
    from fpdf.image_parsing import get_img_info

    name = hashlib.md5(png.strip(), usedforsecurity=False).hexdigest()
    decoded = _DECODED_IMAGES.get(name)
    if decoded is None:
        decoded = get_img_info(name, io.BytesIO(png), pdf.image_cache.image_filter)
        if len(_DECODED_IMAGES) < 64:
            _DECODED_IMAGES[name] = decoded
    info = copy.copy(decoded)
    info["i"] = len(pdf.image_cache.images) + 1
    info["usages"] = 0
    info["iccp_i"] = None
    pdf.image_cache.images[name] = info
    pdf.image(png, x, y, size, size)


def _qr(pdf: FPDF, text: str, x: float, y: float, size: float) -> None:
    """A QR code drawn as vector squares (sharp at any zoom, no image to decode)."""
    # a fixed mask: choosing the best of eight costs more than the rest of the page, and
    # any mask is a valid code (ISO/IEC 18004)
    # the quiet zone (4 modules) is part of the square: decoders need it
    code = qrcode.QRCode(border=4, error_correction=qrcode.constants.ERROR_CORRECT_M,
                         mask_pattern=2)
    code.add_data(text)
    matrix = code.get_matrix()
    cell = size / len(matrix)
    k, top = pdf.k, pdf.h
    # one path of rectangles (a run of dark modules each), filled once: fpdf2's rect() per
    # run would save and restore the graphics state thousands of times
    ops = ["0 g"]
    for row, modules in enumerate(matrix):
        start = None
        for col, dark in enumerate([*modules, False]):
            if dark and start is None:
                start = col
            elif not dark and start is not None:
                ops.append(f"{(x + start * cell) * k:.2f} {(top - y - (row + 1) * cell) * k:.2f}"
                           f" {(col - start) * cell * k:.2f} {cell * k:.2f} re")
                start = None
    ops.append("f")
    pdf._out("q " + "\n".join(ops) + " Q")


def _footer(pdf: FPDF, result: Result) -> None:
    pdf.set_font("Noto", "", 7)
    pdf.set_text_color(90, 90, 90)
    paragraph(pdf, f"Hồ sơ {result.dossier_code} - thủ tục {result.procedure_code}. "
              "Văn bản điện tử có chữ ký số của cơ quan, có giá trị pháp lý như bản giấy "
              "(Luật Giao dịch điện tử 2023).", 3.5)
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

"""Result documents as PDF, laid out as Decree 30/2020/NĐ-CP (Annex I) prescribes for an
administrative document: A4, the two-column header (issuing body above its short rule; the
national name and motto with its rule), ``Số: 05/QĐ-UBND`` with the place and date in italics on
its line, the title (and ``Về việc …`` where the type has one), the body, the authority line,
the signer's title and full name with the agency's digital-signature appearance between them,
and ``Nơi nhận``; set in a serif with Times New Roman's metrics (service.fonts).

The visible signature is drawn on the page, so the seal, the signer and the signing time are
part of the signed bytes and every viewer shows them (no viewer-dependent appearance stream).
The seal sits on the left of the signature area and the text on its right, so nothing covers
text; the signature field is the seal's square. The signing time printed is the one the
signature carries: the signer is given the same instant.

The structured data travels as an embedded JSON file declared as the document's associated
file (``/AF``, relationship ``Data``, as PDF/A-3 does it) and as XMP metadata, so a later
procedure reads it without reading text.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import io
import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

import qrcode
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from fpdf.fonts import SubsetMap, TTFFont
from fpdf.line_break import TextLine

from forms.results import DATA_FILE, Heading, ResultTemplate
from service import fonts
from service.results import fpdf_speedups
from service.worktime import VIETNAM

A4_HEIGHT_MM = 297.0
PT_PER_MM = 72 / 25.4
#: the font family every result and letter is set in (service.fonts: Times New Roman metrics)
FONT = "Serif"
#: Annex I, Part I, Mục I: top and bottom 20-25 mm, left 30-35 mm, right 15-20 mm
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT = 20.0, 20.0, 30.0, 20.0
#: the header's columns: the issuing body on the left, the national name and motto on the
#: right ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in 12 pt bold is 88 mm wide)
LEFT_COLUMN = 60.0
#: the closing's columns: "Nơi nhận" and the QR code on the left, the signer on the right
CLOSING_LEFT = 60.0
#: first-line indent of the body (Annex I, 6.e: 1 cm or 1.27 cm)
INDENT = 10.0
#: the signature area in the signer block: seal on the left, signer and time on the right
SIGNATURE_WIDTH = 100.0
DEFAULT_SEAL_DIAMETER = 32.0
#: the QR code: one module is 3 points, whole points from the page's corner, so a 72-dpi
#: render draws each module as a crisp 3x3 pixel square; level M, 4 modules of quiet zone
QR_MODULE_PT = 3
QR_ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M
#: the verification link's line under the closing: its sizes, tried in order until the URL
#: fits the text width whole, and the room it takes (mm)
LINK_SIZES = (9, 8, 7, 6)
LINK_ROOM = 6.0
DEVELOPMENT_NOTICE = "BẢN THỬ NGHIỆM - KHÓA PHÁT TRIỂN, KHÔNG CÓ GIÁ TRỊ PHÁP LÝ"
#: printed at the foot of a development document, in place of any statement of validity
DEVELOPMENT_FOOTER = ("Văn bản này được ký bằng khóa phát triển của tokhai, chỉ dùng để thử "
                      "nghiệm: KHÔNG CÓ GIÁ TRỊ PHÁP LÝ.")
NATIONAL_NAME = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"


@dataclass(frozen=True)
class Stamp:
    """What the visible signature shows (Decree 30/2020, Annex I, items 7 and 8)."""

    agency_name: str
    signed_at: datetime
    seal_png: bytes
    development: bool = False

    @property
    def time_text(self) -> str:
        """ISO 8601 with the Vietnam time zone: 2026-11-27T09:15:02+07:00."""
        return self.signed_at.astimezone(VIETNAM).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Signatory:
    """Who signs, as the signer block prints it: the authority lines (``TM. ỦY BAN NHÂN
    DÂN``, ``KT. CHỦ TỊCH``), the title (``PHÓ CHỦ TỊCH``) and the full name."""

    title: str
    name: str
    authority: tuple[str, ...] = ()


@dataclass(frozen=True)
class Issuer:
    """The issuing agency as its documents name it (from the signing configuration)."""

    name: str
    #: the agency's part of the symbol: "UBND" in "Số: 05/QĐ-UBND"
    abbreviation: str
    #: the place printed before the date: the commune or ward's own name
    locality: str
    signatory: Signatory
    #: the body it reports to, printed above it (upright caps), if any
    parent: str | None = None
    #: the agency's "Căn cứ …" lines of a decision (its competence)
    grounds: tuple[str, ...] = ()
    #: the authority line of a decision ("CHỦ TỊCH ỦY BAN NHÂN DÂN PHƯỜNG …"); the agency's
    #: name in capitals by default
    decides_as: str | None = None
    seal_diameter: float = DEFAULT_SEAL_DIAMETER


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
    #: the agency's details from the signing configuration (without them: the agency's
    #: name, ``place`` as the locality, no signer's name)
    issuer: Issuer | None = None
    #: the template's values as printed, by key (without them, ``rows`` are printed)
    values: dict[str, str] | None = None
    #: the legal basis of the form the dossier was filed on (a decision's last "Căn cứ")
    form_legal_basis: str | None = None
    #: the register book of a document numbered by its register entry ("01/2026")
    book: str | None = None

    @property
    def agency(self) -> Issuer:
        if self.issuer is not None:
            return self.issuer
        return Issuer(self.agency_name, "", self.place,
                      Signatory("", "", (f"TM. {self.agency_name.upper()}",)))


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    #: the page (0-based) and rectangle (PDF points, x1 y1 x2 y2) of the signature field
    page: int
    box: tuple[int, int, int, int]
    embedded: dict[str, Any] = field(default_factory=dict)


# -- numbers, dates and places (Decree 30/2020, Annex I, Part I, Mục II) ---------------------

def document_number(sequence: int, type_symbol: str, agency_abbreviation: str) -> str:
    """``05/QĐ-UBND``: the number, then the symbol (the document type's abbreviation and the
    issuing agency's), no year (only legal normative documents carry one).

    Annex I, item 3.c: "Số của văn bản được ghi bằng chữ số Ả Rập. ... với những số nhỏ hơn 10
    phải ghi thêm số 0 phía trước" (numbers below 10 take a leading 0), "Giữa số và ký hiệu văn
    bản có dấu gạch chéo (/), giữa các nhóm chữ viết tắt trong ký hiệu văn bản có dấu gạch nối
    (-), không cách chữ"."""
    if sequence < 1:
        raise ValueError("a document number starts at 1")
    symbol = f"{type_symbol}-{agency_abbreviation}" if agency_abbreviation else type_symbol
    return f"{sequence:02d}/{symbol}"


def register_entry(sequence: int, year: int) -> tuple[str, str]:
    """A civil-status register entry's number and book: ``("12", "01/2026")``. The entries of
    an agency's book are numbered from 1 each year; the book is the year's first ("Quyển số
    01/2026"), as the demo records and the birth registration form write it. Its number is
    not a Decree 30 document number (a specialised document's is set by its ministry's
    model): no symbol, no padding."""
    if sequence < 1:
        raise ValueError("a register entry's number starts at 1")
    return str(sequence), f"01/{year}"


def date_words(day: date) -> str:
    """``ngày 05 tháng 02 năm 2026``, ``ngày 29 tháng 6 năm 2019``. Annex I, item 4.b: "đối
    với những số thể hiện ngày nhỏ hơn 10 và tháng 1, 2 phải ghi thêm số 0 phía trước" (days
    below 10 and the months 1 and 2 take a leading 0; no other month does)."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def paper_date(moment: datetime) -> str:
    """The date of ``moment`` in Vietnam, as the place-and-date line writes it."""
    return date_words(moment.astimezone(VIETNAM).date())


def one_year_on(day: date) -> date:
    """The last day of a validity of one year from ``day`` (the day before its anniversary)."""
    try:
        anniversary = day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        anniversary = day.replace(year=day.year + 1, day=28) + timedelta(days=1)
    return anniversary - timedelta(days=1)


# -- fonts and the page -----------------------------------------------------------------------

_FONT_BYTES = {style: path.read_bytes() for style, path in fonts.SERIF.items()}
_PARSED_FONTS: dict[str, TTFFont] = {}
_PARSED_LOCK = threading.Lock()


def _add_fonts(pdf: FPDF) -> None:
    """The serif in its four styles, parsed once per process: each document gets a copy of
    the parsed font with its own glyph usage, instead of parsing the file again. That needs
    the whole-font patch (service.patches): without it, fpdf2 subsets the parsed font in
    place, so each document parses its own (slower, the same text)."""
    if not fpdf_speedups.installed()["whole_fonts"]:
        for style, path in fonts.SERIF.items():
            pdf.add_font(FONT, style, str(path))
        return
    with _PARSED_LOCK:
        if not _PARSED_FONTS:
            scratch = FPDF()
            for style, path in fonts.SERIF.items():
                scratch.add_font(FONT, style, str(path))
                parsed = scratch.fonts[f"{FONT.lower()}{style}"]
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
        pdf.fonts[f"{FONT.lower()}{style}"] = font


def forget_parsed_fonts() -> None:
    """Parse the fonts again at the next document (after the patches changed, in tests)."""
    with _PARSED_LOCK:
        _PARSED_FONTS.clear()


class _Document(FPDF):
    """A4 pages numbered from the second one on, centred in the top margin (Annex I, Mục I:
    "không hiển thị số trang thứ nhất")."""

    def header(self) -> None:
        if self.page_no() < 2:
            return
        family, style, size = self.font_family, self.font_style, self.font_size_pt
        y = self.get_y()
        self.set_font(FONT, "", 13)
        self.set_xy(self.l_margin, 8)
        self.cell(self.w - self.l_margin - self.r_margin, 6, str(self.page_no()), align="C")
        self.set_xy(self.l_margin, y)
        if family:
            self.set_font(family, style, size)


def document(title: str, created: datetime | None = None) -> FPDF:
    """A new A4 document with the margins of Annex I. Results pass ``created`` (the signing
    time) as its creation date, so that the same inputs give the same bytes: fpdf2 would
    otherwise stamp the wall clock, to the second."""
    pdf = _Document(format="A4")
    if created is not None:
        pdf.set_creation_date(created)
    pdf.set_title(title)
    pdf.set_creator("tokhai")
    pdf.set_producer("tokhai (fpdf2)")
    _add_fonts(pdf)
    pdf.set_margins(MARGIN_LEFT, MARGIN_TOP, MARGIN_RIGHT)
    pdf.set_auto_page_break(True, margin=MARGIN_BOTTOM)
    pdf.add_page()
    pdf.set_font(FONT, "", 13)
    return pdf


def _height(size: float) -> float:
    """The line height for ``size`` points: single spacing, a little over (mm)."""
    return size * 0.3528 * 1.2


# -- text -------------------------------------------------------------------------------------

def wrap(pdf: FPDF, text: str, width: float, first_indent: float = 0) -> list[str]:
    """Greedy word wrap with the current font. fpdf2's ``multi_cell`` measures the whole
    line again for every character; measuring each word once is what makes a result cheap
    to render. A word wider than the line (a URL) is cut between characters. The first line
    of each paragraph is ``first_indent`` narrower."""
    lines: list[str] = []
    font = pdf.current_font
    assert isinstance(font, TTFFont)  # the document's font is TrueType (widths by code point)
    widths = font.cw
    scale = pdf.font_size_pt * 0.001 / pdf.k

    def width_of(text: str) -> float:
        return sum(widths[ord(c)] for c in text) * scale

    space = width_of(" ")
    for raw in text.split("\n"):
        current, used = "", 0.0
        room = width - first_indent
        for word in raw.split(" "):
            w = width_of(word)
            while w > room:  # cut an over-long word
                cut = len(word)
                while cut > 1 and width_of(word[:cut]) > room - (
                        used + space if current else 0):
                    cut -= 1
                piece = word[:cut]
                lines.append(f"{current} {piece}" if current else piece)
                current, used, room = "", 0.0, width
                word = word[cut:]
                w = width_of(word)
            if current and used + space + w <= room:
                current, used = f"{current} {word}", used + space + w
            elif current:
                lines.append(current)
                current, used, room = word, w, width
            else:
                current, used = word, w
        lines.append(current)
    return lines


def paragraph(pdf: FPDF, text: str, height: float, width: float = 0, align: str = "L",
              indent: float = 0, justify: bool = False) -> None:
    """``text`` wrapped to ``width`` (0: to the right margin) from the current position, its
    first line indented by ``indent``, justified if asked (Annex I, 6.e: "canh đều cả hai
    lề"; the last line of a paragraph stays flush left); the position ends at the left
    margin below it."""
    x = pdf.get_x()
    width = width or pdf.w - pdf.r_margin - x
    first = True
    for raw in text.split("\n"):
        lines = wrap(pdf, raw, width - 2 * pdf.c_margin - 0.2, indent)
        for i, line in enumerate(lines):
            shift = indent if first else 0
            pdf.set_x(x + shift)
            last = i == len(lines) - 1
            if justify and not last and " " in line:
                _justified(pdf, line, width - shift, height)
            else:
                pdf.cell(width - shift, height, line, align=align, new_x="LMARGIN",
                         new_y="NEXT")
            first = False
        first = True


def _justified(pdf: FPDF, line: str, width: float, height: float) -> None:
    """One line stretched to ``width`` by its spaces (fpdf2's own justification, which its
    ``cell`` does not offer for a single line)."""
    text_line = TextLine(pdf._preload_font_styles(pdf.normalize_text(line), False),
                         text_width=0, number_of_spaces=line.count(" "), align=Align.J,
                         height=height, max_width=width)
    pdf._render_styled_text_line(text_line, height, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _centred(pdf: FPDF, lines: Iterable[str], x: float, width: float, height: float,
             ) -> float:
    """Each of ``lines`` centred in the column [x, x + width], wrapped; returns the width of
    the widest line printed."""
    widest = 0.0
    for text in lines:
        for line in wrap(pdf, text, width - 2 * pdf.c_margin - 0.2):
            pdf.set_x(x)
            pdf.cell(width, height, line, align="C", new_x="LMARGIN", new_y="NEXT")
            widest = max(widest, pdf.get_string_width(line))
    return widest


def _rule(pdf: FPDF, centre: float, length: float, y: float) -> None:
    pdf.set_line_width(0.3)
    pdf.line(centre - length / 2, y, centre + length / 2, y)


def _agency_lines(name: str) -> list[str]:
    """The agency's name in capitals, "ỦY BAN NHÂN DÂN" on a line of its own as it is
    written."""
    upper = name.upper()
    for head in ("ỦY BAN NHÂN DÂN ", "UỶ BAN NHÂN DÂN ", "HỘI ĐỒNG NHÂN DÂN "):
        if upper.startswith(head) and len(upper) > len(head):
            return [head.strip(), upper[len(head):]]
    return [upper]


# -- the parts of the page (Annex I, Mục IV) ---------------------------------------------------

def heading(pdf: FPDF, issuer: Issuer | str, number: str | None,
            moment: datetime | None = None, book: str | None = None) -> None:
    """The header: on the left the body the agency reports to (if any, upright), the
    agency (bold) and its short rule (between a third and half of the name), then ``Số: …``
    (and, for a register's entry, ``Quyển số: …`` under it); on the right the national name
    (bold, 12 pt), the motto (bold, 13 pt) with its rule as long as the motto, then the place
    and date in italics on the number's line."""
    if isinstance(issuer, str):
        issuer = Issuer(issuer, "", "", Signatory("", ""))
    top = pdf.get_y()
    left, width = pdf.l_margin, LEFT_COLUMN
    right = pdf.w - pdf.r_margin
    h12 = _height(12)
    widest = 0.0
    if issuer.parent:
        pdf.set_font(FONT, "", 12)
        widest = _centred(pdf, [issuer.parent.upper()], left, width, h12)
    pdf.set_font(FONT, "B", 12)
    widest = _centred(pdf, _agency_lines(issuer.name), left, width, h12)
    rule_y = pdf.get_y() + 0.8
    _rule(pdf, left + width / 2, max(widest / 3, min(widest / 2, 22.0)), rule_y)
    left_bottom = rule_y
    # the right column
    pdf.set_y(top)
    column = right - left - width
    pdf.set_font(FONT, "B", 12)
    _centred(pdf, [NATIONAL_NAME], left + width, column, h12)
    pdf.set_font(FONT, "B", 13)
    _centred(pdf, [MOTTO], left + width, column, _height(13))
    motto = pdf.get_string_width(MOTTO)
    motto_y = pdf.get_y() + 0.8
    _rule(pdf, left + width + column / 2, motto, motto_y)
    # the number and the place and date, on one line under both columns
    line_y = max(left_bottom, motto_y) + 3.5
    h13 = _height(13)
    if number:
        pdf.set_xy(left, line_y)
        pdf.set_font(FONT, "", 13)
        pdf.cell(width, h13, f"Số: {number}", align="C")
    end = line_y + h13
    if book:
        pdf.set_xy(left, end)
        pdf.set_font(FONT, "", 13)
        pdf.cell(width, h13, f"Quyển số: {book}", align="C")
        end += h13
    if moment is not None:
        pdf.set_xy(left + width, line_y)
        pdf.set_font(FONT, "I", 13)
        place = issuer.locality
        text = f"{place}, {paper_date(moment)}" if place else paper_date(moment).capitalize()
        _centred(pdf, [text], left + width, column, h13)
        end = max(end, pdf.get_y())
    pdf.set_xy(left, end)


def place_and_date(pdf: FPDF, place: str, moment: datetime) -> None:
    """The place and date alone, in italics in the right column (for a page whose header
    had none)."""
    pdf.set_font(FONT, "I", 13)
    _centred(pdf, [f"{place}, {paper_date(moment)}"], pdf.l_margin + LEFT_COLUMN,
             pdf.w - pdf.r_margin - pdf.l_margin - LEFT_COLUMN, _height(13))


def title(pdf: FPDF, name: str, summary: str | None = None) -> None:
    """The document's type in bold capitals, centred; then its summary ("Về việc …", bold)
    and the short rule under it, where the type has one (Annex I, item 5)."""
    pdf.ln(7)
    pdf.set_font(FONT, "B", 14)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    widest = _centred(pdf, [name], pdf.l_margin, width, _height(14))
    if summary:
        widest = _centred(pdf, [summary], pdf.l_margin + 10, width - 20, _height(14))
        y = pdf.get_y() + 1
        _rule(pdf, pdf.l_margin + width / 2, max(widest / 3, min(widest / 2, 30.0)), y)
        pdf.set_y(y + 1)
    pdf.ln(4)


def body(pdf: FPDF, text: str, size: float = 14, style: str = "", indent: float = INDENT,
         ) -> None:
    """A paragraph of the body: justified, first line indented, 6 pt after (Annex I, 6.e)."""
    pdf.set_font(FONT, style, size)
    pdf.set_x(pdf.l_margin)
    paragraph(pdf, text, _height(size), indent=indent, justify=True)
    pdf.ln(2.1)


def closing(pdf: FPDF, issuer: Issuer, stamp: Stamp, document_id: str, verify_url: str,
            recipients: Iterable[str], heading_line: str | None = None,
            ) -> tuple[int, tuple[int, int, int, int]]:
    """The end of the document. On the right, centred: the authority lines (the model's
    signer line in its place, where the template has one), the signer's title, the agency's
    digital-signature appearance (the red seal at its size on the left, the signer and the
    signing time on its right, so that the seal covers no text; Annex I, items 7 and 8) and
    the signer's full name. On the left, level with the authority line: "Nơi nhận:" (12 pt
    bold italic) and its list (11 pt), then the QR code that leads to the verification of
    this document, with the document's id. Under both, across the page, the verification
    URL whole on its line (``link_line``). Returns the page and the rectangle (PDF points)
    of the signature field: the seal's square."""
    who = issuer.signatory
    authority = [heading_line] if heading_line else list(who.authority)
    upper = [line.upper() for line in [*authority, who.title] if line]
    seal = issuer.seal_diameter
    h14 = _height(14)
    qr_side = _qr_side(verify_url)
    needed = max(len(upper) * h14 + seal + 4 + h14 * 2, 20 + qr_side + 14) + 12 + LINK_ROOM
    if pdf.get_y() + 6 + needed > A4_HEIGHT_MM - pdf.b_margin:
        pdf.add_page()
    pdf.ln(5)
    top = pdf.get_y()
    left = pdf.l_margin
    column_x = left + CLOSING_LEFT
    column = pdf.w - pdf.r_margin - column_x
    # the signer: 14 pt, or 13 if a line would not fit the column (Annex I, 7.a: 13-14)
    size = 14
    pdf.set_font(FONT, "B", size)
    if any(pdf.get_string_width(line) > column - 2 * pdf.c_margin - 0.2 for line in upper):
        size = 13
        pdf.set_font(FONT, "B", size)
    _centred(pdf, upper, column_x, column, _height(size))
    area_x = column_x + (column - SIGNATURE_WIDTH) / 2
    area_y = pdf.get_y() + 2
    # the seal at a whole point from the page's corner, its square the signature field
    k = PT_PER_MM
    seal_x = round(area_x * k) / k
    seal_y = round(area_y * k) / k
    _image(pdf, stamp.seal_png, seal_x, seal_y, seal)
    text_x = seal_x + seal + 2.5
    text_width = area_x + SIGNATURE_WIDTH - text_x
    pdf.set_text_color(0, 0, 0)
    lines: list[tuple[str, str, float, tuple[int, int, int]]] = [
        ("B", f"Ký bởi: {stamp.agency_name}", 10, (0, 0, 0)),
        ("", f"Thời gian ký: {stamp.time_text}", 10, (0, 0, 0))]
    if stamp.development:
        lines.append(("B", DEVELOPMENT_NOTICE, 9, (200, 0, 0)))
    heights = 0.0
    for style, text, points, _ in lines:
        pdf.set_font(FONT, style, points)
        heights += len(wrap(pdf, text, text_width - 2 * pdf.c_margin - 0.2)) * _height(points)
    pdf.set_y(seal_y + max(0.0, (seal - heights) / 2))
    for style, text, points, colour in lines:
        pdf.set_font(FONT, style, points)
        pdf.set_text_color(*colour)
        pdf.set_x(text_x)
        paragraph(pdf, text, _height(points), text_width)
    pdf.set_text_color(0, 0, 0)
    pdf.set_y(max(seal_y + seal, pdf.get_y()) + 2)
    if who.name:
        pdf.set_font(FONT, "B", 14)
        _centred(pdf, [who.name], column_x, column, h14)
    right_bottom = pdf.get_y()
    # the recipients and the QR code, on the left
    pdf.set_xy(left, top)
    pdf.set_font(FONT, "BI", 12)
    pdf.cell(CLOSING_LEFT - 2, _height(12), "Nơi nhận:", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 11)
    for line in recipients:
        pdf.set_x(left)
        paragraph(pdf, f"- {line}", _height(11), CLOSING_LEFT - 2)
    qr_y = pdf.get_y() + 3
    qr_x_pt, qr_y_pt = round(left * k), round(qr_y * k)
    _qr(pdf, verify_url, qr_x_pt / k, qr_y_pt / k)
    pdf.set_xy(left, qr_y_pt / k + qr_side + 1)
    pdf.set_font(FONT, "", 8)
    paragraph(pdf, f"Mã tài liệu: {document_id}", _height(8), CLOSING_LEFT - 2)
    pdf.set_y(max(right_bottom, pdf.get_y()) + 1)
    link_line(pdf, "Xác thực tại:", verify_url)
    pdf.ln(1)
    box = (round(seal_x * k), round((A4_HEIGHT_MM - seal_y - seal) * k),
           round((seal_x + seal) * k), round((A4_HEIGHT_MM - seal_y) * k))
    return pdf.page - 1, box


def link_line(pdf: FPDF, label: str, url: str) -> None:
    """``label`` and ``url`` on one line across the text width, the URL whole: a link cut
    between two characters (as a word wrap cuts a word wider than its column) cannot be
    typed or clicked. The size shrinks from ``LINK_SIZES[0]`` until the line fits; a URL too
    long for the line even then goes on lines of its own, cut only after a ``/``. The QR code
    holds the same URL."""
    width = pdf.w - pdf.l_margin - pdf.r_margin - 2 * pdf.c_margin - 0.2
    pdf.set_x(pdf.l_margin)
    for size in LINK_SIZES:
        pdf.set_font(FONT, "", size)
        if pdf.get_string_width(f"{label} {url}") <= width:
            pdf.cell(0, _height(size), f"{label} {url}", new_x="LMARGIN", new_y="NEXT")
            return
    pdf.cell(0, _height(size), label, new_x="LMARGIN", new_y="NEXT")
    line = ""
    for part in re.split(r"(?<=/)", url):
        if line and pdf.get_string_width(line + part) > width:
            pdf.cell(0, _height(size), line, new_x="LMARGIN", new_y="NEXT")
            line = ""
        line += part
    if line:
        pdf.cell(0, _height(size), line, new_x="LMARGIN", new_y="NEXT")


def footer(pdf: FPDF, stamp: Stamp, text: str) -> None:
    """A small line after the closing: the dossier, and what the document is worth. A
    development document says it has no legal validity and nothing else about it."""
    pdf.set_font(FONT, "I", 9)
    pdf.set_text_color(70, 70, 70)
    if stamp.development:
        pdf.set_text_color(200, 0, 0)
        pdf.set_font(FONT, "BI", 9)
        text = f"{text} {DEVELOPMENT_FOOTER}" if text else DEVELOPMENT_FOOTER
    pdf.set_x(pdf.l_margin)
    paragraph(pdf, text, _height(9))
    pdf.set_text_color(0, 0, 0)


# -- results ----------------------------------------------------------------------------------

class _Printed(dict[str, str]):
    """Printed values for a template's sentences: a value that is not there reads "…"."""

    def __missing__(self, key: str) -> str:
        return "…"


def _printed(result: Result) -> _Printed:
    t = result.template
    if result.values is not None:
        values = dict(result.values)
    else:  # the rows name the template's values by their labels
        labels = {v.label: v.key for v in t.values}
        values = {labels[label]: text for label, text in result.rows if label in labels}
    local = result.stamp.signed_at.astimezone(VIETNAM).date()
    values.update(co_quan=result.agency.name, ngay_cap=date_words(local),
                  het_han_mot_nam=date_words(one_year_on(local)),
                  ma_ho_so=result.dossier_code)
    return _Printed(values)


def render_result(result: Result) -> Rendered:
    """The result as a PDF ready for signing, with the place of its signature field."""
    t = result.template
    issuer = result.agency
    pdf = document(f"{t.title.capitalize()} – {result.number}", result.stamp.signed_at)
    pdf.set_subject(f"Kết quả hồ sơ {result.dossier_code}")
    pdf.set_author(result.agency_name)
    heading(pdf, issuer, result.number, result.stamp.signed_at, result.book)
    printed = _printed(result)
    if t.kind == "decision":
        _decision(pdf, result, issuer, printed)
    else:
        _certificate(pdf, result, printed)
    page, box = closing(pdf, issuer, result.stamp, result.document_id, result.verify_url,
                        t.recipients, t.signer_heading or None)
    footer(pdf, result.stamp, _footer_text(result))
    embedded = _embed(pdf, result)
    return Rendered(bytes(pdf.output()), page, box, embedded)


def _footer_text(result: Result) -> str:
    # the procedure by its name: a catalogue's own code (local.…) means nothing on paper
    procedure = (result.procedure_name or result.procedure_code).strip().rstrip(".")
    about = f"Hồ sơ {result.dossier_code}, thủ tục {procedure}."
    if result.stamp.development:
        return about
    return (f"{about} Văn bản điện tử có chữ ký số của cơ quan, có giá trị pháp lý như bản "
            "giấy (Luật Giao dịch điện tử 2023).")


def _certificate(pdf: FPDF, result: Result, printed: _Printed) -> None:
    """A specialised document as its ministry's model lays it out: the title, the model's
    grounds and heading, an opening sentence, the rows (several on one line where the model
    puts them together), a closing sentence."""
    t = result.template
    title(pdf, t.title)
    for ground in t.grounds:
        body(pdf, ground, 13, "I")
    if t.heading:
        pdf.set_font(FONT, "B", 13)
        _centred(pdf, [t.heading], pdf.l_margin, pdf.w - pdf.l_margin - pdf.r_margin,
                 _height(13))
        pdf.ln(2)
    if t.intro:
        body(pdf, t.intro.format_map(printed), 13)
    labels = {v.key: v.label for v in t.values}
    numbered = 0
    if result.values is None:  # rows only: each on its line
        lines: list[str | Heading] = [f"{label}: {text}" for label, text in result.rows]
    else:
        lines = []
        for group in t.lines or tuple((v.key,) for v in t.values):
            if isinstance(group, Heading):
                lines.append(group)
                continue
            if isinstance(group, str):
                lines.append(group.format_map(printed))
                continue
            present = [key for key in group if key in result.values]
            if not present:
                continue
            text = "; ".join(f"{labels[key]}: {result.values[key]}" for key in present)
            if t.numbered:
                numbered += 1
                text = f"{numbered}. {text}"
            lines.append(text)
    pdf.set_font(FONT, "", 13)
    for line in lines:
        pdf.set_x(pdf.l_margin)
        if isinstance(line, Heading):  # a party's block: bold, a little apart
            pdf.ln(1.5)
            pdf.set_font(FONT, "B", 13)
            paragraph(pdf, line.text, _height(13), indent=INDENT)
            pdf.set_font(FONT, "", 13)
        else:
            paragraph(pdf, line, _height(13), indent=INDENT)
        pdf.ln(0.8)
    if any(isinstance(group, Heading) for group in t.lines):
        pdf.ln(1.5)  # the parties' blocks apart from what follows them
    for line in t.trailer:
        pdf.set_x(pdf.l_margin)
        paragraph(pdf, line.format_map(printed), _height(13), indent=INDENT)
        pdf.ln(0.8)
    if t.closing:
        pdf.ln(1.5)
        body(pdf, t.closing.format_map(printed), 13, "I")


def honorific(sex: str | None) -> str:
    """"ông" or "bà" from the printed sex, "ông/bà" when it is not known."""
    return {"nam": "ông", "nữ": "bà"}.get((sex or "").strip().lower(), "ông/bà")


def _decision(pdf: FPDF, result: Result, issuer: Issuer, printed: _Printed) -> None:
    """A decision as Annex III, Mẫu 1.2 lays it out: title and summary, the authority
    that decides, "Căn cứ …" lines (the agency's, then the form's legal basis), "Xét đề nghị
    của …", "QUYẾT ĐỊNH:", then the articles: what is decided, from the dossier's named
    values; its effect; who carries it out."""
    who = printed["nguoi_de_nghi"]
    sir = honorific(printed.get("gioi_tinh"))
    procedure = result.procedure_name or ""
    what = procedure[:1].lower() + procedure[1:] if procedure else ""
    summary = (f"Về việc giải quyết hồ sơ đề nghị {what} của {sir} {who}" if what
               else f"Về việc giải quyết hồ sơ số {result.dossier_code} của {sir} {who}")
    title(pdf, result.template.title, summary)
    pdf.set_font(FONT, "B", 14)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    _centred(pdf, [(issuer.decides_as or issuer.name).upper()], pdf.l_margin, width,
             _height(14))
    pdf.ln(3)
    grounds = [g.rstrip(" ;.") for g in issuer.grounds]
    if result.form_legal_basis:
        grounds.append(f"Căn cứ {result.form_legal_basis.rstrip(' ;.')}")
    for ground in grounds:
        body(pdf, f"{ground};", 14, "I")
    body(pdf, f"Xét đề nghị của {sir} {who} tại hồ sơ số {result.dossier_code}.", 14, "I")
    pdf.set_font(FONT, "B", 14)
    _centred(pdf, ["QUYẾT ĐỊNH:"], pdf.l_margin, width, _height(14))
    pdf.ln(2)
    details = []
    for key, label in (("ngay_sinh", "sinh ngày"), ("so_dinh_danh", "số định danh cá nhân"),
                       ("noi_cu_tru", "nơi cư trú:")):
        if key in printed:
            details.append(f"{label} {printed[key]}")
    person = f"{sir} {who}" + (f" ({', '.join(details)})" if details else "")
    request = f" về việc {what}" if what else ""
    first = f"Chấp thuận đề nghị{request} của {person}, hồ sơ số {result.dossier_code}."
    if "noi_dung" in printed:
        first += f" Nội dung đề nghị được chấp thuận: {printed['noi_dung'].rstrip('.')}."
    if result.values is None and result.rows:  # rows only: they are what is decided
        first += " " + "; ".join(f"{label}: {text}" for label, text in result.rows) + "."
    _article(pdf, 1, first)
    _article(pdf, 2, "Quyết định này có hiệu lực kể từ ngày ký.")
    _article(pdf, 3, f"Các cơ quan, đơn vị có liên quan và {sir} {who} chịu trách nhiệm thi "
                     "hành Quyết định này./.")


def _article(pdf: FPDF, number: int, text: str) -> None:
    """"Điều 1." in bold, then its text, as one justified paragraph with the body's indent.
    The bold label is drawn first and the text continues after it."""
    pdf.set_font(FONT, "B", 14)
    label = f"Điều {number}. "
    label_width = pdf.get_string_width(label)
    pdf.set_x(pdf.l_margin + INDENT)
    y = pdf.get_y()
    pdf.cell(label_width + pdf.c_margin, _height(14), label.rstrip())
    pdf.set_xy(pdf.l_margin, y)
    pdf.set_font(FONT, "", 14)
    paragraph(pdf, text, _height(14), indent=INDENT + label_width, justify=True)
    pdf.ln(2.1)


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


@functools.lru_cache(maxsize=16)
def _qr_matrix(text: str) -> list[list[bool]]:
    # a fixed mask: choosing the best of eight costs more than the rest of the page, and
    # any mask is a valid code (ISO/IEC 18004)
    # the quiet zone (4 modules) is part of the square: decoders need it
    code = qrcode.QRCode(border=4, error_correction=QR_ERROR_CORRECTION, mask_pattern=2)
    code.add_data(text)
    return code.get_matrix()


def _qr_side(text: str) -> float:
    """The QR code's side in mm, its quiet zone included."""
    return len(_qr_matrix(text)) * QR_MODULE_PT / PT_PER_MM


def _qr(pdf: FPDF, text: str, x: float, y: float) -> None:
    """A QR code drawn as vector squares (sharp at any zoom, no image to decode): modules of
    ``QR_MODULE_PT`` points from (x, y) mm, which the caller puts on whole points, so that
    every module falls on whole pixels of a 72-dpi render and reads from it."""
    matrix = _qr_matrix(text)
    cell = QR_MODULE_PT
    x_pt, top_pt = x * pdf.k, (pdf.h - y) * pdf.k
    # one path of rectangles (a run of dark modules each), filled once: fpdf2's rect() per
    # run would save and restore the graphics state thousands of times
    ops = ["0 g"]
    for row, modules in enumerate(matrix):
        start = None
        for col, dark in enumerate([*modules, False]):
            if dark and start is None:
                start = col
            elif not dark and start is not None:
                ops.append(f"{x_pt + start * cell:.2f} {top_pt - (row + 1) * cell:.2f}"
                           f" {(col - start) * cell} {cell} re")
                start = None
    ops.append("f")
    pdf._out("q " + "\n".join(ops) + " Q")


def _embed(pdf: FPDF, result: Result) -> dict[str, Any]:
    payload = {
        "document_id": result.document_id, "number": result.number,
        "template": result.template.code, "title": result.template.title,
        "document_class": result.template.document_class,
        "procedure_code": result.procedure_code, "dossier_code": result.dossier_code,
        "owner_id": result.owner_id, "issuing_agency": result.agency_name,
        "issued_at": result.stamp.signed_at.isoformat(), "data": result.data,
    }
    if result.book:
        payload["book"] = result.book
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
        + (f'<tokhai:Book>{e(result.book)}</tokhai:Book>' if result.book else '') +
        f'<tokhai:Template>{e(result.template.code)}</tokhai:Template>'
        f'<tokhai:DocumentClass>{e(result.template.document_class)}</tokhai:DocumentClass>'
        f'<tokhai:ProcedureCode>{e(result.procedure_code)}</tokhai:ProcedureCode>'
        f'<tokhai:DossierCode>{e(result.dossier_code)}</tokhai:DossierCode>'
        f'<tokhai:DataFile>{DATA_FILE}</tokhai:DataFile>'
        '</rdf:Description></rdf:RDF></x:xmpmeta>'
    )

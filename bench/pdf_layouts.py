"""Printed official forms made from a field list (tests/fixtures/official-forms/*.json), for the
PDF importer's benchmark (bench/import_pdf.py) and tests: the same form laid out in two
different ways, and a scanned-looking copy.

- ``fpdf_layout``: fpdf2, Tokhai Serif, dot leaders of full stops, tick boxes drawn as
  rectangles, items numbered when the list numbers none, roman-numeral capitalised headings,
  a ruled table drawn cell by cell.
- ``html_layout`` + ``chromium_pdf``: an HTML page printed by Debian's Chromium headless:
  leaders of "…", tick boxes as the glyph "☐", bold headings as the list writes them, an HTML
  table with borders, no added numbering.
- ``scanned``: every page rendered by PDFium, turned slightly, blurred and speckled, written
  back as an image-only PDF (no text layer).

Both layouts print the same ``Plan``: the national motto, "Mẫu số …" when the legal basis
names one, the bold title, "(Ban hành kèm theo …)", "Kính gửi: …", one heading per group that
has a field to fill, the items with their labels as the list writes them, several short
fields on one line, options with tick boxes for choices whose notes give them, a table for a
repeated item, the commitment, "…, ngày … tháng … năm …", the signature blocks and the
footnotes "(1) …" at the bottom. The benchmark reads the plan to know what it should recover.
"""

from __future__ import annotations

import html
import io
import random
import re
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FONTS = ROOT / "service" / "fonts"
SERIF = {style: FONTS / f"TokhaiSerif-{name}.ttf" for style, name in (
    ("", "Regular"), ("B", "Bold"), ("I", "Italic"), ("BI", "BoldItalic"))}
CHROMIUM = "/usr/bin/chromium"

MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO_2 = "Độc lập - Tự do - Hạnh phúc"
PLACE_DATE = "…, ngày … tháng … năm …"

ItemNumber = re.compile(r"^\s*(?:\[\d+(?:\.\d+)*\]\.?|\d+(?:\.\d+)*[.)]|[IVX]+\.)\s*")
_FOOTNOTE_NOTE = re.compile(r"^\((\d+)\)\s*(.*)$", re.S)
_ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII",
          "XIV", "XV", "XVI", "XVII", "XVIII", "XIX", "XX"]
#: kinds short enough to share a printed line with others
_SHORT_KINDS = {"select", "date", "number", "phone", "email", "id_number", "time"}
_ENGLISH = re.compile(r"\b(the|only|of|from|by|if|usually|when|visible|not|and|or|with|"
                      r"name|method|field|excerpt|printed|label|row|number|copy)\b", re.I)


@dataclass(frozen=True)
class Item:
    """One printed field: its label as the list writes it and how it is drawn."""
    label: str
    kind: str
    group: str
    options: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    footnote: str = ""  # the mark printed after the label, "(2)", when its notes give one


@dataclass(frozen=True)
class Section:
    heading: str
    lines: tuple[tuple[Item, ...], ...]  # each printed line: one item, or several short ones


@dataclass(frozen=True)
class Plan:
    title: str
    code: str | None  # "Mẫu số 03", "Mẫu CT01", "Phụ lục I-1"
    legal_basis: str
    addressee: str | None  # "Kính gửi: …" as printed
    addressee_label: str | None  # the list's label of it
    sections: tuple[Section, ...]
    commitment: str | None
    #: the signature blocks in order: ("date", "…, ngày … tháng … năm …" as the list writes
    #: it) and ("signature", who signs); a form whose list has neither gets PLACE_DATE
    tail: tuple[tuple[str, str], ...]
    footnotes: tuple[str, ...]  # "(1) …"

    def items(self) -> list[Item]:
        return [item for section in self.sections for line in section.lines for item in line]


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def is_signing_date(entry: dict[str, Any]) -> bool:
    """The "…, ngày … tháng … năm …" of the signature block (not a date asked in the body)."""
    text = re.sub(r"[\s.…,_]+", " ", entry["label"]).strip().lower()
    text = re.sub(r"\((date|month|year)\)", "", text).strip()
    blanks = re.search(r"\.{2,}|…|\(date\)", entry["label"])
    return (entry["kind"] == "date" and bool(blanks) and text.startswith("ngày")
            and "tháng" in text)


def is_commitment(entry: dict[str, Any]) -> bool:
    return entry["kind"] == "checkbox" and entry["label"].startswith("Tôi") and (
        "cam đoan" in entry["label"])


def is_addressee(entry: dict[str, Any]) -> bool:
    return bool(entry["label"].startswith("Kính gửi"))


def options_from_notes(entry: dict[str, Any]) -> tuple[str, ...]:
    """The options a choice prints with tick boxes, when its notes list them ("Có / Không",
    "options: A / B / C", "ô Nam / Nữ"); none when the notes are a comment."""
    if entry["kind"] not in ("select", "checkbox"):
        return ()
    notes = re.sub(r"^\(\d+\)\s*", "", entry.get("notes") or "").strip()
    notes = re.sub(r"^(options:|ô)\s*", "", notes).strip()
    if " / " not in notes or ";" in notes or _ENGLISH.search(notes):
        return ()
    parts = [p.strip() for p in notes.split(" / ")]
    if any(not p or len(p.split()) > 5 for p in parts):
        return ()
    return tuple(p[:1].upper() + p[1:] for p in parts)


def _code(field_list: dict[str, Any]) -> str | None:
    for text in (field_list["legal_basis"], field_list["title"]):
        found = re.search(r"(Mẫu số [\w\-/.]+|Mẫu [A-Z]{2}[\w\-]*|Phụ lục [\w\-]+)", text)
        if found:
            return found.group(1).rstrip(".,")
    return None


def _title(field_list: dict[str, Any]) -> str:
    title = re.sub(r"\s*[(–-]\s*(Mẫu|Phụ lục)[^)]*\)?\s*$", "", field_list["title"])
    return re.sub(r"\s*\((Mẫu|TK)\w*\)\s*$", "", title).strip()


def _legal_basis(field_list: dict[str, Any]) -> str:
    text = re.split(r" \(|; | – ", field_list["legal_basis"])[0]
    text = re.sub(r"^.*?ban hành kèm(?: theo)?\s*", "", text)
    return f"(Ban hành kèm theo {text})"


def plan(field_list: dict[str, Any]) -> Plan:
    """What a printed copy of the form shows, in order (see the module's docstring)."""
    fields = field_list["fields"]
    addressee = addressee_label = commitment = None
    tail: list[tuple[str, str]] = []
    footnotes: dict[str, str] = {}
    body: list[Item] = []
    for entry in fields:
        label = nfc(entry["label"])
        mark = ""
        note = _FOOTNOTE_NOTE.match(nfc(entry.get("notes") or "").strip())
        if note:
            mark = f"({note.group(1)})"
            text = note.group(2).strip()
            if text and not _ENGLISH.search(text) and mark not in footnotes:
                text = text.replace(" → ", ", nếu không có thì ")
                footnotes[mark] = text[:1].upper() + text[1:]
            if mark in label:
                mark = ""
        if is_addressee(entry):
            addressee_label = label
            addressee = label if ":" in label else f"{label}{mark}:"
        elif entry["kind"] == "signature":
            tail.append(("signature", label))
        elif is_signing_date(entry):
            tail.append(("date", label))
        elif is_commitment(entry):
            commitment = label
        else:
            columns = tuple(nfc(i["label"]) for i in entry.get("items", ()))
            body.append(Item(label, entry["kind"], nfc(entry["group"]), options_from_notes(entry),
                             columns, mark))
    sections: list[Section] = []
    group: str | None = None
    lines: list[tuple[Item, ...]] = []
    for item in body:
        if item.group != group:
            if group is not None:
                sections.append(Section(group, tuple(lines)))
            group, lines = item.group, []
        short = (item.kind in _SHORT_KINDS and not item.options and len(item.label) <= 28)
        previous = lines[-1] if lines else ()
        if (short and previous and len(previous) < 3 and all(
                p.kind in _SHORT_KINDS and not p.options and len(p.label) <= 28 for p in previous)
                and sum(len(p.label) for p in previous) + len(item.label) <= 50):
            lines[-1] = (*previous, item)
        else:
            lines.append((item,))
    if group is not None:
        sections.append(Section(group, tuple(lines)))
    notes = tuple(f"{mark} {text}" for mark, text in sorted(
        footnotes.items(), key=lambda kv: int(kv[0].strip("()"))))
    return Plan(_title(field_list), _code(field_list), _legal_basis(field_list), addressee,
                addressee_label, tuple(sections), commitment, tuple(tail), notes)


def _numbered(plan_: Plan) -> bool:
    return any(ItemNumber.match(item.label) for item in plan_.items())


def _heading(section: Section, index: int, *, roman: bool) -> str:
    """Roman numeral and capitals (when the list numbers none of its groups), else as written."""
    if not roman:
        return section.heading
    return f"{_ROMAN[index % len(_ROMAN)]}. {section.heading.upper()}"


# --------------------------------------------------------------------------- fpdf2

def fpdf_layout(field_list: dict[str, Any]) -> bytes:
    """The form drawn with fpdf2: leaders of full stops, boxes drawn as small rectangles."""
    from fpdf import FPDF

    p = plan(field_list)
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_margins(20, 15, 15)
    pdf.set_auto_page_break(True, margin=15)
    for style, path in SERIF.items():
        pdf.add_font("Serif", style, str(path))
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    size = 12.0
    height = 6.5

    def text(value: str, *, style: str = "", align: str = "L", font: float = size) -> None:
        pdf.set_font("Serif", style, font)
        pdf.multi_cell(width, height, value, align=align, new_x="LMARGIN", new_y="NEXT")

    def leader(until: float) -> None:
        pdf.set_font("Serif", "", size)
        dots = max(3, int((until - pdf.get_x()) / pdf.get_string_width(".")) - 1)
        pdf.cell(pdf.get_string_width("." * dots), height, "." * dots)

    def box(label: str) -> None:
        pdf.set_font("Serif", "", size)
        pdf.cell(pdf.get_string_width(label + " "), height, label + " ")
        x, y = pdf.get_x(), pdf.get_y()
        pdf.rect(x, y + 1.5, 3.6, 3.6)
        pdf.set_x(x + 8)

    if p.code:
        pdf.set_font("Serif", "B", size)
        pdf.cell(width, height, p.code, align="R", new_x="LMARGIN", new_y="NEXT")
        text(p.legal_basis, style="I", align="R", font=10)
    text(MOTTO, style="B", align="C")
    text(MOTTO_2, style="B", align="C")
    middle = pdf.l_margin + width / 2
    pdf.line(middle - 25, pdf.get_y(), middle + 25, pdf.get_y())
    pdf.ln(6)
    text(p.title.upper(), style="B", align="C", font=14)
    if not p.code:
        text(p.legal_basis, style="I", align="C", font=11)
    pdf.ln(3)
    if p.addressee:
        pdf.set_font("Serif", "", size)
        pdf.set_x(pdf.l_margin + 25)
        pdf.cell(pdf.get_string_width(p.addressee + " "), height, p.addressee + " ")
        leader(pdf.l_margin + width)
        pdf.ln(height + 2)
    number = 0
    own_numbers = not _numbered(p)
    roman = not any(ItemNumber.match(section.heading) for section in p.sections)
    for index, section in enumerate(p.sections):
        pdf.ln(1)
        text(_heading(section, index, roman=roman), style="B")
        for line in section.lines:
            share = width / len(line)
            for k, item in enumerate(line):
                label = item.label + item.footnote
                if own_numbers and k == 0:
                    number += 1
                    label = f"{number}. {label}"
                if item.kind == "repeat":
                    text(label + ":")
                    _fpdf_table(pdf, item.columns, width, height)
                    continue
                if pdf.get_string_width(label) > width - 30:
                    text(label + ":")
                    pdf.set_font("Serif", "", size)
                    leader(pdf.l_margin + width)
                    pdf.ln(height)
                    continue
                pdf.set_font("Serif", "", size)
                pdf.cell(pdf.get_string_width(label + ": "), height, label + ": ")
                if item.options:
                    for option in item.options:
                        box(option)
                elif item.kind == "checkbox":
                    box("")
                else:
                    leader(pdf.l_margin + share * (k + 1) - 2)
                    pdf.set_x(pdf.l_margin + share * (k + 1))
            pdf.ln(height)
    pdf.ln(2)
    if p.commitment:
        pdf.set_x(pdf.l_margin + 10)
        text(p.commitment)
    pdf.ln(2)
    for what, label in p.tail or (("date", PLACE_DATE),):
        if what == "date":
            pdf.set_x(pdf.l_margin + width / 2)
            pdf.set_font("Serif", "I", size)
            pdf.cell(width / 2, height, label, align="C", new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.set_x(pdf.l_margin + width / 2)
            pdf.set_font("Serif", "B", size)
            pdf.cell(width / 2, height, label, align="C", new_x="LMARGIN", new_y="NEXT")
            pdf.set_x(pdf.l_margin + width / 2)
            pdf.set_font("Serif", "I", 11)
            pdf.cell(width / 2, height, "(Ký, ghi rõ họ tên)", align="C",
                     new_x="LMARGIN", new_y="NEXT")
            pdf.ln(12)
    if p.footnotes:
        pdf.ln(4)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + 50, pdf.get_y())
        pdf.ln(1)
        for note in p.footnotes:
            text(note, font=10)
    return bytes(pdf.output())


def _fpdf_table(pdf: Any, columns: tuple[str, ...], width: float, height: float) -> None:
    columns = columns or ("Nội dung",)
    pdf.set_font("Serif", "B", 10)
    share = width / len(columns)
    rows = max(pdf.get_string_width(c) / (share - 2) for c in columns)
    header = height * (int(rows) + 1)
    y = pdf.get_y()
    for k, column in enumerate(columns):
        x = pdf.l_margin + share * k
        pdf.rect(x, y, share, header)
        pdf.set_xy(x + 1, y + 0.5)
        pdf.multi_cell(share - 2, height - 1.5, column, align="C")
    pdf.set_y(y + header)
    for _ in range(3):
        y = pdf.get_y()
        for k in range(len(columns)):
            pdf.rect(pdf.l_margin + share * k, y, share, height + 1)
        pdf.set_y(y + height + 1)
    pdf.ln(1)


# --------------------------------------------------------------------------- HTML + Chromium

_CSS = """
@font-face { font-family: "Tokhai Serif"; src: url("%(regular)s"); }
@font-face { font-family: "Tokhai Serif"; font-weight: bold; src: url("%(bold)s"); }
@font-face { font-family: "Tokhai Serif"; font-style: italic; src: url("%(italic)s"); }
@page { size: A4; margin: 18mm 15mm 15mm 25mm; }
body { font-family: "Tokhai Serif", "DejaVu Serif", serif; font-size: 13pt; line-height: 1.45; }
.head { display: flex; justify-content: space-between; }
.center { text-align: center; } .right { text-align: right; }
.motto { font-weight: bold; text-align: center; margin: 0; }
.motto2 { font-weight: bold; text-align: center; margin: 0; text-decoration: underline; }
h1 { font-size: 14pt; text-align: center; margin: 14pt 0 0 0; }
.basis { font-style: italic; text-align: center; margin: 0 0 10pt 0; }
h2 { font-size: 13pt; margin: 8pt 0 2pt 0; }
p { margin: 2pt 0; }
.box { font-family: "DejaVu Sans", sans-serif; }
table { border-collapse: collapse; width: 100%%; margin: 4pt 0; }
td, th { border: 1px solid black; padding: 2pt; font-size: 11pt; height: 16pt; }
.sign { margin-left: 50%%; text-align: center; }
.notes { border-top: 1px solid black; width: 100%%; margin-top: 18pt; font-size: 10.5pt; }
"""


def html_layout(field_list: dict[str, Any]) -> str:
    """The form as an HTML page: leaders of "…", tick boxes as the glyph ☐, plain bold headings."""
    p = plan(field_list)
    e = html.escape
    out = ["<!DOCTYPE html><html lang='vi'><head><meta charset='utf-8'>",
           f"<title>{e(p.title)}</title><style>",
           _CSS % {"regular": SERIF[""].as_uri(), "bold": SERIF["B"].as_uri(),
                   "italic": SERIF["I"].as_uri()},
           "</style></head><body>"]
    if p.code:
        out.append(f"<p class='right'><b>{e(p.code)}</b></p>")
    out.append(f"<p class='motto'>{e(MOTTO)}</p><p class='motto2'>{e(MOTTO_2)}</p>")
    out.append(f"<h1>{e(p.title.upper())}</h1><p class='basis'>{e(p.legal_basis)}</p>")
    if p.addressee:
        out.append(f"<p class='center'>{e(p.addressee)} {'…' * 30}</p>")
    for index, section in enumerate(p.sections):
        out.append(f"<h2>{e(_heading(section, index, roman=False))}</h2>")
        for line in section.lines:
            parts = []
            for item in line:
                label = e(item.label + item.footnote)
                if item.kind == "repeat":
                    head = "".join(f"<th>{e(c)}</th>" for c in item.columns or ("Nội dung",))
                    empty = "".join("<td></td>" for _ in item.columns or ("",))
                    parts.append(f"{label}:</p><table><tr>{head}</tr>"
                                 + f"<tr>{empty}</tr>" * 3 + "</table><p>")
                elif item.options:
                    boxes = " ".join(f"{e(o)} <span class='box'>☐</span>" for o in item.options)
                    parts.append(f"{label}: {boxes}")
                elif item.kind == "checkbox":
                    parts.append(f"{label} <span class='box'>☐</span>")
                else:
                    parts.append(f"{label}: {'…' * _html_leaders(item, len(line))}")
            out.append("<p>" + " ".join(parts) + "</p>")
    if p.commitment:
        out.append(f"<p style='text-indent: 10mm'>{e(p.commitment)}</p>")
    for what, label in p.tail or (("date", PLACE_DATE),):
        if what == "date":
            out.append(f"<p class='sign'><i>{e(label)}</i></p>")
        else:
            out.append(f"<p class='sign'><b>{e(label)}</b><br><i>(Ký, ghi rõ họ tên)</i>"
                       "</p><p>&nbsp;</p>")
    if p.footnotes:
        out.append("<div class='notes'>" + "".join(f"<p>{e(n)}</p>" for n in p.footnotes)
                   + "</div>")
    out.append("</body></html>")
    return "\n".join(out)


def _html_leaders(item: Item, share: int) -> int:
    """As many "…" (one em, 13 pt, each) as fill the item's share of a 165 mm line without
    wrapping (a label's letter is about 0.45 em)."""
    room = 165 / 25.4 * 72 / share - 13 * 0.47 * (len(item.label + item.footnote) + 3)
    return max(3, int(room / 13) - 1)


def chromium_pdf(page: str, *, timeout: float = 60.0) -> bytes:
    """``page`` (HTML) printed to PDF by Debian's Chromium, headless."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "form.html"
        target = Path(tmp) / "form.pdf"
        source.write_text(page, encoding="utf-8")
        subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--no-pdf-header-footer",
             f"--user-data-dir={tmp}/profile", f"--print-to-pdf={target}", source.as_uri()],
            check=True, timeout=timeout, capture_output=True)
        return target.read_bytes()


# --------------------------------------------------------------------------- scans

def scanned(data: bytes, *, dpi: int = 200, seed: int = 17) -> bytes:
    """An image-only PDF that looks scanned: each page rendered at ``dpi``, grey, turned by
    under a degree, slightly blurred, with speckle noise. No text layer."""
    import pypdfium2  # type: ignore[import-untyped]
    from PIL import Image, ImageFilter

    rng = random.Random(seed)
    pages: list[Image.Image] = []
    document = pypdfium2.PdfDocument(data)
    try:
        for index in range(len(document)):
            image = document[index].render(scale=dpi / 72).to_pil().convert("L")
            image = image.rotate(rng.uniform(-0.8, 0.8), resample=Image.Resampling.BICUBIC,
                                 expand=False, fillcolor=255)
            image = image.filter(ImageFilter.GaussianBlur(0.6))
            noise = Image.effect_noise(image.size, 30).point(lambda v: 0 if v < 40 else 255)
            image = Image.composite(image, noise, noise)  # a few dark specks
            pages.append(image)
    finally:
        document.close()
    out = io.BytesIO()
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=float(dpi))
    return out.getvalue()

"""Reading a printed form's PDF into lines and tables (issue #17).

:func:`read_pdf` turns the bytes of an uploaded PDF into a :class:`Layout`: the page's text
lines in reading order (top to bottom, then left to right), each made of spans that keep their
position, size and weight; ruled tables as rows of cell texts (their text is not repeated in the
lines). What a form prints to be filled in is normalised so that the drafting step sees one
shape: dot leaders and underscores become "…", tick boxes (glyphs, or small squares and
circles drawn as paths) become "☐" where they stand. A page without a text layer (a scan) is
rendered and read by Tesseract's Vietnamese model.

The input is untrusted, so the work is bounded before and while it is done, and every refusal
is an :class:`ImportRefused` with a stable code and a Vietnamese and an English message:

1. the byte size, the PDF header and end (``too_large``, ``not_pdf``, ``damaged``);
2. every stream of the file inflated under a cap per stream and in all, before any parser
   decodes one (``bomb``); encrypted files are refused (``encrypted``): their streams cannot be
   measured before decryption;
3. the page count, read by PDFium from the page tree before any page is parsed
   (``empty``, ``too_many_pages``);
4. a deadline for the whole reading, checked between pages, while a page's content is
   interpreted and around OCR (``too_slow``); OCR runs under a timeout and on images of bounded
   size;
5. the result: some text (``no_text``), in Vietnamese (``not_vietnamese``).

This bounds what the input asks for; a caller that must also bound what it cannot foresee runs
:func:`read_pdf` in a child process with CPU and memory limits.
"""

from __future__ import annotations

import io
import re
import subprocess
import time
import unicodedata
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 10 * MiB
    max_pages: int = 20
    max_seconds: float = 30.0
    ocr: bool = True
    #: decoded bytes of one stream, and of all streams of the file
    max_stream_bytes: int = 64 * MiB
    max_inflated_bytes: int = 256 * MiB
    #: pixels of a page rendered for OCR (A4 at 300 dpi is 8.7 million)
    max_render_pixels: int = 40_000_000
    #: text and graphic objects of one page
    max_page_objects: int = 200_000


@dataclass(frozen=True)
class Span:
    text: str
    x0: float
    x1: float
    bold: bool
    size: float


@dataclass(frozen=True)
class Line:
    page: int
    top: float
    bottom: float
    spans: tuple[Span, ...]

    @property
    def text(self) -> str:
        return " ".join(span.text for span in self.spans)

    @property
    def bold(self) -> bool:
        return bool(self.spans) and all(span.bold for span in self.spans)

    @property
    def x0(self) -> float:
        return self.spans[0].x0 if self.spans else 0.0


@dataclass(frozen=True)
class Table:
    page: int
    top: float
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Layout:
    lines: tuple[Line, ...]
    tables: tuple[Table, ...]
    pages: int
    from_ocr: bool


class ImportRefused(Exception):
    """Input that is not read: ``code`` is machine-readable, ``message`` Vietnamese,
    ``message_en`` English."""

    def __init__(self, code: str, message: str, message_en: str) -> None:
        super().__init__(code, message, message_en)
        self.code, self.message, self.message_en = code, message, message_en

    def __str__(self) -> str:
        return f"[{self.code}] {self.message_en}"


def _refused(code: str, limits: Limits) -> ImportRefused:
    mb, pages, secs = limits.max_bytes / MiB, limits.max_pages, limits.max_seconds
    vi, en = {
        "not_pdf": ("Tệp tải lên không phải là tệp PDF.", "The file is not a PDF."),
        "too_large": (f"Tệp PDF lớn hơn giới hạn {mb:g} MB.",
                      f"The PDF is larger than the limit of {mb:g} MB."),
        "damaged": ("Tệp PDF bị hỏng, không đọc được.", "The PDF is damaged and cannot be read."),
        "encrypted": ("Tệp PDF được mã hóa hoặc đặt mật khẩu; hãy in ra một bản PDF không mã hóa "
                      "rồi tải lên lại.",
                      "The PDF is encrypted or password-protected; print it to an unencrypted "
                      "PDF and upload that."),
        "bomb": ("Tệp PDF giải nén ra quá lớn so với kích thước của nó; không xử lý được.",
                 "The PDF inflates far beyond its size (a compression bomb); not processed."),
        "empty": ("Tệp PDF không có trang nào.", "The PDF has no pages."),
        "too_many_pages": (f"Tệp PDF có quá {pages} trang; một mẫu tờ khai thường chỉ vài trang.",
                           f"The PDF has more than {pages} pages; a form has a few."),
        "too_slow": (f"Đọc tệp PDF vượt quá giới hạn {secs:g} giây; không xử lý được.",
                     f"Reading the PDF takes more than {secs:g} s; not processed."),
        "no_text": ("Không đọc được chữ nào trong tệp PDF (kể cả khi nhận dạng ảnh quét).",
                    "No text could be read from the PDF, even by OCR."),
        "not_vietnamese": ("Tệp PDF không phải là mẫu tờ khai tiếng Việt (không thấy chữ có dấu "
                           "tiếng Việt).",
                           "The PDF is not a Vietnamese form (no Vietnamese diacritics found)."),
    }[code]
    return ImportRefused(code, vi, en)


class _Deadline:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.at = time.monotonic() + limits.max_seconds

    def left(self) -> float:
        return self.at - time.monotonic()

    def check(self) -> None:
        if self.left() <= 0:
            raise _refused("too_slow", self.limits)


def read_pdf(data: bytes, *, limits: Limits = Limits()) -> Layout:  # noqa: B008 (frozen)
    """The lines and tables of a form's PDF, or :class:`ImportRefused`."""
    deadline = _Deadline(limits)
    _check_bytes(data, limits)
    _check_inflation(data, limits)
    deadline.check()
    pages = _count_pages(data, limits)
    import pdfplumber

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except Exception as e:
        raise _refused("encrypted" if "Password" in repr(e) else "damaged", limits) from None
    lines: list[Line] = []
    tables: list[Table] = []
    from_ocr = False
    with pdf:
        if len(pdf.pages) != pages:
            raise _refused("damaged", limits)
        for number, page in enumerate(pdf.pages, start=1):
            deadline.check()
            page_lines, page_tables, scanned = _read_page(page, number, data, deadline)
            lines += page_lines
            tables += page_tables
            from_ocr = from_ocr or scanned
    text = " ".join([line.text for line in lines]
                    + [cell for table in tables for row in table.rows for cell in row])
    if not re.search(r"\w", text):
        raise _refused("no_text", limits)
    if not is_vietnamese(text):
        raise _refused("not_vietnamese", limits)
    return Layout(tuple(lines), tuple(tables), pages, from_ocr)


# -- cheap checks before parsing ----------------------------------------------------------------

def _check_bytes(data: bytes, limits: Limits) -> None:
    if len(data) > limits.max_bytes:
        raise _refused("too_large", limits)
    if b"%PDF-" not in data[:1024]:
        raise _refused("not_pdf", limits)
    if b"%%EOF" not in data[-2048:]:
        raise _refused("damaged", limits)
    if re.search(rb"/Encrypt\s*(?:\d+\s+\d+\s+R|<<)", data):
        raise _refused("encrypted", limits)


_STREAM = re.compile(rb"(?<!end)stream(?:\r\n|\n)")
_OBJ = re.compile(rb"\d+\s+\d+\s+obj\b")
_FILTER = re.compile(rb"/Filter\s*(\[[^\]]*\]|/[A-Za-z0-9]+)")


class _Budget:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.left = limits.max_inflated_bytes

    def cap(self) -> int:
        return min(self.limits.max_stream_bytes, self.left)

    def charge(self, size: int) -> None:
        self.left -= size
        if self.left < 0 or size > self.limits.max_stream_bytes:
            raise _refused("bomb", self.limits)


def _check_inflation(data: bytes, limits: Limits) -> None:
    """Every stream of the file, found by its ``stream`` keyword (so also those of object and
    cross-reference streams, and those no cross-reference table names), decoded with its
    filters under the caps, before PDFium or pdfminer decode any of them in full."""
    budget = _Budget(limits)
    for match in _STREAM.finditer(data):
        window = data[max(0, match.start() - 4096):match.start()]
        objs = list(_OBJ.finditer(window))
        head = window[objs[-1].end():] if objs else window[-512:]
        found = _FILTER.search(head)
        filters = re.findall(rb"/([A-Za-z0-9]+)", found.group(1)) if found else []
        end = data.find(b"endstream", match.end())
        raw = data[match.end():end if end >= 0 else len(data)]
        budget.charge(_decoded_size(raw, [f.decode() for f in filters], budget))


def _decoded_size(raw: bytes, filters: list[str], budget: _Budget) -> int:
    current, size = raw, len(raw)
    for index, name in enumerate(filters):
        last = index == len(filters) - 1
        if name in ("FlateDecode", "Fl"):
            size, out = _inflate(current, budget.cap(), keep=not last)
        elif name in ("LZWDecode", "LZW"):
            size, out = _unlzw(current, budget.cap(), keep=not last)
        elif name in ("RunLengthDecode", "RL"):
            out = _unrun(current, budget.cap())
            size = len(out)
        elif name in ("ASCII85Decode", "A85", "ASCIIHexDecode", "AHx"):
            from pdfminer.ascii85 import ascii85decode, asciihexdecode

            try:
                out = (ascii85decode if "85" in name else asciihexdecode)(current)
            except Exception:
                return size
            size = len(out)
        else:  # image codecs, which the text is read without decoding
            return size
        if size > budget.cap():
            raise _refused("bomb", budget.limits)
        current = out
    return size


def _inflate(data: bytes, cap: int, *, keep: bool) -> tuple[int, bytes]:
    inflater = zlib.decompressobj()
    size, kept = 0, []
    pending = data
    try:
        while pending and not inflater.eof and size <= cap:
            chunk = inflater.decompress(pending, 1 * MiB)
            size += len(chunk)
            if keep:
                kept.append(chunk)
            pending = inflater.unconsumed_tail
    except zlib.error:
        pass  # damaged: the parsers read what inflates, as this did
    return size, b"".join(kept)


def _unlzw(data: bytes, cap: int, *, keep: bool) -> tuple[int, bytes]:
    from pdfminer.lzw import LZWDecoder

    size, kept = 0, []
    try:
        for chunk in LZWDecoder(io.BytesIO(data)).run():
            size += len(chunk)
            if keep:
                kept.append(chunk)
            if size > cap:
                break
    except Exception:
        pass
    return size, b"".join(kept)


def _unrun(data: bytes, cap: int) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data) and len(out) <= cap:
        n = data[i]
        if n == 128:
            break
        if n < 128:
            out += data[i + 1:i + 2 + n]
            i += n + 2
        else:
            out += data[i + 1:i + 2] * (257 - n)
            i += 2
    return bytes(out)


def _count_pages(data: bytes, limits: Limits) -> int:
    """The page count from the page tree (PDFium), before any page's content is parsed."""
    import pypdfium2 as pdfium  # type: ignore[import-untyped]

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        # PDFium also refuses a document whose page tree holds no page: pdfminer tells
        code = ("encrypted" if "password" in str(e).lower() else
                "empty" if _no_pages(data) else "damaged")
        raise _refused(code, limits) from None
    try:
        pages = len(document)
    finally:
        document.close()
    if pages == 0:
        raise _refused("empty", limits)
    if pages > limits.max_pages:
        raise _refused("too_many_pages", limits)
    return pages


def _no_pages(data: bytes) -> bool:
    """Whether pdfminer reads the document and its page tree is there, without a page
    (its streams are measured already)."""
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfparser import PDFParser
    from pdfminer.pdftypes import resolve1

    try:
        document = PDFDocument(PDFParser(io.BytesIO(data)))
        tree = resolve1(document.catalog.get("Pages"))
        return isinstance(tree, dict) and not resolve1(tree.get("Kids"))
    except Exception:
        return False


# -- one page ---------------------------------------------------------------------------------

class _Stop(BaseException):
    """Raised through pdfminer (which catches Exception around damaged objects)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _timed_layout(page: Any, deadline: _Deadline) -> None:
    """pdfplumber's layout of the page, interpreted under the deadline and the object cap."""
    from pdfminer.pdfinterp import PDFPageInterpreter
    from pdfplumber.page import PDFPageAggregatorWithMarkedContent

    class Device(PDFPageAggregatorWithMarkedContent):
        count = 0

        def _tick(self) -> None:
            self.count += 1
            if self.count > deadline.limits.max_page_objects:
                raise _Stop("too_slow")
            if self.count % 128 == 0 and deadline.left() <= 0:
                raise _Stop("too_slow")

        def render_char(self, *args: Any, **kwargs: Any) -> float:
            self._tick()
            return float(super().render_char(*args, **kwargs))

        def paint_path(self, *args: Any, **kwargs: Any) -> None:
            self._tick()
            super().paint_path(*args, **kwargs)

        def begin_figure(self, *args: Any, **kwargs: Any) -> None:
            self._tick()
            super().begin_figure(*args, **kwargs)

    device = Device(page.pdf.rsrcmgr, pageno=page.page_number, laparams=page.pdf.laparams)
    interpreter = PDFPageInterpreter(page.pdf.rsrcmgr, device)
    try:
        interpreter.process_page(page.page_obj)
    except _Stop as e:
        raise _refused(e.code, deadline.limits) from None
    except Exception:
        raise _refused("damaged", deadline.limits) from None
    page._layout = device.get_result()


def _read_page(page: Any, number: int, data: bytes,
               deadline: _Deadline) -> tuple[list[Line], list[Table], bool]:
    _timed_layout(page, deadline)
    visible = [c for c in page.chars if not c["text"].isspace()]
    if len(visible) < 10 and (page.images or len(page.curves) > 50):
        if deadline.limits.ocr:
            return _ocr_page(data, number, page, deadline), [], True
        return [], [], False
    tables, areas = _tables(page, number)
    deadline.check()

    def outside(obj: dict[str, Any]) -> bool:
        xm, ym = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return not any(x0 <= xm <= x1 and top <= ym <= bottom for x0, top, x1, bottom in areas)

    free = page.filter(outside) if areas else page
    words = free.extract_words(x_tolerance=1.5, y_tolerance=2, keep_blank_chars=False,
                               extra_attrs=["fontname", "size"])
    tokens = [_Token(_clean(w["text"]), w["x0"], w["x1"], w["top"], w["bottom"],
                     _is_bold(w["fontname"]), float(w["size"])) for w in words]
    tokens = [t for t in tokens if t.text]
    tokens += _drawn_boxes(free, tokens)
    return _lines(number, tokens), tables, False


def _tables(page: Any, number: int) -> tuple[list[Table], list[tuple[float, ...]]]:
    tables, areas = [], []
    for found in page.find_tables():
        rows = found.extract()
        if len(rows) < 2 or max((len(r) for r in rows), default=0) < 2:
            continue
        cells = tuple(tuple(_clean(" ".join((cell or "").split())) for cell in row)
                      for row in rows)
        tables.append(Table(number, float(found.bbox[1]), cells))
        areas.append(tuple(float(v) for v in found.bbox))
    return tables, areas


_BOLD = re.compile(r"bold|black|heavy|demi|semibold", re.IGNORECASE)


def _is_bold(fontname: str) -> bool:
    return bool(_BOLD.search(fontname.split("+")[-1]))


#: glyphs printed for a box to tick; all become the one the drafting step looks for
_BOXES = str.maketrans({c: "☐" for c in "□☐○◯❏❐❑❒▢◻⬜☑☒⊡"})
#: a run of dots, ellipses or underscores (three or more, spaced or not)
_LEADER = re.compile(r"(?:…|\.{3,}|_{3,}|(?:\. ){2,}\.)(?:\s?(?:…|\.{2,}|_{2,}|\.))*")


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text).translate(_BOXES)
    text = _LEADER.sub("…", text)
    return " ".join(text.split())


@dataclass
class _Token:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    bold: bool
    size: float


def _drawn_boxes(page: Any, tokens: list[_Token]) -> list[_Token]:
    """Small squares and circles drawn as paths, outside tables and not already a glyph."""
    boxes: list[_Token] = []
    for shape in list(page.rects) + list(page.curves):
        width, height = shape["x1"] - shape["x0"], shape["bottom"] - shape["top"]
        if not (4 <= width <= 20 and 4 <= height <= 20 and 0.7 <= width / height <= 1.4):
            continue
        if shape.get("fill") and not shape.get("stroke") and _dark(shape):
            continue  # a filled bullet, not a box to tick
        box = _Token("☐", shape["x0"], shape["x1"], shape["top"], shape["bottom"], False,
                     height)
        if any(_overlap(box, other) for other in tokens + boxes):
            continue
        boxes.append(box)
    return boxes


def _dark(shape: dict[str, Any]) -> bool:
    color = shape.get("non_stroking_color")
    if isinstance(color, (int, float)):
        color = (color,)
    if not color:
        return True
    values = [float(v) for v in color if isinstance(v, (int, float))]
    if len(values) == 4:  # CMYK: dark when much black or ink
        return values[3] > 0.5 or sum(values[:3]) > 1.5
    return bool(values) and sum(values) / len(values) < 0.5


def _overlap(a: _Token, b: _Token) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.top < b.bottom and b.top < a.bottom


def _lines(page: int, tokens: Iterable[_Token]) -> list[Line]:
    """Tokens grouped into lines (vertical overlap of at least 40% of the smaller height,
    so that raised footnote marks stay on their line), top to bottom (by their middles),
    each read left to right."""
    groups: list[list[_Token]] = []
    for token in sorted(tokens, key=lambda t: ((t.top + t.bottom) / 2, t.x0)):
        for group in reversed(groups[-3:]):
            top = min(t.top for t in group)
            bottom = max(t.bottom for t in group)
            shared = min(bottom, token.bottom) - max(top, token.top)
            smaller = min(bottom - top, token.bottom - token.top) or 1.0
            if shared >= 0.4 * smaller:
                group.append(token)
                break
        else:
            groups.append([token])
    return [_line(page, group) for group in groups]


def _line(page: int, tokens: list[_Token]) -> Line:
    tokens = sorted(tokens, key=lambda t: t.x0)
    spans: list[Span] = []
    run: list[_Token] = []
    for token in tokens:
        if run:
            size = max(run[-1].size, token.size, 1.0)
            if token.bold != run[-1].bold or token.x0 - run[-1].x1 > 1.5 * size:
                spans.append(_span(run))
                run = []
        run.append(token)
    if run:
        spans.append(_span(run))
    return Line(page, min(t.top for t in tokens), max(t.bottom for t in tokens), tuple(spans))


def _span(run: list[_Token]) -> Span:
    text = _LEADER.sub("…", " ".join(t.text for t in run))
    return Span(text, run[0].x0, run[-1].x1, run[0].bold, max(t.size for t in run))


# -- OCR --------------------------------------------------------------------------------------

OCR_DPI = 300
#: at most this long for Tesseract on one page (also bounded by the reading's deadline)
OCR_PAGE_SECONDS = 60.0


def _ocr_page(data: bytes, number: int, page: Any, deadline: _Deadline) -> list[Line]:
    limits = deadline.limits
    for image in page.images:
        width, height = image.get("srcsize") or (0, 0)
        if float(width) * float(height) > 4 * limits.max_render_pixels:
            raise _refused("bomb", limits)
    png, scale = _render(data, number - 1, limits)
    deadline.check()
    timeout = min(OCR_PAGE_SECONDS, deadline.left())
    try:
        done = subprocess.run(
            ["tesseract", "-", "-", "-l", "vie", "--psm", "4", "tsv"], input=png,
            capture_output=True, timeout=max(timeout, 0.01), check=True)
    except subprocess.TimeoutExpired:
        raise _refused("too_slow", limits) from None
    except (OSError, subprocess.CalledProcessError):
        raise _refused("no_text", limits) from None
    return _ocr_lines(number, done.stdout.decode("utf-8", "replace"), scale)


def _render(data: bytes, index: int, limits: Limits) -> tuple[bytes, float]:
    """The page as a grey PNG at 300 dpi (less for a page too large), and points per pixel."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        page = document[index]
        width, height = page.get_size()
        scale = OCR_DPI / 72
        pixels = width * scale * height * scale
        if pixels > limits.max_render_pixels:
            scale *= (limits.max_render_pixels / pixels) ** 0.5
        image = page.render(scale=scale, grayscale=True).to_pil()
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue(), 1 / scale
    finally:
        document.close()


def _ocr_lines(page: int, tsv: str, points_per_pixel: float) -> list[Line]:
    """Tesseract's words (TSV, level 5) grouped by block, paragraph and line."""
    groups: dict[tuple[str, str, str], list[_Token]] = {}
    for row in _tsv_rows(tsv):
        if row.get("level") != "5" or not row.get("text", "").strip():
            continue
        text = _clean(row["text"])
        if not text:
            continue
        left, top = float(row["left"]) * points_per_pixel, float(row["top"]) * points_per_pixel
        width = float(row["width"]) * points_per_pixel
        height = float(row["height"]) * points_per_pixel
        key = (row["block_num"], row["par_num"], row["line_num"])
        groups.setdefault(key, []).append(
            _Token(text, left, left + width, top, top + height, False, height))
    lines = [_line(page, tokens) for tokens in groups.values()]
    return sorted(lines, key=lambda line: (line.top, line.x0))


def _tsv_rows(tsv: str) -> Iterator[dict[str, str]]:
    rows = tsv.splitlines()
    if not rows:
        return
    header = rows[0].split("\t")
    for row in rows[1:]:
        yield dict(zip(header, row.split("\t"), strict=False))


# -- the language -----------------------------------------------------------------------------

#: letters only Vietnamese among Latin-script languages writes: ă đ ơ ư ĩ ũ and the block of
#: vowels with two marks or a dot below / hook above (U+1EA0–U+1EF9)
_VIETNAMESE = re.compile(r"[ăĂđĐơƠưƯĩĨũŨ\u1ea0-\u1ef9]")


def is_vietnamese(text: str) -> bool:
    """At least one word in ten carries a letter only Vietnamese writes (in Vietnamese prose
    it is about every second word; in French, English or German none)."""
    words = [w for w in unicodedata.normalize("NFC", text).split() if re.search(r"[^\W\d_]", w)]
    if not words:
        return False
    marked = sum(1 for w in words if _VIETNAMESE.search(w))
    return marked >= max(1, len(words) // 10)

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
import os
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
    try:
        return _read(data, limits, deadline)
    except MemoryError:  # a stream inflated past the memory a caller's sandbox allows
        raise _refused("bomb", limits) from None


def _read(data: bytes, limits: Limits, deadline: _Deadline) -> Layout:
    pages = _count_pages(data, limits)
    import pdfplumber

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except MemoryError:
        raise
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


_STREAM = re.compile(rb"(?<!end)stream(?:\r\n|\r|\n)")
_OBJ = re.compile(rb"\d+\s+\d+\s+obj\b")
_TOKEN = re.compile(rb"%[^\r\n]*|<<|>>|\[|\]|<[0-9A-Fa-f\s]*>|/[^\s/\[\]()<>{}%]*"
                    rb"|[+-]?(?:\d+\.?\d*|\.\d+)|[A-Za-z]+")
#: filters whose output :func:`_decoded_size` measures
_DECODED = {"FlateDecode", "Fl", "LZWDecode", "LZW", "RunLengthDecode", "RL",
            "ASCII85Decode", "A85", "ASCIIHexDecode", "AHx"}
#: how far before ``stream`` its dictionary is looked for
_WINDOW = 4096


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
    filters under the caps, before PDFium or pdfminer decode any of them in full.

    A stream whose filters are not known for certain (an indirect /Filter, a dictionary that
    does not parse or is longer than the window), or that names no filter measured here, is
    also inflated as zlib data under the cap (data that is not zlib fails at once). Inflating
    reads on past ``endstream`` to the end of the zlib data, so neither a wrong /Length nor
    the bytes "endstream" inside the data shorten what is measured."""
    budget = _Budget(limits)
    view = memoryview(data)
    for match in _STREAM.finditer(data):
        filters = _stream_filters(data, match.start())
        end = data.find(b"endstream", match.end())
        raw = data[match.end():end if end >= 0 else len(data)]
        tail = view[match.end():]
        size = _decoded_size(raw, tail, filters, budget) if filters else len(raw)
        if not filters or filters[0] not in _DECODED:
            size = max(size, _inflate(tail, budget.cap(), keep=False)[0])
        budget.charge(size)


def _stream_filters(data: bytes, start: int) -> list[str] | None:
    """The /Filter names of the stream dictionary that ends at ``start`` (where ``stream``
    begins): [] without a filter, None when they cannot be told for certain."""
    window = data[max(0, start - _WINDOW):start]
    objs = list(_OBJ.finditer(window))
    if not objs:
        return None  # the dictionary is longer than the window, or not an object's
    try:
        tokens = _tokens(window[objs[-1].end():])
        value, index = _value(tokens, 0)
    except (IndexError, ValueError):
        return None
    if index != len(tokens) or not isinstance(value, dict):
        return None
    found = value.get("Filter")
    if found is None:
        return []
    names = found if isinstance(found, list) else [found]
    if not all(isinstance(n, str) for n in names):
        return None  # an indirect reference, or anything else
    return names


def _tokens(text: bytes) -> list[bytes]:
    """PDF tokens of ``text`` (comments dropped, a literal string as one "(" token);
    ValueError for anything else."""
    tokens: list[bytes] = []
    i = 0
    while i < len(text):
        if text[i:i + 1].isspace() or text[i] == 0:
            i += 1
            continue
        if text[i:i + 1] == b"(":
            depth, i = 1, i + 1
            while depth:
                c = text[i:i + 1]
                if not c:
                    raise ValueError("unterminated string")
                depth += {b"(": 1, b")": -1}.get(c, 0)
                i += 2 if c == b"\\" else 1
            tokens.append(b"(")
            continue
        match = _TOKEN.match(text, i)
        if not match or not match.group():
            raise ValueError(f"unexpected {text[i:i + 1]!r}")
        if not match.group().startswith(b"%"):
            tokens.append(match.group())
        i = match.end()
    return tokens


def _name(token: bytes) -> str:
    return re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]),
                  token[1:]).decode("latin-1")


def _value(tokens: list[bytes], i: int) -> tuple[Any, int]:
    """The PDF object at ``tokens[i]``: a dict (keys without "/"), a list, a name (str
    without "/"), a reference ("R"), or another token (bytes); and the index after it."""
    token = tokens[i]
    if token == b"<<":
        out: dict[str, Any] = {}
        i += 1
        while tokens[i] != b">>":
            if not tokens[i].startswith(b"/"):
                raise ValueError("key")
            key = _name(tokens[i])
            if key in out:
                raise ValueError("duplicate key")  # parsers differ on which one holds
            out[key], i = _value(tokens, i + 1)
        return out, i + 1
    if token == b"[":
        items: list[Any] = []
        i += 1
        while tokens[i] != b"]":
            item, i = _value(tokens, i)
            items.append(item)
        return items, i + 1
    if token in (b">>", b"]"):
        raise ValueError("unbalanced")
    if token.startswith(b"/"):
        return _name(token), i + 1
    if (token.isdigit() and i + 2 < len(tokens) and tokens[i + 1].isdigit()
            and tokens[i + 2] == b"R"):
        return b"R", i + 3
    return token, i + 1


def _decoded_size(raw: bytes, tail: memoryview, filters: list[str], budget: _Budget) -> int:
    """The decoded size of a stream (``raw`` up to ``endstream``; ``tail`` all the file from
    its start, which a first Flate filter reads up to the end of its zlib data)."""
    current: bytes | memoryview = raw
    size = len(raw)
    for index, name in enumerate(filters):
        last = index == len(filters) - 1
        if name in ("FlateDecode", "Fl"):
            size, out = _inflate(tail if index == 0 else current, budget.cap(), keep=not last)
        elif name in ("LZWDecode", "LZW"):
            size, out = _unlzw(bytes(current), budget.cap(), keep=not last)
        elif name in ("RunLengthDecode", "RL"):
            out = _unrun(bytes(current), budget.cap())
            size = len(out)
        elif name in ("ASCII85Decode", "A85", "ASCIIHexDecode", "AHx"):
            from pdfminer.ascii85 import ascii85decode, asciihexdecode

            try:
                out = (ascii85decode if "85" in name else asciihexdecode)(bytes(current))
            except Exception:
                return size
            size = len(out)
        else:  # image codecs, which the text is read without decoding
            return size
        if size > budget.cap():
            raise _refused("bomb", budget.limits)
        current = out
    return size


def _inflate(data: bytes | memoryview, cap: int, *, keep: bool) -> tuple[int, bytes]:
    """How much zlib ``data`` inflates to, up to a little more than ``cap`` (and the bytes,
    when ``keep``), fed in pieces so that no copy of the input is larger than one piece."""
    inflater = zlib.decompressobj()
    view = memoryview(data)
    size, kept, position = 0, [], 0
    try:
        while position < len(view) and not inflater.eof and size <= cap:
            pending: bytes | memoryview = view[position:position + 256 * 1024]
            position += len(pending)
            while not inflater.eof and size <= cap:
                chunk = inflater.decompress(pending, 1 * MiB)
                size += len(chunk)
                if keep:
                    kept.append(chunk)
                pending = inflater.unconsumed_tail
                if not chunk and not pending:
                    break
    except zlib.error:
        pass  # damaged, or not zlib: the parsers read what inflates, as this did
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
    except MemoryError:  # a stream inflated past the memory a caller's sandbox allows
        raise _refused("bomb", deadline.limits) from None
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
    # words by position only: a letter the font lacks is printed in a fallback font in the
    # middle of a word (Chromium: "C" "ộ" "ng"), so a font change is no word break
    words = free.extract_words(x_tolerance=1.5, y_tolerance=2, keep_blank_chars=False,
                               return_chars=True)
    tokens = [_Token(_clean(w["text"]), w["x0"], w["x1"], w["top"], w["bottom"],
                     _bold_chars(w["chars"]), max(float(c["size"]) for c in w["chars"]))
              for w in words if w["chars"]]
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


def _bold_chars(chars: list[dict[str, Any]]) -> bool:
    """Whether most of a word's letters are in a bold font."""
    visible = [c for c in chars if not c["text"].isspace()] or chars
    return 2 * sum(1 for c in visible if _is_bold(c["fontname"])) > len(visible)


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
#: one thread: Tesseract's OpenMP threads make it several times slower on a shared machine
#: (a page took 6.8 s with them and 2.0 s without on two busy cores)



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
            capture_output=True, timeout=max(timeout, 0.01), check=True,
            env={**os.environ, "OMP_THREAD_LIMIT": "1"})
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
    """Tesseract's words (TSV, level 5) grouped by block, paragraph and line, with what it
    made of dot leaders and underscores normalised to "…" (see :func:`_ocr_line`)."""
    groups: dict[tuple[str, str, str], list[_OcrWord]] = {}
    for row in _tsv_rows(tsv):
        if row.get("level") != "5" or not row.get("text", "").strip():
            continue
        text = unicodedata.normalize("NFC", row["text"]).translate(_BOXES)
        left, top = float(row["left"]) * points_per_pixel, float(row["top"]) * points_per_pixel
        width = float(row["width"]) * points_per_pixel
        height = float(row["height"]) * points_per_pixel
        try:
            conf = float(row.get("conf") or 0)
        except ValueError:
            conf = 0.0
        key = (row["block_num"], row["par_num"], row["line_num"])
        groups.setdefault(key, []).append(
            _OcrWord(text, conf, _Token(text, left, left + width, top, top + height, False,
                                         height)))
    lines = [_line(page, tokens) for words in groups.values() if (tokens := _ocr_line(words))]
    return sorted(lines, key=lambda line: (line.top, line.x0))


@dataclass
class _OcrWord:
    text: str
    conf: float
    box: _Token


#: a word Tesseract is sure enough of (its TSV ``conf``, 0-100) to keep as printed text
OCR_MIN_CONF = 40.0
#: marks around a word that are scanner dust or leader debris, not part of a label
_OCR_EDGE = "\"'`‘’“”«»‹›|¬ˆ°~^*#%&+<>=_—–-•·"
#: letters and digits of a word that reads as Vietnamese (or an acronym, a number, a code)
_OCR_PART = re.compile(
    r"(?:[^\W\d_]{1,7}|[^\W\d_]?[0-9]+[^\W_]*|[A-ZĐ]{2,8}[0-9]*)", re.UNICODE)
#: what a leader becomes in OCR: runs of dots, ellipses, underscores, dashes, colons…
_OCR_LEADER_CHARS = set(".…_-–—:;,'`\"·•¬~ˆ")


def _word_shape(text: str) -> bool:
    """Whether ``text`` (edges cleaned) looks like a printed word: letters of one case pattern
    (lower, Capitalised or UPPER), of syllable length, or a number or code, parts joined by
    "/" or "-", with at most footnote marks and punctuation around."""
    core = re.sub(r"\(\s*\d{1,2}\s*\)|\[\s*\d{1,3}\s*\]", "", text)
    core = core.strip("()[],.;:!?")
    if not core:
        return False
    parts = re.split(r"[/\-]", core)
    if len(parts) > 1 and not parts[-1]:
        parts.pop()  # "04/2020/TT-" broken at the end of a line
    for part in parts:
        if not part or not _OCR_PART.fullmatch(part):
            return False
        letters = "".join(c for c in part if c.isalpha())
        if letters and not (letters.islower() or letters.isupper() or (
                letters[0].isupper() and letters[1:].islower())):
            return False
    return True


def _sure(text: str, conf: float) -> bool:
    """Whether Tesseract read ``text`` with enough confidence; digits read with little are
    mostly dust ("c4", "1.1.1")."""
    return conf >= (70 if re.search(r"\d", text) else OCR_MIN_CONF)


def _leaderish(text: str, *, strict: bool = False) -> int:
    """How many characters of ``text`` are what leaders turn into (``strict``: dots,
    underscores and dashes only)."""
    chars = ".…_-–—" if strict else _OCR_LEADER_CHARS
    return sum(1 for c in text if c in chars)


def _case_slip(text: str) -> str:
    """A word whose case Tesseract mixed up inside it ("trÚ(2):", "tịCh", "tỜ") in its first
    letter's case (each part of "sinh/Giấy" on its own); a footnote mark that lost its
    closing parenthesis ("tính(2:") closed."""
    text = re.sub(r"\((\d{1,2}):$", r"(\1):", text)
    parts = re.split(r"([/\-])", text)
    for i, part in enumerate(parts):
        first = next((k for k, c in enumerate(part) if c.isalpha()), len(part))
        rest = part[first + 1:]
        if any(c.isalpha() for c in rest) and not part.isupper() and not rest.islower():
            parts[i] = part[:first + 1] + rest.lower()
    return "".join(parts)


def _ocr_parts(word: _OcrWord, previous_good: bool) -> list[tuple[str, str]]:
    """A Tesseract word as (kind, text) parts: "word" (printed text), "end" (a label's end,
    "tên:"), "lead" (leader debris) or "junk" (anything else unreadable)."""
    text = word.text.strip()
    out: list[tuple[str, str]] = []
    # leader debris glued to the word: "sinh:." "trú(2):……ccc" "ngày.." "…Ũ.Ũ"
    m = re.match(r"^(.*?\w[^:]*?:)(.+)$", text)
    if m and re.search(r"\w", m.group(1)):
        head = m.group(1).lstrip(_OCR_EDGE)
        if previous_good:
            head = _case_slip(head)
        if _word_shape(head) and (word.conf >= OCR_MIN_CONF or previous_good):
            return [("end", head), ("lead", m.group(2))]
    m = re.match(r"^(.*?\w\)?)([.…_]{2,}.*)$", text)
    if m and _word_shape(m.group(1).lstrip(_OCR_EDGE)) and _sure(m.group(1), word.conf):
        return [("word", m.group(1).lstrip(_OCR_EDGE)), ("lead", m.group(2))]
    core = text.lstrip(_OCR_EDGE).rstrip(_OCR_EDGE.replace("-", "").replace("_", ""))
    core = core.rstrip("_—–•·")
    if word.conf >= OCR_MIN_CONF or core.endswith(":"):
        core = _case_slip(core)
    ending = core.endswith(":") and previous_good
    if ending:
        core = _case_slip(core)
        core = re.sub(r"(?<=\w)\)(?=:$)", "", core) if "(" not in core else core
    if core and _word_shape(core):
        sure = _sure(core, word.conf)
        # the end of a label read with little confidence after a word read well: "tính):"
        if sure or ending:
            out.append(("end" if core.endswith(":") else "word", core))
            return out
    kind = "lead" if _leaderish(text) * 2 >= len(text) or re.search(r"[.…_]{2,}", text) \
        else "junk"
    return [(kind, text)]


def _ocr_line(words: list[_OcrWord]) -> list[_Token]:
    """The tokens of one OCR line with leader debris made "…".

    Tesseract reads printed labels well, but a dot leader comes out as dots, dashes, quotes,
    letters and signs ("..:...- -‹ --+- <<s<<>+*+", "NHS1393/4Š4…"), mostly with a low
    confidence. A word is kept when it is read with confidence and looks like a word
    (:func:`_word_shape`); after a label's colon everything is blank up to the next label
    (two words read well in a row, or one ending in a colon); the blank stretches become one
    "…" each, as a born-digital leader does. Debris before the line's first word is dropped,
    and so is debris that shows nothing of a leader (no dots, dashes or colon before it)."""
    parts: list[tuple[str, str, _Token]] = []
    previous_good = False
    for word in words:
        for kind, text in _ocr_parts(word, previous_good):
            parts.append((kind, text, word.box))
        previous_good = parts[-1][0] in ("word", "end")
    # after a label's end, words up to the next label are what was written in the blank
    blank = False
    marked: list[tuple[str, str, _Token]] = []
    for i, (kind, text, box) in enumerate(parts):
        if kind in ("word", "end") and blank:
            run = 0
            for later in parts[i:]:
                if later[0] == "end":
                    run += 2
                    break
                if later[0] != "word":
                    break
                run += 1
            if run < 2:
                kind = "junk"
            else:
                blank = False
        if kind == "end":
            blank = True
        marked.append((kind, text, box))
    tokens: list[_Token] = []
    debris: list[tuple[str, str, _Token]] = []
    seen_word = False
    after_end = False

    def flush(final: bool) -> None:
        if not debris:
            return
        # after a colon, dots or dashes, or much unreadable print after a printed word
        leader = after_end or sum(_leaderish(t, strict=True) for _, t, _ in debris) >= 3 \
            or (seen_word and sum(len(t) for _, t, _ in debris) >= 12)
        if leader and (seen_word or final):
            first, last = debris[0][2], debris[-1][2]
            tokens.append(_Token("…", first.x0, last.x1, min(d[2].top for d in debris),
                                 max(d[2].bottom for d in debris), False, first.size))
        debris.clear()

    for kind, text, box in marked:
        if kind in ("word", "end"):
            flush(False)
            clean = _clean(text)
            if clean:
                tokens.append(_Token(clean, box.x0, box.x1, box.top, box.bottom, False,
                                     box.size))
                seen_word = True
            after_end = kind == "end"
        else:
            debris.append((kind, text, box))
    flush(True)
    if tokens and all(t.text == "…" for t in tokens):
        return tokens[:1]
    return tokens


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

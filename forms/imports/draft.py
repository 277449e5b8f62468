"""From a printed form's layout to a draft definition in the form language (#17).

:func:`draft_from_layout` reads the lines and tables :mod:`forms.imports.reader` recovered
from a PDF: the title, the form's code and legal basis, the sections, the printed labels (also
several on one line), tick boxes, tables, footnotes, the commitment, and what the e-form drops
(the addressee, signatures, the date of submission). Types are guessed from the labels and
bindings proposed from the catalogue (:mod:`forms.imports.guess`); what is only a guess is
said in a YAML comment ``# ĐOÁN (độ tin cậy …): …`` and in the findings. Conditions and person
sections are never guessed: a finding says where one seems needed.

The draft always passes :func:`forms.language.parse_text`: a proposed binding the checker
refuses is taken out again (and said in the findings).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from forms import codelists
from forms.imports.guess import (
    LOW_CONFIDENCE,
    BindingIndex,
    fold,
    guess_type,
    label_key,
    names_other_person,
)
from forms.imports.reader import Layout, Limits, Line, Table, read_pdf
from forms.language import DefinitionError, parse_text
from forms.model import FormDefinition


@dataclass
class Finding:
    path: str
    code: str
    message: str
    message_en: str
    confidence: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "code": self.code, "message": self.message,
                "message_en": self.message_en, "confidence": self.confidence}


@dataclass
class Draft:
    yaml: str
    definition: dict[str, Any]
    findings: list[Finding]
    from_ocr: bool


def import_pdf(data: bytes, *, catalogue: Iterable[FormDefinition] | BindingIndex,
               limits: Limits = Limits()) -> Draft:  # noqa: B008 (a frozen dataclass)
    """Read a form's PDF (:func:`~forms.imports.reader.read_pdf`, which raises
    ``ImportRefused`` for input it will not read) and draft its definition."""
    return draft_from_layout(read_pdf(data, limits=limits), catalogue=catalogue)


def draft_from_layout(layout: Layout, *,
                      catalogue: Iterable[FormDefinition] | BindingIndex) -> Draft:
    """The draft definition of the form laid out in ``layout``. ``catalogue`` teaches the
    bindings: the catalogue's forms, or a :class:`BindingIndex` built from them once."""
    index = catalogue if isinstance(catalogue, BindingIndex) else BindingIndex(catalogue)
    return _Builder(layout, index).build()


# --- reading the printed text -------------------------------------------------------------

BOX = "☐"
_LEADER = re.compile(r"(?:…|\.{2,}|_{3,}|-{4,})(?:\s*(?:…|\.{2,}|_{3,}|-{4,}))*")
_MARK = re.compile(r"\(\s*(\d{1,2})\s*\)")
_ROMAN = re.compile(r"^(?:[IVX]{1,5})\s*[.)\-–:]\s*\S")
_FOOTNOTE = re.compile(r"^\(\s*(\d{1,2})\s*\)\s*(\S.*)$")
_SIGN_HINT = re.compile(r"\(\s*(?:ký|kí)\b", re.IGNORECASE)
_DATE_BLANK = re.compile(r"(?:ngày\s*)?…\s*tháng\s*…\s*năm(?:\s*…)?|…\s*/\s*…\s*/\s*…",
                         re.IGNORECASE)
_TIME_BLANK = re.compile(r"(?:lúc\s*)?…\s*giờ\s*…\s*phút", re.IGNORECASE)
_SUBMISSION = re.compile(r"^(?:[^:…]{0,40}?,?\s*)?…?\s*,?\s*ngày\s*…\s*tháng\s*…\s*năm\s*…?"
                         r"\s*\.?$", re.IGNORECASE)
_SUBMISSION_TAIL = re.compile(r"…\s*,\s*(ngày\s*…\s*tháng\s*…\s*năm\s*…?)\s*$", re.IGNORECASE)
_CODE = re.compile(r"\b(?:Mẫu\s*(?:số)?|Phụ\s+lục(?:\s+số)?)\s*[:.]?\s*"
                   r"(?:[A-Za-zĐđ]{0,6}[0-9][\w./\-]*|[A-Z]{2,}[\w./\-]*)")
_NUMBERED = re.compile(r"^\s*(?:\d{1,3}(?:\.\d{1,3})*\s*[.)]|\[\d{1,3}\]\.?|[a-zđ]\))\s*")
_HIDDEN = "\ue000"  # a blank inside a date/time label while a line is split
_NO_INDEX = ("stt", "tt", "so tt", "so thu tu")
_OTHER_PERSON = ("nguoi me", "nguoi cha", "cha, me", "cha me", "vo", "chong", "chu ho",
                 "nguoi duoc", "thanh vien", "nguoi giam ho", "ben nu", "ben nam", "nguoi con",
                 "nguoi chet", "nguoi da chet", "nguoi than", "nguoi lam chung", "chu so huu")


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("□", BOX).replace("○", BOX)
    text = text.replace("◯", BOX)
    text = _LEADER.sub("…", text)
    return re.sub(r"\s+", " ", text).strip()


def _upper_ratio(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(c.isupper() for c in letters) / len(letters) if letters else 0.0


def _sentence_case(text: str) -> str:
    """'TỜ KHAI ĐĂNG KÝ KHAI SINH (MẪU CT01)' -> 'Tờ khai đăng ký khai sinh (Mẫu CT01)':
    words with a digit keep their case."""
    if _upper_ratio(text) < 0.8:
        return text
    words = [w if any(c.isdigit() for c in w) or re.fullmatch(r"[IVX]+[.)]?", w) else w.lower()
             for w in text.split(" ")]
    out = " ".join(words)
    out = re.sub(r"\(mẫu", "(Mẫu", out)
    m = re.match(r"^(?:[IVX]+[.)]\s+|\d+[.)]\s+)?", out)
    k = m.end() if m else 0
    return out[:k] + out[k:k + 1].upper() + out[k + 1:]


def _strip_label(text: str) -> str:
    text = text.replace(_HIDDEN, "…")
    text = re.sub(r"\s+", " ", text).strip(" :;,.-–")
    text = text.strip()
    return text.rstrip(":").strip()


def _slug(text: str, sep: str, limit: int) -> str:
    words = re.findall(r"[a-z0-9]+", fold(text))
    out = ""
    for w in words:
        if len(out) + len(w) + (1 if out else 0) > limit:
            break
        out = f"{out}{sep}{w}" if out else w
    return out


def _ident(label: str, taken: set[str], fallback: str = "truong") -> str:
    base = _slug(label_key(label), "_", 40) or fallback
    if not base[0].isalpha():
        base = f"{fallback}_{base}"[:40]
    ident, n = base, 2
    while ident in taken:
        ident = f"{base}_{n}"
        n += 1
    taken.add(ident)
    return ident


@dataclass
class _Item:
    text: str
    line: Line | None = None
    table: Table | None = None
    bold: bool = False
    size: float = 0.0
    page: int = 0
    top: float = 0.0

    @property
    def is_table(self) -> bool:
        return self.table is not None


@dataclass
class _F:
    label: str
    kind: str | None = None  # set when the layout says it (choice, boolean, commitment, group)
    options: list[str] = field(default_factory=list)
    help: str | None = None
    children: list[_F] = field(default_factory=list)
    blank_lines: int = 0  # leader-only lines after it: room for a long text


@dataclass
class _S:
    title: str
    fields: list[_F] = field(default_factory=list)
    help: list[str] = field(default_factory=list)


class _Builder:
    def __init__(self, layout: Layout, index: BindingIndex):
        self.layout = layout
        self.index = index
        self.findings: list[Finding] = []
        self.footnotes: dict[str, str] = {}
        self.sections: list[_S] = []
        self.dropped: list[dict[str, Any]] = []
        self.title: str | None = None
        self.code: str | None = None
        self.basis: str | None = None
        self.description: str | None = None
        self.items = self._items()
        sizes = [i.size for i in self.items if i.size and not i.is_table]
        self.body_size = median(sizes) if sizes else 0.0

    # the stream of lines and tables, in reading order, footnotes taken out
    def _items(self) -> list[_Item]:
        lines = sorted(self.layout.lines, key=lambda ln: (ln.page, ln.top, ln.x0))
        keep: list[Line] = []
        sizes = [max((sp.size for sp in ln.spans), default=0.0) for ln in lines]
        self._line_size = median(sizes) if sizes else 0.0
        by_page: dict[int, list[Line]] = {}
        for ln in lines:
            by_page.setdefault(ln.page, []).append(ln)
        for page in sorted(by_page):
            keep.extend(self._take_footnotes(by_page[page]))
        items = [_Item(_clean(ln.text), line=ln, bold=ln.bold,
                       size=max((s.size for s in ln.spans), default=0.0), page=ln.page,
                       top=ln.top) for ln in keep]
        items = [i for i in items if i.text]
        items += [_Item("", table=t, page=t.page, top=t.top) for t in self.layout.tables]
        items.sort(key=lambda i: (i.page, i.top))
        return items

    def _take_footnotes(self, lines: list[Line]) -> list[Line]:
        """Lines at the bottom of a page that start with "(1)" (and their continuations) are
        footnotes: kept aside, joined to their marks as help."""
        start = None
        for i in range(len(lines) - 1, -1, -1):
            text = _clean(lines[i].text)
            small = max((sp.size for sp in lines[i].spans), default=0.0) < self._line_size - 0.5
            if _FOOTNOTE.match(text) and BOX not in text and ("…" not in text or small):
                start = i
                continue
            if small:  # footnotes are printed smaller: a continuation, whatever it says
                continue
            if start is None and ("…" in text or BOX in text or _SIGN_HINT.search(text)):
                break
            if start is not None and ("…" in text or BOX in text or _SIGN_HINT.search(text)
                                      or _upper_ratio(text) > 0.8):
                break
        if start is None:
            return lines
        current: str | None = None
        for ln in lines[start:]:
            text = _clean(ln.text)
            m = _FOOTNOTE.match(text)
            if m:
                current = m.group(1)
                self.footnotes[current] = m.group(2)
            elif current is not None:
                self.footnotes[current] += " " + text
        rest = lines[:start]
        if rest and fold(_clean(rest[-1].text)).rstrip(":") in ("ghi chu", "chu thich", "luu y"):
            rest = rest[:-1]
        return rest

    # --- the header ---------------------------------------------------------------------------

    def _header(self) -> int:
        """Read the motto, the code, the legal basis and the title; the index of the first
        item of the body."""
        i, n = 0, len(self.items)
        limit = min(n, 15)
        # the title is printed under the national motto (when there is one)
        motto = max((k for k in range(limit)
                     if not self.items[k].is_table and self._motto(fold(self.items[k].text))),
                    default=-1)
        while i < limit and self.title is None:
            it = self.items[i]
            if it.is_table:
                break
            text, low = it.text, fold(it.text)
            if self._motto(low) or re.fullmatch(r"[-_–—=…\s]*", text):
                i += 1
                continue
            code = _CODE.search(text)
            if code and self.code is None and "…" not in text:
                self.code = code.group(0).rstrip(".")
                rest = (text[:code.start()] + text[code.end():]).strip(" :.,-")
                if "ban hanh kem" in fold(rest):
                    self.basis = rest.strip("() ")
                i += 1
                continue
            if "ban hanh kem" in low and self.basis is None:
                i = self._basis(i)
                continue
            if self._titleish(it) and i > motto:
                title = text
                while i + 1 < n and not self.items[i + 1].is_table and \
                        self._titleish(self.items[i + 1]) and \
                        not _ROMAN.match(self.items[i + 1].text) and \
                        abs(self.items[i + 1].size - it.size) < 0.6:
                    i += 1
                    title += " " + self.items[i].text
                self.title = _sentence_case(_MARK.sub("", title).strip())
                i += 1
                if i < n and not self.items[i].is_table and \
                        re.fullmatch(r"\(.*\)", self.items[i].text) and \
                        "ban hanh kem" not in fold(self.items[i].text):
                    self.description = self.items[i].text.strip("() ")
                    i += 1
                break
            # header text of the agency (top left) and anything else before the title
            if (i >= 6 and i > motto) or "…" in text or BOX in text:
                break
            i += 1
        if self.title is None:
            i = 0
        # the code or the basis may be printed after the title
        while i < n and not self.items[i].is_table and i < limit:
            it = self.items[i]
            low = fold(it.text)
            if "ban hanh kem" in low and self.basis is None:
                i = self._basis(i)
                continue
            if (m := _CODE.search(it.text)) and self.code is None and "…" not in it.text:
                self.code = m.group(0).rstrip(".")
            elif self._motto(low):
                pass
            else:
                break
            i += 1
        return i

    def _basis(self, i: int) -> int:
        """The legal basis from item ``i`` on (to its closing parenthesis); the next item."""
        basis = self.items[i].text
        while basis.count("(") > basis.count(")") and i + 1 < len(self.items) \
                and not self.items[i + 1].is_table and "…" not in self.items[i + 1].text:
            i += 1
            basis += " " + self.items[i].text
        self.basis = basis.strip("() ")
        return i + 1

    @staticmethod
    def _motto(low: str) -> bool:
        return "cong hoa xa hoi chu nghia viet nam" in low or (
            "doc lap" in low and "hanh phuc" in low)

    def _titleish(self, it: _Item) -> bool:
        text = it.text
        if "…" in text or BOX in text or fold(text).startswith("kinh gui") or len(text) > 160:
            return False
        large = bool(self.body_size) and it.size > self.body_size + 1.0
        return it.bold or large or (_upper_ratio(text) > 0.8 and len(text) > 8)

    # --- the body -----------------------------------------------------------------------------

    def build(self) -> Draft:
        start = self._header()
        self._body(start)
        return self._finish()

    def _section(self) -> _S:
        if not self.sections:
            self.sections.append(_S("Thông tin chung"))
        return self.sections[-1]

    def _next(self, i: int) -> _Item | None:
        return self.items[i + 1] if i + 1 < len(self.items) else None

    def _heading(self, it: _Item) -> bool:
        text = it.text
        if "…" in text or BOX in text or len(text) > 120 or _SIGN_HINT.search(text):
            return False
        if _ROMAN.match(text):
            return True
        if _NUMBERED.match(text):
            return it.bold and not text.endswith(":")
        large = bool(self.body_size) and it.size > self.body_size + 0.9
        return it.bold or large or (_upper_ratio(text) > 0.8 and len(text) > 3)

    def _body(self, i: int) -> None:
        pending: _F | None = None  # a label awaiting its boxes on the next lines
        items = self.items
        while i < len(items):
            it = items[i]
            nxt = self._next(i)
            if it.is_table:
                assert it.table is not None
                self._table(it.table, pending)
                pending = None
                i += 1
                continue
            text = it.text
            low = fold(text)
            if re.fullmatch(r"[…\s.,;:]*", text):  # a line left for writing
                sec = self._section()
                if sec.fields:
                    sec.fields[-1].blank_lines += 1
                i += 1
                continue
            if pending is not None and text.startswith(BOX):
                pending.options += self._options_after(text)
                pending.kind = "choice"
                i += 1
                continue
            pending = None
            if self._motto(low):
                i += 1
                continue
            if low.startswith("kinh gui"):
                printed = _strip_label(_MARK.sub("", text.replace("…", " ")))
                self._drop(printed or "Kính gửi", "derived", note=self._notes(text))
                i += 1
                continue
            hint_at = self._signature_hint(i)
            if hint_at is not None:
                i = self._signature(i, hint_at)
                continue
            if _SUBMISSION.match(text) and "giờ" not in low:
                self._drop(_strip_label(text) if text[0] != "…" else text, "submission_date")
                i += 1
                continue
            if ("cam doan" in low or "cam ket" in low) and "…" not in text[:12] and (
                    len(text) > 25 or low.lstrip(BOX + " ").startswith("toi")):
                i = self._commitment(i)
                continue
            if nxt is not None and nxt.is_table and BOX not in text and not text.endswith("…"):
                pending_group = _F(_strip_label(_MARK.sub("", text)) or "Bảng",
                                   help=self._notes(text))
                assert nxt.table is not None
                self._table(nxt.table, pending_group)
                i += 2
                continue
            if BOX in text:
                pending = self._boxes(text)
                i += 1
                continue
            if "…" not in text and ":" not in text and self._heading(it):
                self._new_section(text)
                i += 1
                continue
            if "…" not in text and text.endswith(":"):
                if nxt is not None and not nxt.is_table and nxt.text.startswith(BOX):
                    pending = _F(_strip_label(_MARK.sub("", text)), kind="choice",
                                 help=self._notes(text))
                    self._section().fields.append(pending)
                    i += 1
                    continue
                if self._heading(it) and not _NUMBERED.match(text) and not (
                        nxt is not None and re.fullmatch(r"[…\s.]*", nxt.text)):
                    self._new_section(text)
                    i += 1
                    continue
            if "…" in text or ":" in text:
                self._fields(text)
                i += 1
                continue
            # plain text: the start of a label wrapped onto the next line, or a hint
            if nxt is not None and not nxt.is_table and nxt.text[:1].islower() \
                    and not _SUBMISSION.match(nxt.text):
                nxt.text = f"{text} {nxt.text}"
                i += 1
                continue
            sec = self._section()
            if sec.fields and re.fullmatch(r"\(.*\)", text):
                last = sec.fields[-1]
                last.help = f"{last.help} {text}" if last.help else text.strip("()")
            else:
                sec.help.append(text)
            i += 1

    def _new_section(self, text: str) -> None:
        title = _sentence_case(_strip_label(_MARK.sub("", text)))
        if self.sections and not self.sections[-1].fields:
            self.sections.pop()  # a heading with nothing under it (a part title)
        self.sections.append(_S(title or "Phần"))

    def _notes(self, text: str) -> str | None:
        notes = [self.footnotes[m] for m in _MARK.findall(text) if m in self.footnotes]
        return " ".join(notes) if notes else None

    def _drop(self, label: str, reason: str, note: str | None = None) -> None:
        entry: dict[str, Any] = {"label": label or reason, "reason": reason}
        if self.sections:
            entry["section"] = self.sections[-1].title
        elif reason == "derived":
            entry["section"] = "Cơ quan tiếp nhận"
        if note:
            entry["note"] = note
        self.dropped.append(entry)

    def _signature_hint(self, i: int) -> int | None:
        """When items ``i``… are a signature block (its title, on one or two lines, then
        "(Ký, ghi rõ họ tên)"), the index of the line with that hint."""
        for k in range(i, min(i + 4, len(self.items))):
            it = self.items[k]
            if it.is_table:
                return None
            hint = _SIGN_HINT.search(it.text)
            if hint and (k == i or hint.start() == 0):
                return k
            if "…" in it.text or BOX in it.text:
                return None
            if k > i and not self._capital(self.items[i]):
                return None
        return None

    @staticmethod
    def _capital(it: _Item) -> bool:
        return it.bold or _upper_ratio(it.text) > 0.8

    def _signature(self, i: int, at: int) -> int:
        rows = [self._clusters(self.items[k]) for k in range(i, at)]
        hint_line = self.items[at].text
        hint = _SIGN_HINT.search(hint_line)
        assert hint is not None
        if hint.start() > 0:
            rows.append([hint_line[:hint.start()]])
        if len(rows) == 1:
            labels = rows[0]
        elif rows and len({len(r) for r in rows}) == 1:
            labels = [" ".join(col) for col in zip(*rows, strict=True)]  # side by side
        else:
            labels = [" ".join(" ".join(r) for r in rows)] if rows else []
        # the hint, to its closing parenthesis, and further hints under it
        rest = hint_line[hint.start():]
        depth = rest.count("(") - rest.count(")")
        i = at + 1
        while i < len(self.items) and not self.items[i].is_table and (
                depth > 0 or _SIGN_HINT.match(self.items[i].text)):
            text = self.items[i].text
            depth += text.count("(") - text.count(")")
            i += 1
        labels = [label for label in labels if label.strip()]
        for label in labels:
            self._drop(_sentence_case(_strip_label(_MARK.sub("", label))) or "Chữ ký",
                       "signature", note=self._notes(label))
        if not labels:
            self._drop("Chữ ký", "signature")
        return i

    @staticmethod
    def _clusters(it: _Item) -> list[str]:
        """The parts of a line printed far apart (two signatures side by side)."""
        if it.line is None or len(it.line.spans) < 2:
            return [it.text]
        parts: list[str] = []
        last_x1 = None
        for span in it.line.spans:
            if last_x1 is not None and span.x0 - last_x1 > 30:
                parts.append("")
            if not parts:
                parts.append("")
            parts[-1] = f"{parts[-1]} {span.text}".strip()
            last_x1 = span.x1
        return [_clean(p) for p in parts if p.strip()]

    def _commitment(self, i: int) -> int:
        text = self.items[i].text.lstrip(BOX + " ")
        i += 1
        while not text.rstrip().endswith((".", "./.")) and i < len(self.items):
            nxt = self.items[i]
            if nxt.is_table or _SIGN_HINT.search(nxt.text) or _SUBMISSION.match(nxt.text) \
                    or self._heading(nxt) or "…" in nxt.text:
                break
            text += " " + nxt.text
            i += 1
        if not self.sections:
            self.sections.append(_S("Cam đoan"))
        self._section().fields.append(_F(_MARK.sub("", text).strip(), kind="commitment",
                                         help=self._notes(text)))
        return i

    @staticmethod
    def _options_after(text: str) -> list[str]:
        return [o for o in (_strip_label(p) for p in text.split(BOX)[1:]) if o]

    def _boxes(self, text: str) -> _F | None:
        """A line with tick boxes: a choice ("Giới tính: ☐ Nam ☐ Nữ"), a yes/no ("☐ Đăng ký
        …", "Đề nghị cấp bản sao: Có ☐ Không ☐"); or a label whose options follow."""
        sec = self._section()
        head, _, _ = text.partition(BOX)
        label = ""
        rest = text
        if ":" in head:
            label, _, after = text.partition(":")
            rest = after.strip()
        if rest.startswith(BOX):
            options = self._options_after(rest)
        else:
            parts = [_strip_label(p) for p in rest.split(BOX)]
            options = [p for p in parts[:-1] if p]
            tail = parts[-1]
            if tail and options:
                options.append(tail)  # "☐ A ☐ B" read as "A ☐ B" after a lost first box
        help_ = self._notes(text)
        label = _strip_label(_MARK.sub("", label))
        options = [_MARK.sub("", o).strip() for o in options]
        if not label:
            if len(options) == 1:
                sec.fields.append(_F(options[0], kind="boolean", help=help_))
                return None
            label = "/".join(options)
        kind = "boolean" if len(options) <= 1 or {fold(o) for o in options} <= {"co", "khong"} \
            else "choice"
        f = _F(label, kind=kind, options=options if kind == "choice" else [], help=help_)
        sec.fields.append(f)
        return f if kind == "choice" or not options else None

    def _fields(self, text: str) -> None:
        """Labels before blanks or colons; several on one printed line."""
        sec = self._section()
        tail = _SUBMISSION_TAIL.search(text)
        if tail:
            self._drop("…, " + tail.group(1), "submission_date")
            text = text[:tail.start()] + "…"
        protected = _TIME_BLANK.sub(lambda m: m.group(0).replace("…", _HIDDEN), text)
        protected = _DATE_BLANK.sub(lambda m: m.group(0).replace("…", _HIDDEN), protected)
        if _HIDDEN in protected and "…" not in protected:
            protected += "…"  # a label that is a date or time blank: one field
        if "…" in protected:
            pieces = protected.split("…")
            labels, trailing = pieces[:-1], pieces[-1].strip()
        else:
            pieces = re.split(r":(?=\s|$)", protected)
            labels, trailing = pieces[:-1], pieces[-1].strip()
        made: list[_F] = []
        for piece in labels:
            raw = piece.strip()
            label = _strip_label(_MARK.sub("", raw))
            if not label or not re.search(r"\w", label):
                continue
            if made and raw.startswith("("):
                made[-1].help = (made[-1].help + " " if made[-1].help else "") + label.strip("()")
                continue
            made.append(_F(label, help=self._notes(raw)))
        if trailing:
            tail_label = _strip_label(_MARK.sub("", trailing))
            if trailing.endswith(":") and tail_label:
                made.append(_F(tail_label, help=self._notes(trailing)))
            elif made and tail_label:
                last = made[-1]
                extra = tail_label.strip("()")
                last.help = f"{last.help} {extra}" if last.help else extra
            elif tail_label:
                made.append(_F(tail_label, help=self._notes(trailing)))
        sec.fields.extend(made)

    def _table(self, table: Table, group: _F | None) -> None:
        rows = [tuple(_clean(c or "") for c in row) for row in table.rows]
        rows = [r for r in rows if any(r)]
        if not rows:
            return
        header = list(rows[0])
        if len(rows) > 1 and any(not c for c in header):
            header = [c or d for c, d in zip(header, rows[1], strict=False)]
        columns = [c for c in header if c and fold(label_key(c)) not in _NO_INDEX]
        if not columns:
            return
        if group is None:
            tables = sum(1 for s in self.sections for f in s.fields if f.kind == "group")
            group = _F(f"Bảng {tables + 1}")
        group.kind = "group"
        group.options = []
        group.children = [_F(_strip_label(_MARK.sub("", c)), help=self._notes(c))
                          for c in columns]
        self._section().fields.append(group)

    # --- the definition -----------------------------------------------------------------------

    def _finish(self) -> Draft:
        findings = self.findings
        if self.layout.from_ocr:
            findings.append(Finding(
                "", "from_ocr",
                "Văn bản được nhận dạng từ ảnh quét (OCR): hãy đối chiếu từng nhãn với bản in.",
                "The text came from OCR of a scanned page: check every label against the print.",
                None))
        title = self.title or "Tờ khai nhập từ tệp PDF"
        if self.title is None:
            findings.append(Finding("title", "no_title", "Không nhận ra tiêu đề tờ khai; hãy "
                                    "ghi tiêu đề in trên mẫu.",
                                    "No title was recognised; write the printed title.", None))
        code = self.code if self.code and fold(self.code) not in fold(self.basis or "") else None
        basis_parts = [p for p in (code, self.basis) if p]
        legal_basis = ", ".join(basis_parts) or "Chưa xác định"
        if not self.basis:
            findings.append(Finding("legal_basis", "no_legal_basis",
                                    "Không thấy căn cứ ban hành (\"ban hành kèm theo Thông tư "
                                    "…\"); hãy ghi căn cứ pháp lý của mẫu.",
                                    "No legal basis was found; write the circular or decree "
                                    "that issues the form.", None))
        form_id = _slug(title, "-", 80)
        if len(form_id) < 3 or not form_id[0].isalpha():
            form_id = "to-khai-nhap-tu-pdf"
        header_notes = {
            "procedure_code": "ĐOÁN: mã thủ tục chưa biết; thay bằng mã trong Cơ sở dữ liệu "
                              "quốc gia về thủ tục hành chính",
            "agency_level": "ĐOÁN: cấp cơ quan giải quyết chưa xác định từ bản in",
        }
        findings.append(Finding("procedure_code", "procedure_code",
                                "Mã thủ tục hành chính không có trên bản in: hãy thay "
                                "'local.chua-xac-dinh' bằng mã thật.",
                                "The procedure code is not printed: replace the placeholder.",
                                None))
        findings.append(Finding("agency_level", "agency_level",
                                "Cấp cơ quan giải quyết chưa xác định: đã ghi tạm 'commune'.",
                                "The agency level is not known: 'commune' is a placeholder.",
                                None))
        code_lists: dict[str, list[dict[str, str]]] = {}
        comments: dict[str, str] = {}
        sections: list[dict[str, Any]] = []
        section_ids: set[str] = set()
        live = [s for s in self.sections if s.fields]
        if not live:
            live = [_S(self.sections[0].title if self.sections else "Nội dung",
                       [_F("Nội dung")])]
            findings.append(Finding("sections", "no_fields", "Không nhận ra trường nào trên "
                                    "bản in; hãy nhập các trường.",
                                    "No field was recognised on the print.", None))
        for si, sec in enumerate(live):
            spath = f"sections[{si}]"
            other = any(w in fold(sec.title) for w in _OTHER_PERSON)
            if other:
                findings.append(Finding(
                    spath, "other_person",
                    f"Phần “{sec.title}” có vẻ nói về người khác, không phải người khai: thêm "
                    "person: (quan hệ) cho phần này; trình nhập không tự đoán.",
                    f"Section “{sec.title}” looks like it is about another person: add "
                    "person:; the importer never guesses it.", None))
            fields = self._make_fields(sec.fields, spath, other, sec.title, code_lists,
                                       comments)
            raw: dict[str, Any] = {"id": _ident(sec.title, section_ids, "phan"),
                                   "title": sec.title}
            if sec.help:
                raw["help"] = " ".join(sec.help)[:2000]
            raw["fields"] = fields
            sections.append(raw)
        definition: dict[str, Any] = {
            "id": form_id, "version": 1, "title": title, "legal_basis": legal_basis,
            "procedure_code": "local.chua-xac-dinh", "agency_level": "commune",
        }
        if self.description:
            definition["description"] = self.description
        if code_lists:
            definition["code_lists"] = code_lists
        if self.dropped:
            definition["dropped"] = self.dropped
        definition["sections"] = sections
        text = _emit(definition, comments, header_notes)
        for _ in range(3):
            try:
                parse_text(text, "draft.yaml")
                break
            except DefinitionError as exc:
                if not self._repair(definition, exc, comments):
                    raise
                text = _emit(definition, comments, header_notes)
        return Draft(text, definition, self.findings, self.layout.from_ocr)

    def _make_fields(self, fs: list[_F], path: str, other: bool, section: str,
                     code_lists: dict[str, list[dict[str, str]]],
                     comments: dict[str, str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        taken: set[str] = set()
        for fi, f in enumerate(fs):
            fpath = f"{path}.fields[{fi}]"
            raw: dict[str, Any] = {"id": _ident(f.label, taken)}
            guesses: list[tuple[float, str, str]] = []  # (confidence, vi, en)
            if f.kind == "commitment":
                raw.update(type="commitment", label=f.label[:2000])
            elif f.kind == "group":
                raw.update(type="group", label=f.label[:500], required=False,
                           repeat={"min": 0, "max": 20})
                raw["fields"] = self._make_fields(f.children, fpath, True, section,
                                                  code_lists, comments)
            elif f.kind == "boolean" or (f.kind == "choice" and f.options and all(
                    fold(o) in ("co", "khong") for o in f.options)):
                raw.update(type="boolean", label=f.label[:500])
            elif f.kind == "choice" and f.options:
                raw.update(type="choice", label=f.label[:500])
                raw["codes"] = self._code_list(raw["id"], f.options, code_lists)
            else:
                self._typed(f, raw, other, section, guesses)
            if f.help:
                raw["help"] = f.help[:2000]
            if not other and f.kind != "commitment" and names_other_person(f.label):
                self.findings.append(Finding(
                    fpath, "other_person",
                    f"Trường “{f.label[:200]}” có vẻ nói về người khác, không phải người khai: "
                    "thêm person: (quan hệ) cho trường hoặc phần này; trình nhập không tự đoán.",
                    f"Field “{f.label[:200]}” looks like it is about another person: add "
                    "person:; the importer never guesses it.", None))
            for confidence, vi, en in guesses:
                if confidence < LOW_CONFIDENCE:
                    self.findings.append(Finding(fpath, "guess", vi, en, confidence))
            low = [g for g in guesses if g[0] < LOW_CONFIDENCE]
            if low:
                worst = min(g[0] for g in low)
                comments[fpath] = (f"ĐOÁN (độ tin cậy {worst:.2f}): "
                                   + "; ".join(g[1] for g in low))
            out.append(raw)
        return out

    def _typed(self, f: _F, raw: dict[str, Any], other: bool, section: str,
               guesses: list[tuple[float, str, str]]) -> None:
        label = f.label[:500]
        tg = guess_type(label)
        bg = self.index.propose(label, section=section)
        ftype, options, confidence = tg.type, dict(tg.options), tg.confidence
        if bg is not None and bg.exact and bg.type and (
                bg.type != "choice" or dict(bg.options).get("codes") in codelists.BUILT_IN):
            ftype, options = bg.type, dict(bg.options)
            confidence = 0.95 if bg.type == tg.type else 0.85
        if ftype == "text" and f.blank_lines:
            ftype, options, confidence = "long_text", {}, max(confidence, 0.75)
        raw.update(type=ftype, label=label, **options)
        shown = ftype + (f" ({options['codes']})" if "codes" in options else "")
        guesses.append((confidence, f"kiểu {shown} đoán từ nhãn “{label}”",
                        f"type {shown} guessed from the label"))
        if bg is not None and bg.record and bg.confidence >= 0.45:
            raw["prefill"] = bg.record
            someone_else = other or bg.other_person
            conf = min(bg.confidence, 0.6) if someone_else else bg.confidence
            how = "cùng nhãn" if bg.exact else f"nhãn giống “{bg.learnt_from}”"
            extra = " (chỉ đúng khi phần này có person:)" if someone_else else ""
            if bg.generic:
                extra += " (nhãn ngắn, chung chung, học từ mẫu khác ngữ cảnh)"
            guesses.append((conf, f"điền sẵn từ {bg.record} theo {how} trong danh mục{extra}",
                            f"prefill {bg.record} learnt from the catalogue's label "
                            f"“{bg.learnt_from}”"))

    @staticmethod
    def _code_list(fid: str, options: list[str],
                   code_lists: dict[str, list[dict[str, str]]]) -> str:
        keys = {label_key(o) for o in options}
        for name in ("sex", "relationship", "marital_status", "religion", "blood_group",
                     "id_document_type", "driving_licence_class", "education_level"):
            labels = {label_key(c.label) for c in codelists.lookup(name, {})}
            if keys <= labels:
                return name
        name = fid if fid not in codelists.BUILT_IN else f"{fid}_ds"
        n = 2
        while name in code_lists:
            name = f"{fid}_{n}"
            n += 1
        codes: list[dict[str, str]] = []
        taken: set[str] = set()
        for o in options:
            codes.append({"code": _ident(o, taken, "ma"), "label": o[:500]})
        code_lists[name] = codes
        return name

    def _repair(self, definition: dict[str, Any], exc: DefinitionError,
                comments: dict[str, str]) -> bool:
        """Take out a proposed binding the checker refuses; False if something else is
        wrong (a bug of the importer)."""
        fixed = False
        for problem in exc.problems:
            m = re.match(r"(sections\[\d+\](?:\.fields\[\d+\])+)\.prefill", problem.path)
            if not m:
                return False
            target: Any = definition
            for part in re.findall(r"(\w+)\[(\d+)\]", m.group(1)):
                target = target[part[0]][int(part[1])]
            record = target.pop("prefill", None)
            if record is None:
                continue
            fixed = True
            comments.pop(m.group(1), None)
            self.findings = [f for f in self.findings
                             if not (f.path == m.group(1) and record in f.message)]
            self.findings.append(Finding(
                m.group(1), "binding_refused",
                f"Không đề xuất điền sẵn từ {record}: bản ghi không hợp với kiểu trường.",
                f"No binding proposed: {record} does not fit the field's type.", None))
        return fixed


# --- writing YAML with comments ---------------------------------------------------------------

def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if re.fullmatch(r"[a-z][a-z0-9_.\-]*", value) and value not in (
                "true", "false", "null", "yes", "no", "on", "off", "y", "n"):
            return value
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    raise TypeError(type(value))


def _comment(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _emit(definition: dict[str, Any], comments: dict[str, str],
          header_notes: dict[str, str]) -> str:
    out = ["# Bản nháp nhập từ tệp PDF: rà soát từng trường, các dòng ĐOÁN là phỏng đoán.",
           "# Trình nhập không đoán điều kiện (when) và người của phần (person): hãy tự thêm."]
    for key, value in definition.items():
        if key == "sections":
            out.append("sections:")
            for si, sec in enumerate(value):
                out.append(f"  - id: {_scalar(sec['id'])}")
                out.append(f"    title: {_scalar(sec['title'])}")
                if "help" in sec:
                    out.append(f"    help: {_scalar(sec['help'])}")
                out.append("    fields:")
                _emit_fields(out, sec["fields"], f"sections[{si}]", 6, comments)
        elif key == "code_lists":
            out.append("code_lists:")
            for name, codes in value.items():
                out.append(f"  {name}:")
                out += [f"    - {_scalar(c)}" for c in codes]
        elif key == "dropped":
            out.append("dropped:")
            out += [f"  - {_scalar(d)}" for d in value]
        else:
            line = f"{key}: {_scalar(value)}"
            if key in header_notes:
                line += f"  # {_comment(header_notes[key])}"
            out.append(line)
    return "\n".join(out) + "\n"


def _emit_fields(out: list[str], fields: list[dict[str, Any]], path: str, indent: int,
                 comments: dict[str, str]) -> None:
    pad = " " * indent
    for fi, f in enumerate(fields):
        fpath = f"{path}.fields[{fi}]"
        if fpath in comments:
            out.append(f"{pad}# {_comment(comments[fpath])}")
        if f["type"] != "group":
            out.append(f"{pad}- {_scalar(f)}")
            continue
        first = True
        for k, v in f.items():
            if k == "fields":
                continue
            out.append(f"{pad}{'- ' if first else '  '}{k}: {_scalar(v)}")
            first = False
        out.append(f"{pad}  fields:")
        _emit_fields(out, f["fields"], fpath, indent + 4, comments)

"""Guesses for an imported form: a field type from the printed label, and a prefill binding
learnt from what the catalogue already binds for the same or a similar label.

Nothing here is a second hand-kept list of bindings: :class:`BindingIndex` is built from the
catalogue's :class:`~forms.model.FormDefinition` objects passed in, so a form added to the
catalogue teaches the importer. Every guess carries a confidence in [0, 1].
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from forms.model import Field, FormDefinition

#: below this confidence a guess is shown to the designer as a guess (YAML comment, finding)
LOW_CONFIDENCE = 0.7
#: the least similarity (0-1) between two labels for one to teach the other's binding
MIN_SIMILARITY = 0.72

_MARK = re.compile(r"\(\s*\d{1,2}\s*\)|\[\s*\d{1,3}(?:\.\d{1,3})*\s*\]\.?|\*")
_NUMBER = re.compile(
    r"^\s*(?:(?:[0-9]{1,3}(?:\.[0-9]{1,3})*[a-zđ]?|[a-zđ]|[IVXLC]{1,6})\s*[.)/]|-|–|•)\s*",
    re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_TOKEN = re.compile(r"\w+")
#: words (NFC, with diacritics: "con" is a child, "còn" is not) and phrases by which a label
#: or a section title names someone other than the declarant
_OTHER_WORDS = frozenset({"cha", "bố", "mẹ", "vợ", "chồng", "con"})
_OTHER_PHRASES = ("người được", "người giám hộ", "người thân", "người chết", "người đã chết",
                  "người làm chứng")
#: a share of the catalogue's labels (or section titles) above which a word is common
_COMMON_SHARE = 0.05
_COMMON_SECTION_SHARE = 0.2
#: the most a guess on a short generic label out of its context, or about another person, has
GENERIC_CAP = 0.55
OTHER_PERSON_CAP = 0.6
#: the most a binding taught by a single field of the catalogue has
WEAK_EVIDENCE_CAP = 0.65


def names_other_person(text: str) -> bool:
    """Whether a label or a section title names someone other than the declarant ("Họ và
    tên cha", "Người được giám hộ", "vợ/chồng"); "Quan hệ với người được khai sinh" is the
    declarant's own answer about the link, not the other person's."""
    key = label_key(text)
    if not key or "quan hệ" in key:
        return False
    if any(p in key for p in _OTHER_PHRASES):
        return True
    return bool(_OTHER_WORDS & set(_TOKEN.findall(key)))


def _floor2(value: float) -> float:
    """Two decimals, rounded down: a value shown as 0.70 is never below the 0.7 threshold."""
    return math.floor(value * 100 + 1e-9) / 100


def fold(text: str) -> str:
    """ASCII, lower-case: 'Ngày, tháng' -> 'ngay, thang' (đ -> d)."""
    text = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return "".join(c for c in text if not unicodedata.combining(c))


def label_key(label: str) -> str:
    """A label as compared across forms: NFC, case-folded, footnote marks and a leading item
    number removed, whitespace collapsed, trailing ':' and dots dropped."""
    text = unicodedata.normalize("NFC", label)
    text = _MARK.sub(" ", text)
    text = _NUMBER.sub("", text)
    text = text.replace("…", " ").casefold()
    return _SPACE.sub(" ", text).strip(" :.;,-–").strip()


@dataclass(frozen=True)
class TypeGuess:
    type: str
    confidence: float
    #: type options: codes, precision, old_id_card
    options: dict[str, Any] = field(default_factory=dict)
    reason: str = ""


# (folded words any of which must appear, type, options, confidence); first match wins
_RULES: tuple[tuple[tuple[str, ...], str, dict[str, Any], float], ...] = (
    (("email", "e-mail", "thu dien tu"), "email", {}, 0.95),
    (("dien thoai", "so dt", "sdt", "di dong"), "phone", {}, 0.9),
    (("ma so thue",), "tax_code", {}, 0.9),
    (("cmnd", "chung minh nhan dan"), "personal_id", {"old_id_card": True}, 0.8),
    (("so dinh danh", "cccd", "can cuoc cong dan", "so the can cuoc", "so can cuoc"),
     "personal_id", {}, 0.85),
    (("giay to tuy than",), "personal_id", {}, 0.55),
    (("gio", "phut"), "date_time", {}, 0.0),  # handled below: needs both
    (("ngay, thang, nam sinh", "ngay thang nam sinh", "ngay sinh", "ngay cap",
      "ngay het han", "co gia tri den", "ngay dang ky", "ngay chet", "ngay mat",
      "ngay ... thang ... nam", "ngay thang nam"), "date", {}, 0.9),
    (("nam sinh",), "partial_date", {"precision": "year"}, 0.85),
    (("thang, nam", "thang/nam", "thang nam"), "partial_date", {"precision": "month"}, 0.75),
    (("gioi tinh",), "choice", {"codes": "sex"}, 0.95),
    (("dan toc",), "choice", {"codes": "ethnicity"}, 0.95),
    (("quoc tich",), "choice", {"codes": "nationality"}, 0.9),
    (("ton giao",), "choice", {"codes": "religion"}, 0.9),
    (("tinh trang hon nhan",), "choice", {"codes": "marital_status"}, 0.9),
    (("nhom mau",), "choice", {"codes": "blood_group"}, 0.9),
    (("quan he",), "choice", {"codes": "relationship"}, 0.8),
    (("noi cu tru", "noi thuong tru", "noi tam tru", "dia chi", "noi o hien tai",
      "cho o hien tai", "tru so", "que quan"), "address", {}, 0.85),
    (("noi sinh",), "place", {}, 0.6),
    (("so tien", "le phi", "muc huong", "von dieu le", "(dong)"), "money", {}, 0.8),
    (("so luong", "so ban", "so lan", "so con"), "integer", {}, 0.8),
    (("noi dung", "ly do", "tom tat", "qua trinh"), "long_text", {}, 0.65),
    (("ngay",), "date", {}, 0.55),
)
_NAME = re.compile(r"\bho\b.*\bten\b|\bho ten\b|\bten\b")
#: the parts of a Vietnamese address printed as items of their own ("Xã/Phường/Thị trấn",
#: "7c. Quận, huyện", "tỉnh/thành phố", "đường/phố"): nothing but unit names
_ADDRESS_PART = re.compile(
    r"(?:(?:xa|phuong|thi tran|thi xa|quan|huyen|tinh|thanh pho(?: thuoc tinh)?|"
    r"thon|ap|ban|to dan pho|to|duong|pho|so nha|quoc gia)[\s/,;\-]*(?:va|hoac)?\s*)+")


def guess_type(label: str) -> TypeGuess:
    """The type a field with this printed label most likely has, with a confidence."""
    key = fold(label_key(label))
    key = key.replace("…", "...")
    words = set(_TOKEN.findall(key))
    if "gio" in words and "phut" in words:
        kind = "date_time" if "ngay" in words else "time"
        return TypeGuess(kind, 0.8, {}, "giờ, phút")
    for needles, ftype, options, confidence in _RULES:
        if ftype == "date_time":
            continue
        for needle in needles:
            hit = (needle in words) if " " not in needle and needle.isalpha() else needle in key
            if hit:
                return TypeGuess(ftype, confidence, dict(options), needle)
    if _ADDRESS_PART.fullmatch(key.strip()):
        return TypeGuess("address", 0.6, {}, "đơn vị hành chính")
    if re.search(r"\bluc$", key.strip()):  # "Đã chết vào lúc …": an hour and a day
        return TypeGuess("date_time", 0.6, {}, "lúc")
    if _NAME.search(key):
        return TypeGuess("text", 0.85, {}, "họ, tên")
    return TypeGuess("text", 0.7, {}, "")


@dataclass(frozen=True)
class BindingGuess:
    #: the record path, or None when the catalogue mostly leaves such a field unbound
    record: str | None
    confidence: float
    #: the catalogue label it was learnt from, and how many fields bind it that way
    learnt_from: str
    count: int
    exact: bool
    #: the type and its options the catalogue gives fields with this label (most common)
    type: str | None = None
    options: tuple[tuple[str, Any], ...] = ()
    #: the label (or the section) names someone other than the declarant: a record of the
    #: declarant's own is only right once the designer adds ``person:``
    other_person: bool = False
    #: a short, common label ("Tại", "năm", "Cấp ngày") whose teaching was out of this context
    generic: bool = False


_TypeKey = tuple[str, tuple[tuple[str, Any], ...]]


_Combo = tuple[_TypeKey, str | None]


@dataclass
class _Entry:
    label: str
    tokens: frozenset[str]
    folded: str
    #: (type, record) of the catalogue's fields with this label, in all, and by the title of
    #: their section (a child's "Dân tộc" unbound, the mother's bound)
    combos: Counter[_Combo] = field(default_factory=Counter)
    by_section: dict[str, Counter[_Combo]] = field(default_factory=dict)


def _type_key(f: Field) -> _TypeKey:
    options: list[tuple[str, Any]] = []
    if f.type == "choice" and f.codes:
        options.append(("codes", f.codes))
    if f.type == "partial_date" and f.precision != "any":
        options.append(("precision", f.precision))
    if f.type == "personal_id" and f.old_id_card:
        options.append(("old_id_card", True))
    return f.type, tuple(options)


class BindingIndex:
    """label -> how the catalogue's fields with that label are typed and bound (counts)."""

    def __init__(self, catalogue: Iterable[FormDefinition]):
        self.entries: dict[str, _Entry] = {}
        self._cache: dict[tuple[str, str], BindingGuess | None] = {}
        for form in catalogue:
            for section in form.sections:
                self._walk(section.fields, label_key(section.title))
        # how many labels (and section titles) each word is in: a word in many is common
        self._label_df: Counter[str] = Counter()
        self._section_df: Counter[str] = Counter()
        titles: set[str] = set()
        for entry in self.entries.values():
            self._label_df.update(entry.tokens)
            titles.update(entry.by_section)
        for title in titles:
            self._section_df.update(set(_TOKEN.findall(fold(title))))
        self._n_titles = len(titles)

    def _walk(self, fields: Iterable[Field], section: str) -> None:
        for f in fields:
            if f.is_group:
                self._walk(f.fields, section)
                continue
            if f.type in ("commitment", "computed", "attachment"):
                continue
            key = label_key(f.label)
            if not key:
                continue
            entry = self.entries.get(key)
            if entry is None:
                folded = fold(key)
                entry = self.entries[key] = _Entry(
                    key, frozenset(_TOKEN.findall(folded)), folded)
            # a binding chosen by an answer teaches nothing about the label alone
            record = f.prefill.record if f.prefill and f.prefill.by is None else None
            combo = (_type_key(f), record)
            entry.combos[combo] += 1
            entry.by_section.setdefault(section, Counter())[combo] += 1

    def propose(self, label: str, *, section: str = "") -> BindingGuess | None:
        """The binding (and type) the catalogue suggests for a field with this label, in a
        section with this title (None: no label like it in the catalogue)."""
        ck = (label_key(label), label_key(section))
        if ck in self._cache:
            return self._cache[ck]
        guess = self._propose(*ck)
        self._cache[ck] = guess
        return guess

    def _propose(self, key: str, section: str) -> BindingGuess | None:
        if not key:
            return None
        entry = self.entries.get(key)
        similarity = 1.0
        if entry is None:
            best = self._similar(key)
            if best is None:
                return None
            entry, similarity = best
        counts = entry.by_section.get(section) if section else None
        if not counts:
            # sections like this one ("Giấy phép lái xe hiện có" for "Giấy phép lái xe")
            counts = Counter()
            for title in self._like(entry, section):
                counts.update(entry.by_section[title])
        if not counts:
            counts = entry.combos
        records: Counter[str | None] = Counter()
        for (_, record), n in counts.items():
            records[record] += n
        record, count = records.most_common(1)[0]
        share = count / sum(records.values())
        # exact: the same label, or the same once diacritics are dropped (OCR); not merely the
        # same words in another order ("Cha: Họ và tên" is not "Họ và tên cha")
        exact = entry.folded == fold(key)
        confidence = (0.6 + 0.4 * share) * (1.0 if exact else similarity * 0.8)
        # the evidence: how many of the catalogue's fields teach this binding in all
        taught = sum(n for (_, r), n in entry.combos.items() if r == record)
        # (one is an anecdote, two a weak hint unless they agree)
        if taught == 1:
            confidence = min(confidence, WEAK_EVIDENCE_CAP)
        elif taught == 2:
            confidence *= 0.85
        generic = record is not None and self._generic(entry, record, taught) \
            and not self._in_context(entry, record, section)
        if generic:
            confidence = min(confidence, GENERIC_CAP)
        other = record is not None and (names_other_person(key)
                                        or names_other_person(section))
        if other:
            confidence = min(confidence, OTHER_PERSON_CAP)
        combo = max((c for c in counts if c[1] == record), key=lambda c: counts[c])
        ftype, options = combo[0]
        return BindingGuess(record, _floor2(confidence), entry.label, count, exact,
                            ftype, options, other, generic)

    def _common(self, word: str) -> bool:
        return self._label_df[word] >= max(3, _COMMON_SHARE * len(self.entries))

    def _generic(self, entry: _Entry, record: str, taught: int) -> bool:
        """A short label made of common words ("Tại", "năm", "Cấp ngày") says little by
        itself: one word, or two whose catalogue bindings are few or in several registers."""
        if len(entry.tokens) > 2 or not all(self._common(t) for t in entry.tokens):
            return False
        if len(entry.tokens) == 1 or taught <= 2:
            return True
        registers = {r.split(".", 1)[0] for (_, r) in entry.combos if r is not None}
        return len(registers) > 1

    def _like(self, entry: _Entry, section: str) -> list[str]:
        """The titles of the sections where the catalogue has this label that are like this
        section: the same title, or two of the same uncommon words ("Giấy phép lái xe")."""
        if not section:
            return []
        if section in entry.by_section:
            return [section]
        limit = max(2, _COMMON_SECTION_SHARE * self._n_titles)
        mine = {t for t in _TOKEN.findall(fold(section)) if self._section_df[t] < limit}
        return [title for title in entry.by_section if len(mine & {
            t for t in _TOKEN.findall(fold(title)) if self._section_df[t] < limit}) >= 2]

    def _in_context(self, entry: _Entry, record: str, section: str) -> bool:
        """Whether the section is like one of those where the catalogue binds the label this
        way."""
        return any(r == record for title in self._like(entry, section)
                   for (_, r) in entry.by_section[title])

    def _similar(self, key: str) -> tuple[_Entry, float] | None:
        folded = fold(key)
        tokens = frozenset(_TOKEN.findall(folded))
        if not tokens:
            return None
        best: tuple[_Entry, float] | None = None
        for entry in self.entries.values():
            common = len(tokens & entry.tokens)
            if not common:
                continue
            if common == len(entry.tokens) >= 2:
                # a catalogue label within this one ("Họ và tên" in "Họ và tên người khai")
                score = 0.72 + 0.2 * common / len(tokens)
                if best is None or score > best[1]:
                    best = (entry, score)
            overlap = common / len(tokens | entry.tokens)
            if overlap < 0.5:
                continue
            matcher = difflib.SequenceMatcher(None, folded, entry.folded, autojunk=False)
            if matcher.real_quick_ratio() < MIN_SIMILARITY:
                continue
            score = max(overlap, matcher.ratio())
            if score >= MIN_SIMILARITY and (best is None or score > best[1]):
                best = (entry, score)
        return best

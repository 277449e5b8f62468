"""The PDF importer (#17) measured on printed copies of every catalogue form that names a field
list: each form printed from its list by fpdf2 and by Chromium (bench/pdf_layouts.py) and a
scanned-looking copy of the Chromium print, each imported with forms.imports.draft.import_pdf
and compared with the list and with the catalogue's definition of the form.

How the figures are counted (bench/notes/import_pdf.md says it again):

* A label is compared after NFC, whitespace collapsed (and dropped next to "…" and before
  , : ;), runs of dots, "…" and underscores made one "…", footnote marks "(1)" removed, a
  leading item number ("1.", "[09.1].", "2a.", "IV.") removed and a final colon removed, on
  both sides: the list writes some labels with their number and others without, and the
  importer may keep or drop the number it reads. Otherwise exact (case too).
* Expected: every printed item (``pdf_layouts.plan``), the columns of a table (not its
  "TT"/"STT" row number), the commitment; and the parts a draft drops: "Kính gửi" (any
  dropped entry or field starting with it), each "…, ngày … tháng … năm …" of the list (a
  dropped entry with reason submission_date), each signature block (a dropped entry with
  reason signature whose label holds the printed one, case aside).
* Recall: expected parts found / expected. Precision: the draft's fields (groups and their
  fields included) whose label is expected / the draft's fields.
* Sections: the list's groups printed as headings, found among the draft's section titles
  and group labels (numbering and case aside).
* Types: of the fields found, those whose type is one the list's kind allows (``KIND_TYPES``).
* Bindings: of the fields found that the catalogue's form also has (same label, k-th
  occurrence to k-th occurrence), those whose proposed record equals the catalogue's (no
  binding on both sides counts as equal). The importer learns from the catalogue without the
  form measured ("leave one out"; its sibling versions stay).
* ms/page: import_pdf's wall time over the pages (the binding index is built before).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pdf_layouts
from _common import ROOT, catalogue_files

from forms.imports.draft import Draft, import_pdf
from forms.imports.guess import BindingIndex
from forms.imports.reader import ImportRefused
from forms.language import parse_text
from forms.model import Field, FormDefinition

FIELD_LISTS = ROOT / "tests" / "fixtures" / "official-forms"
_NAMED_LIST = re.compile(r"(?:\.\./shared/forms/|tests/fixtures/official-forms/)([\w.\-]+?\.json)")

#: the field list's kind -> the form language's types that are right for it
KIND_TYPES: dict[str, set[str]] = {
    "text": {"text", "long_text"},
    "date": {"date", "partial_date"},
    "time": {"time", "date_time"},
    "id_number": {"personal_id", "id_document", "tax_code"},
    "select": {"choice", "boolean"},
    "checkbox": {"boolean", "choice"},
    "commitment": {"commitment"},
    "address": {"address", "place"},
    "phone": {"phone"},
    "email": {"email"},
    "number": {"integer", "money"},
    "repeat": {"group"},
}
TARGETS = {"recall": 0.95, "precision": 0.90, "types": 0.90, "bindings": 0.80}
SCAN_RECALL = 0.85
MS_PER_PAGE = 300.0
_ROW_NUMBER = {"TT", "STT"}


def norm(label: str) -> str:
    text = unicodedata.normalize("NFC", label)
    text = re.sub(r"\(\s*\d{1,2}\s*\)", " ", text)
    text = re.sub(r"(?:\.{2,}|…|_{2,})+", "…", text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s*…\s*", "…", text)
    text = re.sub(r"\s+([,:;])", r"\1", text)
    text = re.sub(r"^\d+[a-zđ][.)]\s*", "", pdf_layouts.ItemNumber.sub("", text))
    return text.rstrip(": ").strip()


def heading_key(title: str) -> str:
    return re.sub(r"^(?:[IVX]+|\d+[a-z]?|\[\d+(?:\.\d+)*\])\s*[.)]?\s*", "", norm(title)).casefold()


def key(label: str) -> str:
    return norm(label)


@dataclass
class Score:
    expected: int = 0
    found: int = 0  # expected parts found
    fields: int = 0  # the draft's fields
    matched: int = 0  # the draft's fields that are expected
    sections: int = 0
    sections_found: int = 0
    typed: int = 0
    typed_right: int = 0
    bound: int = 0
    bound_right: int = 0
    pages: int = 0
    seconds: float = 0.0
    refused: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)  # what --misses prints

    def add(self, other: Score) -> None:
        for name in ("expected", "found", "fields", "matched", "sections", "sections_found",
                     "typed", "typed_right", "bound", "bound_right", "pages", "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.refused += other.refused

    @staticmethod
    def ratio(a: int, b: int) -> float:
        return a / b if b else 1.0

    @property
    def recall(self) -> float:
        return self.ratio(self.found, self.expected)

    @property
    def precision(self) -> float:
        return self.ratio(self.matched, self.fields)

    @property
    def types(self) -> float:
        return self.ratio(self.typed_right, self.typed)

    @property
    def bindings(self) -> float:
        return self.ratio(self.bound_right, self.bound)

    @property
    def ms_per_page(self) -> float:
        return self.seconds * 1e3 / self.pages if self.pages else 0.0


def _walk(fields: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for f in fields:
        yield f
        yield from _walk(f.get("fields") or [])


def _record(prefill: Any) -> str | None:
    if isinstance(prefill, str):
        return prefill
    if isinstance(prefill, dict):
        record = prefill.get("record")
        return record if isinstance(record, str) else None
    return None


def _catalogue_fields(form: FormDefinition) -> dict[str, list[Field]]:
    out: dict[str, list[Field]] = {}

    def walk(fields: tuple[Field, ...]) -> None:
        for f in fields:
            out.setdefault(key(f.label), []).append(f)
            walk(f.fields)

    for section in form.sections:
        walk(section.fields)
    return out


def score(field_list: dict[str, Any], form: FormDefinition, draft: Draft) -> Score:
    plan = pdf_layouts.plan(field_list)
    s = Score()
    definition = draft.definition
    found_fields = [f for section in definition.get("sections") or []
                    for f in _walk(section.get("fields") or [])]
    dropped = definition.get("dropped") or []
    s.fields = len(found_fields)
    unused = list(range(len(found_fields)))
    keys = [key(str(f.get("label", ""))) for f in found_fields]
    catalogue = _catalogue_fields(form)
    taken: Counter[str] = Counter()

    def take(label: str, kind: str) -> None:
        s.expected += 1
        k = key(label)
        for n in unused:
            if keys[n] == k:
                unused.remove(n)
                s.found += 1
                s.matched += 1
                got = found_fields[n]
                s.typed += 1
                s.typed_right += got.get("type") in KIND_TYPES.get(kind, {kind})
                own = catalogue.get(k, [])
                if taken[k] < len(own):
                    want = own[taken[k]]
                    taken[k] += 1
                    s.bound += 1
                    s.bound_right += _record(got.get("prefill")) == (
                        want.prefill.record if want.prefill else None)
                if got.get("type") not in KIND_TYPES.get(kind, {kind}):
                    s.misses.append(f"type {got.get('type')} for {kind}: {label}")
                return
        s.misses.append(f"label: {label}")

    for item in plan.items():
        take(item.label, item.kind)
        for column in item.columns:
            if column not in _ROW_NUMBER:
                take(column, next((c["kind"] for entry in field_list["fields"]
                                   for c in entry.get("items", ()) if c["label"] == column),
                                  "text"))
    if plan.commitment:
        take(plan.commitment, "commitment")
    dropped_left = list(dropped)
    if plan.addressee_label:
        s.expected += 1
        hit = next((d for d in dropped_left if str(d.get("label", "")).startswith("Kính gửi")),
                   None)
        if hit is not None:
            dropped_left.remove(hit)
            s.found += 1
        else:
            n = next((n for n in unused if str(found_fields[n].get("label", "")).startswith(
                "Kính gửi")), None)
            if n is not None:
                unused.remove(n)
                s.found += 1
                s.matched += 1
    for what, label in plan.tail:
        s.expected += 1
        if what == "date":
            hit = next((d for d in dropped_left if d.get("reason") == "submission_date"), None)
        else:
            want = key(label).casefold()
            hit = next((d for d in dropped_left if d.get("reason") == "signature"
                        and want in key(str(d.get("label", ""))).casefold()), None)
        if hit is not None:
            dropped_left.remove(hit)
            s.found += 1
        else:
            s.misses.append(f"dropped {what}: {label}")
    s.misses += [f"extra field: {found_fields[n].get('label')}" for n in unused]
    headings = Counter(heading_key(str(section.get("title", "")))
                       for section in definition.get("sections") or [])
    headings.update(heading_key(str(f.get("label", ""))) for f in found_fields
                    if f.get("type") == "group")
    for section in plan.sections:
        s.sections += 1
        k = heading_key(section.heading)
        if headings[k] > 0:
            headings[k] -= 1
            s.sections_found += 1
    return s


def catalogue_forms() -> list[tuple[FormDefinition, str]]:
    """(the catalogue's form, the file name of its field list) for every form naming one."""
    out = []
    for path in catalogue_files():
        raw = path.read_bytes()
        named = _NAMED_LIST.search(raw.decode("utf-8").split("\nid:")[0])
        if named and (FIELD_LISTS / named.group(1)).exists():
            out.append((parse_text(raw, path.name), named.group(1)))
    return out


def _pages(data: bytes) -> int:
    import pypdfium2  # type: ignore[import-untyped]

    document = pypdfium2.PdfDocument(data)
    try:
        return len(document)
    finally:
        document.close()


def machine() -> str:
    with open("/proc/cpuinfo") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info
                    if line.startswith("model name")), platform.processor() or "?")
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def _row(name: str, s: Score) -> str:
    refused = f"  refused: {', '.join(s.refused)}" if s.refused else ""
    return (f"{name:44} {s.found:4d}/{s.expected:<4d} {s.recall:6.1%} {s.precision:6.1%} "
            f"{s.sections_found:3d}/{s.sections:<3d} {s.types:6.1%} {s.bindings:6.1%} "
            f"{s.ms_per_page:8.0f}{refused}")


def _verdict(value: float, target: float, *, below: bool = False) -> str:
    met = value < target if below else value >= target
    return "met" if met else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--forms", default="", help="only catalogue forms whose id contains it")
    parser.add_argument("--no-scans", action="store_true", help="skip the scanned copies (OCR)")
    parser.add_argument("--misses", action="store_true",
                        help="print what each import missed or got wrong")
    parser.add_argument("--dpi", type=int, default=200, help="resolution of the scans")
    args = parser.parse_args()

    forms = [(f, n) for f, n in catalogue_forms() if args.forms in f.id]
    everything = [form for form, _ in forms]
    layouts = ["fpdf", "chromium"] + ([] if args.no_scans else ["scan"])
    totals = {layout: Score() for layout in layouts}
    printed: dict[str, dict[str, bytes]] = {}
    print(f"PDF import benchmark: {len(forms)} catalogue forms, {machine()}")
    warm = pdf_layouts.fpdf_layout(json.loads((FIELD_LISTS / forms[0][1]).read_text()))
    import_pdf(warm, catalogue=everything)
    header = (f"{'form':44} {'labels':>9} {'recall':>6} {'prec.':>6} {'sections':>7} "
              f"{'types':>6} {'bind.':>6} {'ms/page':>8}")
    rows: dict[str, list[str]] = {layout: [] for layout in layouts}
    for form, list_name in forms:
        field_list = json.loads((FIELD_LISTS / list_name).read_text(encoding="utf-8"))
        if list_name not in printed:
            fpdf = pdf_layouts.fpdf_layout(field_list)
            chromium = pdf_layouts.chromium_pdf(pdf_layouts.html_layout(field_list))
            printed[list_name] = {"fpdf": fpdf, "chromium": chromium}
            if not args.no_scans:
                printed[list_name]["scan"] = pdf_layouts.scanned(chromium, dpi=args.dpi)
        index = BindingIndex(f for f in everything if f.id != form.id)
        for layout in layouts:
            data = printed[list_name][layout]
            start = time.perf_counter()
            try:
                draft = import_pdf(data, catalogue=index)
            except ImportRefused as refused:
                seconds = time.perf_counter() - start
                s = score(field_list, form, Draft("", {}, [], False))
                s.refused.append(refused.code)
            else:
                seconds = time.perf_counter() - start
                s = score(field_list, form, draft)
            s.pages, s.seconds = _pages(data), seconds
            totals[layout].add(s)
            rows[layout].append(_row(form.id[:44], s))
            print(f"  {layout:8} {rows[layout][-1]}", flush=True)
            if args.misses:
                for miss in s.misses:
                    print(f"      {miss}")
    for layout in layouts:
        what = {"fpdf": "printed by fpdf2", "chromium": "printed by Chromium",
                "scan": f"the Chromium print scanned at {args.dpi} dpi, read by OCR"}[layout]
        print(f"\n{layout}: {what}")
        print(header)
        for row in rows[layout]:
            print(row)
        print(_row("TOTAL", totals[layout]))
    print("\ntargets")
    for layout in ("fpdf", "chromium"):
        t = totals[layout]
        for name, target in TARGETS.items():
            value = getattr(t, name)
            print(f"  {layout:8} {name:10} {value:6.1%} (target >= {target:.0%}): "
                  f"{_verdict(value, target)}")
        print(f"  {layout:8} {'ms/page':10} {t.ms_per_page:6.0f} (target < {MS_PER_PAGE:.0f}): "
              f"{_verdict(t.ms_per_page, MS_PER_PAGE, below=True)}")
    if "scan" in totals:
        t = totals["scan"]
        print(f"  {'scan':8} {'recall':10} {t.recall:6.1%} (target >= {SCAN_RECALL:.0%}): "
              f"{_verdict(t.recall, SCAN_RECALL)}   ({t.ms_per_page:.0f} ms/page with OCR)")


if __name__ == "__main__":
    main()

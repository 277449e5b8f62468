"""Digitised paper: reading a born-digital PDF of an earlier paper document into labelled values.

A birth certificate or a household-business registration certificate issued on paper before the
registers were digitised is still evidence the state holds. When its PDF has a text layer (it
was produced by software, not scanned), the labels of the official template find the values;
an officer checks them and confirms, and only then do they become a record, with provenance
``digitised:<id>``. A PDF that is encrypted, has no text layer or has too many pages is refused
with a clear message rather than guessed at.

The PDF is read under the limits of ``service/pki/pdflimits.py``: a proper trailer, the number of
objects and pages counted before any page is read, every stream inflated under a cap per
stream and in all, and the whole reading in a child process with a CPU-time and memory budget.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import pdfplumber
from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfparser import PDFParser
from pdfminer.pdftypes import resolve1

from forms import codelists, registers
from forms.records import normalise_value, parse_date
from service.pki import pdflimits
from service.pki.pdflimits import PdfLimits, PdfRefused
from service.records.templates import TEMPLATES, Template

MAX_PAGES = 10

#: a PDF that is not read (``code``, Vietnamese ``message``, English ``message_en``)
DigitisedError = PdfRefused


@dataclass
class Reading:
    kind: str
    register: str
    subject: str | None
    sha256: str
    pages: int
    #: field -> {"value": normal form or None, "text": as printed, "label": ..., "page": n}
    values: dict[str, dict[str, Any]]
    problems: list[dict[str, str]]


def limits_of(settings: Any) -> PdfLimits:
    """The limits a service configuration sets."""
    return PdfLimits.from_settings(settings)


def read(pdf: bytes, kind: str, max_pages: int = MAX_PAGES,
         limits: PdfLimits | None = None) -> Reading:
    """The values read from ``pdf``, in the sandbox under ``limits``."""
    template = TEMPLATES.get(kind)
    if template is None:
        raise DigitisedError("unknown_kind", f"Không hỗ trợ loại giấy tờ '{kind}'; hỗ trợ: "
                             f"{', '.join(TEMPLATES)}.", f"Unknown document kind '{kind}'.")
    if not pdf.startswith(b"%PDF-"):
        raise DigitisedError("not_pdf", "Tệp không phải PDF.", "The file is not a PDF.")
    limits = limits or PdfLimits()
    return pdflimits.run(read_bounded, pdf, kind, max_pages, limits, limits=limits)


def read_bounded(pdf: bytes, kind: str, max_pages: int, limits: PdfLimits) -> Reading:
    """:func:`read` in the calling process, with the structure and inflation bounded."""
    pdflimits.check_trailer(pdf)
    with pdflimits.bounded_inflation(limits):
        _check_structure(pdf, max_pages, limits)
        return _read(pdf, TEMPLATES[kind], max_pages)


def _too_many_pages(pages: int, max_pages: int) -> DigitisedError:
    return DigitisedError("too_many_pages", f"Tệp có {pages} trang; tối đa {max_pages} trang.",
                          f"The PDF has {pages} pages; at most {max_pages}.")


def _read(pdf: bytes, template: Template, max_pages: int) -> Reading:
    kind = template.kind
    try:
        with pdfplumber.open(io.BytesIO(pdf)) as doc:
            pages = len(doc.pages)
            if pages > max_pages:
                raise _too_many_pages(pages, max_pages)
            lines = [(n, line) for n, page in enumerate(doc.pages, start=1)
                     for line in (page.extract_text() or "").splitlines()]
    except DigitisedError:
        raise
    except Exception:  # noqa: BLE001 - pdfminer raises many kinds on damaged files
        raise DigitisedError("unreadable_pdf", "Không đọc được tệp PDF (tệp hỏng).",
                             "The PDF cannot be read.") from None
    if not any(line.strip() for _, line in lines):
        raise DigitisedError(
            "no_text_layer", "PDF không có lớp văn bản (bản quét ảnh); cần bản PDF tạo từ phần "
            "mềm hoặc nhập tay.", "The PDF has no text layer (a scanned image).")
    if not any(page == 1 and is_title(template, line) for page, line in lines):
        raise DigitisedError("wrong_template",
                             f"Không nhận ra mẫu '{template.title}' trong tệp: trang đầu không "
                             f"có tiêu đề '{template.marker}'.",
                             f"The document is not a {kind}: its first page has no "
                             f"'{template.marker}' title.")
    values: dict[str, dict[str, Any]] = {}
    identity = template.identity.labels.values() if template.identity else ()
    for label in (template.subject_label, *template.labels, *identity):
        for page, line in lines:
            match = label.pattern.match(line.strip())
            if match and label.field not in values:
                values[label.field] = {"text": match.group("value"), "page": page,
                                       "label": line.strip()[: match.start("value")].strip()}
    problems: list[dict[str, str]] = []
    vocabulary = _vocabulary(template)
    for name, found in values.items():
        try:
            found["value"] = normalise_value(vocabulary[name][0], _clean(vocabulary[name][0],
                                                                         found["text"]))
        except ValueError as exc:
            found["value"] = None
            problems.append({"field": name, "code": "bad_value", "message": str(exc)})
    subject_name = template.subject_label.field
    subject = values.get(subject_name, {}).get("value")
    if subject is None:
        problems.append({"field": subject_name, "code": "missing",
                         "message": "Không đọc được số định danh/mã số của giấy tờ."})
    return Reading(kind, template.register, subject, hashlib.sha256(pdf).hexdigest(), pages,
                   values, problems)


def is_title(template: Template, line: str) -> bool:
    """Whether ``line`` is the template's title: the title alone on its line (a note in
    brackets after it allowed, "GIẤY KHAI SINH (BẢN CHÍNH)"), not a sentence mentioning it."""
    text = re.sub(r"\s*\([^)]*\)\s*$", "", " ".join(line.split())).upper()
    return text == template.marker


def _vocabulary(template: Template) -> dict[str, tuple[str, str]]:
    """The kind and label of each field the template reads: the register's fields, the
    personal ID number, and the printed identity's fields (as the population register has
    them)."""
    out = dict(registers.REGISTERS[template.register].fields)
    out.setdefault("personal_id", ("personal_id", "Số định danh cá nhân"))
    if template.identity is not None:
        population = registers.REGISTERS["population"].fields
        for name, label in template.identity.labels.items():
            out.setdefault(label.field, population[name])
    return out


def _clean(kind: str, text: str) -> str:
    if kind == "money":
        return re.sub(r"[^0-9]", "", text)
    if kind.startswith("choice:"):  # printed as the label: "Nữ"
        labels = {c.label.casefold(): c.code for c in codelists.lookup(kind.split(":", 1)[1])}
        return labels.get(" ".join(text.split()).casefold(), text)
    if kind == "date":
        # "ngày 05 tháng 3 năm 2018" or a plain date
        words = re.match(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})", text,
                         re.IGNORECASE)
        if words:
            return f"{words.group(1)}/{words.group(2)}/{words.group(3)}"
    return text


def _check_structure(pdf: bytes, max_pages: int, limits: PdfLimits) -> None:
    """Refuse an encrypted PDF, and one with more objects or pages than the limits, before
    any page is read (the page count from the page tree's root)."""
    try:
        document = PDFDocument(PDFParser(io.BytesIO(pdf)))
        encrypted = document.encryption is not None
        ids = itertools.chain.from_iterable(xref.get_objids() for xref in document.xrefs)
        objects = sum(1 for _ in itertools.islice(ids, limits.max_objects + 1))
    except (PDFPasswordIncorrect, PDFEncryptionError):
        encrypted, objects = True, 0
    except DigitisedError:  # a limit passed while reading the structure
        raise
    except Exception:  # noqa: BLE001 - pdfminer raises many kinds (PSSyntaxError...) on damage
        raise DigitisedError("unreadable_pdf", "Không đọc được tệp PDF (tệp hỏng).",
                             "The PDF cannot be read.") from None
    if encrypted:
        raise DigitisedError("encrypted_pdf", "PDF được mã hóa; hãy gửi bản không đặt mật khẩu.",
                             "The PDF is encrypted.")
    if objects > limits.max_objects:
        raise pdflimits.too_many("đối tượng", "objects", limits.max_objects)
    try:
        pages = int(resolve1(resolve1(document.catalog["Pages"])["Count"]))
    except Exception:  # noqa: BLE001 - no usable count: pdfplumber counts the pages it reads
        return
    if pages > max_pages:
        raise _too_many_pages(pages, max_pages)


def record_values(reading_values: dict[str, dict[str, Any]], register: str) -> dict[str, Any]:
    """The values that belong in the register's record (the subject field excluded unless the
    register stores it)."""
    fields = registers.REGISTERS[register].fields
    return {k: v["value"] for k, v in reading_values.items()
            if k in fields and v.get("value") is not None}


# -- what is checked beyond reading --------------------------------------------------------

def read_value(reading_values: dict[str, dict[str, Any]], name: str) -> Any:
    return reading_values.get(name, {}).get("value")


def born_on(template: Template, reading_values: dict[str, dict[str, Any]],
            person: dict[str, Any] | None) -> date | None:
    """The birth date of the person the document names: as printed, else as the population
    register holds it."""
    printed = None
    if template.identity is not None and "birth_date" in template.identity.labels:
        printed = read_value(reading_values, template.identity.labels["birth_date"].field)
    held = person.get("birth_date") if person else None
    for value in (printed, held):
        if isinstance(value, str):
            try:
                return parse_date(value)
            except ValueError:
                continue
    return None


def date_problems(template: Template, values: dict[str, Any], today: date,
                  born: date | None, prefix: str) -> list[dict[str, str]]:
    """Impossible dates among ``values`` (normal form): a registration in the future, or
    before the person it registers was born. Each problem names ``prefix`` + the field."""
    name = template.registration_date
    value = values.get(name) if name else None
    if not isinstance(value, str):
        return []
    try:
        registered = parse_date(value)
    except ValueError:
        return []  # reported as a bad value already
    shown = registered.strftime("%d/%m/%Y")
    if registered > today:
        return [{"field": f"{prefix}{name}", "code": "date_in_future",
                 "message": f"Ngày đăng ký {shown} là ngày trong tương lai; giấy tờ này không "
                            "phải giấy tờ đã cấp.",
                 "message_en": f"The registration date {registered} is in the future."}]
    if born is not None and template.register != "business" and registered < born:
        return [{"field": f"{prefix}{name}", "code": "date_before_birth",
                 "message": f"Ngày đăng ký {shown} trước ngày sinh "
                            f"{born.strftime('%d/%m/%Y')} của người được đăng ký.",
                 "message_en": f"The registration date {registered} is before the person's "
                               f"birth ({born})."}]
    return []


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def identity_check(template: Template, reading_values: dict[str, dict[str, Any]],
                   personal_id: str | None, person: dict[str, Any] | None,
                   unavailable: bool) -> dict[str, Any]:
    """Whether the person the document prints (name, birth date, sex) is the person of its
    personal ID number in the population register: ``result`` ``match``, ``mismatch`` (with
    the fields that differ), ``not_in_register``, ``unavailable`` (the register could not be
    read) or ``not_checked`` (no number, or nothing of the identity read). No value of the
    register is given."""
    identity = template.identity
    printed = {} if identity is None else {
        name: (label.field, read_value(reading_values, label.field))
        for name, label in identity.labels.items()}
    printed = {name: found for name, found in printed.items() if found[1] is not None}
    if personal_id is None or not printed:
        return {"personal_id": personal_id, "result": "not_checked", "fields": []}
    if unavailable:
        return {"personal_id": personal_id, "result": "unavailable", "fields": []}
    if person is None:
        return {"personal_id": personal_id, "result": "not_in_register", "fields": []}
    differ = []
    for name, (field, value) in printed.items():
        held = person.get(name)
        if held is None:
            continue
        same = _same_text(value, held) if name == "full_name" else value == held
        if not same:
            differ.append(field)
    return {"personal_id": personal_id, "result": "mismatch" if differ else "match",
            "fields": sorted(differ)}


#: identity results an officer may confirm only with a reason
NEEDS_REASON = ("mismatch", "unavailable")


def identity_problems(check: dict[str, Any]) -> list[dict[str, str]]:
    """The flags of an identity check, one per field that differs (or one for a register that
    could not be read)."""
    if check["result"] == "mismatch":
        return [{"field": field, "code": "identity_mismatch",
                 "message": "Thông tin in trên giấy tờ khác với Cơ sở dữ liệu quốc gia về dân "
                            "cư cho số định danh cá nhân trên giấy tờ; chỉ xác nhận được khi "
                            "cán bộ ghi rõ lý do.",
                 "message_en": "What the document prints differs from the population register "
                               "for its personal ID number; confirming needs a reason."}
                for field in check["fields"]]
    if check["result"] == "unavailable":
        return [{"field": "personal_id", "code": "identity_unverified",
                 "message": "Không đối chiếu được với Cơ sở dữ liệu quốc gia về dân cư; chỉ "
                            "xác nhận được khi cán bộ ghi rõ lý do.",
                 "message_en": "The population register could not be read to check the "
                               "person; confirming needs a reason."}]
    return []

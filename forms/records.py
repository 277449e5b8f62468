"""Checking record values against the registers' vocabulary.

Imports, digitised documents and external registers all hand over records as loose data; this
module turns them into the one normal form every other part reads (ISO dates, codes from the
code lists, addresses of the official units, NFC text) or says exactly what is wrong.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from forms import codelists, registers, units

PERSONAL_ID = re.compile(r"^[0-9]{12}$")
TAX_CODE = re.compile(r"^[0-9]{10}([0-9]{3})?$")
_ISO_DATE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")
_PAPER_DATE = re.compile(r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$")
_YEAR = re.compile(r"^[0-9]{4}$")
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")
MAX_TEXT = 500
MAX_LONG_TEXT = 4000
#: the longest text of a place abroad's detail or a former unit's name
MAX_PLACE_TEXT = 200
#: the parts of each kind of place (``kind`` aside), and those it must have
PLACE_PARTS: dict[str, tuple[set[str], set[str]]] = {
    "current": ({"province", "commune", "detail"}, {"province", "commune"}),
    "abroad": ({"country", "detail"}, {"country"}),
    "former": ({"text"}, {"text"}),
}
_TRUE = {"true", "1", "có", "co", "yes"}
_FALSE = {"false", "0", "không", "khong", "no"}


@dataclass(frozen=True)
class ValueProblem:
    field: str
    code: str
    message: str


class RecordInvalid(ValueError):
    def __init__(self, problems: list[ValueProblem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


def subject_field(register: str) -> str:
    return registers.REGISTERS[register].subject


def check_subject(register: str, subject: Any) -> str:
    """The subject of a record (personal ID number or tax code), or :class:`RecordInvalid`."""
    field = subject_field(register)
    pattern = TAX_CODE if field == "enterprise_code" else PERSONAL_ID
    what = "mã số doanh nghiệp (10 hoặc 13 chữ số)" if field == "enterprise_code" else \
        "số định danh cá nhân (12 chữ số)"
    if not isinstance(subject, str) or not pattern.match(subject.strip()):
        raise RecordInvalid([ValueProblem(field, "bad_subject", f"'{subject}' không phải {what}.")])
    return subject.strip()


def normalise_record(register: str, values: dict[str, Any], *,
                     allow_derived: bool = False) -> dict[str, Any]:
    """The record's values in normal form; empty values are dropped. Raises
    :class:`RecordInvalid` listing every problem."""
    vocabulary = registers.REGISTERS[register].fields
    out: dict[str, Any] = {}
    problems: list[ValueProblem] = []
    for name, raw in values.items():
        if name not in vocabulary:
            problems.append(ValueProblem(name, "unknown_field",
                                         f"Sổ '{register}' không có trường '{name}'."))
            continue
        if raw is None or raw == "" or raw == {} or raw == []:
            continue
        if name in registers.DERIVED_LINKS and not allow_derived:
            problems.append(ValueProblem(name, "derived_field",
                                         f"'{name}' được tính từ các liên kết, không nhập."))
            continue
        kind = vocabulary[name][0]
        try:
            out[name] = normalise_value(kind, raw)
        except ValueError as exc:
            problems.append(ValueProblem(name, "bad_value", str(exc)))
    if problems:
        raise RecordInvalid(problems)
    return out


def normalise_value(kind: str, raw: Any) -> Any:  # noqa: C901 - one branch per kind
    """One value in normal form, or ValueError with a Vietnamese message."""
    if kind in ("text", "long_text"):
        if not isinstance(raw, str | int):
            raise ValueError("phải là văn bản.")
        text = unicodedata.normalize("NFC", str(raw)).strip()
        limit = MAX_TEXT if kind == "text" else MAX_LONG_TEXT
        if len(text) > limit or any(unicodedata.category(c) == "Cc" for c in text):
            raise ValueError(f"văn bản dài quá {limit} ký tự hoặc có ký tự điều khiển.")
        return text
    if kind == "date":
        return parse_date(raw).isoformat()
    if kind == "partial_date":
        text = str(raw).strip()
        if _YEAR.match(text):
            return text
        month = _MONTH.match(text)
        if month and 1 <= int(month.group(2)) <= 12:
            return text
        return parse_date(text).isoformat()
    if kind == "personal_id":
        if not isinstance(raw, str) or not PERSONAL_ID.match(raw.strip()):
            raise ValueError(f"'{raw}' không phải số định danh cá nhân 12 chữ số.")
        return raw.strip()
    if kind == "personal_id_list":
        items = raw if isinstance(raw, list) else str(raw).split(";")
        return [normalise_value("personal_id", i) for i in items if str(i).strip()]
    if kind == "tax_code":
        if not isinstance(raw, str) or not TAX_CODE.match(raw.strip()):
            raise ValueError(f"'{raw}' không phải mã số thuế 10 hoặc 13 chữ số.")
        return raw.strip()
    if kind in ("integer", "money"):
        if isinstance(raw, bool):
            raise ValueError("phải là số nguyên.")
        try:
            number = int(str(raw).strip())
        except ValueError:
            raise ValueError(f"'{raw}' không phải số nguyên.") from None
        if kind == "money" and number < 0:
            raise ValueError("số tiền không được âm.")
        return number
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"'{raw}' không phải có/không.")
    if kind.startswith("choice:"):
        name = kind.split(":", 1)[1]
        codes = {c.code for c in codelists.lookup(name)}
        code = str(raw).strip()
        if code not in codes:
            raise ValueError(f"'{raw}' không có trong danh mục '{name}'.")
        return code
    if kind == "address":
        return normalise_address(raw)
    if kind == "place":
        return normalise_place(raw)
    raise ValueError(f"kiểu '{kind}' không được hỗ trợ.")


def parse_date(raw: Any) -> date:
    """ISO 8601 (``1990-05-17``) or the paper convention (``17/05/1990``), and a real day of
    the calendar: 31/02/1990 is refused."""
    text = str(raw).strip()
    iso = _ISO_DATE.match(text)
    paper = _PAPER_DATE.match(text)
    try:
        if iso:
            return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        if paper:
            return date(int(paper.group(3)), int(paper.group(2)), int(paper.group(1)))
    except ValueError:
        raise ValueError(f"'{raw}' không phải ngày có thật.") from None
    raise ValueError(f"'{raw}' không phải ngày (yyyy-mm-dd hoặc dd/mm/yyyy).")


def normalise_address(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise ValueError("địa chỉ phải gồm province, commune và detail.")
    unknown = set(raw) - {"province", "commune", "detail"}
    if unknown:
        raise ValueError(f"địa chỉ có khóa lạ: {', '.join(sorted(unknown))}.")
    province = str(raw.get("province", "")).strip().zfill(2)
    commune = str(raw.get("commune", "")).strip().zfill(5)
    communes = units.communes(province)
    if communes is None:
        raise ValueError(f"mã tỉnh '{raw.get('province')}' không có trong danh mục.")
    if commune not in {c.code for c in communes}:
        raise ValueError(f"mã xã '{raw.get('commune')}' không thuộc tỉnh '{province}'.")
    out = {"province": province, "commune": commune}
    detail = raw.get("detail")
    if detail:
        out["detail"] = normalise_value("text", detail)
    return out


def normalise_place(raw: Any) -> dict[str, str]:
    """A place (``forms.model`` field type ``place``): ``{"kind": "current", "province",
    "commune", "detail"?}`` (today's units; an address without ``kind`` is one),
    ``{"kind": "abroad", "country": ISO alpha-2, "detail"?}`` or ``{"kind": "former",
    "text": the unit's name as it was}``."""
    if not isinstance(raw, dict):
        raise ValueError("nơi chốn phải là đối tượng có 'kind' (current, abroad, former).")
    kind = str(raw.get("kind") or "current").strip()
    if kind not in PLACE_PARTS:
        raise ValueError(f"loại nơi chốn '{kind}' không hợp lệ; hợp lệ: current, abroad, former.")
    parts, needed = PLACE_PARTS[kind]
    given = {k for k, v in raw.items() if k != "kind" and v not in (None, "")}
    unknown = given - parts
    if unknown:
        raise ValueError(f"nơi chốn loại '{kind}' có khóa lạ: {', '.join(sorted(unknown))}.")
    lacking = needed - given
    if lacking:
        raise ValueError(f"nơi chốn loại '{kind}' thiếu: {', '.join(sorted(lacking))}.")
    if kind == "current":
        return {"kind": "current", **normalise_address({k: raw[k] for k in given})}
    out = {"kind": kind}
    for name in sorted(given):
        text = normalise_value("text", raw[name])
        if len(text) > MAX_PLACE_TEXT:
            raise ValueError(f"'{name}' dài quá {MAX_PLACE_TEXT} ký tự.")
        out[name] = text
    if kind == "abroad":
        country = out["country"].upper()
        if country == "VN" or country not in {c.code for c in codelists.nationalities()}:
            raise ValueError(f"mã nước '{raw.get('country')}' không phải nước ngoài trong "
                             "danh mục quốc tịch.")
        out["country"] = country
    return out

"""The parsed form: what the language means once a definition has been checked.

These classes are plain, immutable data. The compiler, the trimming report and (later) prefill
read them; nothing here knows about YAML, HTTP or the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from forms import codelists
from forms.codelists import Code

#: Field types of the form language, with the Vietnamese name shown to designers.
FIELD_TYPES: dict[str, str] = {
    "text": "Văn bản ngắn",
    "long_text": "Văn bản dài",
    "date": "Ngày, tháng, năm",
    "partial_date": "Ngày không đầy đủ (năm, tháng/năm)",
    "personal_id": "Số định danh cá nhân",
    "tax_code": "Mã số thuế",
    "phone": "Số điện thoại",
    "email": "Thư điện tử",
    "integer": "Số nguyên",
    "money": "Số tiền (đồng)",
    "boolean": "Có/Không",
    "choice": "Chọn từ danh mục",
    "address": "Địa chỉ",
    "group": "Nhóm trường",
    "attachment": "Tệp đính kèm",
    "commitment": "Lời cam đoan",
}

AGENCY_LEVELS: dict[str, str] = {
    "central": "Trung ương",
    "province": "Cấp tỉnh",
    "commune": "Cấp xã",
}

#: Why an official field no longer appears on the e-form.
DROP_REASONS: dict[str, str] = {
    "derived": "Hệ thống tự xác định từ dữ liệu đã có",
    "signature": "Thay bằng xác thực tài khoản định danh điện tử và chữ ký số",
    "submission_date": "Hệ thống ghi nhận thời điểm nộp hồ sơ",
    "not_applicable": "Không áp dụng khi nộp trực tuyến",
    "merged": "Gộp vào một trường địa chỉ chọn theo danh mục đơn vị hành chính",
    "abolished": "Không còn cấp huyện từ ngày 01/7/2025 (chính quyền địa phương hai cấp)",
}


@dataclass(frozen=True)
class Prefill:
    record: str  # register.field
    mode: str  # "verified" or "suggested"


@dataclass(frozen=True)
class Person:
    """Who a group's fields are about: the first linked person in ``relations`` (optionally of
    the given sex) that the registers know for the declarant."""

    relations: tuple[str, ...]
    sex: str | None = None


@dataclass(frozen=True)
class Condition:
    """Show and require a field only when ``field`` (a path of ids) has a value, equals
    ``equals``, or is one of ``one_of``."""

    field: tuple[str, ...]
    equals: Any = None
    one_of: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class Field:
    id: str
    type: str
    label: str
    path: tuple[str, ...]
    required: bool = True
    help: str | None = None
    official: bool = True
    prefill: Prefill | None = None
    when: Condition | None = None
    person: Person | None = None
    #: what the citizen types here about a person the registers do not link to them may be
    #: checked against that person's records (one yes/no for the whole person, never per field)
    check_typed: bool = False
    # type-specific options
    codes: str | None = None
    multiple: bool = False
    precision: str = "any"
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    detail: str = "optional"
    media_types: tuple[str, ...] = ()
    max_files: int = 1
    repeat: tuple[int, int] | None = None
    fields: tuple[Field, ...] = ()

    @property
    def is_group(self) -> bool:
        return self.type == "group"


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    fields: tuple[Field, ...]
    person: Person | None = None
    help: str | None = None


@dataclass(frozen=True)
class Dropped:
    label: str
    section: str | None
    reason: str
    note: str | None = None


@dataclass(frozen=True)
class FormDefinition:
    id: str
    version: int
    title: str
    legal_basis: str
    procedure_code: str
    agency_level: str
    sections: tuple[Section, ...]
    code_lists: dict[str, tuple[Code, ...]] = field(default_factory=dict)
    dropped: tuple[Dropped, ...] = ()
    description: str | None = None
    procedure_name: str | None = None
    #: the procedure's processing time in working days, from acceptance
    processing_days: int | None = None

    def leaves(self) -> Iterator[tuple[Section, Field]]:
        """Every field a person fills (groups are walked, not counted), in printed order."""
        for section in self.sections:
            yield from ((section, f) for f in _leaves(section.fields))

    def codes(self, name: str) -> tuple[Code, ...]:
        """The code list called ``name``: the form's own, else a built-in one."""
        return codelists.lookup(name, self.code_lists)

    def find(self, path: tuple[str, ...]) -> Field | None:
        for section in self.sections:
            if section.id == path[0]:
                return _find(section.fields, path[1:])
        return None


def scope_fields(fields: tuple[Field, ...]) -> Iterator[Field]:
    """The fields about the person of a section or group: groups bound to a person of their
    own, and repeated groups bound to no one, are left out (they are scopes of their own, or
    have no items to fill); other groups are walked."""
    for f in fields:
        if f.is_group:
            if f.person is None and not f.repeat:
                yield from scope_fields(f.fields)
        else:
            yield f


def _leaves(fields: tuple[Field, ...]) -> Iterator[Field]:
    for f in fields:
        if f.is_group:
            yield from _leaves(f.fields)
        else:
            yield f


def _find(fields: tuple[Field, ...], rest: tuple[str, ...]) -> Field | None:
    for f in fields:
        if f.id == rest[0]:
            if len(rest) == 1:
                return f
            return _find(f.fields, rest[1:]) if f.is_group else None
    return None


def common_prefix(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    """The innermost object two paths share: where a condition between them is compiled."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]

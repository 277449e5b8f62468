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
    "time": "Giờ, phút",
    "date_time": "Giờ, phút, ngày, tháng, năm",
    "id_document": "Giấy tờ tùy thân (loại và số)",
    "place": "Nơi chốn (trong nước, nước ngoài hoặc tên đơn vị hành chính cũ)",
    "computed": "Văn bản tự tạo từ câu trả lời",
}

#: Kinds of rules across fields (``rules:`` of a form), with what each means to designers.
RULE_KINDS: dict[str, str] = {
    "at_least_one": "Phải điền ít nhất một trong các trường",
    "at_most_one": "Chỉ được điền nhiều nhất một trong các trường",
    "exactly_one": "Phải điền đúng một trong các trường",
    "not_after": "Trường trước không được sau trường sau (ngày, giờ, số)",
    "not_future": "Không được là ngày, giờ trong tương lai",
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
    """Where a bound field's value comes from. ``record`` is a path ``register.field``; a
    binding chosen by an answer (``by``) reads ``records[answer]`` instead, and nothing while
    the answer is not given (``record`` is then the first choice, for reports that need one)."""

    record: str  # register.field
    mode: str  # "verified" or "suggested"
    #: the path of the choice field whose answer picks the record
    by: tuple[str, ...] | None = None
    #: (answer code, record path) pairs, in the order written
    records: tuple[tuple[str, str], ...] = ()

    def all_records(self) -> tuple[str, ...]:
        """Every record path the binding may read."""
        return tuple(r for _, r in self.records) if self.by else (self.record,)

    def record_for(self, answer: Any) -> str | None:
        """The record path for this answer of ``by`` (None: no answer, or one that names
        none); a binding without ``by`` always reads ``record``."""
        if self.by is None:
            return self.record
        return next((r for code, r in self.records if code == answer), None)


@dataclass(frozen=True)
class Person:
    """Who a group's fields are about: the first linked person in ``relations`` (optionally of
    the given sex) that the registers know for the declarant.

    Or a person the citizen names: ``named_by`` is the path of a ``personal_id`` field whose
    typed number says who (the form's ``allowed`` relations say which links to the declarant
    let prefill read that person's records; anyone else's are only checked, never shown), or
    ``relation_by`` is the path of a choice field whose answer picks the relation
    (``relation_map``: answer code -> relation; by default the relationship list's own)."""

    relations: tuple[str, ...] = ()
    sex: str | None = None
    named_by: tuple[str, ...] | None = None
    relation_by: tuple[str, ...] | None = None
    relation_map: tuple[tuple[str, str], ...] = ()
    #: relations to the declarant under which a named person's records may be read
    allowed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Condition:
    """Show and require a field only when ``field`` (a path of ids) has a value, equals
    ``equals``, is one of ``one_of``, or (``empty``) has no value; or when all of ``all_of``,
    any of ``any_of``, or not ``negate`` holds (then ``field`` is empty)."""

    field: tuple[str, ...] = ()
    equals: Any = None
    one_of: tuple[Any, ...] | None = None
    empty: bool = False
    all_of: tuple[Condition, ...] = ()
    any_of: tuple[Condition, ...] = ()
    negate: Condition | None = None

    def fields(self) -> Iterator[tuple[str, ...]]:
        """Every field path the condition reads."""
        if self.field:
            yield self.field
        for c in (*self.all_of, *self.any_of, *((self.negate,) if self.negate else ())):
            yield from c.fields()


@dataclass(frozen=True)
class Rule:
    """A rule across fields (``RULE_KINDS``), checked on the server and, where JSON Schema can
    say it, in the compiled schema. ``fields`` are paths from the form root; ``message`` is
    the designer's Vietnamese message (else one naming the fields is made)."""

    kind: str
    fields: tuple[tuple[str, ...], ...]
    message: str | None = None


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
    #: text: a regular expression the whole value must match, and the message when it does not
    pattern: str | None = None
    pattern_message: str | None = None
    #: personal_id: also take the 9-digit number of an old identity card (CMND)
    old_id_card: bool = False
    #: computed (and commitment): the text, with ``{path}`` for answers (a choice by its label)
    template: str | None = None
    #: place: which kinds of place are offered ("current", "abroad", "former")
    places: tuple[str, ...] = ()

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
    rules: tuple[Rule, ...] = ()

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

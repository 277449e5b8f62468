"""Reading a form definition (YAML or JSON) and checking it.

A designer who makes mistakes should learn about all of them at once, each with the file, the
path inside it and what is wrong, so :func:`parse` never stops at the first problem and never
lets a Python exception reach the designer: everything wrong becomes a :class:`Problem`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeGuard

import yaml

from forms import codelists, registers
from forms.codelists import Code
from forms.model import (
    AGENCY_LEVELS,
    DROP_REASONS,
    FIELD_TYPES,
    RULE_KINDS,
    Condition,
    Dropped,
    Field,
    FormDefinition,
    Person,
    Prefill,
    Rule,
    Section,
    common_prefix,
    scope_fields,
)

#: Explicit limits, so that a definition cannot exhaust the service.
MAX_DEFINITION_BYTES = 512 * 1024
MAX_GROUP_DEPTH = 3  # groups inside groups inside a section
MAX_FIELDS = 400
MAX_REPEAT = 200  # items in one repeated group
DEFAULT_REPEAT = 20
MAX_CODES = 1000
#: codes offered across all choice fields (each field counts its whole list): the compiled
#: schema spells every field's list out, so 400 fields of 1000 codes would make an 18 MB schema
#: in seconds; the catalogue's largest form offers 928
MAX_CHOICES = 20_000
MAX_LABEL = 500
#: Limits on the document itself, checked while it is read, before anything is built from it:
#: the largest catalogue form has 460 nodes and 7 levels of nesting.
MAX_NODES = 20_000  # scalars, lists and mappings (keys included)
MAX_NESTING = 32  # lists and mappings inside one another
MAX_PROBLEMS = 200  # problems listed in one answer; the rest are only counted
MAX_PATTERN = 200  # characters of a text field's pattern
MAX_TEMPLATE = 2000  # characters of a computed text's (or commitment's) template
MAX_RULES = 100  # rules across fields in one form
MAX_RULE_FIELDS = 20  # fields named by one rule
MAX_CONDITION_DEPTH = 4  # all/any/not inside one another in one condition

#: the record whose field in a section or group says whose records a typed-person check reads
PERSONAL_ID_RECORD = "population.personal_id"

FORM_ID = re.compile(r"^[a-z][a-z0-9-]{2,79}$")
IDENT = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
PROCEDURE_CODE = re.compile(r"^[0-9A-Za-z.\-]{1,40}$")
MEDIA_TYPES = ("application/pdf", "image/jpeg", "image/png")

_FORM_KEYS = {
    "id", "version", "title", "legal_basis", "procedure_code", "procedure_name", "agency_level",
    "description", "code_lists", "sections", "dropped", "processing_days", "rules",
}
_SECTION_KEYS = {"id", "title", "help", "person", "fields"}
_COMMON_KEYS = {"id", "type", "label", "help", "required", "official", "prefill", "when",
                "check_typed"}
_TYPE_KEYS: dict[str, set[str]] = {
    "text": {"max_length", "pattern", "pattern_message"},
    "long_text": {"max_length"},
    "date": set(),
    "partial_date": {"precision"},
    "personal_id": {"old_id_card"},
    "tax_code": set(),
    "phone": set(),
    "email": set(),
    "integer": {"minimum", "maximum"},
    "money": {"maximum"},
    "boolean": set(),
    "choice": {"codes", "multiple"},
    "address": {"detail"},
    "group": {"fields", "repeat", "person"},
    "attachment": {"media_types", "max_files"},
    "commitment": {"template"},
    "time": set(),
    "date_time": set(),
    "id_document": set(),
    "place": {"places"},
    "computed": {"template"},
}
#: Which record kinds a field of each type can be filled from.
_ACCEPTS: dict[str, set[str]] = {
    "text": {"text", "personal_id", "tax_code", "integer", "phone", "email"},
    "long_text": {"text", "long_text"},
    "date": {"date"},
    "partial_date": {"date", "partial_date"},
    "personal_id": {"personal_id"},
    "tax_code": {"tax_code"},
    "phone": {"phone"},
    "email": {"email"},
    "integer": {"integer"},
    "money": {"money", "integer"},
    "boolean": {"boolean"},
    "address": {"address"},
    "time": {"time"},
    "date_time": {"date_time"},
    # a personal ID number fills the document {"type": "dinh_danh", "number": …}
    "id_document": {"id_document", "personal_id"},
    # an address fills the current branch
    "place": {"place", "address"},
}
#: Kinds of place a ``place`` field may offer, with their Vietnamese names.
PLACE_KINDS: dict[str, str] = {
    "current": "Trong nước (đơn vị hành chính hiện nay)",
    "abroad": "Nước ngoài",
    "former": "Tên đơn vị hành chính cũ",
}
#: Named patterns for text fields (``pattern: passport``): (regular expression, message).
PATTERN_PRESETS: dict[str, tuple[str, str]] = {
    "passport": ("[A-Z][0-9]{7}",
                 "Số hộ chiếu Việt Nam gồm 1 chữ cái in hoa và 7 chữ số (ví dụ C1234567)."),
    "driving_licence": ("[0-9]{12}", "Số giấy phép lái xe gồm 12 chữ số."),
    "social_insurance_code": ("[0-9]{10}", "Mã số bảo hiểm xã hội gồm 10 chữ số."),
    "old_id_card": ("[0-9]{9}", "Số chứng minh nhân dân gồm 9 chữ số."),
}
#: Types a rule ``not_after`` may compare, by what can be compared with what.
_ORDERED: dict[str, str] = {
    "date": "calendar", "partial_date": "calendar", "date_time": "calendar",
    "time": "time", "integer": "number", "money": "number",
}
_NOT_FUTURE = ("date", "date_time", "partial_date")
#: Types whose value is an object: a condition can only ask whether they have one.
_OBJECT_TYPES = ("address", "id_document", "place", "attachment")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class Problem:
    file: str
    path: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "path": self.path, "code": self.code, "message": self.message}


class DefinitionError(Exception):
    """A definition that cannot be used, with every problem found in it."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.file}:{p.path}: {p.message}" for p in problems))


#: libyaml's parser when the PyYAML wheel has it: four times faster than the pure-Python one
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _refuse(file: str, where: str, code: str, message: str) -> DefinitionError:
    return DefinitionError([Problem(file, where, code, message)])


def _too_many_nodes(file: str, where: str) -> DefinitionError:
    return _refuse(file, where, "too_many_nodes",
                   f"Định nghĩa có quá nhiều phần tử (tối đa {MAX_NODES} giá trị, danh sách "
                   "và đối tượng).")


def _too_deep(file: str, where: str) -> DefinitionError:
    return _refuse(file, where, "too_deep",
                   f"Tài liệu lồng nhau quá sâu (tối đa {MAX_NESTING} cấp).")


def _at(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""


def _scan_yaml(text: str, file: str) -> None:
    """Walk the YAML event stream before anything is built, refusing aliases (a few of them
    expand to gigabytes), too many nodes and too deep nesting. The walk is flat and stops at
    the first limit passed, so a hostile document costs no more than a legitimate one."""
    loader = _YAML_LOADER(text)
    nodes = depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.AliasEvent):
                raise _refuse(file, _at(event.start_mark), "malformed",
                              "YAML không hợp lệ: không dùng bí danh (*tên) trong định nghĩa "
                              "tờ khai.")
            if isinstance(event, yaml.NodeEvent):
                nodes += 1
                if nodes > MAX_NODES:
                    raise _too_many_nodes(file, _at(event.start_mark))
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_NESTING:
                    raise _too_deep(file, _at(event.start_mark))
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    finally:
        loader.dispose()


def _scan_json(data: Any, file: str) -> None:
    """The same node and nesting limits for a definition sent as JSON (already parsed: the C
    JSON parser is fast, and stops at its own recursion limit)."""
    nodes = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if isinstance(value, dict | list):
            if depth + 1 > MAX_NESTING:
                raise _too_deep(file, "")
            children = list(value.values()) if isinstance(value, dict) else value
            nodes += len(value) if isinstance(value, dict) else 0  # the keys
            stack.extend((child, depth + 1) for child in children)
        if nodes > MAX_NODES:
            raise _too_many_nodes(file, "")


def load_document(text: str | bytes, file: str, fmt: str | None = None) -> dict[str, Any]:
    """Read a YAML or JSON document into plain data; raise :class:`DefinitionError` if it cannot
    be read (too large, too many nodes, too deep, malformed, not a mapping)."""
    size = len(text.encode() if isinstance(text, str) else text)
    if size > MAX_DEFINITION_BYTES:
        raise _refuse(file, "", "too_large",
                      f"Định nghĩa quá lớn ({size} byte; tối đa {MAX_DEFINITION_BYTES} byte).")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _refuse(file, "", "bad_encoding",
                          f"Tệp không phải UTF-8 (byte {exc.start}).") from None
    fmt = fmt or ("json" if file.endswith(".json") else "yaml")
    try:
        if fmt == "json":
            data = json.loads(text)
            _scan_json(data, file)
        else:
            _scan_yaml(text, file)
            data = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 (a safe loader)
    except json.JSONDecodeError as exc:
        raise _refuse(file, f"line {exc.lineno}, column {exc.colno}", "malformed",
                      f"JSON không hợp lệ: {exc.msg}.") from None
    except yaml.YAMLError as exc:
        reason = getattr(exc, "problem", None) or str(exc)
        raise _refuse(file, _at(getattr(exc, "problem_mark", None)), "malformed",
                      f"YAML không hợp lệ: {reason}.") from None
    except RecursionError:
        raise _too_deep(file, "") from None
    if not isinstance(data, dict):
        raise _refuse(file, "", "not_a_mapping", "Định nghĩa phải là một đối tượng (mapping).")
    return data


def parse_text(text: str | bytes, file: str, fmt: str | None = None) -> FormDefinition:
    return parse(load_document(text, file, fmt), file)


def parse(data: dict[str, Any], file: str = "<definition>") -> FormDefinition:
    """Check a definition and build the :class:`FormDefinition`, or raise
    :class:`DefinitionError` listing every problem."""
    checker = _Checker(file)
    form = checker.form(data)
    if checker.unlisted:
        checker.problems.append(Problem(
            file, "", "too_many_problems",
            f"Còn {checker.unlisted} lỗi khác không liệt kê ở đây (chỉ liệt kê {MAX_PROBLEMS} "
            "lỗi đầu); hãy sửa các lỗi trên rồi gửi lại."))
    if checker.problems or form is None:
        raise DefinitionError(checker.problems)
    return form


def normalise(value: Any) -> Any:
    """NFC-normalise every string of a JSON-like value, so that text typed or stored in two
    Unicode forms compares and renders the same everywhere."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, dict):
        return {normalise(k): normalise(v) for k, v in value.items()}
    return value


class _Checker:
    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        self.unlisted = 0  # problems past MAX_PROBLEMS: counted, not listed
        self.code_lists: dict[str, tuple[Code, ...]] = {}
        self.field_count = 0
        # conditions are checked once every field is known: (path in file, condition, field path)
        # (the simple conditions inside ``all``/``any``/``not`` each count as one)
        self._conditions: list[tuple[str, Condition, tuple[str, ...]]] = []
        # the simple conditions of the condition being read, with their place in the file
        self._leaves: list[tuple[str, Condition]] = []
        self._by_path: dict[tuple[str, ...], Field] = {}
        # where each field's (or group's) ``when`` is in the file
        self._when_at: dict[tuple[str, ...], str] = {}
        self._repeated: set[tuple[str, ...]] = set()
        # checks of references between fields, run once every field is known
        self._deferred: list[Callable[[], None]] = []
        # the check of the person just read (named_by, relation_by), given the scope's fields
        self._person_check: Callable[[tuple[Field, ...]], None] | None = None

    def problem(self, path: str, code: str, message: str) -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            self.unlisted += 1
            return
        self.problems.append(Problem(self.file, path, code, message))

    # -- helpers ------------------------------------------------------------------------------
    def _unknown_keys(self, data: dict[str, Any], allowed: set[str], path: str) -> None:
        for key in data:
            if key not in allowed:
                self.problem(_join(path, str(key)), "unknown_key",
                             f"Khóa không được hỗ trợ: '{key}'. Các khóa hợp lệ: "
                             f"{', '.join(sorted(allowed))}.")

    def _text(self, data: dict[str, Any], key: str, path: str, *, required: bool = True,
              limit: int = MAX_LABEL) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                self.problem(_join(path, key), "missing", f"Thiếu '{key}'.")
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(_join(path, key), "not_text", f"'{key}' phải là chuỗi không rỗng.")
            return None
        if len(value) > limit:
            self.problem(_join(path, key), "too_long", f"'{key}' dài quá {limit} ký tự.")
            return None
        return unicodedata.normalize("NFC", value.strip())

    def _ident(self, data: dict[str, Any], path: str) -> str | None:
        value = data.get("id")
        if value is None:
            self.problem(_join(path, "id"), "missing", "Thiếu 'id'.")
            return None
        if not isinstance(value, str) or not IDENT.match(value):
            self.problem(_join(path, "id"), "bad_id",
                         f"Mã '{value}' không hợp lệ: dùng chữ thường không dấu, chữ số và '_', "
                         "bắt đầu bằng chữ cái, tối đa 63 ký tự.")
            return None
        return value

    def _int(self, data: dict[str, Any], key: str, path: str, lo: int, hi: int) -> int | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            self.problem(_join(path, key), "bad_number",
                         f"'{key}' phải là số nguyên từ {lo} đến {hi}.")
            return None
        return value

    def _bool(self, data: dict[str, Any], key: str, path: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.problem(_join(path, key), "not_boolean", f"'{key}' phải là true hoặc false.")
            return default
        return value

    # -- the form -----------------------------------------------------------------------------
    def form(self, data: dict[str, Any]) -> FormDefinition | None:
        self._unknown_keys(data, _FORM_KEYS, "")
        form_id = data.get("id")
        if not isinstance(form_id, str) or not FORM_ID.match(form_id):
            self.problem("id", "bad_form_id" if form_id is not None else "missing",
                         "Mã tờ khai phải gồm 3-80 ký tự chữ thường không dấu, chữ số và '-', "
                         "bắt đầu bằng chữ cái.")
            form_id = None
        version = data.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 9999:
            self.problem("version", "bad_version" if version is not None else "missing",
                         "Phiên bản phải là số nguyên từ 1 đến 9999.")
            version = None
        title = self._text(data, "title", "")
        legal_basis = self._text(data, "legal_basis", "", limit=2000)
        procedure_name = self._text(data, "procedure_name", "", required=False)
        description = self._text(data, "description", "", required=False, limit=4000)
        procedure_code = data.get("procedure_code")
        if not isinstance(procedure_code, str) or not PROCEDURE_CODE.match(procedure_code):
            self.problem("procedure_code", "bad_procedure_code" if procedure_code else "missing",
                         "Mã thủ tục hành chính (theo Cơ sở dữ liệu quốc gia về thủ tục hành "
                         "chính, ví dụ '1.001193') là bắt buộc.")
            procedure_code = None
        level = data.get("agency_level")
        if not _is_one_of(level, AGENCY_LEVELS):
            self.problem("agency_level", "bad_agency_level" if level else "missing",
                         f"Cấp cơ quan giải quyết phải là một trong: {', '.join(AGENCY_LEVELS)}.")
        processing_days = self._int(data, "processing_days", "", 0, 365)
        self._code_lists(data.get("code_lists"))
        sections = self._sections(data.get("sections"))
        dropped = self._dropped(data.get("dropped"))
        rules = self._rules(data.get("rules"))
        self._check_conditions()
        self._check_references()
        self._check_choices()
        if self.problems:
            return None
        # each part missing or wrong is a problem: without any, all of them were read
        assert form_id is not None and version is not None and procedure_code is not None
        assert title is not None and legal_basis is not None and _is_one_of(level, AGENCY_LEVELS)
        return FormDefinition(
            id=form_id, version=version, title=title, legal_basis=legal_basis,
            procedure_code=procedure_code, agency_level=level,
            sections=sections, code_lists=self.code_lists, dropped=dropped,
            description=description, procedure_name=procedure_name,
            processing_days=processing_days, rules=rules,
        )

    def _check_choices(self) -> None:
        choices = sum(len(codelists.lookup(f.codes, self.code_lists))
                      for f in self._by_path.values() if f.codes)
        # an abroad place offers every country
        choices += sum(len(codelists.nationalities()) for f in self._by_path.values()
                       if "abroad" in f.places)
        if choices > MAX_CHOICES:
            self.problem("sections", "too_many_choices",
                         f"Các trường chọn của tờ khai có tổng cộng {choices} mã; tối đa "
                         f"{MAX_CHOICES} (mỗi trường tính cả danh mục của nó).")

    def _code_lists(self, data: Any) -> None:
        if data is None:
            return
        if not isinstance(data, dict):
            self.problem("code_lists", "not_a_mapping",
                         "'code_lists' phải là một đối tượng: tên danh mục -> danh sách mã.")
            return
        for name, items in data.items():
            path = f"code_lists.{name}"
            if not isinstance(name, str) or not IDENT.match(name):
                self.problem(path, "bad_id", f"Tên danh mục '{name}' không hợp lệ.")
                continue
            if name in codelists.BUILT_IN:
                self.problem(path, "shadows_built_in",
                             f"Danh mục '{name}' trùng tên danh mục dùng chung; hãy đặt tên khác.")
                continue
            if not isinstance(items, list) or not items:
                self.problem(path, "empty_code_list", f"Danh mục '{name}' rỗng.")
                continue
            if len(items) > MAX_CODES:
                self.problem(path, "too_many_codes", f"Danh mục có quá {MAX_CODES} mã.")
                continue
            codes: list[Code] = []
            seen: set[str] = set()
            for i, item in enumerate(items):
                ipath = f"{path}[{i}]"
                if not isinstance(item, dict) or set(item) != {"code", "label"}:
                    self.problem(ipath, "bad_code", "Mỗi mục cần đúng hai khóa 'code' và 'label'.")
                    continue
                code, label = item["code"], item["label"]
                if not isinstance(code, str) or not code or len(code) > 64:
                    self.problem(_join(ipath, "code"), "bad_code", "Mã phải là chuỗi 1-64 ký tự.")
                    continue
                if code in seen:
                    self.problem(_join(ipath, "code"), "duplicate_code", f"Mã '{code}' bị trùng.")
                    continue
                label = self._text(item, "label", ipath)
                if label is None:
                    continue
                seen.add(code)
                codes.append(Code(code, label))
            self.code_lists[name] = tuple(codes)

    def _sections(self, data: Any) -> tuple[Section, ...]:
        if not isinstance(data, list) or not data:
            self.problem("sections", "missing", "Tờ khai cần ít nhất một phần ('sections').")
            return ()
        sections: list[Section] = []
        ids: set[str] = set()
        for i, raw in enumerate(data):
            path = f"sections[{i}]"
            if not isinstance(raw, dict):
                self.problem(path, "not_a_mapping", "Mỗi phần phải là một đối tượng.")
                continue
            self._unknown_keys(raw, _SECTION_KEYS, path)
            sid = self._ident(raw, path)
            if sid is not None and sid in ids:
                self.problem(_join(path, "id"), "duplicate_id", f"Mã phần '{sid}' bị trùng.")
                sid = None
            title = self._text(raw, "title", path)
            help_ = self._text(raw, "help", path, required=False, limit=2000)
            person = self._person(raw.get("person"), _join(path, "person"), (sid or "?",))
            check = self._take_person_check()
            fields = self._fields(raw.get("fields"), _join(path, "fields"), (sid or "?",), 0)
            if check is not None:
                self._deferred.append(partial(check, fields))
            self._check_typed_scope(fields, path, person)
            if sid is None or title is None:
                continue
            ids.add(sid)
            sections.append(Section(sid, title, fields, person, help_))
        return tuple(sections)

    def _person(self, data: Any, path: str, scope: tuple[str, ...]) -> Person | None:
        if data is None:
            return None
        if isinstance(data, str):
            data = {"relation": data}
        if not isinstance(data, dict):
            self.problem(path, "bad_person", "'person' phải là quan hệ hoặc đối tượng.")
            return None
        self._unknown_keys(data, {"relation", "sex", "named_by", "relation_by", "map", "allowed"},
                           path)
        kinds = [k for k in ("relation", "named_by", "relation_by") if k in data]
        if len(kinds) != 1:
            self.problem(path, "bad_person",
                         "'person' cần đúng một trong: 'relation' (quan hệ cố định), 'named_by' "
                         "(người có số định danh nhập ở một trường) hoặc 'relation_by' (quan hệ "
                         "chọn ở một trường).")
            return None
        for key, needs in (("sex", "relation"), ("allowed", "named_by"), ("map", "relation_by")):
            if key in data and needs not in data:
                self.problem(_join(path, key), "bad_person",
                             f"'{key}' chỉ dùng cùng với '{needs}'.")
                return None
        if "named_by" in data:
            return self._named_person(data, path, scope)
        if "relation_by" in data:
            return self._chosen_person(data, path, scope)
        relations = data.get("relation")
        relations = [relations] if isinstance(relations, str) else relations
        if not isinstance(relations, list) or not relations:
            self.problem(_join(path, "relation"), "missing", "Thiếu quan hệ với người kê khai.")
            return None
        ok = True
        for r in relations:
            if not _is_one_of(r, registers.PERSONS):
                self.problem(_join(path, "relation"), "unknown_relation",
                             f"Quan hệ '{r}' không có trong sổ sách; hợp lệ: "
                             f"{', '.join(registers.PERSONS)}.")
                ok = False
        sex = data.get("sex")
        if sex is not None and not _is_one_of(sex, {c.code for c in codelists.SEX}):
            self.problem(_join(path, "sex"), "bad_sex", "'sex' phải là 'nam' hoặc 'nu'.")
            ok = False
        return Person(tuple(relations), sex) if ok else None

    def _take_person_check(self) -> Callable[[tuple[Field, ...]], None] | None:
        check, self._person_check = self._person_check, None
        return check

    def _relations(self, values: Any, path: str, *, declarant: bool = False,
                   ) -> tuple[str, ...] | None:
        """Relations to the declarant a named person may have (``allowed``), or an answer may
        name (the values of a ``map``, the declarant too): those the registers know."""
        known = [r for r in registers.PERSONS if declarant or r != "declarant"]
        if not isinstance(values, list) or not all(_is_one_of(r, known) for r in values):
            self.problem(path, "unknown_relation",
                         f"Quan hệ phải là danh sách gồm: {', '.join(known)}.")
            return None
        return tuple(dict.fromkeys(values))

    def _named_person(self, data: dict[str, Any], path: str, scope: tuple[str, ...],
                      ) -> Person | None:
        ref = self._ref(data["named_by"], _join(path, "named_by"), scope)
        allowed = self._relations(data.get("allowed", []), _join(path, "allowed"))
        if ref is None or allowed is None:
            return None
        where = _join(path, "named_by")

        def check(fields: tuple[Field, ...]) -> None:
            target = self._by_path.get(ref)
            if target is None or all(f.path != ref for f in scope_fields(fields)):
                self.problem(where, "bad_named_by",
                             f"'named_by' phải là một trường số định danh cá nhân của chính "
                             f"phần/nhóm này; không có trường '{'.'.join(ref)}' trong đó.")
            elif target.type != "personal_id":
                self.problem(where, "bad_named_by",
                             f"Trường '{'.'.join(ref)}' phải có kiểu 'personal_id' (kiểu hiện "
                             f"tại: '{target.type}').")
            elif target.prefill is not None:
                self.problem(where, "bad_named_by",
                             f"Trường '{'.'.join(ref)}' là số người dân nhập để chỉ người được "
                             "khai, nên không được gắn 'prefill'.")

        self._person_check = check
        return Person(named_by=ref, allowed=allowed)

    def _chosen_person(self, data: dict[str, Any], path: str, scope: tuple[str, ...],
                       ) -> Person | None:
        ref = self._ref(data["relation_by"], _join(path, "relation_by"), scope)
        raw_map = data.get("map")
        mapping: dict[str, str] = dict(codelists.RELATIONSHIP_RELATIONS)
        if raw_map is not None:
            if not isinstance(raw_map, dict) or not raw_map:
                self.problem(_join(path, "map"), "bad_map",
                             "'map' là đối tượng: mã trong danh mục -> quan hệ.")
                return None
            values = self._relations(list(raw_map.values()), _join(path, "map"),
                                     declarant=True)
            if values is None:
                return None
            mapping = {str(k): v for k, v in raw_map.items()}
        if ref is None:
            return None
        where = _join(path, "relation_by")

        def check(_fields: tuple[Field, ...]) -> None:
            target = self._by_path.get(ref)
            if target is None or target.type != "choice" or target.multiple:
                self.problem(where, "bad_relation_by",
                             f"'relation_by' phải là một trường chọn một mã ('choice'); "
                             f"'{'.'.join(ref)}' không phải.")
                return
            if self._crosses_repeat(ref, (*scope, "_")):
                self.problem(where, "bad_relation_by",
                             "Không thể dựa vào trường nằm trong nhóm lặp lại từ bên ngoài "
                             "nhóm đó.")
                return
            if raw_map is None and target.codes != "relationship":
                self.problem(_join(path, "map"), "missing",
                             f"Trường '{'.'.join(ref)}' dùng danh mục '{target.codes}': cần "
                             "'map' cho biết mỗi mã là quan hệ nào.")
                return
            codes = {c.code for c in codelists.lookup(target.codes or "", self.code_lists)}
            for code in mapping if raw_map is not None else ():
                if code not in codes:
                    self.problem(_join(path, f"map.{code}"), "bad_map",
                                 f"Mã '{code}' không có trong danh mục '{target.codes}'.")

        self._person_check = check
        return Person(relation_by=ref, relation_map=tuple(mapping.items()))

    def _ref(self, value: Any, path: str, parent: tuple[str, ...]) -> tuple[str, ...] | None:
        """A field path as in ``when``: a sibling's id, or dotted from the form root."""
        if not isinstance(value, str) or not all(IDENT.match(p) for p in value.split(".")):
            self.problem(path, "bad_reference",
                         "Cần mã một trường cùng phần/nhóm hoặc đường dẫn 'phan.truong'.")
            return None
        parts = tuple(value.split("."))
        return (*parent, *parts) if len(parts) == 1 else parts

    def _crosses_repeat(self, target: tuple[str, ...], owner: tuple[str, ...]) -> bool:
        """Whether the field at ``owner`` would read ``target`` inside a repeated group it is
        not in: which item would be meant is unknown."""
        common = common_prefix(target[:-1], owner[:-1])
        return any(target[:i] in self._repeated for i in range(len(common) + 1, len(target)))

    def _fields(self, data: Any, path: str, parent: tuple[str, ...], depth: int,
                ) -> tuple[Field, ...]:
        if not isinstance(data, list) or not data:
            self.problem(path, "missing", "Cần ít nhất một trường ('fields').")
            return ()
        fields: list[Field] = []
        ids: set[str] = set()
        for i, raw in enumerate(data):
            fpath = f"{path}[{i}]"
            if not isinstance(raw, dict):
                self.problem(fpath, "not_a_mapping", "Mỗi trường phải là một đối tượng.")
                continue
            f = self._field(raw, fpath, parent, depth)
            if f is None:
                continue
            if f.id in ids:
                self.problem(_join(fpath, "id"), "duplicate_id",
                             f"Mã trường '{f.id}' bị trùng trong cùng một phần/nhóm.")
                continue
            ids.add(f.id)
            fields.append(f)
        return tuple(fields)

    def _field(self, raw: dict[str, Any], path: str, parent: tuple[str, ...], depth: int,
               ) -> Field | None:
        self.field_count += 1
        if self.field_count == MAX_FIELDS + 1:
            self.problem(path, "too_many_fields", f"Tờ khai có quá {MAX_FIELDS} trường.")
        fid = self._ident(raw, path)
        ftype = raw.get("type")
        if not _is_one_of(ftype, FIELD_TYPES):
            self.problem(_join(path, "type"), "unknown_type" if ftype else "missing",
                         f"Kiểu trường '{ftype}' không được hỗ trợ; hợp lệ: "
                         f"{', '.join(FIELD_TYPES)}.")
            return None
        self._unknown_keys(raw, _COMMON_KEYS | _TYPE_KEYS[ftype], path)
        label = self._text(raw, "label", path, limit=2000 if ftype == "commitment" else MAX_LABEL)
        help_ = self._text(raw, "help", path, required=False, limit=2000)
        fpath = (*parent, fid or "?")
        opts: dict[str, Any] = {
            "required": self._bool(raw, "required", path, ftype != "computed"),
            "official": self._bool(raw, "official", path, True),
        }
        if ftype == "commitment" and raw.get("required") is False:
            self.problem(_join(path, "required"), "commitment_optional",
                         "Lời cam đoan luôn bắt buộc.")
        if ftype == "computed" and raw.get("required") is True:
            self.problem(_join(path, "required"), "computed_required",
                         "Văn bản tự tạo không do người dân nhập nên không thể bắt buộc.")
            opts["required"] = False
        if ftype in ("computed", "commitment") and (
                "template" in raw or ftype == "computed"):
            opts["template"] = self._template(raw.get("template"), _join(path, "template"),
                                              fpath)
        if ftype in ("text", "long_text"):
            top = 200 if ftype == "text" else 4000
            opts["max_length"] = self._int(raw, "max_length", path, 1, top) or top
            if ftype == "text":
                opts["pattern"], opts["pattern_message"] = self._pattern(raw, path)
        elif ftype == "personal_id":
            opts["old_id_card"] = self._bool(raw, "old_id_card", path, False)
        elif ftype == "place":
            opts["places"] = self._places(raw.get("places"), _join(path, "places"))
        elif ftype == "partial_date":
            precision = raw.get("precision", "any")
            if not _is_one_of(precision, ("year", "month", "any")):
                self.problem(_join(path, "precision"), "bad_precision",
                             "'precision' phải là 'year', 'month' hoặc 'any'.")
            opts["precision"] = precision
        elif ftype in ("integer", "money"):
            opts["minimum"] = self._int(raw, "minimum", path, -(10**15), 10**15)
            opts["maximum"] = self._int(raw, "maximum", path, -(10**15), 10**15)
            if ftype == "money":
                opts["minimum"] = 0
        elif ftype == "choice":
            opts["codes"] = self._codes_ref(raw.get("codes"), _join(path, "codes"))
            opts["multiple"] = self._bool(raw, "multiple", path, False)
        elif ftype == "address":
            detail = raw.get("detail", "optional")
            if not _is_one_of(detail, ("required", "optional", "none")):
                self.problem(_join(path, "detail"), "bad_detail",
                             "'detail' phải là 'required', 'optional' hoặc 'none'.")
            opts["detail"] = detail
        elif ftype == "attachment":
            media = raw.get("media_types", list(MEDIA_TYPES))
            if not isinstance(media, list) or not media or any(m not in MEDIA_TYPES for m in media):
                self.problem(_join(path, "media_types"), "bad_media_types",
                             f"'media_types' chỉ gồm: {', '.join(MEDIA_TYPES)}.")
                media = list(MEDIA_TYPES)
            opts["media_types"] = tuple(media)
            opts["max_files"] = self._int(raw, "max_files", path, 1, 20) or 1
        elif ftype == "group":
            if depth >= MAX_GROUP_DEPTH:
                self.problem(path, "too_deep",
                             f"Nhóm lồng nhau quá {MAX_GROUP_DEPTH} cấp.")
                return None
            opts["repeat"] = self._repeat(raw.get("repeat"), _join(path, "repeat"))
            if opts["repeat"]:
                self._repeated.add(fpath)
            opts["person"] = self._person(raw.get("person"), _join(path, "person"), fpath)
            check = self._take_person_check()
            opts["fields"] = self._fields(raw.get("fields"), _join(path, "fields"), fpath,
                                          depth + 1)
            if check is not None:
                self._deferred.append(partial(check, opts["fields"]))
            if opts["person"] is not None:
                self._check_typed_scope(opts["fields"], path, opts["person"])
        prefill = self._prefill(raw.get("prefill"), _join(path, "prefill"), ftype,
                                opts.get("codes"), parent, fpath)
        when = self._condition(raw["when"], _join(path, "when"), parent) if "when" in raw else None
        leaves, self._leaves = self._leaves, []
        check_typed = self._bool(raw, "check_typed", path, False)
        if check_typed and raw.get("prefill") is None:
            self.problem(_join(path, "check_typed"), "check_needs_prefill",
                         "'check_typed' chỉ dùng cho trường gắn với bản ghi ('prefill'): "
                         "giá trị nhập được đối chiếu với bản ghi đó.")
        if fid is None or label is None:
            return None
        f = Field(id=fid, type=ftype, label=label, path=fpath, help=help_, prefill=prefill,
                  when=when, check_typed=check_typed, **opts)
        self._by_path[fpath] = f
        if when is not None:
            self._conditions.extend((where, leaf, fpath) for where, leaf in leaves)
            self._when_at[fpath] = _join(path, "when")
        return f

    def _check_typed_scope(self, fields: tuple[Field, ...], path: str,
                           person: Person | None) -> None:
        """Fields checked against a person's records need that person's personal ID number in
        the same section or group: it says whose records to compare with (a field bound to
        the number, or the field that names the person)."""
        about = list(scope_fields(fields))
        marked = [f for f in about if f.check_typed]
        if not marked:
            return
        named = person.named_by if person else None
        if not any(f.prefill and f.prefill.record == PERSONAL_ID_RECORD or f.path == named
                   for f in about):
            self.problem(path, "check_needs_personal_id",
                         "Phần/nhóm có trường 'check_typed' cần một trường gắn với "
                         f"'{PERSONAL_ID_RECORD}': số định danh của người được đối chiếu.")
        elif all(f.prefill and f.prefill.record == PERSONAL_ID_RECORD for f in marked):
            # the number alone would answer whether the person exists
            self.problem(path, "check_needs_more",
                         "Cần đánh dấu 'check_typed' cho ít nhất một trường khác ngoài số định "
                         "danh (ví dụ họ tên, ngày sinh): chỉ đối chiếu số định danh thì lộ việc "
                         "người đó có trong cơ sở dữ liệu hay không.")

    def _codes_ref(self, name: Any, path: str) -> str | None:
        if not isinstance(name, str):
            self.problem(path, "missing", "Trường chọn cần 'codes': tên danh mục.")
            return None
        if name in self.code_lists or codelists.built_in(name) is not None:
            return name
        self.problem(path, "unknown_code_list",
                     f"Danh mục '{name}' không tồn tại; dùng chung: "
                     f"{', '.join(codelists.BUILT_IN)}, hoặc khai báo trong 'code_lists'.")
        return None

    def _repeat(self, data: Any, path: str) -> tuple[int, int] | None:
        if data is None or data is False:
            return None
        if data is True:
            return (0, DEFAULT_REPEAT)
        if not isinstance(data, dict):
            self.problem(path, "bad_repeat", "'repeat' phải là true hoặc {min, max}.")
            return None
        self._unknown_keys(data, {"min", "max"}, path)
        lo = self._int(data, "min", path, 0, MAX_REPEAT)
        hi = self._int(data, "max", path, 1, MAX_REPEAT)
        lo = 0 if lo is None else lo
        hi = DEFAULT_REPEAT if hi is None else hi
        if lo > hi:
            self.problem(path, "bad_repeat", "'min' lớn hơn 'max'.")
        return (lo, hi)

    def _prefill(self, data: Any, path: str, ftype: str, codes: str | None,
                 parent: tuple[str, ...], owner: tuple[str, ...]) -> Prefill | None:
        if data is None:
            return None
        if isinstance(data, str):
            data = {"record": data}
        if not isinstance(data, dict):
            self.problem(path, "bad_prefill", "'prefill' phải là đường dẫn bản ghi hoặc đối tượng.")
            return None
        self._unknown_keys(data, {"record", "mode", "by", "records"}, path)
        mode = data.get("mode", "suggested")
        if not _is_one_of(mode, ("verified", "suggested")):
            self.problem(_join(path, "mode"), "bad_mode",
                         "'mode' phải là 'verified' (chỉ đọc) hoặc 'suggested' (sửa được).")
            mode = "suggested"  # the definition is refused; its record is still checked
        if ftype in ("group", "attachment", "commitment", "computed"):
            self.problem(path, "not_bindable",
                         f"Trường kiểu '{ftype}' không gắn được với bản ghi; gắn các trường "
                         "bên trong nó." if ftype == "group" else
                         f"Trường kiểu '{ftype}' không gắn được với bản ghi.")
            return None
        if "by" not in data and "records" not in data:
            record = data.get("record")
            if not self._fits(record, _join(path, "record"), ftype, codes):
                return None
            return Prefill(str(record), mode)
        if "record" in data or "by" not in data:
            self.problem(path, "bad_prefill",
                         "Dùng hoặc 'record' (một bản ghi), hoặc 'by' cùng 'records' (bản ghi "
                         "chọn theo câu trả lời của một trường).")
            return None
        by = self._ref(data["by"], _join(path, "by"), parent)
        records = data.get("records")
        if not isinstance(records, dict) or not records:
            self.problem(_join(path, "records"), "missing",
                         "'records' là đối tượng: mã câu trả lời -> bản ghi.")
            return None
        pairs = [(str(code), record) for code, record in records.items()]
        fits = [self._fits(r, _join(path, f"records.{c}"), ftype, codes) for c, r in pairs]
        if by is None or not all(fits):
            return None
        self._deferred.append(lambda: self._check_by(by, owner, pairs, path))
        return Prefill(pairs[0][1], mode, by=by, records=tuple(pairs))

    def _check_by(self, by: tuple[str, ...], owner: tuple[str, ...],
                  pairs: list[tuple[str, str]], path: str) -> None:
        target = self._by_path.get(by)
        where = _join(path, "by")
        if target is None or target.type != "choice" or target.multiple or target.path == owner:
            self.problem(where, "bad_prefill_by",
                         f"'by' phải là một trường chọn một mã ('choice') khác; "
                         f"'{'.'.join(by)}' không phải.")
            return
        if self._crosses_repeat(by, owner):
            self.problem(where, "bad_prefill_by",
                         "Không thể dựa vào trường nằm trong nhóm lặp lại từ bên ngoài nhóm đó.")
            return
        codes = {c.code for c in codelists.lookup(target.codes or "", self.code_lists)}
        for code, _ in pairs:
            if code not in codes:
                self.problem(_join(path, f"records.{code}"), "bad_prefill_by",
                             f"Mã '{code}' không có trong danh mục '{target.codes}' của trường "
                             f"'{'.'.join(by)}'.")

    def _fits(self, record: Any, path: str, ftype: str, codes: str | None) -> bool:
        """Whether ``record`` is a record path whose value can fill a field of this type."""
        if not isinstance(record, str) or (found := registers.lookup(record)) is None:
            self.problem(path, "unknown_record_path",
                         f"Không có bản ghi '{record}' trong danh mục dữ liệu của các cơ sở dữ "
                         "liệu (ví dụ 'population.full_name').")
            return False
        _, kind, _ = found
        if kind.startswith("choice:"):
            ok = ftype == "choice" and codes == kind.split(":", 1)[1]
            if not ok and ftype in ("text", "long_text"):
                ok = True  # a text field may show the label of a coded value
        else:
            ok = kind in _ACCEPTS.get(ftype, set())
        if not ok:
            self.problem(path, "incompatible_record",
                         f"Bản ghi '{record}' (kiểu {kind}) không điền được trường kiểu "
                         f"'{ftype}'" + (f" với danh mục '{codes}'" if codes else "") + ".")
        return ok

    def _condition(self, data: Any, path: str, parent: tuple[str, ...], depth: int = 0,
                   ) -> Condition | None:
        if isinstance(data, str):
            data = {"field": data}
        if isinstance(data, dict) and data.keys() & {"all", "any", "not"}:
            return self._composite(data, path, parent, depth)
        if not isinstance(data, dict) or "field" not in data:
            self.problem(path, "bad_condition",
                         "'when' cần 'field' (tùy chọn 'equals', 'in' hoặc 'empty'), hoặc một "
                         "trong 'all', 'any', 'not'.")
            return None
        self._unknown_keys(data, {"field", "equals", "in", "empty"}, path)
        target = self._ref(data["field"], _join(path, "field"), parent)
        if target is None:
            return None
        one_of = data.get("in")
        if one_of is not None and (not isinstance(one_of, list) or not one_of):
            self.problem(_join(path, "in"), "bad_condition", "'in' phải là danh sách không rỗng.")
            return None
        empty = data.get("empty", False)
        if not isinstance(empty, bool):
            self.problem(_join(path, "empty"), "bad_condition", "'empty' phải là true hoặc false.")
            return None
        if empty and ("equals" in data or "in" in data):
            self.problem(_join(path, "empty"), "bad_condition",
                         "'empty' không dùng cùng 'equals' hoặc 'in'.")
            return None
        leaf = Condition(target, data.get("equals"),
                         tuple(one_of) if one_of is not None else None, empty=empty)
        self._leaves.append((path, leaf))
        return leaf

    def _composite(self, data: dict[str, Any], path: str, parent: tuple[str, ...], depth: int,
                   ) -> Condition | None:
        if len(data) != 1:
            self.problem(path, "bad_condition",
                         "'all', 'any' hoặc 'not' phải đứng một mình trong một điều kiện.")
            return None
        if depth >= MAX_CONDITION_DEPTH:
            self.problem(path, "too_deep",
                         f"Điều kiện lồng nhau quá {MAX_CONDITION_DEPTH} cấp.")
            return None
        key, value = next(iter(data.items()))
        if key == "not":
            inner = self._condition(value, _join(path, "not"), parent, depth + 1)
            return Condition(negate=inner) if inner is not None else None
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_RULE_FIELDS:
            self.problem(_join(path, key), "bad_condition",
                         f"'{key}' là danh sách từ 1 đến {MAX_RULE_FIELDS} điều kiện.")
            return None
        parts = [self._condition(c, f"{_join(path, key)}[{i}]", parent, depth + 1)
                 for i, c in enumerate(value)]
        # the parts read are still checked: every problem is listed at once
        kept = tuple(p for p in parts if p is not None)
        if not kept:
            return None
        return Condition(all_of=kept) if key == "all" else Condition(any_of=kept)

    def _check_conditions(self) -> None:
        for path, leaf, owner in self._conditions:
            self._check_condition(path, leaf, owner)
        self._check_condition_cycles()

    def _check_condition_cycles(self) -> None:
        """Refuse conditions that read one another in a circle: whether a field is shown
        depends on its condition and its groups' conditions; if the fields these read depend,
        in turn, on the field itself, whether it is shown has no single answer (hiding one
        may show the other: ``drop_hidden``'s result would depend on the order)."""
        # edges: field -> (field read, the field or group whose condition reads it)
        edges: dict[tuple[str, ...], list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
        for fpath, f in self._by_path.items():
            if f.is_group:
                continue
            out = edges.setdefault(fpath, [])
            for i in range(len(fpath), 1, -1):
                owner = self._by_path.get(fpath[:i])
                if owner is None or owner.when is None:
                    continue
                for target in owner.when.fields():
                    read = self._by_path.get(target)
                    # unknown fields, groups and a field reading itself are refused already
                    if read is None or read.is_group or (target == fpath == owner.path):
                        continue
                    out.append((target, owner.path))
        reported: set[tuple[str, ...]] = set()
        for start in sorted(edges):
            if start in reported:
                continue
            cycle = _shortest_cycle(start, edges)
            if cycle is None:
                continue
            reported.update(node for node, _ in cycle)
            names = " → ".join(f"'{'.'.join(node)}'" for node, _ in cycle)
            first = f"'{'.'.join(cycle[0][0])}'"
            self.problem(self._when_at.get(cycle[0][1], ""), "condition_cycle",
                         f"Điều kiện hiển thị của các trường phụ thuộc vòng tròn vào nhau: "
                         f"{names} → {first} (trường nào được hiện không xác định được). "
                         "Hãy bỏ một điều kiện trong vòng.")

    def _check_condition(self, path: str, cond: Condition, owner: tuple[str, ...]) -> None:
        target = self._by_path.get(cond.field)
        if target is None:
            self.problem(_join(path, "field"), "unknown_condition_field",
                         f"Điều kiện dựa vào trường '{'.'.join(cond.field)}' không tồn tại.")
            return
        if target.path == owner:
            self.problem(_join(path, "field"), "self_condition",
                         "Một trường không thể phụ thuộc vào chính nó.")
            return
        if target.is_group or target.type == "computed":
            self.problem(_join(path, "field"), "bad_condition",
                         "Điều kiện phải dựa vào một trường người dân điền, không phải một nhóm "
                         "hay văn bản tự tạo.")
            return
        # a condition may look into a repeated group only from inside the same item
        if self._crosses_repeat(target.path, owner):
            self.problem(_join(path, "field"), "bad_condition",
                         "Điều kiện không thể dựa vào trường nằm trong nhóm lặp lại "
                         "từ bên ngoài nhóm đó.")
            return
        values = [cond.equals] if cond.equals is not None else list(cond.one_of or ())
        for v in values:
            if target.type in _OBJECT_TYPES or not _value_fits(target, v, self.code_lists):
                self.problem(_join(path, "equals" if cond.equals is not None else "in"),
                             "bad_condition_value",
                             f"Giá trị '{v}' không hợp lệ cho trường "
                             f"'{'.'.join(cond.field)}'.")

    # -- text formats, places, templates ------------------------------------------------------
    def _pattern(self, raw: dict[str, Any], path: str) -> tuple[str | None, str | None]:
        pattern = raw.get("pattern")
        message = self._text(raw, "pattern_message", path, required=False)
        if pattern is None:
            if "pattern_message" in raw:
                self.problem(_join(path, "pattern_message"), "message_without_pattern",
                             "'pattern_message' chỉ dùng cùng 'pattern'.")
            return None, None
        if not isinstance(pattern, str) or not pattern:
            self.problem(_join(path, "pattern"), "not_text", "'pattern' phải là chuỗi không rỗng.")
            return None, None
        if pattern in PATTERN_PRESETS:
            preset, default = PATTERN_PRESETS[pattern]
            return preset, message or default
        regex, error = check_pattern(pattern)
        if regex is None:
            self.problem(_join(path, "pattern"), "bad_pattern", error or "")
            return None, None
        if message is None:
            if "pattern_message" not in raw:
                self.problem(_join(path, "pattern_message"), "missing",
                             "Mẫu tự viết cần 'pattern_message': câu tiếng Việt nói giá trị phải "
                             "viết thế nào.")
            return None, None
        return regex, message

    def _places(self, data: Any, path: str) -> tuple[str, ...]:
        if data is None:
            return tuple(PLACE_KINDS)
        if (not isinstance(data, list) or not data or len(set(map(str, data))) != len(data)
                or not all(_is_one_of(p, PLACE_KINDS) for p in data)):
            self.problem(path, "bad_places",
                         f"'places' là danh sách không trùng gồm: {', '.join(PLACE_KINDS)}.")
            return tuple(PLACE_KINDS)
        return tuple(data)

    def _template(self, value: Any, path: str, owner: tuple[str, ...]) -> str | None:
        if value is None:
            self.problem(path, "missing", "Văn bản tự tạo cần 'template'.")
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(path, "not_text", "'template' phải là chuỗi không rỗng.")
            return None
        if len(value) > MAX_TEMPLATE:
            self.problem(path, "too_long", f"'template' dài quá {MAX_TEMPLATE} ký tự.")
            return None
        template = unicodedata.normalize("NFC", value.strip())
        if "{" in _PLACEHOLDER.sub("", template) or "}" in _PLACEHOLDER.sub("", template):
            self.problem(path, "bad_template",
                         "Dấu '{' và '}' chỉ dùng để bao đường dẫn trường, ví dụ '{quan_he}'.")
            return None
        refs = [self._ref(m.group(1), path, owner[:-1])
                for m in _PLACEHOLDER.finditer(template)]
        if any(r is None for r in refs):
            return None
        for ref in refs:
            assert ref is not None
            self._deferred.append(partial(self._check_placeholder, ref, owner, path))
        return template

    def _check_placeholder(self, ref: tuple[str, ...], owner: tuple[str, ...], path: str,
                           ) -> None:
        target = self._by_path.get(ref)
        name = ".".join(ref)
        if target is None or target.is_group:
            self.problem(path, "unknown_template_field",
                         f"'{{{name}}}' không phải là một trường của tờ khai.")
        elif target.path == owner or target.type == "computed":
            self.problem(path, "bad_template",
                         f"'{{{name}}}' là văn bản tự tạo: chỉ dùng câu trả lời người dân điền.")
        elif self._crosses_repeat(ref, owner):
            self.problem(path, "bad_template",
                         f"'{{{name}}}' nằm trong nhóm lặp lại mà trường này không thuộc.")

    # -- rules across fields ------------------------------------------------------------------
    def _rules(self, data: Any) -> tuple[Rule, ...]:
        if data is None:
            return ()
        if not isinstance(data, list):
            self.problem("rules", "bad_rules", "'rules' phải là danh sách quy tắc.")
            return ()
        if len(data) > MAX_RULES:
            self.problem("rules", "too_many_rules", f"Tờ khai có quá {MAX_RULES} quy tắc.")
            return ()
        out: list[Rule] = []
        for i, raw in enumerate(data):
            path = f"rules[{i}]"
            if not isinstance(raw, dict):
                self.problem(path, "not_a_mapping", "Mỗi quy tắc phải là một đối tượng.")
                continue
            unknown = [k for k in raw if k not in RULE_KINDS and k != "message"]
            for key in unknown:
                self.problem(_join(path, str(key)), "unknown_rule_kind",
                             f"Loại quy tắc '{key}' không được hỗ trợ; hợp lệ: "
                             f"{', '.join(RULE_KINDS)}.")
            kinds = [k for k in raw if k in RULE_KINDS]
            if unknown:
                continue
            if len(kinds) != 1:
                self.problem(path, "bad_rule",
                             f"Mỗi quy tắc có đúng một loại: {', '.join(RULE_KINDS)}.")
                continue
            kind = kinds[0]
            message = self._text(raw, "message", path, required=False)
            fields = self._rule_fields(kind, raw[kind], _join(path, kind))
            if fields is not None:
                rule = Rule(kind, fields, message)
                out.append(rule)
                self._deferred.append(partial(self._check_rule, _join(path, kind), rule))
        return tuple(out)

    def _rule_fields(self, kind: str, value: Any, path: str) -> tuple[tuple[str, ...], ...] | None:
        if kind == "not_future":
            value = [value]
            count = "một đường dẫn trường"
        elif kind == "not_after":
            count = "danh sách đúng hai đường dẫn trường: [trước, sau]"
        else:
            count = f"danh sách từ 2 đến {MAX_RULE_FIELDS} đường dẫn trường"
        ok = isinstance(value, list) and (
            len(value) == 1 if kind == "not_future" else len(value) == 2 if kind == "not_after"
            else 2 <= len(value) <= MAX_RULE_FIELDS)
        if not ok or not all(isinstance(v, str) and len(v.split(".")) >= 2
                             and all(IDENT.match(p) for p in v.split(".")) for v in value):
            self.problem(path, "bad_rule",
                         f"'{kind}' cần {count}; đường dẫn tính từ phần: 'phan.truong'.")
            return None
        paths = tuple(tuple(v.split(".")) for v in value)
        if len(set(paths)) != len(paths):
            self.problem(path, "bad_rule", "Một trường được nêu hai lần trong quy tắc.")
            return None
        return paths

    def _check_rule(self, path: str, rule: Rule) -> None:
        found: list[Field] = []
        for i, ref in enumerate(rule.fields):
            where = path if rule.kind == "not_future" else f"{path}[{i}]"
            f = self._by_path.get(ref)
            if f is None or f.is_group:
                self.problem(where, "rule_field_not_found",
                             f"Quy tắc nêu trường '{'.'.join(ref)}' không tồn tại (đường dẫn "
                             "tính từ phần, ví dụ 'phan.truong').")
                continue
            found.append(f)
            if rule.kind == "not_after" and f.type not in _ORDERED:
                self.problem(where, "rule_field_type",
                             f"'not_after' chỉ so sánh ngày, giờ hoặc số; trường "
                             f"'{'.'.join(ref)}' có kiểu '{f.type}'.")
            elif rule.kind == "not_future" and f.type not in _NOT_FUTURE:
                self.problem(where, "rule_field_type",
                             f"'not_future' chỉ dùng cho ngày; trường '{'.'.join(ref)}' có kiểu "
                             f"'{f.type}'.")
            elif rule.kind in ("at_least_one", "at_most_one", "exactly_one") and f.type in (
                    "computed", "commitment"):
                self.problem(where, "rule_field_type",
                             f"Trường '{'.'.join(ref)}' ('{f.type}') không do người dân chọn "
                             "điền hay không.")
            elif rule.kind in ("at_least_one", "exactly_one") and f.required:
                self.problem(where, "rule_field_required",
                             f"Trường '{'.'.join(ref)}' cần 'required: false': quy tắc "
                             f"'{rule.kind}' quyết định trường nào phải điền.")
        if len(found) != len(rule.fields):
            return
        families = {_ORDERED.get(f.type) for f in found}
        if rule.kind == "not_after" and None not in families and len(families) != 1:
            self.problem(path, "rule_field_type",
                         "'not_after' so sánh hai trường cùng loại: ngày với ngày (kể cả ngày "
                         "giờ, ngày không đầy đủ), giờ với giờ, số với số.")
        repeats = {frozenset(f.path[:i] for i in range(2, len(f.path))
                             if f.path[:i] in self._repeated) for f in found}
        if len(repeats) != 1:
            self.problem(path, "rule_repeated",
                         "Các trường của một quy tắc phải cùng nằm trong một mục của nhóm lặp "
                         "lại, hoặc cùng nằm ngoài mọi nhóm lặp lại.")

    def _check_references(self) -> None:
        for check in self._deferred:
            check()

    def _dropped(self, data: Any) -> tuple[Dropped, ...]:
        if data is None:
            return ()
        if not isinstance(data, list):
            self.problem("dropped", "bad_dropped", "'dropped' phải là danh sách.")
            return ()
        out: list[Dropped] = []
        for i, raw in enumerate(data):
            path = f"dropped[{i}]"
            if not isinstance(raw, dict):
                self.problem(path, "not_a_mapping", "Mỗi mục phải là một đối tượng.")
                continue
            self._unknown_keys(raw, {"label", "section", "reason", "note"}, path)
            label = self._text(raw, "label", path)
            section = self._text(raw, "section", path, required=False)
            note = self._text(raw, "note", path, required=False, limit=2000)
            reason = raw.get("reason")
            if not _is_one_of(reason, DROP_REASONS):
                self.problem(_join(path, "reason"), "bad_reason",
                             f"Lý do bỏ trường phải là một trong: {', '.join(DROP_REASONS)}.")
                continue
            if label is not None:
                out.append(Dropped(label, section, reason, note))
        return tuple(out)


def _shortest_cycle(
        start: tuple[str, ...],
        edges: dict[tuple[str, ...], list[tuple[tuple[str, ...], tuple[str, ...]]]],
) -> list[tuple[tuple[str, ...], tuple[str, ...]]] | None:
    """The shortest way from ``start`` back to itself along ``edges``, as (field, owner of
    the condition leaving it) steps; ``None`` when there is none."""
    came: dict[tuple[str, ...], tuple[tuple[str, ...], tuple[str, ...]]] = {}
    queue = [start]
    for node in queue:
        for target, owner in edges.get(node, ()):
            if target == start:
                steps = [(node, owner)]
                while steps[-1][0] != start:
                    steps.append(came[steps[-1][0]])
                return steps[::-1]
            if target not in came:
                came[target] = (node, owner)
                queue.append(target)
    return None


def _is_one_of(value: Any, options: Any) -> TypeGuard[str]:
    """``value in options`` for a value read from a definition, which may be any YAML node:
    when true, the value is a string."""
    return isinstance(value, str) and value in options


def _value_fits(target: Field, value: Any, lists: dict[str, tuple[Code, ...]]) -> bool:
    if target.type == "boolean" or target.type == "commitment":
        return isinstance(value, bool)
    if target.type == "choice" and target.codes:
        codes = codelists.lookup(target.codes, lists)
        return _is_one_of(value, {c.code for c in codes})
    if target.type in ("integer", "money"):
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


#: escapes that mean the same in Python and in ECMA-262 with the ``u`` flag (Ajv's default)
_ESCAPABLE = set("^$\\.*+?()[]{}|/")
_QUANTIFIER = re.compile(r"\{([0-9]{1,3})(,([0-9]{0,3}))?\}")
#: the product of the ranges of a pattern's variable quantifiers (an unbounded one counts as
#: the longest text, 200): a bound on the ways to match a value, so on backtracking
MAX_PATTERN_WAYS = 100_000


def check_pattern(pattern: str) -> tuple[str, None] | tuple[None, str]:
    """A designer's pattern for the whole value, checked to be in the subset of regular
    expressions that means the same in Python's ``re`` and in ECMA-262 (the ``pattern`` of
    JSON Schema in browsers) and cannot backtrack for long: ``(regex without ^ and $, None)``,
    or ``(None, the Vietnamese reason)``."""
    if len(pattern) > MAX_PATTERN:
        return None, f"Mẫu dài quá {MAX_PATTERN} ký tự."
    body = pattern[1:] if pattern.startswith("^") else pattern
    if body.endswith("$") and (len(body) - len(body[:-1].rstrip("\\")) - 1) % 2 == 0:
        body = body[:-1]  # a final '$' not escaped
    if any(ord(c) < 0x20 or ord(c) > 0xFFFF for c in body):
        return None, "Mẫu không được chứa ký tự điều khiển hay ký tự ngoài mặt phẳng cơ bản."
    groups: list[dict[str, bool]] = [{"variable": False, "alt": False}]
    prev: str | dict[str, bool] | None = None  # what a quantifier would repeat
    ways = 1
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c == "\\":
            if i + 1 >= n or body[i + 1] not in _ESCAPABLE:
                e = body[i + 1] if i + 1 < n else ""
                return None, (f"Không dùng '\\{e}' trong mẫu (nghĩa khác nhau giữa các bộ kiểm "
                              "tra): viết [0-9] thay cho \\d, [A-Za-z] thay cho \\w, liệt kê ký "
                              "tự thay cho \\s; chỉ thoát các ký tự ^$\\.*+?()[]{}|/.")
            prev, i = "atom", i + 2
        elif c == "[":
            j = i + 1 + (body[i + 1: i + 2] == "^")
            if body[j: j + 1] == "]":
                return None, "Lớp ký tự rỗng '[]' không được dùng."
            while j < n and body[j] != "]":
                if body[j] == "\\":
                    if j + 1 >= n or body[j + 1] not in _ESCAPABLE | {"-"}:
                        return None, ("Trong '[...]' chỉ thoát các ký tự ^$\\.*+?()[]{}|/-; "
                                      "viết [0-9] thay cho \\d.")
                    j += 2
                    continue
                if body[j] == "[":
                    return None, "Trong '[...]' viết '\\[' cho dấu '['."
                j += 1
            if j >= n:
                return None, "Thiếu ']' đóng lớp ký tự."
            prev, i = "atom", j + 1
        elif c == "(":
            if body.startswith("(?", i) and not body.startswith("(?:", i):
                return None, ("Chỉ dùng nhóm '(...)' hoặc '(?:...)': không dùng tham chiếu "
                              "ngược, nhìn trước/nhìn sau, nhóm có tên hay cờ.")
            i += 3 if body.startswith("(?:", i) else 1
            groups.append({"variable": False, "alt": False})
            prev = None
        elif c == ")":
            if len(groups) == 1:
                return None, "Thừa dấu ')'."
            frame = groups.pop()
            groups[-1]["variable"] |= frame["variable"]
            prev, i = frame, i + 1
        elif c == "|":
            groups[-1]["alt"] = True
            prev, i = None, i + 1
        elif c in "*+?{":
            if c == "{":
                m = _QUANTIFIER.match(body, i)
                if m is None:
                    return None, ("'{' chỉ dùng cho số lần lặp như {2} hoặc {1,3}; viết '\\{' "
                                  "cho dấu '{'.")
                lo, hi = int(m[1]), (int(m[3]) if m[3] else None) if m[2] else int(m[1])
                if hi is not None and hi < lo:
                    return None, f"Số lần lặp '{m[0]}' không hợp lệ."
                width, size = (201 if hi is None else hi - lo + 1), m.end() - i
            else:
                width, size = (2 if c == "?" else 201), 1
            if prev is None or prev == "repeated":
                return None, (f"Ký tự lặp '{c}' phải đứng sau một ký tự, lớp ký tự hoặc nhóm, "
                              "và không đứng liền sau một ký tự lặp khác.")
            if isinstance(prev, dict) and (prev["variable"] or prev["alt"]) and c != "?":
                return None, ("Không lặp một nhóm có ký tự lặp hay lựa chọn '|' bên trong (chỉ "
                              "được dùng '?'): kiểu mẫu này có thể chạy rất lâu.")
            if width > 1:
                groups[-1]["variable"] = True
                ways *= width
                if ways > MAX_PATTERN_WAYS:
                    return None, ("Mẫu có quá nhiều phần lặp không cố định: có thể chạy rất "
                                  "lâu; hãy giới hạn số lần lặp, ví dụ {1,10}.")
            prev, i = "repeated", i + size
        elif c in "^$":
            return None, "'^' và '$' chỉ đứng ở đầu và cuối mẫu (mẫu luôn khớp cả giá trị)."
        elif c in "]}":
            return None, f"Viết '\\{c}' cho dấu '{c}'."
        else:
            prev, i = "atom", i + 1
    if len(groups) != 1:
        return None, "Thiếu dấu ')'."
    try:
        re.compile(body)
    except re.error as exc:
        return None, f"Mẫu không hợp lệ: {exc}."
    if not body:
        return None, "Mẫu rỗng."
    return body, None

"""Reading a form definition (YAML or JSON) and checking it.

A designer who makes mistakes should learn about all of them at once, each with the file, the
path inside it and what is wrong, so :func:`parse` never stops at the first problem and never
lets a Python exception reach the designer: everything wrong becomes a :class:`Problem`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, TypeGuard

import yaml

from forms import codelists, registers
from forms.codelists import Code
from forms.model import (
    AGENCY_LEVELS,
    DROP_REASONS,
    FIELD_TYPES,
    Condition,
    Dropped,
    Field,
    FormDefinition,
    Person,
    Prefill,
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

#: the record whose field in a section or group says whose records a typed-person check reads
PERSONAL_ID_RECORD = "population.personal_id"

FORM_ID = re.compile(r"^[a-z][a-z0-9-]{2,79}$")
IDENT = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
PROCEDURE_CODE = re.compile(r"^[0-9A-Za-z.\-]{1,40}$")
MEDIA_TYPES = ("application/pdf", "image/jpeg", "image/png")

_FORM_KEYS = {
    "id", "version", "title", "legal_basis", "procedure_code", "procedure_name", "agency_level",
    "description", "code_lists", "sections", "dropped", "processing_days",
}
_SECTION_KEYS = {"id", "title", "help", "person", "fields"}
_COMMON_KEYS = {"id", "type", "label", "help", "required", "official", "prefill", "when",
                "check_typed"}
_TYPE_KEYS: dict[str, set[str]] = {
    "text": {"max_length"},
    "long_text": {"max_length"},
    "date": set(),
    "partial_date": {"precision"},
    "personal_id": set(),
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
    "commitment": set(),
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
}


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
        self._conditions: list[tuple[str, Condition, tuple[str, ...]]] = []
        self._by_path: dict[tuple[str, ...], Field] = {}
        self._repeated: set[tuple[str, ...]] = set()

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
        self._check_conditions()
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
            processing_days=processing_days,
        )

    def _check_choices(self) -> None:
        choices = sum(len(codelists.lookup(f.codes, self.code_lists))
                      for f in self._by_path.values() if f.codes)
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
            person = self._person(raw.get("person"), _join(path, "person"))
            fields = self._fields(raw.get("fields"), _join(path, "fields"), (sid or "?",), 0)
            self._check_typed_scope(fields, path)
            if sid is None or title is None:
                continue
            ids.add(sid)
            sections.append(Section(sid, title, fields, person, help_))
        return tuple(sections)

    def _person(self, data: Any, path: str) -> Person | None:
        if data is None:
            return None
        if isinstance(data, str):
            data = {"relation": data}
        if not isinstance(data, dict):
            self.problem(path, "bad_person", "'person' phải là quan hệ hoặc đối tượng.")
            return None
        self._unknown_keys(data, {"relation", "sex"}, path)
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
            "required": self._bool(raw, "required", path, True),
            "official": self._bool(raw, "official", path, ftype != "commitment"),
        }
        if ftype == "commitment" and raw.get("required") is False:
            self.problem(_join(path, "required"), "commitment_optional",
                         "Lời cam đoan luôn bắt buộc.")
        if ftype in ("text", "long_text"):
            top = 200 if ftype == "text" else 4000
            opts["max_length"] = self._int(raw, "max_length", path, 1, top) or top
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
            opts["person"] = self._person(raw.get("person"), _join(path, "person"))
            opts["fields"] = self._fields(raw.get("fields"), _join(path, "fields"), fpath,
                                          depth + 1)
            if opts["person"] is not None:
                self._check_typed_scope(opts["fields"], path)
        prefill = self._prefill(raw.get("prefill"), _join(path, "prefill"), ftype,
                                opts.get("codes"))
        when = self._condition(raw["when"], _join(path, "when"), parent) if "when" in raw else None
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
            self._conditions.append((_join(path, "when"), when, fpath))
        return f

    def _check_typed_scope(self, fields: tuple[Field, ...], path: str) -> None:
        """Fields checked against a person's records need that person's personal ID number in
        the same section or group: it says whose records to compare with."""
        about = list(scope_fields(fields))
        marked = [f for f in about if f.check_typed]
        if not marked:
            return
        if not any(f.prefill and f.prefill.record == PERSONAL_ID_RECORD for f in about):
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

    def _prefill(self, data: Any, path: str, ftype: str, codes: str | None) -> Prefill | None:
        if data is None:
            return None
        if isinstance(data, str):
            data = {"record": data}
        if not isinstance(data, dict):
            self.problem(path, "bad_prefill", "'prefill' phải là đường dẫn bản ghi hoặc đối tượng.")
            return None
        self._unknown_keys(data, {"record", "mode"}, path)
        mode = data.get("mode", "suggested")
        if not _is_one_of(mode, ("verified", "suggested")):
            self.problem(_join(path, "mode"), "bad_mode",
                         "'mode' phải là 'verified' (chỉ đọc) hoặc 'suggested' (sửa được).")
            mode = "suggested"  # the definition is refused; its record is still checked
        record = data.get("record")
        if ftype in ("group", "attachment", "commitment"):
            self.problem(path, "not_bindable",
                         f"Trường kiểu '{ftype}' không gắn được với bản ghi; gắn các trường "
                         "bên trong nó." if ftype == "group" else
                         f"Trường kiểu '{ftype}' không gắn được với bản ghi.")
            return None
        if not isinstance(record, str) or (found := registers.lookup(record)) is None:
            self.problem(_join(path, "record"), "unknown_record_path",
                         f"Không có bản ghi '{record}' trong danh mục dữ liệu của các cơ sở dữ "
                         "liệu (ví dụ 'population.full_name').")
            return None
        _, kind, _ = found
        if kind.startswith("choice:"):
            ok = ftype == "choice" and codes == kind.split(":", 1)[1]
            if not ok and ftype in ("text", "long_text"):
                ok = True  # a text field may show the label of a coded value
        else:
            ok = kind in _ACCEPTS.get(ftype, set())
        if not ok:
            self.problem(_join(path, "record"), "incompatible_record",
                         f"Bản ghi '{record}' (kiểu {kind}) không điền được trường kiểu "
                         f"'{ftype}'" + (f" với danh mục '{codes}'" if codes else "") + ".")
            return None
        return Prefill(record, mode)

    def _condition(self, data: Any, path: str, parent: tuple[str, ...]) -> Condition | None:
        if isinstance(data, str):
            data = {"field": data}
        if not isinstance(data, dict) or "field" not in data:
            self.problem(path, "bad_condition", "'when' cần 'field' và tùy chọn 'equals'/'in'.")
            return None
        self._unknown_keys(data, {"field", "equals", "in"}, path)
        ref = data["field"]
        if not isinstance(ref, str) or not all(IDENT.match(p) for p in ref.split(".")):
            self.problem(_join(path, "field"), "bad_condition",
                         "'field' là mã trường cùng nhóm hoặc đường dẫn 'phan.truong'.")
            return None
        parts = tuple(ref.split("."))
        target = (*parent, *parts) if len(parts) == 1 else parts
        one_of = data.get("in")
        if one_of is not None and (not isinstance(one_of, list) or not one_of):
            self.problem(_join(path, "in"), "bad_condition", "'in' phải là danh sách không rỗng.")
            return None
        return Condition(target, data.get("equals"),
                         tuple(one_of) if one_of is not None else None)

    def _check_conditions(self) -> None:
        for path, cond, owner in self._conditions:
            target = self._by_path.get(cond.field)
            if target is None:
                self.problem(_join(path, "field"), "unknown_condition_field",
                             f"Điều kiện dựa vào trường '{'.'.join(cond.field)}' không tồn tại.")
                continue
            if target.path == owner:
                self.problem(_join(path, "field"), "self_condition",
                             "Một trường không thể phụ thuộc vào chính nó.")
                continue
            if target.is_group:
                self.problem(_join(path, "field"), "bad_condition",
                             "Điều kiện phải dựa vào một trường, không phải một nhóm.")
                continue
            # a condition may look into a repeated group only from inside the same item
            common = common_prefix(target.path[:-1], owner[:-1])
            for i in range(len(common) + 1, len(target.path)):
                if target.path[:i] in self._repeated:
                    self.problem(_join(path, "field"), "bad_condition",
                                 "Điều kiện không thể dựa vào trường nằm trong nhóm lặp lại "
                                 "từ bên ngoài nhóm đó.")
                    break
            values = [cond.equals] if cond.equals is not None else list(cond.one_of or ())
            for v in values:
                if not _value_fits(target, v, self.code_lists):
                    self.problem(_join(path, "equals" if cond.equals is not None else "in"),
                                 "bad_condition_value",
                                 f"Giá trị '{v}' không hợp lệ cho trường "
                                 f"'{'.'.join(cond.field)}'.")

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

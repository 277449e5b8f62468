"""Checking form data a citizen submits: the compiled schema, the verified values, and (one
yes/no per person, where the form asks for it) what the citizen typed about other people.

Every problem is reported at once, each with a JSON pointer to the field and a Vietnamese
message, ready for the dossier intake to reuse.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jsonschema.exceptions import ValidationError

from forms import conditions, pointers, rules
from forms.compiled import CompiledForm
from forms.language import PERSONAL_ID_RECORD
from forms.model import Field, FormDefinition
from service.records import prefill as pf
from service.worktime import VIETNAM

#: the name of the commune in the address schema ($defs.commune)
_COMMUNE_TITLE = "Xã, phường, đặc khu"

#: at most this many errors are listed; a count says how many more there were
MAX_ERRORS = 100


# Unicode category Cc, except tab, line feed and carriage return (text areas send CR LF)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def prepared(form: FormDefinition, data: Any) -> Any:
    """The data as intake checks and stores it: hidden means absent (values of fields whose
    condition does not hold are removed, ``forms.conditions.drop_hidden``) and computed text
    is the service's (``forms.rules.fill_computed``, over anything sent). A copy: the
    caller's data is left as it was."""
    if not isinstance(data, dict):
        return data
    out = copy.deepcopy(data)
    conditions.drop_hidden(form, out)
    rules.fill_computed(form, out)
    return out


def data_errors(compiled: CompiledForm, data: Any,
                result: pf.PrefillResult) -> list[dict[str, str]]:
    """What the data alone shows wrong: control characters, the schema, the form's rules
    across fields (``forms.rules``; today in Vietnam), verified values that are not as the
    registers hold them (``result``: the declarant's prefill). The data is checked as given:
    callers pass it :func:`prepared`. The dossier intake's check
    (``service.dossiers.lifecycle.check``) adds the repository's view."""
    errors = control_character_errors(data)
    errors += schema_errors(compiled, data)
    if isinstance(data, dict):
        errors += rules.rule_errors(compiled.definition, data,
                                    datetime.now(VIETNAM).date())
    errors += verified_errors(compiled.definition, data, result)
    return errors


def control_character_errors(data: Any, pointer: str = "") -> list[dict[str, str]]:
    if isinstance(data, str):
        if _CONTROL.search(data):
            return [_item(pointer or "/", "control_character",
                          "Có ký tự điều khiển không hợp lệ.", "Contains control characters.")]
        return []
    items: Iterable[tuple[Any, Any]]
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list):
        items = enumerate(data)
    else:
        return []
    return [e for k, v in items for e in control_character_errors(v, f"{pointer}/{k}")]


def schema_errors(compiled: CompiledForm, data: Any) -> list[dict[str, str]]:
    oversized = _oversized_lists(compiled.schema, data, "")
    if oversized:  # refuse before validating thousands of items one by one
        return oversized
    out: dict[str, dict[str, str]] = {}
    for e in compiled.validator.iter_errors(data):
        for item in _explain(e):
            out.setdefault(item["field"] + item["code"], item)
    errors = sorted(out.values(), key=lambda i: i["field"])
    if len(errors) > MAX_ERRORS:
        extra = len(errors) - MAX_ERRORS
        errors = errors[:MAX_ERRORS] + [_item("/", "more_errors", f"… và {extra} lỗi khác.",
                                              f"… and {extra} more errors.")]
    return errors


def _oversized_lists(schema: Any, data: Any, pointer: str) -> list[dict[str, str]]:
    """Repeated groups (and multiple choices) longer than the form allows, found by following
    the schema's properties without validating anything else."""
    if not isinstance(schema, dict):
        return []
    if isinstance(data, list):
        limit = schema.get("maxItems")
        if isinstance(limit, int) and len(data) > limit:
            title = schema.get("title")
            return [_item(pointer or "/", "too_many",
                          f"'{title}' có tối đa {limit} mục." if title else
                          f"Tối đa {limit} mục.", f"At most {limit} items.")]
        item_schema = schema.get("items")
        return [e for i, v in enumerate(data)
                for e in _oversized_lists(item_schema, v, f"{pointer}/{i}")]
    if isinstance(data, dict):
        props = schema.get("properties", {})
        return [e for k, v in data.items() if k in props
                for e in _oversized_lists(props[k], v, f"{pointer}/{k}")]
    return []


def _pointer(parts: Any) -> str:
    return "".join(f"/{p}" for p in parts) or "/"


def _explain(e: ValidationError) -> list[dict[str, str]]:  # noqa: C901 - one branch per keyword
    base = _pointer(e.absolute_path)
    # an error of validation always has its schema, value and instance (jsonschema types them
    # as possibly unset); these keywords' schemas are objects and their values lists
    schema: dict[str, Any] = e.schema if isinstance(e.schema, dict) else {}
    title = schema.get("title")
    name = f"'{title}'" if title else "Giá trị"
    kw = str(e.validator)
    if kw == "required":
        props = schema.get("properties", {})
        required = e.validator_value if isinstance(e.validator_value, list) else []
        missing = [p for p in required if isinstance(e.instance, dict) and p not in e.instance]
        return [_item(f"{base.rstrip('/')}/{p}", "required",
                      f"Chưa nhập '{props.get(p, {}).get('title', p)}'.",
                      f"'{p}' is required.") for p in missing]
    if kw == "additionalProperties":
        instance = e.instance if isinstance(e.instance, dict) else {}
        extra = [k for k in instance if k not in schema.get("properties", {})]
        return [_item(f"{base.rstrip('/')}/{k}", "unknown_field",
                      f"Trường '{k}' không có trên tờ khai.", f"'{k}' is not on the form.")
                for k in extra]
    if kw == "not" and _rule_fragment(schema):
        return []  # a rule across fields (forms.rules): rule_errors names its fields
    if kw == "pattern" and isinstance(schema.get("x-tokhai-message"), str):
        return [_item(base, "bad_format", schema["x-tokhai-message"], "Wrong format.")]
    if kw == "enum" and list(e.relative_schema_path)[-2:] == ["propertyNames", "enum"]:
        # an object closed by propertyNames (it holds conditional fields, or it is a place):
        # the error is the object's, its instance the key
        key = str(e.instance)
        return [_item(f"{base.rstrip('/')}/{pointers.escape(key)}", "unknown_field",
                      f"Trường '{key}' không có trên tờ khai.", f"'{key}' is not on the form.")]
    if kw in ("oneOf", "enum") and base.endswith("/commune"):
        # the commune list is the chosen province's (a titled list in the then of an if on
        # the province): a commune of another province is not in it
        name = f"'{title or _COMMUNE_TITLE}'"
        return [_item(base, "not_in_list", f"{name} không có trong danh mục (xã, phường "
                      "không thuộc tỉnh, thành phố đã chọn).",
                      "Not in the code list (the commune is not in the province chosen).")]
    messages = {
        "type": ("wrong_type", f"{name} sai kiểu dữ liệu.", "Wrong type."),
        "pattern": ("bad_format", f"{name} không đúng định dạng.", "Wrong format."),
        "format": ("bad_format", f"{name} không đúng định dạng"
                   + (" ngày (yyyy-mm-dd) hoặc không phải ngày có thật." if e.validator_value
                      == "date" else "."), "Wrong format."),
        "anyOf": ("bad_format", f"{name} phải là năm, tháng/năm hoặc ngày/tháng/năm.",
                  "Not a year, month or date."),
        "oneOf": ("not_in_list", f"{name} không có trong danh mục.", "Not in the code list."),
        "enum": ("not_in_list", f"{name} không có trong danh mục.", "Not in the code list."),
        "const": ("commitment", "Cần xác nhận lời cam đoan." if e.validator_value is True
                  else f"{name} không hợp lệ.", "Must be confirmed."),
        "maxLength": ("too_long", f"{name} dài quá {e.validator_value} ký tự.", "Too long."),
        "minLength": ("required", f"Chưa nhập {name}.", "Required."),
        "maxItems": ("too_many", f"{name} có tối đa {e.validator_value} mục.",
                     "Too many items."),
        "minItems": ("too_few", f"{name} cần ít nhất {e.validator_value} mục.",
                     "Too few items."),
        "minimum": ("too_small", f"{name} phải từ {e.validator_value} trở lên.", "Too small."),
        "maximum": ("too_large", f"{name} phải không quá {e.validator_value}.", "Too large."),
        "uniqueItems": ("duplicate", f"{name} có mục lặp lại.", "Duplicate items."),
    }
    code, vi, en = messages.get(kw, ("invalid", f"{name} không hợp lệ.", "Invalid value."))
    return [_item(base, code, vi, en)]


def _rule_fragment(schema: dict[str, Any]) -> bool:
    """Whether the schema is a rule across fields as the compiler puts it in an object's
    ``allOf`` (forms.rules.compile_rules, stated twice negated when it is an anyOf/oneOf):
    those carry the rule's message, and :func:`data_errors` reports the rule itself."""
    inner = schema.get("not")
    twice = inner.get("not") if isinstance(inner, dict) else None
    return "x-tokhai-message" in schema or (
        isinstance(twice, dict) and "x-tokhai-message" in twice)


def _item(field: str, code: str, message: str, message_en: str) -> dict[str, str]:
    return {"field": field, "code": code, "message": message, "message_en": message_en}


def verified_errors(form: FormDefinition, data: Any,
                    result: pf.PrefillResult) -> list[dict[str, str]]:
    """A verified value the registers hold must be submitted unchanged."""
    out = []
    for pointer, value in result.verified.items():
        if pointers.get(data, pointer) != value:
            info = result.provenance[pointer]
            label = form.find(tuple(p for p in pointers.parse(pointer) if not p.isdigit()))
            title = label.label if label else pointer
            out.append(_item(pointer, "verified_mismatch",
                             f"'{title}' phải giữ đúng như trong {info['register_title']}; "
                             "không được sửa.",
                             f"A verified value from the {info['register']} register "
                             "cannot be changed."))
    return out


@dataclass(frozen=True)
class TypedPerson:
    """Someone the citizen typed about who is not linked to them, in a section or group whose
    fields the form marks ``check_typed``, every marked field typed."""

    #: the person's section, group or item of a repeated group (``/ben_nam``)
    pointer: str
    #: the field holding the typed personal ID number, and the number
    id_pointer: str
    subject: str
    #: the marked fields (the number aside): pointer and field
    fields: tuple[tuple[str, Field], ...]


def typed_people(form: FormDefinition, data: Any, result: pf.PrefillResult) -> list[TypedPerson]:
    """The people a check may be made for. Nobody else's records are read: a person whose
    number prefill filled is linked to the citizen (nothing to check), a section or group
    without marked fields is never checked, and a person whose marked fields are not all typed
    is not checked (an answer about a part would tell which field was wrong). A person named
    by a typed number (``person.named_by``) is checked whether or not the registers link them
    to the citizen: the answer is the same yes/no either way."""
    out: list[TypedPerson] = []
    for scope in pf.scopes(form):
        bound = list(pf.bound_fields(scope.fields))
        named_by = scope.person.named_by
        id_field = (form.find(named_by) if named_by is not None else
                    next((f for f in bound if f.prefill and
                          f.prefill.record == PERSONAL_ID_RECORD), None))
        marked = [f for f in bound if f.check_typed and f is not id_field
                  and pf.binding(f).by is None]
        if id_field is None or not marked:
            continue
        value = pointers.get(data, scope.pointer)
        items = value if scope.repeated and isinstance(value, list) else [value]
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            base = f"{scope.pointer}/{index}" if scope.repeated else scope.pointer
            id_pointer = f"{base}/{pf.relative_path(scope, id_field)}"
            if named_by is None and id_pointer in result.provenance:
                continue  # filled from a linked person's records: nothing to check
            typed = pointers.get(data, id_pointer)
            if not (isinstance(typed, str) and re.fullmatch(r"[0-9]{12}", typed)):
                continue
            fields = tuple((f"{base}/{pf.relative_path(scope, f)}", f) for f in marked)
            if all(pointers.get(data, pointer) not in (None, "") for pointer, _ in fields):
                out.append(TypedPerson(base, id_pointer, typed, fields))
    return out


def person_checks(form: FormDefinition, data: Any, people: list[TypedPerson],
                  sources: pf.Sources) -> list[str]:
    """For each person, one answer for the whole person: ``match`` when the number is known
    and every marked value typed equals the register's, ``no_match`` otherwise (an unknown
    number included, so that an answer does not tell whether someone exists), or
    ``unavailable`` when a register needed could not be read. No record value is returned."""
    if not people:
        return []
    deadline_at = time.monotonic() + sources.deadline_seconds
    wanted: dict[str, set[str]] = {"population": {p.subject for p in people}}
    for p in people:
        for _, f in p.fields:
            wanted.setdefault(pf.binding(f).record.split(".")[0], set()).add(p.subject)
    found, failed, _ = sources.fetch(wanted, deadline_at)
    failed_registers = {r for r, source in sources.by_register.items() if source.name in failed}
    out = []
    for p in people:
        registers_needed = {"population"} | {pf.binding(f).record.split(".")[0]
                                             for _, f in p.fields}
        if registers_needed & failed_registers:
            out.append("unavailable")
        elif ("population", p.subject) not in found:
            out.append("no_match")
        else:
            out.append("match" if all(
                _matches(form, f, pointers.get(data, pointer), found, p.subject)
                for pointer, f in p.fields) else "no_match")
    return out


def _matches(form: FormDefinition, f: Field, typed: Any,
             found: dict[tuple[str, str], Any], subject: str) -> bool:
    """A typed value equals the register's (a register holding nothing does not match)."""
    path = pf.binding(f).record
    register, _, name = path.partition(".")
    record = found.get((register, subject))
    expected = (pf.convert(form, f, pf.record_kind(path), record.data.get(name))
                if record else None)
    return expected is not None and _same(typed, expected)


def _same(typed: Any, expected: Any) -> bool:
    if isinstance(typed, str) and isinstance(expected, str):
        return " ".join(typed.split()).casefold() == " ".join(expected.split()).casefold()
    if isinstance(typed, dict) and isinstance(expected, dict):
        return all(typed.get(k) == v for k, v in expected.items() if k != "detail")
    return typed == expected

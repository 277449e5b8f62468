"""Compile a form definition to JSON Schema (draft 2020-12) and a UI schema.

The schema must work unchanged in validators and renderers no one here wrote, so it uses only
standard keywords, prefers those that mean the same in draft-07 (``const``, ``if``/``then``,
``oneOf``, ``readOnly``; never ``$ref`` with siblings, ``prefixItems`` or ``unevaluated*``), and
keeps tokhai's own information under ``x-tokhai-*`` keys that other tools ignore. The UI schema
follows react-jsonschema-form conventions.

Shapes are chosen so that react-jsonschema-form (5.x and 6.x, default settings) renders them
right (tests/forms/test_rjsf.py): code-list options are ``{"enum": [code], "title": label}``
(RJSF takes a ``const`` as the default value, so every list would open with its first code
chosen); a boolean's ``type``, a commitment's ``const: true`` and a required attachment list's
``minItems: 1`` sit under ``allOf``, where RJSF's default values do not look (RJSF 6 answers
a required yes/no "no", a const ticks the box, minItems adds an empty document) while its
rendering and every validator see them; a conditional field's schema sits in the ``then`` of
its condition (so it shows only when the condition holds) and its object is closed by
``propertyNames`` (``additionalProperties`` sees only the properties beside it); a partial
date of any precision is one pattern.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from functools import cache
from typing import Any

from forms import formats, registers, rules, units
from forms.codelists import Code
from forms.model import Condition, Field, FormDefinition, Prefill, common_prefix

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
DRAFT_07 = "http://json-schema.org/draft-07/schema#"

_DATE_PATTERN = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
#: a year, a month of a year, or a calendar date (30 February refused, 29 February only in
#: leap years): one pattern, the same in every validator, that renderers show as one input
_PARTIAL_DATE_PATTERN = (
    "^([0-9]{4}(-(0[1-9]|1[0-2]))?"
    "|[0-9]{4}-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)"
    "|02-(0[1-9]|1[0-9]|2[0-8]))"
    "|([0-9]{2}(0[48]|[2468][048]|[13579][26])|([02468][048]|[13579][26])00)-02-29)$")
_YEAR_PATTERN = "^[0-9]{4}$"
_MONTH_PATTERN = "^[0-9]{4}-(0[1-9]|1[0-2])$"
_PHONE_PATTERN = "^(0|\\+84)[1-9][0-9]{8,9}$"
_EMAIL_PATTERN = "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$"
_DOCUMENT_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


def schema_id(form_id: str, version: int) -> str:
    """A stable identifier that does not depend on where the service is deployed."""
    return f"urn:tokhai:form:{form_id}:v{version}"


def compile_schema(form: FormDefinition) -> dict[str, Any]:
    """The JSON Schema 2020-12 document that form data of this version must satisfy."""
    compiler = _Compiler(form)
    root = compiler.object_schema(form.sections, path=())
    schema: dict[str, Any] = {
        "$schema": DRAFT_2020_12,
        "$id": schema_id(form.id, form.version),
        "title": form.title,
        "description": form.description or f"Căn cứ: {form.legal_basis}",
        **root,
        "x-tokhai-form": {
            "id": form.id,
            "version": form.version,
            "procedure_code": form.procedure_code,
            "legal_basis": form.legal_basis,
            "agency_level": form.agency_level,
        },
    }
    if compiler.rules_doc:
        schema["x-tokhai-rules"] = compiler.rules_doc
    if compiler.uses_address:
        schema["$defs"] = address_defs()
    return schema


def to_draft07(schema: dict[str, Any]) -> dict[str, Any]:
    """The same schema for tools that still default to draft-07: only the dialect, and the
    ``$defs`` container (``definitions`` there), differ."""
    text = json.dumps(schema, ensure_ascii=False).replace('"#/$defs/', '"#/definitions/')
    out = json.loads(text)
    out["$schema"] = DRAFT_07
    if "$defs" in out:
        out["definitions"] = out.pop("$defs")
    return out


@cache
def _address_defs() -> dict[str, Any]:
    by_province = units.communes_by_province()
    return {
        "province": {
            "type": "string",
            "title": "Tỉnh, thành phố",
            "oneOf": [{"enum": [p.code], "title": p.name} for p in units.provinces()],
        },
        "commune": {
            "type": "string",
            "title": "Xã, phường, đặc khu",
            "pattern": "^[0-9]{5}$",
        },
        "commune_in_province": {
            "description": "Xã, phường phải thuộc tỉnh, thành phố đã chọn "
                           f"(danh mục đơn vị hành chính {units.DATA_VERSION}).",
            "allOf": [
                {
                    "if": {"properties": {"province": {"const": code}},
                           "required": ["province"]},
                    "then": {"properties": {"commune": {
                        "oneOf": [{"enum": [c.code], "title": c.name} for c in communes]}}},
                }
                for code, communes in by_province.items()
            ],
        },
    }


def address_defs() -> dict[str, Any]:
    return copy.deepcopy(_address_defs())


def code_options(codes: Any) -> list[dict[str, Any]]:
    """A code list as ``oneOf`` options: ``{"enum": [code], "title": label}`` (not ``const``,
    which react-jsonschema-form takes as the value chosen by default)."""
    return [{"enum": [c.code], "title": c.label} for c in codes]


class _Compiler:
    def __init__(self, form: FormDefinition):
        self.form = form
        self.uses_address = False
        # conditions grouped by the object they are compiled into (the common scope)
        self.conditions: dict[tuple[str, ...], list[tuple[Condition, tuple[str, ...]]]] = {}
        self.repeated: set[tuple[str, ...]] = set()
        #: conditional fields whose condition JSON Schema cannot say (it reads a field inside a
        #: repeated group together with one outside it): in ``properties``, never required;
        #: the server's own check (forms.conditions) decides
        self.loose: set[tuple[str, ...]] = set()
        self.rule_fragments, self.rules_doc = _rules(form)
        self._collect(form)

    def _collect(self, form: FormDefinition) -> None:
        conditional: list[Field] = []

        def walk(fields: tuple[Field, ...]) -> None:
            for f in fields:
                if f.is_group:
                    if f.repeat:
                        self.repeated.add(f.path)
                    walk(f.fields)
                if f.when is not None:
                    conditional.append(f)

        for s in form.sections:
            walk(s.fields)
        for f in conditional:
            assert f.when is not None
            read = list(f.when.fields())
            scope = f.path[:-1]
            for path in read:
                scope = common_prefix(scope, path[:-1])
            if any(path[:i] in self.repeated for path in read
                   for i in range(len(scope) + 1, len(path))):
                self.loose.add(f.path)
            else:
                self.conditions.setdefault(scope, []).append((f.when, f.path))

    def codes(self, name: str) -> tuple[Code, ...]:
        return self.form.codes(name)

    def object_schema(self, members: Any, path: tuple[str, ...]) -> dict[str, Any]:
        """Schema of an object: the form root (members are sections), a section or a group."""
        properties: dict[str, Any] = {}
        required: list[str] = []
        names: list[str] = []
        for m in members:
            names.append(m.id)
            if isinstance(m, Field):
                if m.when is not None and m.path not in self.loose:
                    continue  # in the then of its condition (condition_schema)
                properties[m.id] = self.field_schema(m)
                if m.required and m.when is None:
                    required.append(m.id)
            else:  # a section
                section = self.object_schema(m.fields, (m.id,))
                section = {"type": "object", "title": m.title,
                           **({"description": m.help} if m.help else {}), **section}
                if m.person:
                    section["x-tokhai-person"] = _person(m.person)
                properties[m.id] = section
                required.append(m.id)
        out: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "required": required,
        }
        if len(properties) < len(names):
            # closed, the conditional fields' names included (additionalProperties would see
            # only the properties beside it; patternProperties makes RJSF 6 offer to add keys):
            # what their values must be is said in the thens
            out["propertyNames"] = {"enum": names}
        else:
            out["additionalProperties"] = False
        rules = [self.condition_schema(c, owner, path)
                 for c, owner in self.conditions.get(path, [])]
        rules += [_for_renderers(r) for r in self.rule_fragments.get(path, [])]
        if rules:
            out["allOf"] = rules
        return out

    def condition_schema(self, cond: Condition, owner: tuple[str, ...],
                         scope: tuple[str, ...]) -> dict[str, Any]:
        """``if`` the condition holds ``then`` the field's schema applies (and the field is
        required unless it is optional): a renderer resolving if/then with the data shows the
        field only then; a validator checks (and requires) it only then."""
        field = self.form.find(owner)
        assert field is not None
        then = _nest_field(owner[len(scope):], self.field_schema(field), field.required,
                           self.repeated, scope)
        return {"if": self.test_schema(cond, scope), "then": then}

    def test_schema(self, cond: Condition, scope: tuple[str, ...]) -> dict[str, Any]:
        """Whether the condition holds, for the object at ``scope`` (forms.conditions.holds)."""
        if cond.all_of:
            return {"allOf": [self.test_schema(c, scope) for c in cond.all_of]}
        if cond.any_of:
            return {"anyOf": [self.test_schema(c, scope) for c in cond.any_of]}
        if cond.negate is not None:
            return {"not": self.test_schema(cond.negate, scope)}
        target = self.form.find(cond.field)
        assert target is not None  # checked by the language
        rel = cond.field[len(scope):]
        if cond.empty:
            return {"not": _nest(rel, _filled(target))}
        if cond.equals is not None:
            test: dict[str, Any] = {"const": cond.equals}
        elif cond.one_of is not None:
            test = {"enum": list(cond.one_of)}
        else:
            test = _filled(target)
        return _nest(rel, test)

    def field_schema(self, f: Field) -> dict[str, Any]:
        s: dict[str, Any] = {"title": f.label}
        if f.help:
            s["description"] = f.help
        s.update(self.type_schema(f))
        if f.prefill:
            s["x-tokhai-prefill"] = _prefill_doc(f.prefill)
            if f.prefill.mode == "verified":
                s["readOnly"] = True
        if f.when:
            s["x-tokhai-when"] = _condition_doc(f.when)
            if f.path in self.loose:
                s["x-tokhai-when"]["checked_by"] = "server"
        if not f.official:
            s["x-tokhai-official"] = False
        return s

    def type_schema(self, f: Field) -> dict[str, Any]:  # noqa: C901 - one branch per type
        t = f.type
        if t in ("text", "long_text"):
            s: dict[str, Any] = {"type": "string", "maxLength": f.max_length}
            if f.required:
                s["minLength"] = 1
            if f.pattern:
                s["pattern"] = formats.text_pattern(f.pattern)
                s["x-tokhai-message"] = f.pattern_message
            return s
        if t == "time":
            return {"type": "string", "pattern": formats.TIME_PATTERN}
        if t == "date_time":
            return {"type": "string", "pattern": formats.DATE_TIME_PATTERN}
        if t == "id_document":
            return formats.id_document_schema(code_options(self.codes("id_document_type")))
        if t == "place":
            current = self.type_schema(dataclasses.replace(f, type="address", detail="optional"))
            return formats.place_schema(f.places, current,
                                        code_options(self.codes("nationality")))
        if t == "computed":
            return {"type": "string", "readOnly": True, "x-tokhai-template": f.template}
        if t == "date":
            return {"type": "string", "format": "date", "pattern": _DATE_PATTERN}
        if t == "partial_date":
            if f.precision == "year":
                return {"type": "string", "pattern": _YEAR_PATTERN}
            if f.precision == "month":
                return {"type": "string", "pattern": _MONTH_PATTERN}
            return {"type": "string", "pattern": _PARTIAL_DATE_PATTERN}
        if t == "personal_id":
            return {"type": "string", "pattern": formats.PERSONAL_ID_OR_OLD_CARD_PATTERN
                    if f.old_id_card else formats.PERSONAL_ID_PATTERN}
        if t == "tax_code":
            return {"type": "string", "pattern": "^[0-9]{10}([0-9]{3})?$"}
        if t == "phone":
            return {"type": "string", "pattern": _PHONE_PATTERN}
        if t == "email":
            return {"type": "string", "format": "email", "maxLength": 254,
                    "pattern": _EMAIL_PATTERN}
        if t in ("integer", "money"):
            s = {"type": "integer"}
            if f.minimum is not None:
                s["minimum"] = f.minimum
            if f.maximum is not None:
                s["maximum"] = f.maximum
            if t == "money":
                s["x-tokhai-unit"] = "VND"
            return s
        if t == "boolean":
            # the type under allOf: RJSF 6 answers a required boolean "false" by default;
            # the labels are the UI schema's (ui:enumNames)
            return {"enum": [True, False], "allOf": [{"type": "boolean"}]}
        if t == "commitment":
            # under allOf: RJSF takes a const as the value by default (and see boolean)
            return {"allOf": [{"type": "boolean"}, {"const": True}]}
        if t == "choice":
            one_of = code_options(self.codes(f.codes or ""))
            if f.multiple:
                return {"type": "array", "uniqueItems": True,
                        "minItems": 1 if f.required else 0,
                        "items": {"type": "string", "oneOf": one_of}}
            return {"type": "string", "oneOf": one_of}
        if t == "address":
            self.uses_address = True
            props: dict[str, Any] = {
                "province": {"$ref": "#/$defs/province"},
                "commune": {"$ref": "#/$defs/commune"},
            }
            required = ["province", "commune"]
            if f.detail != "none":
                props["detail"] = {"type": "string", "title": "Số nhà, đường, thôn, xóm",
                                   "maxLength": 200}
                if f.detail == "required":
                    props["detail"]["minLength"] = 1
                    required.append("detail")
            return {"type": "object", "properties": props, "required": required,
                    "additionalProperties": False,
                    "allOf": [{"$ref": "#/$defs/commune_in_province"}]}
        if t == "attachment":
            return {
                "type": "array",
                # minItems under allOf: RJSF fills a list up to its minItems with empty items
                **({"allOf": [{"minItems": 1}]} if f.required else {}),
                "maxItems": f.max_files,
                "items": {
                    "type": "object",
                    "properties": {
                        "document_id": {"type": "string", "pattern": _DOCUMENT_ID_PATTERN,
                                        "title": "Mã tài liệu"},
                        "file_name": {"type": "string", "maxLength": 255, "title": "Tên tệp"},
                        "media_type": {"type": "string", "enum": list(f.media_types)},
                    },
                    "required": ["document_id"],
                    "additionalProperties": False,
                },
            }
        if t == "group":
            item = self.object_schema(f.fields, f.path)
            if f.person:
                item["x-tokhai-person"] = _person(f.person)
            if f.repeat:
                lo, hi = f.repeat
                return {"type": "array", "minItems": lo if f.required else 0, "maxItems": hi,
                        "items": item}
            return item
        raise AssertionError(f"unhandled field type {t}")


def _rules(form: FormDefinition) -> tuple[dict[tuple[str, ...], list[dict[str, Any]]],
                                          list[dict[str, Any]]]:
    """The form's rules across fields: JSON Schema fragments by the object they apply to, and
    their description for ``x-tokhai-rules`` (forms.rules)."""
    if not form.rules:
        return {}, []
    return rules.compile_rules(form), rules.rules_doc(form)


def _for_renderers(fragment: dict[str, Any]) -> dict[str, Any]:
    """A rule's fragment as a renderer leaves it alone: react-jsonschema-form offers an
    object's ``anyOf``/``oneOf`` as a choice of forms, so those are stated as the same
    assertion twice negated (``not``, which renderers ignore and validators check)."""
    if "anyOf" in fragment or "oneOf" in fragment:
        return {"not": {"not": fragment}}
    return fragment


def _source(record: str) -> str:
    found = registers.lookup(record)
    return found[0].title if found else record


def _prefill_doc(p: Prefill) -> dict[str, Any]:
    """Where a bound field's value comes from: one record, or (``by``) the record each answer
    of another field picks."""
    if p.by is None:
        return {"record": p.record, "mode": p.mode, "source": _source(p.record)}
    return {"by": ".".join(p.by), "mode": p.mode,
            "records": [{"answer": answer, "record": record, "source": _source(record)}
                        for answer, record in p.records]}


def _person(p: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"relation": list(p.relations)}
    if p.sex:
        out["sex"] = p.sex
    return out


def _condition_doc(c: Condition) -> dict[str, Any]:
    """The condition as written (``when`` of the language)."""
    if c.all_of:
        return {"all": [_condition_doc(x) for x in c.all_of]}
    if c.any_of:
        return {"any": [_condition_doc(x) for x in c.any_of]}
    if c.negate is not None:
        return {"not": _condition_doc(c.negate)}
    out: dict[str, Any] = {"field": ".".join(c.field)}
    if c.empty:
        out["empty"] = True
    if c.equals is not None:
        out["equals"] = c.equals
    if c.one_of is not None:
        out["in"] = list(c.one_of)
    return out


def _filled(target: Field) -> dict[str, Any]:
    """What "has a value" means for a field of this type: present, and not false, an empty
    string or an empty list (forms.conditions.holds)."""
    if target.type in ("boolean", "commitment"):
        return {"const": True}
    if target.type in ("attachment",) or (target.type == "choice" and target.multiple) \
            or (target.type == "group" and target.repeat):
        return {"minItems": 1}
    return {"minLength": 1}  # strings; other values count when present


def _nest(rel: tuple[str, ...], leaf: dict[str, Any]) -> dict[str, Any]:
    """``{"properties": {a: {"properties": {b: leaf}, "required": [b]}}, "required": [a]}``."""
    node: dict[str, Any] = leaf
    for i in range(len(rel) - 1, -1, -1):
        node = {"properties": {rel[i]: node}, "required": [rel[i]]}
    return node


def _nest_field(rel: tuple[str, ...], schema: dict[str, Any], required: bool,
                repeated: set[tuple[str, ...]], base: tuple[str, ...]) -> dict[str, Any]:
    """A schema giving the field at ``rel`` its ``schema`` (and requiring it unless it is
    optional) when its containers are present; walking into a repeated group applies to every
    item."""
    node: dict[str, Any] = {"properties": {rel[-1]: schema}}
    if required:
        node["required"] = [rel[-1]]
    for i in range(len(rel) - 2, -1, -1):
        container = (*base, *rel[: i + 1])
        if container in repeated:
            node = {"items": node}
        node = {"properties": {rel[i]: node}}
    return node


# -- UI schema --------------------------------------------------------------------------------

#: the document chooser a page registers with react-jsonschema-form (``widgets={{...}}``):
#: its value is the attachment list ``[{document_id, file_name, media_type}]`` (docs/forms.md)
DOCUMENT_WIDGET = "tokhaiDocument"

_WIDGETS = {
    "long_text": "textarea",
    "date": "date",
    "email": "email",
    "boolean": "radio",
    "commitment": "checkbox",
    "choice": "select",
    "attachment": DOCUMENT_WIDGET,
    "partial_date": "text",
}

_PARTIAL_DATE_FORMATS = {
    "year": "Năm, ví dụ 1990",
    "month": "Năm-tháng, ví dụ 1990-05",
    "any": "Năm (1990), năm-tháng (1990-05) hoặc năm-tháng-ngày (1990-05-17)",
}


def compile_ui_schema(form: FormDefinition) -> dict[str, Any]:
    """A react-jsonschema-form UI schema: field order, widgets, read-only verified fields and
    help texts."""
    ui: dict[str, Any] = {"ui:order": [s.id for s in form.sections]}
    for s in form.sections:
        section: dict[str, Any] = _ui_members(s.fields)
        if s.help:
            section["ui:description"] = s.help
        ui[s.id] = section
    return ui


def _ui_members(fields: tuple[Field, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"ui:order": [f.id for f in fields]}
    for f in fields:
        out[f.id] = _ui_field(f)
    return out


def _ui_field(f: Field) -> dict[str, Any]:
    if f.is_group:
        inner = _ui_members(f.fields)
        node: dict[str, Any] = {"items": inner} if f.repeat else inner
    else:
        node = {}
        widget = _WIDGETS.get(f.type)
        if f.type == "choice" and f.multiple:
            widget = "checkboxes"
        if widget:
            node["ui:widget"] = widget
        if f.type == "boolean":
            node["ui:enumNames"] = ["Có", "Không"]
        if f.type == "partial_date":
            node["ui:placeholder"] = _PARTIAL_DATE_FORMATS[f.precision]
        if f.type == "address":
            node["ui:order"] = ["province", "commune", "detail"]
            node["commune"] = {"ui:help": "Chọn tỉnh, thành phố trước: danh sách xã, phường "
                                          "là của tỉnh, thành phố đã chọn."}
    if f.help:
        node["ui:help"] = f.help
    if f.prefill:
        src = " hoặc ".join(dict.fromkeys(_source(r) for r in f.prefill.all_records()))
        if f.prefill.mode == "verified":
            node["ui:readonly"] = True
            node.setdefault("ui:help", f"Lấy từ {src}; không sửa được trên tờ khai.")
        else:
            node.setdefault("ui:help", f"Gợi ý từ {src}; có thể sửa.")
    return node

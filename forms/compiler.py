"""Compile a form definition to JSON Schema (draft 2020-12) and a UI schema.

The schema must work unchanged in validators and renderers no one here wrote, so it uses only
standard keywords, prefers those that mean the same in draft-07 (``const``, ``if``/``then``,
``oneOf``, ``readOnly``; never ``$ref`` with siblings, ``prefixItems`` or ``unevaluated*``), and
keeps tokhai's own information under ``x-tokhai-*`` keys that other tools ignore. The UI schema
follows react-jsonschema-form conventions.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from forms import registers, units
from forms.codelists import Code
from forms.model import Condition, Field, FormDefinition, common_prefix

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
DRAFT_07 = "http://json-schema.org/draft-07/schema#"

_DATE_PATTERN = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
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
            "oneOf": [{"const": p.code, "title": p.name} for p in units.provinces()],
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
                           "required": ["province", "commune"]},
                    "then": {"properties": {"commune": {"enum": [c.code for c in communes]}}},
                }
                for code, communes in by_province.items()
            ],
        },
    }


def address_defs() -> dict[str, Any]:
    return copy.deepcopy(_address_defs())


class _Compiler:
    def __init__(self, form: FormDefinition):
        self.form = form
        self.uses_address = False
        # conditions grouped by the object they are compiled into (the common scope)
        self.conditions: dict[tuple[str, ...], list[tuple[Condition, tuple[str, ...]]]] = {}
        self.repeated: set[tuple[str, ...]] = set()
        self._collect(form)

    def _collect(self, form: FormDefinition) -> None:
        def walk(fields: tuple[Field, ...]) -> None:
            for f in fields:
                if f.is_group:
                    if f.repeat:
                        self.repeated.add(f.path)
                    walk(f.fields)
                if f.when is not None:
                    scope = common_prefix(f.when.field[:-1], f.path[:-1])
                    self.conditions.setdefault(scope, []).append((f.when, f.path))

        for s in form.sections:
            walk(s.fields)

    def codes(self, name: str) -> tuple[Code, ...]:
        return self.form.codes(name)

    def object_schema(self, members: Any, path: tuple[str, ...]) -> dict[str, Any]:
        """Schema of an object: the form root (members are sections), a section or a group."""
        properties: dict[str, Any] = {}
        required: list[str] = []
        for m in members:
            if isinstance(m, Field):
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
            "additionalProperties": False,
        }
        rules = [self.condition_schema(c, owner, path)
                 for c, owner in self.conditions.get(path, [])]
        if rules:
            out["allOf"] = rules
        return out

    def condition_schema(self, cond: Condition, owner: tuple[str, ...],
                         scope: tuple[str, ...]) -> dict[str, Any]:
        target = self.form.find(cond.field)
        assert target is not None  # checked by the language
        if cond.equals is not None:
            test: dict[str, Any] = {"const": cond.equals}
        elif cond.one_of is not None:
            test = {"enum": list(cond.one_of)}
        else:
            test = _filled(target)
        if_schema = _nest(cond.field[len(scope):], test)
        owner_field = self.form.find(owner)
        assert owner_field is not None
        then = _nest_required(owner[len(scope):], self.repeated, scope,
                              required=owner_field.required)
        return {"if": if_schema, "then": then}

    def field_schema(self, f: Field) -> dict[str, Any]:
        s: dict[str, Any] = {"title": f.label}
        if f.help:
            s["description"] = f.help
        s.update(self.type_schema(f))
        if f.prefill:
            found = registers.lookup(f.prefill.record)
            s["x-tokhai-prefill"] = {
                "record": f.prefill.record,
                "mode": f.prefill.mode,
                "source": found[0].title if found else None,
            }
            if f.prefill.mode == "verified":
                s["readOnly"] = True
        if f.when:
            s["x-tokhai-when"] = _condition_doc(f.when)
        if not f.official:
            s["x-tokhai-official"] = False
        return s

    def type_schema(self, f: Field) -> dict[str, Any]:  # noqa: C901 - one branch per type
        t = f.type
        if t in ("text", "long_text"):
            s: dict[str, Any] = {"type": "string", "maxLength": f.max_length}
            if f.required:
                s["minLength"] = 1
            return s
        if t == "date":
            return {"type": "string", "format": "date", "pattern": _DATE_PATTERN}
        if t == "partial_date":
            if f.precision == "year":
                return {"type": "string", "pattern": _YEAR_PATTERN}
            if f.precision == "month":
                return {"type": "string", "pattern": _MONTH_PATTERN}
            return {"type": "string", "anyOf": [
                {"pattern": _YEAR_PATTERN},
                {"pattern": _MONTH_PATTERN},
                {"pattern": _DATE_PATTERN, "format": "date"},
            ]}
        if t == "personal_id":
            return {"type": "string", "pattern": "^[0-9]{12}$"}
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
            return {"type": "boolean",
                    "oneOf": [{"const": True, "title": "Có"}, {"const": False, "title": "Không"}]}
        if t == "commitment":
            return {"type": "boolean", "const": True}
        if t == "choice":
            one_of = [{"const": c.code, "title": c.label} for c in self.codes(f.codes or "")]
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
                "minItems": 1 if f.required else 0,
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


def _person(p: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"relation": list(p.relations)}
    if p.sex:
        out["sex"] = p.sex
    return out


def _condition_doc(c: Condition) -> dict[str, Any]:
    out: dict[str, Any] = {"field": ".".join(c.field)}
    if c.equals is not None:
        out["equals"] = c.equals
    if c.one_of is not None:
        out["in"] = list(c.one_of)
    return out


def _filled(target: Field) -> dict[str, Any]:
    """What "has a value" means for a field of this type."""
    if target.type == "boolean":
        return {"const": True}
    if target.type in ("text", "long_text"):
        return {"minLength": 1}
    if target.type in ("attachment",) or (target.type == "choice" and target.multiple):
        return {"minItems": 1}
    return {}


def _nest(rel: tuple[str, ...], leaf: dict[str, Any]) -> dict[str, Any]:
    """``{"properties": {a: {"properties": {b: leaf}, "required": [b]}}, "required": [a]}``."""
    node: dict[str, Any] = leaf
    for i in range(len(rel) - 1, -1, -1):
        node = {"properties": {rel[i]: node}, "required": [rel[i]]}
    return node


def _nest_required(rel: tuple[str, ...], repeated: set[tuple[str, ...]],
                   base: tuple[str, ...], *, required: bool = True) -> dict[str, Any]:
    """A schema that requires the field at ``rel`` (unless it is optional) when its containers
    are present; walking into a repeated group applies to every item."""
    node: dict[str, Any] = {"required": [rel[-1]]} if required else {}
    for i in range(len(rel) - 2, -1, -1):
        container = (*base, *rel[: i + 1])
        if container in repeated:
            node = {"items": node}
        node = {"properties": {rel[i]: node}}
    return node


# -- UI schema --------------------------------------------------------------------------------

_WIDGETS = {
    "long_text": "textarea",
    "date": "date",
    "email": "email",
    "boolean": "radio",
    "commitment": "checkbox",
    "choice": "select",
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
        if f.type == "address":
            node["ui:order"] = ["province", "commune", "detail"]
            node["commune"] = {"ui:help": "Mã xã, phường theo danh mục đơn vị hành chính; "
                                          "danh sách tại /api/v1/administrative-units."}
    if f.help:
        node["ui:help"] = f.help
    if f.prefill:
        source = registers.lookup(f.prefill.record)
        src = source[0].title if source else f.prefill.record
        if f.prefill.mode == "verified":
            node["ui:readonly"] = True
            node.setdefault("ui:help", f"Lấy từ {src}; không sửa được trên tờ khai.")
        else:
            node.setdefault("ui:help", f"Gợi ý từ {src}; có thể sửa.")
    return node

"""A complete, valid example submission for any form definition.

Used by the benchmarks and tests, and handy for designers who want to see what data a form
expects: every field is filled, including optional and conditional ones, with plausible
Vietnamese values.
"""

from __future__ import annotations

from typing import Any

from forms import units
from forms.model import Field, FormDefinition

_TEXT = "Nguyễn Thị Minh Khai"


def example_submission(form: FormDefinition) -> dict[str, Any]:
    return {s.id: _object(form, s.fields) for s in form.sections}


def _object(form: FormDefinition, fields: tuple[Field, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        out[f.id] = _value(form, f)
    # satisfy conditions between siblings: a field that depends on another with a fixed value
    for f in fields:
        if f.when is not None and f.when.field[:-1] == f.path[:-1]:
            key = f.when.field[-1]
            if f.when.equals is not None:
                out[key] = f.when.equals
            elif f.when.one_of:
                out[key] = f.when.one_of[0]
    return out


def _value(form: FormDefinition, f: Field) -> Any:  # noqa: C901 - one branch per type
    t = f.type
    if t == "group":
        item = _object(form, f.fields)
        if f.repeat:
            return [item] * max(1, min(2, f.repeat[1]))
        return item
    if t in ("text", "long_text"):
        return _TEXT[: f.max_length or 200]
    if t == "date":
        return "1990-05-17"
    if t == "partial_date":
        return {"year": "1990", "month": "1990-05"}.get(f.precision, "1990-05-17")
    if t == "personal_id":
        return "001090012345"
    if t == "tax_code":
        return "0101234567"
    if t == "phone":
        return "0912345678"
    if t == "email":
        return "nguoi.dan@example.vn"
    if t in ("integer", "money"):
        lo = f.minimum if f.minimum is not None else 0
        hi = f.maximum if f.maximum is not None else lo + 10
        return max(lo, min(hi, 1 if t == "integer" else 1_500_000))
    if t in ("boolean", "commitment"):
        return True
    if t == "choice":
        codes = form.codes(f.codes or "")
        return [codes[0].code] if f.multiple else codes[0].code
    if t == "address":
        province = units.provinces()[0]
        commune = units.communes_by_province()[province.code][0]
        value = {"province": province.code, "commune": commune.code}
        if f.detail != "none":
            value["detail"] = "Số 12, ngõ 34, phố Huế"
        return value
    if t == "attachment":
        return [{"document_id": "TL-0001", "file_name": "giay-to.pdf",
                 "media_type": f.media_types[0]}]
    raise AssertionError(f"unhandled field type {t}")

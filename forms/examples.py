"""A complete, valid example submission for any form definition.

Used by the benchmarks and tests, and handy for designers who want to see what data a form
expects: every field is filled, including optional and conditional ones, with plausible
Vietnamese values.
"""

from __future__ import annotations

import re
import re._parser as sre  # type: ignore[import-not-found]  # the standard library's own reading of a regular expression
from typing import Any

from forms import codelists, units
from forms.model import Field, FormDefinition

_TEXT = "Nguyễn Thị Minh Khai"


def example_submission(form: FormDefinition) -> dict[str, Any]:
    data = {s.id: _object(form, s.fields) for s in form.sections}
    # a rule that allows at most one of its fields keeps only the first
    for rule in form.rules:
        if rule.kind in ("at_most_one", "exactly_one"):
            for path in rule.fields[1:]:
                _remove(data, path)
    return data


def _remove(node: Any, path: tuple[str, ...]) -> None:
    if isinstance(node, list):
        for item in node:
            _remove(item, path)
    elif isinstance(node, dict) and path:
        if len(path) == 1:
            node.pop(path[0], None)
        else:
            _remove(node.get(path[0]), path[1:])


def _object(form: FormDefinition, fields: tuple[Field, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        value = _value(form, f)
        if value is not None:  # computed text is the service's to write
            out[f.id] = value
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
        if f.pattern:
            return matching(f.pattern)
        return _TEXT[: f.max_length or 200]
    if t == "time":
        return "08:30"
    if t == "date_time":
        return "1990-05-17T08:30"
    if t == "id_document":
        return {"type": "dinh_danh", "number": "001090012345"}
    if t == "computed":
        return None
    if t == "date":
        return "1990-05-17"
    if t == "partial_date":
        return {"year": "1990", "month": "1990-05"}.get(f.precision, "1990-05-17")
    if t == "personal_id":
        return "001090012345"
    if t == "place":
        kind = (f.places or ("current",))[0]
        if kind == "abroad":
            return {"kind": "abroad", "country": codelists.lookup("nationality")[0].code,
                    "detail": "Paris"}
        if kind == "former":
            return {"kind": "former", "text": "Xã Tân Lập, huyện Đan Phượng, tỉnh Hà Tây"}
        province = units.provinces()[0]
        return {"kind": "current", "province": province.code,
                "commune": units.communes_by_province()[province.code][0].code}
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


def matching(pattern: str) -> str:
    """The shortest plain text a (language-checked, so simple) regular expression matches
    whole: the first of every alternative and class, each repeat its minimum times."""
    return _shortest(sre.parse(pattern))


def _shortest(parsed: Any) -> str:  # noqa: C901 - one branch per node kind
    out = []
    for op, arg in parsed:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "NOT_LITERAL":
            out.append("a" if chr(arg) != "a" else "b")
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_in_class(arg))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _high, item = arg
            out.append(_shortest(item) * low)
        elif name == "SUBPATTERN":
            out.append(_shortest(arg[-1]))
        elif name == "BRANCH":
            out.append(_shortest(arg[1][0]))
        elif name == "ATOMIC_GROUP":
            out.append(_shortest(arg))
        # AT (anchors) match no text
    return "".join(out)


def _in_class(items: Any) -> str:
    negate = any(str(op) == "NEGATE" for op, _ in items)
    candidates = "A0a -/."

    def member(c: str) -> bool:
        for op, arg in items:
            name = str(op)
            if name == "LITERAL" and chr(arg) == c:
                return True
            if name == "RANGE" and arg[0] <= ord(c) <= arg[1]:
                return True
            if name == "CATEGORY" and re.fullmatch(_CATEGORIES.get(str(arg), "$^"), c):
                return True
        return False

    if not negate:
        for op, arg in items:
            if str(op) == "LITERAL":
                return chr(arg)
            if str(op) == "RANGE":
                return chr(arg[0])
    return next(c for c in candidates if member(c) != negate)


_CATEGORIES = {"CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s",
               "CATEGORY_NOT_SPACE": r"\S", "CATEGORY_WORD": r"\w",
               "CATEGORY_NOT_WORD": r"\W"}

"""Rules across fields (``rules:`` of a form) and text computed from answers.

The server checks every rule (:func:`rule_errors`, after hidden values are dropped); the ones
JSON Schema can say are also compiled into the schema (:func:`compile_rules`: "at least one",
"at most one" and "exactly one" of some fields), so that other validators and renderers enforce
them too; the others (order, not in the future) are listed for them under ``x-tokhai-rules``
(:func:`rules_doc`). Every rule's message names the fields by their printed labels.

Computed text (``type: computed``) is the service's: :func:`fill_computed` writes it from the
answers over anything sent.
"""

from __future__ import annotations

import re
from datetime import date
from itertools import combinations
from typing import Any

from forms import codelists, pointers, units
from forms.conditions import concrete, has_value, holds, instances
from forms.model import Field, FormDefinition, Rule, common_prefix

__all__ = ["compile_rules", "display", "fill_computed", "render", "rule_errors", "rules_doc"]

#: what a missing answer shows as in a computed text: the printed form's blank
BLANK = "…"
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_PRESENCE_KINDS = ("at_least_one", "at_most_one", "exactly_one")


# -- messages ---------------------------------------------------------------------------------

def _names(fields: list[Field]) -> str:
    return ", ".join(f"“{f.label}”" for f in fields)


def _messages(rule: Rule, fields: list[Field]) -> tuple[str, str]:
    """The rule's (Vietnamese, English) message: the designer's, else one naming the fields."""
    names = _names(fields)
    vi, en = {
        "at_least_one": (f"Cần điền ít nhất một trong các mục: {names}.",
                         f"Fill in at least one of: {names}."),
        "at_most_one": (f"Chỉ được điền một trong các mục: {names}.",
                        f"Fill in at most one of: {names}."),
        "exactly_one": (f"Cần điền đúng một trong các mục: {names}.",
                        f"Fill in exactly one of: {names}."),
        "not_after": (f"{_names(fields[:1])} không được sau {_names(fields[1:])}.",
                      f"{_names(fields[:1])} must not be after {_names(fields[1:])}."),
        "not_future": (f"{names} không được là ngày trong tương lai.",
                       f"{names} must not be in the future."),
    }[rule.kind]
    return rule.message or vi, en


def _fields(form: FormDefinition, rule: Rule) -> list[Field]:
    found = [form.find(p) for p in rule.fields]
    assert all(f is not None for f in found), rule  # checked by the language
    return [f for f in found if f is not None]


def _scope(rule: Rule) -> tuple[str, ...]:
    """The innermost object holding every field of the rule: where it is checked (once per
    item when that object is in a repeated group)."""
    scope = rule.fields[0][:-1]
    for p in rule.fields[1:]:
        scope = common_prefix(scope, p[:-1])
    return scope


# -- checking ---------------------------------------------------------------------------------

def rule_errors(form: FormDefinition, data: dict[str, Any], today: date) -> list[dict[str, str]]:
    """Every rule broken by the data (hidden values already dropped), as error items
    ``{field: pointer, code: the rule's kind, message, message_en}``; ``today`` is the date in
    Vietnam (Asia/Ho_Chi_Minh)."""
    out: list[dict[str, str]] = []
    for rule in form.rules:
        fields = _fields(form, rule)
        vi, en = _messages(rule, fields)
        for tokens, _node in instances(form, data, _scope(rule)):
            at = [concrete(p, tokens) for p in rule.fields]
            values = [pointers.walk(data, t, None) for t in at]
            bad = _broken(rule, fields, values, today)
            if bad is not None:
                out.append({"field": pointers.join(at[bad]), "code": rule.kind,
                            "message": vi, "message_en": en})
    return out


def _broken(rule: Rule, fields: list[Field], values: list[Any], today: date) -> int | None:
    """The index of the field to point at when the rule is broken, else None."""
    given = [i for i, v in enumerate(values) if has_value(v)]
    if rule.kind == "at_least_one":
        return 0 if not given else None
    if rule.kind == "at_most_one":
        return given[1] if len(given) > 1 else None
    if rule.kind == "exactly_one":
        return None if len(given) == 1 else (given[1] if given else 0)
    if rule.kind == "not_after":
        a, b = values
        return 1 if _after(a, b) else None
    if rule.kind == "not_future":
        (a,) = values
        return 0 if isinstance(a, str) and _after(a, today.isoformat()) else None
    raise AssertionError(f"unknown rule kind {rule.kind}")


def _after(a: Any, b: Any) -> bool:
    """Whether ``a`` is strictly after ``b``: numbers, or ISO dates, partial dates, date-times
    and times compared at the precision both have (2024 is not after 2024-05-01)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    if isinstance(a, int) and isinstance(b, int):
        return a > b
    if isinstance(a, str) and isinstance(b, str) and a and b:
        n = min(len(a), len(b))
        return a[:n] > b[:n]
    return False


# -- computed text ----------------------------------------------------------------------------

def fill_computed(form: FormDefinition, data: dict[str, Any]) -> dict[str, Any]:
    """Write (in place) every computed text from the answers, over any value sent; a computed
    field whose condition does not hold gets none."""
    def walk(fields: tuple[Field, ...], tokens: tuple[str, ...], node: Any) -> None:
        if not isinstance(node, dict):
            return
        for f in fields:
            here = (*tokens, f.id)
            if f.type == "computed":
                if f.when is not None and not holds(f.when, data, here):
                    node.pop(f.id, None)
                else:
                    node[f.id] = render(form, f, data, here)
            elif f.is_group and f.repeat and isinstance(node.get(f.id), list):
                for i, item in enumerate(node[f.id]):
                    walk(f.fields, (*here, str(i)), item)
            elif f.is_group:
                walk(f.fields, here, node.get(f.id))

    for s in form.sections:
        if _has_computed(s.fields):
            walk(s.fields, (s.id,), data.setdefault(s.id, {}))
    return data


def _has_computed(fields: tuple[Field, ...]) -> bool:
    return any(f.type == "computed" or (f.is_group and _has_computed(f.fields)) for f in fields)


def render(form: FormDefinition, field: Field, data: Any, owner: tuple[str, ...]) -> str:
    """The text of a computed field (or of a commitment with a template) at ``owner``
    (concrete tokens): each ``{path}`` replaced by the answer as printed (:func:`display`),
    "…" where there is none."""
    def one(match: re.Match[str]) -> str:
        parts = tuple(match.group(1).split("."))
        path = (*field.path[:-1], *parts) if len(parts) == 1 else parts
        target = form.find(path)
        value = pointers.walk(data, concrete(path, owner), None)
        return display(form, target, value) if target is not None else BLANK

    return _PLACEHOLDER.sub(one, field.template or "")


def _dmy(value: str) -> str:
    """An ISO date, year-month or year as printed: dd/mm/yyyy, mm/yyyy, yyyy."""
    return "/".join(reversed(value.split("-")))


def display(form: FormDefinition, f: Field, value: Any) -> str:  # noqa: C901 - one per type
    """An answer as a person reads it: a choice by its label, a date dd/mm/yyyy, a unit by
    its name; "…" for no answer."""
    if value is None or value == "" or value == [] or value == {}:
        return BLANK
    t = f.type
    if t == "choice":
        labels = {c.code: c.label for c in form.codes(f.codes or "")}
        chosen = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(str(c), str(c)) for c in chosen)
    if t in ("date", "partial_date") and isinstance(value, str):
        return _dmy(value)
    if t == "date_time" and isinstance(value, str) and "T" in value:
        day, time = value.split("T", 1)
        return f"{time[:5]} ngày {_dmy(day)}"
    if t == "time" and isinstance(value, str):
        return value[:5]
    if t in ("boolean", "commitment") and isinstance(value, bool):
        return "Có" if value else "Không"
    if t == "money" and isinstance(value, int):
        return f"{value:,}".replace(",", ".") + " đồng"
    if t in ("address", "place") and isinstance(value, dict):
        kind = value.get("kind", "current")
        if kind == "former":
            return str(value.get("text") or BLANK)
        if kind == "abroad":
            countries = {c.code: c.label for c in codelists.nationalities()}
            country = countries.get(str(value.get("country")), str(value.get("country") or ""))
            parts = [value.get("detail"), country]
        else:
            parts = [value.get("detail"), units.name(str(value.get("commune") or "")),
                     units.name(str(value.get("province") or ""))]
        return ", ".join(str(p) for p in parts if p) or BLANK
    if t == "id_document" and isinstance(value, dict):
        labels = {c.code: c.label for c in codelists.ID_DOCUMENT_TYPES}
        kind = labels.get(str(value.get("type")), str(value.get("type") or ""))
        return f"{kind} số {value.get('number') or BLANK}"
    return str(value)


# -- the compiled schema ----------------------------------------------------------------------

def _filled(f: Field) -> dict[str, Any]:
    """What "has a value" means, as in ``forms.conditions.has_value``: yes for a yes/no
    answer, not empty for text and lists (each keyword applies only to its own type)."""
    if f.type == "boolean":
        return {"const": True}
    if f.type in ("integer", "money", "address", "place", "id_document"):
        return {}
    return {"minItems": 1} if f.type == "attachment" or f.multiple else {"minLength": 1}


def _present(rel: tuple[str, ...], f: Field) -> dict[str, Any]:
    """``{"properties": {a: {"properties": {b: filled}, "required": [b]}}, "required": [a]}``."""
    node: dict[str, Any] = _filled(f)
    for i in range(len(rel) - 1, -1, -1):
        node = {"properties": {rel[i]: node}, "required": [rel[i]]}
    return node


def compile_rules(form: FormDefinition) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """JSON Schema for the rules the standard can say, by the object they apply to (the
    innermost object holding their fields: ``()`` the root, a section, a group; a repeated
    group's path means each of its items): fragments for that object's ``allOf``. "At least
    one" is an ``anyOf`` of presences, "exactly one" a ``oneOf``, "at most one" a ``not``
    of any two present together."""
    out: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for rule in form.rules:
        if rule.kind not in _PRESENCE_KINDS:
            continue
        fields = _fields(form, rule)
        scope = _scope(rule)
        present = [_present(p[len(scope):], f) for p, f in zip(rule.fields, fields, strict=True)]
        if rule.kind == "at_least_one":
            fragment: dict[str, Any] = {"anyOf": present}
        elif rule.kind == "exactly_one":
            fragment = {"oneOf": present}
        else:
            fragment = {"not": {"anyOf": [{"allOf": [a, b]} for a, b in combinations(present, 2)]}}
        fragment["x-tokhai-message"] = _messages(rule, fields)[0]
        out.setdefault(scope, []).append(fragment)
    return out


def rules_doc(form: FormDefinition) -> list[dict[str, Any]]:
    """Every rule, for the root's ``x-tokhai-rules``: its kind, the fields' dotted paths from
    the root, its messages and whether the schema itself also says it (``in_schema``)."""
    out: list[dict[str, Any]] = []
    for rule in form.rules:
        vi, en = _messages(rule, _fields(form, rule))
        out.append({"kind": rule.kind, "fields": [".".join(p) for p in rule.fields],
                    "message": vi, "message_en": en,
                    "in_schema": rule.kind in _PRESENCE_KINDS})
    return out

"""When a field applies: conditions (``when``) evaluated on form data.

A field whose condition does not hold is hidden, and hidden means absent: its value is neither
required, nor validated, nor stored (:func:`drop_hidden` removes it before anything else looks at
the data). The meaning is the compiled schema's (``forms.compiler``): a field "has a value" when
it is present and, for a yes/no answer, yes; for text and lists, not empty.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from forms import pointers
from forms.model import Condition, Field, FormDefinition

__all__ = ["concrete", "drop_hidden", "has_value", "holds", "instances", "shown"]

_OMIT = object()


def concrete(path: tuple[str, ...], owner: tuple[str, ...]) -> tuple[str, ...]:
    """The pointer tokens of the field at ``path`` (ids) seen from the field at ``owner``
    (concrete tokens, with the indices of its repeated groups): inside the same items."""
    out: list[str] = []
    j = 0
    same = True
    for part in path:
        if same and j < len(owner) and owner[j] == part:
            out.append(part)
            j += 1
            if j < len(owner) and owner[j].isdigit():
                out.append(owner[j])
                j += 1
        else:
            same = False
            out.append(part)
    return tuple(out)


def has_value(value: Any) -> bool:
    """Whether an answer counts as given: present, yes for a yes/no answer, not empty for
    text and lists (``None`` and missing are no answer; an object such as an address is one
    when present, as in the compiled schema)."""
    if value is None or value is _OMIT:
        return False
    if isinstance(value, bool):
        return value is True
    if isinstance(value, str | list):
        return len(value) > 0
    return True


def holds(cond: Condition, data: Any, owner: tuple[str, ...]) -> bool:
    """Whether the condition of the field at ``owner`` (concrete tokens) holds in ``data``."""
    if cond.negate is not None:
        return not holds(cond.negate, data, owner)
    if cond.all_of:
        return all(holds(c, data, owner) for c in cond.all_of)
    if cond.any_of:
        return any(holds(c, data, owner) for c in cond.any_of)
    value = pointers.walk(data, concrete(cond.field, owner), _OMIT)
    if cond.empty:
        return not has_value(value)
    if value is _OMIT:
        return False
    if cond.equals is not None:
        return _same(value, cond.equals)
    if cond.one_of is not None:
        return any(_same(value, x) for x in cond.one_of)
    return has_value(value)


def _same(a: Any, b: Any) -> bool:
    return bool(a == b) and isinstance(a, bool) == isinstance(b, bool)


def drop_hidden(form: FormDefinition, data: dict[str, Any]) -> dict[str, Any]:
    """Remove (in place) the values of fields whose condition does not hold, looking again
    until nothing changes (a removed value may hide another field)."""
    rounds = 1 + sum(1 for _ in _conditional(form))
    for _round in range(rounds):
        removed = False

        def walk(fields: tuple[Field, ...], tokens: tuple[str, ...], node: Any) -> None:
            nonlocal removed
            if not isinstance(node, dict):
                return
            for f in fields:
                here = (*tokens, f.id)
                if f.id not in node:
                    continue
                if f.when is not None and not holds(f.when, data, here):
                    del node[f.id]
                    removed = True
                    continue
                if f.is_group and f.repeat and isinstance(node[f.id], list):
                    for i, item in enumerate(node[f.id]):
                        walk(f.fields, (*here, str(i)), item)
                elif f.is_group:
                    walk(f.fields, here, node[f.id])

        for s in form.sections:
            walk(s.fields, (s.id,), data.get(s.id))
        if not removed:
            break
    return data


def _conditional(form: FormDefinition) -> Iterator[Field]:
    def walk(fields: tuple[Field, ...]) -> Iterator[Field]:
        for f in fields:
            if f.when is not None:
                yield f
            if f.is_group:
                yield from walk(f.fields)

    for s in form.sections:
        yield from walk(s.fields)


def shown(form: FormDefinition, data: dict[str, Any]) -> set[tuple[str, ...]]:
    """The concrete tokens of every leaf field shown for these answers: its condition and its
    groups' conditions hold (after hidden values are dropped), one per item of a repeated
    group present in the data (a repeated group without items shows none)."""
    data = drop_hidden(form, copy.deepcopy(data))
    out: set[tuple[str, ...]] = set()

    def walk(fields: tuple[Field, ...], tokens: tuple[str, ...], node: Any) -> None:
        for f in fields:
            here = (*tokens, f.id)
            if f.when is not None and not holds(f.when, data, here):
                continue
            value = node.get(f.id) if isinstance(node, dict) else None
            if f.is_group and f.repeat:
                for i, item in enumerate(value if isinstance(value, list) else ()):
                    walk(f.fields, (*here, str(i)), item)
            elif f.is_group:
                walk(f.fields, here, value)
            else:
                out.add(here)

    for s in form.sections:
        walk(s.fields, (s.id,), data.get(s.id))
    return out


def instances(form: FormDefinition, data: Any, path: tuple[str, ...],
              ) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Every object of the data at ``path`` (ids; ``()`` is the whole data), with its concrete
    tokens: the item of each repeated group on the way is followed in turn."""
    def walk(node: Any, i: int, tokens: tuple[str, ...]) -> Iterator[
            tuple[tuple[str, ...], dict[str, Any]]]:
        if i == len(path):
            if isinstance(node, dict):
                yield tokens, node
            return
        if not isinstance(node, dict) or path[i] not in node:
            return
        value = node[path[i]]
        here = (*tokens, path[i])
        f = form.find(path[: i + 1]) if i > 0 else None
        if f is not None and f.repeat and isinstance(value, list):
            for k, item in enumerate(value):
                yield from walk(item, i + 1, (*here, str(k)))
        else:
            yield from walk(value, i + 1, here)

    yield from walk(data, 0, ())

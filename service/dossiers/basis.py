"""On what basis a dossier's filing read the records of people other than its declarant
(issue #16, "What must hold" 2): what the dossier keeps of it, and what it says to people.

Prefill reads a person named by a typed number only when the registers link them to the
declarant by a relation the form allows, and the person a relation chosen by an answer picks;
each value it fills for them carries ``basis`` in its provenance
(``service.records.prefill``). At filing the service prefills again with the submitted
answers (never the client's word for it) and keeps one entry per such person (a section, a
group or an item of a repeated group) and register read::

    {"pointer": "/nguoi_duoc_giam_ho", "relation": "ward",
     "named_by": "/nguoi_duoc_giam_ho/so_dinh_danh", "register": "population",
     "record_id": "…"}

(``relation_by`` instead of ``named_by`` for a relation chosen by an answer). A person named
whom the registers do not link to the declarant by an allowed relation has no entry: nothing
of theirs was read.
"""

from __future__ import annotations

from typing import Any

from forms.model import FormDefinition
from service.records import prefill as pf


def _person_scopes(form: FormDefinition) -> list[tuple[str, bool]]:
    """The pointers of the sections and groups about a person named or chosen by an answer
    (and whether repeated), longest first: the innermost binding wins."""
    found = [(s.pointer, s.repeated) for s in pf.scopes(form)
             if s.person.named_by is not None or s.person.relation_by is not None]
    return sorted(found, key=lambda s: len(s[0]), reverse=True)


def _scope_of(pointer: str, scopes: list[tuple[str, bool]]) -> str:
    """The person (a scope's pointer, or its item's) a filled field's pointer belongs to."""
    for base, repeated in scopes:
        if pointer.startswith(base + "/"):
            if repeated:
                return f"{base}/{pointer[len(base) + 1:].split('/', 1)[0]}"
            return base
    return pointer.rsplit("/", 1)[0] or "/"


def recorded(form: FormDefinition, result: pf.PrefillResult) -> list[dict[str, Any]]:
    """The basis to keep with a dossier: from the provenance of ``result`` (the prefill made
    with the answers filed), one entry per person and register, in pointer order."""
    scopes = _person_scopes(form)
    entries: dict[tuple[str, str], dict[str, Any]] = {}
    for pointer, info in result.provenance.items():
        basis = info.get("basis")
        if not isinstance(basis, dict):
            continue
        person = _scope_of(pointer, scopes)
        key = (person, str(info.get("register", "")))
        if key in entries:
            continue
        entry: dict[str, Any] = {"pointer": person, "relation": basis.get("relation")}
        for how in ("named_by", "relation_by"):
            if basis.get(how):
                entry[how] = basis[how]
        entry["register"] = info.get("register")
        if info.get("record_id") is not None:
            entry["record_id"] = str(info["record_id"])
        entries[key] = entry
    return [entries[k] for k in sorted(entries)]


def has_people_by_answer(form: FormDefinition) -> bool:
    """Whether the form has a section or group about a person named or chosen by an answer
    (only such a form's dossiers can record a basis)."""
    return bool(_person_scopes(form))

"""The name of a dossier's citizen, kept with the dossier so that officers can find it by
name (the officers' queue, ``queries.office_queue``): the name as filed, and a search key
without accents or case, so that "nguyen van an" finds "Nguyễn Văn An".

Which field names the declarant is read from the form's bindings, as prefill reads them:

1. the scope (a section, or a group bound to a person of its own) about the declarant
   themselves: bound to no person (``person`` absent: the declarant) or to ``person:
   declarant`` without a condition on sex; its name is the field the population register
   fills with the full name (``population.full_name``), else the surname and given names
   (``population.surname`` + ``population.given_names``, as passport forms print them);
2. else, when the declarant is one of several people of the form (a marriage's two parties,
   each ``person: {relation: declarant, sex: ...}``: which one is the declarant is known only
   from who files), the name of the scope whose personal-ID field
   (``population.personal_id``) holds the filer's own personal ID;
3. else no name: the dossier is found by code or personal ID only.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from forms.model import Field, FormDefinition, Person

#: longest name kept (the column's length)
NAME_MAX = 200
_FULL_NAME = "population.full_name"
_SURNAME = "population.surname"
_GIVEN_NAMES = "population.given_names"
_PERSONAL_ID = "population.personal_id"


@dataclass(frozen=True)
class _Scope:
    """The fields about one person, with their values in one dossier's data."""

    person: Person | None
    #: whether this is the declarant's own scope whoever files (rule 1)
    declarant: bool
    values: dict[str, Any]  # prefill record -> the value filed

    def name(self) -> str | None:
        full = _text(self.values.get(_FULL_NAME))
        if full is None:
            parts = [_text(self.values.get(r)) for r in (_SURNAME, _GIVEN_NAMES)]
            full = " ".join(p for p in parts if p) or None
        return full[:NAME_MAX] if full else None


def _text(value: Any) -> str | None:
    return " ".join(value.split()) if isinstance(value, str) and value.strip() else None


def fold(text: str) -> str:
    """``text`` for searching: without diacritics ("đ" as "d"), case or extra spaces, so that
    "nguyen van an" finds "Nguyễn Văn An" and "dang ky" finds "Đăng ký"."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def name_key(text: str) -> str:
    """A name's search key, as kept with the dossier: :func:`fold`, at most the column's
    length."""
    return fold(text)[:NAME_MAX]


def _is_declarant(person: Person | None) -> bool:
    return person is None or (person.relations == ("declarant",) and person.sex is None)


def _scopes(fields: tuple[Field, ...], node: Any, person: Person | None,
            declarant: bool) -> Iterator[_Scope]:
    """The scopes of ``fields`` filed as ``node``: this one (its own fields, and plain groups'),
    then each group bound to a person, or repeated, as scopes of their own (a repeated group's
    items one by one)."""
    values: dict[str, Any] = {}
    inner: list[Iterator[_Scope]] = []

    def walk(fs: tuple[Field, ...], obj: Any) -> None:
        for f in fs:
            value = obj.get(f.id) if isinstance(obj, dict) else None
            if not f.is_group:
                if f.type == "id_document" and isinstance(value, dict):
                    value = value.get("number")  # a personal ID given as a document
                if f.prefill is not None:
                    values.setdefault(f.prefill.record, value)
            elif f.person is None and not f.repeat:
                walk(f.fields, value)
            else:
                own = f.person if f.person is not None else person
                # a repeated group bound to no one (a list of children...) is never the
                # declarant themselves
                mine = declarant and f.person is None and not f.repeat \
                    or f.person is not None and _is_declarant(f.person)
                for item in (value if isinstance(value, list) else [value]):
                    inner.append(_scopes(f.fields, item, own, mine))

    walk(fields, node)
    yield _Scope(person, declarant, values)
    for scopes in inner:
        yield from scopes


def declarant_name(definition: FormDefinition, data: Any,
                   citizen_id: str | None = None) -> str | None:
    """The declarant's full name as the dossier's data gives it (the rules above), or None."""
    scopes = [scope for section in definition.sections
              for scope in _scopes(section.fields,
                                   data.get(section.id) if isinstance(data, dict) else None,
                                   section.person, _is_declarant(section.person))]
    for scope in scopes:
        if scope.declarant and (name := scope.name()) is not None:
            return name
    if citizen_id:
        for scope in scopes:
            if _text(scope.values.get(_PERSONAL_ID)) == citizen_id and \
                    (name := scope.name()) is not None:
                return name
    return None


def columns(definition: FormDefinition, data: Any,
            citizen_id: str | None = None) -> dict[str, str | None]:
    """The dossier's name columns for ``data`` filed on ``definition`` by ``citizen_id``."""
    name = declarant_name(definition, data, citizen_id)
    return {"citizen_name": name, "citizen_name_key": name_key(name) if name else None}

"""The name of a dossier's citizen, kept with the dossier so that officers can find it by
name (the officers' queue, ``queries.office_queue``): the name as filed, and a search key
without accents or case, so that "nguyen van an" finds "Nguyễn Văn An".

The name is the value of the form's field the population register fills with the declarant's
full name (``population.full_name`` in a section about the declarant themselves); a form
without such a field gives no name, and its dossiers are found by code or personal ID only."""

from __future__ import annotations

import unicodedata
from typing import Any

from forms.model import FormDefinition

#: longest name kept (the column's length)
NAME_MAX = 200
_DECLARANT_NAME = "population.full_name"


def name_key(text: str) -> str:
    """``text`` without diacritics, in lower case, its spaces collapsed: the search key."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.lower().split())[:NAME_MAX]


def declarant_name(definition: FormDefinition, data: Any) -> str | None:
    """The declarant's full name as the dossier's data gives it, or None."""
    for section, field in definition.leaves():
        prefill = field.prefill
        if prefill is None or prefill.record != _DECLARANT_NAME:
            continue
        if (field.person or section.person) is not None:
            continue  # about someone linked to the declarant (a parent, a spouse)
        node = data
        for token in field.path:
            node = node.get(token) if isinstance(node, dict) else None
        if isinstance(node, str) and node.strip():
            return " ".join(node.split())[:NAME_MAX]
    return None


def columns(definition: FormDefinition, data: Any) -> dict[str, str | None]:
    """The dossier's name columns for ``data`` filed on ``definition``."""
    name = declarant_name(definition, data)
    return {"citizen_name": name, "citizen_name_key": name_key(name) if name else None}

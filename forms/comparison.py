"""Two versions of a form side by side: which fields were added, removed or changed (and in
what), and a line diff of the two texts.

Pure: no I/O, nothing of the service.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, fields

from forms.model import Field, FormDefinition

#: the attributes of a field compared (its path is its identity; nested fields are their own)
_FIELD_ATTRIBUTES = tuple(f.name for f in fields(Field) if f.name not in ("id", "path", "fields"))
#: the form's own keys compared
_FORM_ATTRIBUTES = ("title", "legal_basis", "procedure_code", "procedure_name", "agency_level",
                    "description", "processing_days", "code_lists", "dropped")


@dataclass(frozen=True)
class Change:
    """``kind``: added, removed or changed; ``path``: the field's ids joined by '/' (or the
    form's key, or ``sections/<id>``); ``label`` as the newer version has it (the older one's
    when removed); ``what``: the attributes that changed."""

    kind: str
    path: str
    label: str
    what: tuple[str, ...] = ()


def _all_fields(form: FormDefinition) -> dict[str, Field]:
    out: dict[str, Field] = {}

    def walk(items: tuple[Field, ...]) -> None:
        for f in items:
            out["/".join(f.path)] = f
            walk(f.fields)

    for section in form.sections:
        walk(section.fields)
    return out


def compare(a: FormDefinition, b: FormDefinition) -> list[Change]:
    """What changed from ``a`` to ``b``: the form's keys, sections, then fields in ``b``'s
    order (removed ones in ``a``'s, after)."""
    changes: list[Change] = []
    for name in _FORM_ATTRIBUTES:
        if getattr(a, name) != getattr(b, name):
            changes.append(Change("changed", name, name, (name,)))
    sa = {s.id: s for s in a.sections}
    sb = {s.id: s for s in b.sections}
    for sid, s in sb.items():
        if sid not in sa:
            changes.append(Change("added", f"sections/{sid}", s.title))
        else:
            what = tuple(k for k in ("title", "help", "person")
                         if getattr(sa[sid], k) != getattr(s, k))
            if what:
                changes.append(Change("changed", f"sections/{sid}", s.title, what))
    changes += [Change("removed", f"sections/{sid}", s.title)
                for sid, s in sa.items() if sid not in sb]
    fa, fb = _all_fields(a), _all_fields(b)
    for path, f in fb.items():
        old = fa.get(path)
        if old is None:
            changes.append(Change("added", path, f.label))
            continue
        what = tuple(k for k in _FIELD_ATTRIBUTES if getattr(old, k) != getattr(f, k))
        if what:
            changes.append(Change("changed", path, f.label, what))
    changes += [Change("removed", path, f.label) for path, f in fa.items() if path not in fb]
    return changes


@dataclass(frozen=True)
class DiffLine:
    """One line of a unified diff: ``kind`` is ``add``, ``remove``, ``context`` or ``hunk``;
    the line numbers in the older and newer text (None where the line is not in it)."""

    kind: str
    text: str
    old: int | None = None
    new: int | None = None


def text_diff(a: str, b: str, context: int = 3) -> list[DiffLine]:
    """The lines that differ between two texts, with ``context`` lines around each change."""
    out: list[DiffLine] = []
    la, lb = a.splitlines(), b.splitlines()
    matcher = difflib.SequenceMatcher(a=la, b=lb, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        out.append(DiffLine("hunk", f"@@ -{first[1] + 1},{last[2] - first[1]} "
                                    f"+{first[3] + 1},{last[4] - first[3]} @@"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [DiffLine("context", la[i], i + 1, j1 + (i - i1) + 1)
                        for i in range(i1, i2)]
                continue
            if tag in ("replace", "delete"):
                out += [DiffLine("remove", la[i], i + 1, None) for i in range(i1, i2)]
            if tag in ("replace", "insert"):
                out += [DiffLine("add", lb[j], None, j + 1) for j in range(j1, j2)]
    return out


"""The embedded registers: records in the database, and the family and household links of the
population register kept as indexed rows.

Writes are idempotent upserts keyed by (register, subject): importing the same file twice
updates, never duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from forms import registers
from storage.models import PersonLink, Record, utcnow

#: the population fields that are stored as links
_STORED_LINKS = {"father": "father_personal_id", "mother": "mother_personal_id",
                 "spouse": "spouse_personal_id", "household_head": "household_head_personal_id"}
BATCH = 500


def upsert_many(session: Session, register: str,
                items: Sequence[tuple[str, dict[str, Any]]], provenance: str) -> dict[str, int]:
    """Insert or update ``(subject, data)`` records of one register; returns how many were
    inserted, updated and unchanged. The caller commits."""
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    for start in range(0, len(items), BATCH):
        chunk = items[start:start + BATCH]
        existing = {r.subject: r for r in session.scalars(select(Record).where(
            Record.register == register, Record.subject.in_([s for s, _ in chunk])))}
        changed: list[tuple[str, dict[str, Any]]] = []
        for subject, data in chunk:
            row = existing.get(subject)
            if row is None:
                row = Record(register=register, subject=subject, data=data,
                             provenance=provenance)
                session.add(row)
                existing[subject] = row
                counts["inserted"] += 1
                changed.append((subject, data))
            elif row.data == data:
                counts["unchanged"] += 1
            else:
                row.data = data
                row.provenance = provenance
                row.updated_at = utcnow()
                counts["updated"] += 1
                changed.append((subject, data))
        if register == "population" and changed:
            _relink(session, changed)
        session.flush()
    return counts


def _relink(session: Session, changed: Iterable[tuple[str, dict[str, Any]]]) -> None:
    changed = list(changed)
    session.execute(delete(PersonLink).where(
        PersonLink.subject.in_([s for s, _ in changed])))
    for subject, data in changed:
        for relation, field in _STORED_LINKS.items():
            other = data.get(field)
            if other and other != subject:
                session.add(PersonLink(subject=subject, relation=relation, other=other))


def fetch(session: Session, register: str, subjects: Sequence[str]) -> dict[str, Record]:
    if not subjects:
        return {}
    rows = session.scalars(select(Record).where(Record.register == register,
                                                Record.subject.in_(list(subjects))))
    return {r.subject: r for r in rows}


def derived_links(session: Session, subjects: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    """Children (people whose father or mother is the subject) and household members (people
    with the same household head, the head included) of each subject."""
    out: dict[str, dict[str, list[str]]] = {
        s: {"children_personal_ids": [], "household_member_personal_ids": []} for s in subjects}
    if not subjects:
        return out
    for link in session.scalars(select(PersonLink).where(
            PersonLink.other.in_(list(subjects)), PersonLink.relation.in_(["father", "mother"]))):
        out[link.other]["children_personal_ids"].append(link.subject)
    heads: dict[str, str] = {}
    for link in session.scalars(select(PersonLink).where(
            PersonLink.subject.in_(list(subjects)), PersonLink.relation == "household_head")):
        heads[link.subject] = link.other
    for s in subjects:
        heads.setdefault(s, s)  # a person with no head link may head the household
    members: dict[str, set[str]] = {h: {h} for h in heads.values()}
    for link in session.scalars(select(PersonLink).where(
            PersonLink.relation == "household_head", PersonLink.other.in_(list(members)))):
        members[link.other].add(link.subject)
    for s in subjects:
        group = members[heads[s]]
        # a lone person with no household head link and no members has no household
        if len(group) > 1:
            out[s]["household_member_personal_ids"] = sorted(group - {s})
    for s in subjects:
        out[s]["children_personal_ids"].sort()
    return out


def count(session: Session, register: str | None = None) -> int:
    from sqlalchemy import func

    q = select(func.count()).select_from(Record)
    if register:
        q = q.where(Record.register == register)
    return session.scalar(q) or 0


def registers_of(session: Session, subject: str) -> list[str]:
    return sorted(session.scalars(select(Record.register).where(Record.subject == subject)))


def linked_any(session: Session, subject: str, others: Sequence[str]) -> bool:
    """Whether the population register links ``subject`` to any of ``others`` directly."""
    return session.scalar(select(PersonLink.subject).where(or_(
        (PersonLink.subject == subject) & PersonLink.other.in_(list(others)),
        (PersonLink.other == subject) & PersonLink.subject.in_(list(others))),
    ).limit(1)) is not None


def known_registers() -> list[str]:
    return list(registers.REGISTERS)

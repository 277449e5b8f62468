"""The embedded registers: records in the database, and the family and household links of the
population register kept as indexed rows.

Writes are idempotent upserts keyed by (register, subject): importing the same file twice
updates, never duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Row, delete, select, text, union_all
from sqlalchemy.orm import Session

from storage.models import PersonLink, Record, RecordChange, utcnow

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


def change(session: Session, register: str, subject: str, data: dict[str, Any],
           provenance: str, *, document_id: str, actor: str, role: str,
           agency_code: str | None, corrections: dict[str, Any] | None = None) -> RecordChange:
    """Merge ``data`` into the register's record of ``subject`` and write the change, with the
    document that is its evidence, to the append-only ``record_changes`` trail in the same
    transaction: a record is never changed through the API without its trail. The existing
    record is locked (PostgreSQL) so that two changes of one subject do not lose each other's
    fields. The caller commits."""
    existing = session.scalar(select(Record).where(Record.register == register,
                                                   Record.subject == subject)
                              .with_for_update())
    before = None if existing is None else {k: existing.data.get(k) for k in data}
    upsert_many(session, register, [(subject, {**(existing.data if existing else {}), **data})],
                provenance)
    entry = RecordChange(at=utcnow(), actor=actor, role=role, agency_code=agency_code,
                         register=register, subject=subject, provenance=provenance,
                         document_id=document_id, before=before, after=dict(data),
                         corrections=corrections or None)
    session.add(entry)
    session.flush()
    return entry


def _relink(session: Session, changed: Iterable[tuple[str, dict[str, Any]]]) -> None:
    changed = list(changed)
    session.execute(delete(PersonLink).where(
        PersonLink.subject.in_([s for s, _ in changed])))
    for subject, data in changed:
        for relation, field in _STORED_LINKS.items():
            other = data.get(field)
            if other and other != subject:
                session.add(PersonLink(subject=subject, relation=relation, other=other))


def fetch(session: Session, register: str, subjects: Sequence[str]) -> dict[str, Row[Any]]:
    return {s: r for (_, s), r in fetch_many(session, [register], subjects).items()}


def fetch_many(session: Session, register_names: Sequence[str], subjects: Sequence[str],
               ) -> dict[tuple[str, str], Row[Any]]:
    """Records of several registers for several subjects, in one query. Plain rows (id,
    register, subject, data, provenance), not ORM objects: read-only, and cheaper."""
    if not subjects or not register_names:
        return {}
    rows = session.execute(select(Record.id, Record.register, Record.subject, Record.data,
                                  Record.provenance)
                           .where(Record.register.in_(list(register_names)),
                                  Record.subject.in_(list(subjects))))
    return {(r.register, r.subject): r for r in rows}


def derived_links(session: Session, subjects: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    """Children (people whose father or mother is the subject) and household members (people
    with the same household head, the head included) of each subject, in one query."""
    out: dict[str, dict[str, list[str]]] = {
        s: {"children_personal_ids": [], "household_member_personal_ids": []} for s in subjects}
    if not subjects:
        return out
    wanted = list(subjects)
    heads_of = select(PersonLink.other).where(PersonLink.subject.in_(wanted),
                                              PersonLink.relation == "household_head")
    # two index scans in one round trip (an OR of them would scan the whole table)
    links = session.scalars(select(PersonLink).from_statement(union_all(
        select(PersonLink).where(PersonLink.other.in_(wanted), PersonLink.relation.in_(
            ["father", "mother", "household_head"])),
        select(PersonLink).where(PersonLink.relation == "household_head",
                                 PersonLink.other.in_(heads_of)),
    ))).all()
    heads = {s: s for s in subjects}  # no head link: the person may head the household
    members: dict[str, set[str]] = {}
    for link in links:
        if link.relation == "household_head":
            members.setdefault(link.other, {link.other}).add(link.subject)
            if link.subject in heads:
                heads[link.subject] = link.other
        else:
            out[link.other]["children_personal_ids"].append(link.subject)
    for s in subjects:
        group = members.get(heads[s], set())
        if len(group) > 1:  # a lone person with no head and no members has no household
            out[s]["household_member_personal_ids"] = sorted(group - {s})
        out[s]["children_personal_ids"].sort()
    return out


def neighbourhood(session: Session, subject: str) -> dict[str, list[str]]:
    """Everyone the population register links to ``subject``, by relation (father, mother,
    spouse, household head, children, household members), in one query."""
    heads_of = select(PersonLink.other).where(PersonLink.subject == subject,
                                              PersonLink.relation == "household_head")
    links = session.scalars(select(PersonLink).from_statement(union_all(
        select(PersonLink).where(PersonLink.subject == subject),
        select(PersonLink).where(PersonLink.other == subject, PersonLink.relation.in_(
            ["father", "mother", "household_head"])),
        select(PersonLink).where(PersonLink.relation == "household_head",
                                 PersonLink.other.in_(heads_of),
                                 PersonLink.subject != subject),
    ))).all()
    out: dict[str, list[str]] = {r: [] for r in
                                 ("father", "mother", "spouse", "household_head", "child",
                                  "household_member")}
    head = subject
    for link in links:
        if link.subject == subject:
            out[link.relation].append(link.other)
            if link.relation == "household_head":
                head = link.other
    for link in links:
        if link.subject == subject:
            continue
        if link.relation in ("father", "mother") and link.other == subject:
            out["child"].append(link.subject)
        elif link.relation == "household_head" and link.other in (head, subject):
            out["household_member"].append(link.subject)
    if head != subject:
        out["household_member"].append(head)
    return {r: sorted(set(v)) for r, v in out.items()}


def next_value(session: Session, name: str) -> int:
    return next_values(session, [name])[name]


def next_values(session: Session, names: Sequence[str]) -> dict[str, int]:
    """The next values of gapless counters, taken inside the caller's transaction, in one
    statement: each counter row stays locked until commit (so numbers are handed out in commit
    order), and a rollback gives the numbers back. Callers list counters in a fixed order, so
    that two transactions never wait for each other's rows crosswise.

    Plain SQL, understood alike by PostgreSQL and SQLite (3.35+), and compiled once per
    number of counters: this runs on every submission."""
    statement = _COUNTER_SQL.get(len(names))
    if statement is None:
        values = ", ".join(f"(:n{i}, 1)" for i in range(len(names)))
        statement = text(f"INSERT INTO counters (name, last) VALUES {values} "
                         "ON CONFLICT (name) DO UPDATE SET last = counters.last + 1 "
                         "RETURNING name, last")
        _COUNTER_SQL[len(names)] = statement
    rows = session.execute(statement, {f"n{i}": n for i, n in enumerate(names)}).all()
    return {name: last for name, last in rows}


_COUNTER_SQL: dict[int, Any] = {}

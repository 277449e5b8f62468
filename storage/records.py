"""The embedded registers: records in the database, the family and household links of the
population register and the roles people hold in businesses, kept as indexed rows.

Writes are idempotent upserts keyed by (register, subject): importing the same file twice
updates, never duplicates. Each field of a record keeps its own provenance: a write relabels
only the fields whose value it sets or changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, Row, delete, select, text, union_all, update
from sqlalchemy.orm import Session

from storage.models import (
    DigitisedDocument,
    PersonLink,
    Record,
    RecordChange,
    RecordRole,
    utcnow,
)

#: the population fields that are stored as links
_STORED_LINKS = {"father": "father_personal_id", "mother": "mother_personal_id",
                 "spouse": "spouse_personal_id", "household_head": "household_head_personal_id",
                 "guardian": "guardian_personal_id"}
#: the roles people hold in records of registers not keyed by a person, role -> the field
#: naming the holder (``forms.registers.Register.roles``; a test keeps the two equal)
ROLES = {"business": {"owner": "owner_personal_id",
                      "legal_representative": "legal_representative_personal_id"}}
BATCH = 500


def traced(old: dict[str, Any], old_provenance: dict[str, str] | None, old_record: str,
           new: dict[str, Any], provenance: str) -> dict[str, str]:
    """The provenance of each field of ``new`` written over ``old``: a field whose value the
    write sets or changes has ``provenance``; a field it leaves as it was keeps its own (the
    record's, ``old_record``, for a row written before fields were traced)."""
    earlier = old_provenance if old_provenance is not None else dict.fromkeys(old, old_record)
    out: dict[str, str] = {}
    for name, value in new.items():
        if name in old and old[name] == value:
            if name in earlier:
                out[name] = earlier[name]
        else:
            out[name] = provenance
    return out


def upsert_many(session: Session, register: str,
                items: Sequence[tuple[str, dict[str, Any]]], provenance: str) -> dict[str, int]:
    """Insert or update ``(subject, data)`` records of one register; returns how many were
    inserted, updated and unchanged. A field keeps its provenance when its value does not
    change. The caller commits."""
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
                             provenance=provenance,
                             field_provenance=dict.fromkeys(data, provenance))
                session.add(row)
                existing[subject] = row
                counts["inserted"] += 1
                changed.append((subject, data))
            elif row.data == data:
                counts["unchanged"] += 1
            else:
                row.field_provenance = traced(row.data, row.field_provenance, row.provenance,
                                              data, provenance)
                row.data = data
                row.provenance = provenance
                row.updated_at = utcnow()
                counts["updated"] += 1
                changed.append((subject, data))
        if register == "population" and changed:
            _relink(session, changed)
        if register in ROLES and changed:
            _reassign_roles(session, register, changed)
        session.flush()
    return counts


def change(session: Session, register: str, subject: str, data: dict[str, Any],
           provenance: str, *, document_id: str, actor: str, role: str,
           agency_code: str | None, corrections: dict[str, Any] | None = None,
           reason: str | None = None) -> RecordChange:
    """Merge ``data`` into the register's record of ``subject`` and write the change, with the
    document that is its evidence, to the append-only ``record_changes`` trail in the same
    transaction: a record is never changed through the API without its trail. Only the fields
    whose value the change sets or changes take its provenance; the others keep theirs. The
    existing record is locked (PostgreSQL) so that two changes of one subject do not lose each
    other's fields. ``reason``: why an officer made the change against a flag. The caller
    commits."""
    existing = session.scalar(select(Record).where(Record.register == register,
                                                   Record.subject == subject)
                              .with_for_update())
    before = None if existing is None else {k: existing.data.get(k) for k in data}
    upsert_many(session, register, [(subject, {**(existing.data if existing else {}), **data})],
                provenance)
    entry = RecordChange(at=utcnow(), actor=actor, role=role, agency_code=agency_code,
                         register=register, subject=subject, provenance=provenance,
                         document_id=document_id, before=before, after=dict(data),
                         corrections=corrections or None, reason=reason)
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


def _reassign_roles(session: Session, register: str,
                    changed: Iterable[tuple[str, dict[str, Any]]]) -> None:
    changed = list(changed)
    session.execute(delete(RecordRole).where(
        RecordRole.register == register, RecordRole.subject.in_([s for s, _ in changed])))
    for subject, data in changed:
        for role, field in ROLES[register].items():
            holder = data.get(field)
            if isinstance(holder, str) and holder:
                session.add(RecordRole(register=register, subject=subject, role=role,
                                       personal_id=holder))


def fetch(session: Session, register: str, subjects: Sequence[str]) -> dict[str, Row[Any]]:
    return {s: r for (_, s), r in fetch_many(session, [register], subjects).items()}


_COLUMNS = (Record.id, Record.register, Record.subject, Record.data, Record.provenance,
            Record.field_provenance)


def fetch_many(session: Session, register_names: Sequence[str], subjects: Sequence[str],
               ) -> dict[tuple[str, str], Row[Any]]:
    """Records of several registers for several subjects, in one query. Plain rows (id,
    register, subject, data, provenance, field_provenance), not ORM objects: read-only, and
    cheaper."""
    if not subjects or not register_names:
        return {}
    rows = session.execute(select(*_COLUMNS)
                           .where(Record.register.in_(list(register_names)),
                                  Record.subject.in_(list(subjects))))
    return {(r.register, r.subject): r for r in rows}


def fetch_held(session: Session, register_names: Sequence[str], people: Sequence[str],
               ) -> dict[tuple[str, str], list[tuple[str, Row[Any]]]]:
    """The records of registers keyed otherwise (a business's code) in which each person holds
    a role, in one query: ``(register, personal ID) -> [(role, row), …]``, by subject."""
    if not people or not register_names:
        return {}
    rows = session.execute(
        select(RecordRole.role, RecordRole.personal_id, *_COLUMNS)
        .join(RecordRole, (RecordRole.register == Record.register)
              & (RecordRole.subject == Record.subject))
        .where(RecordRole.register.in_(list(register_names)),
               RecordRole.personal_id.in_(list(people)))
        .order_by(Record.subject, RecordRole.role))
    out: dict[tuple[str, str], list[tuple[str, Row[Any]]]] = {}
    for r in rows:
        out.setdefault((r.register, r.personal_id), []).append((r.role, r))
    return out


def derived_links(session: Session, subjects: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    """Children (people whose father or mother is the subject), wards (people whose guardian
    is the subject) and household members (people with the same household head, the head
    included) of each subject, in one query."""
    out: dict[str, dict[str, list[str]]] = {
        s: {"children_personal_ids": [], "household_member_personal_ids": [],
            "ward_personal_ids": []} for s in subjects}
    if not subjects:
        return out
    wanted = list(subjects)
    heads_of = select(PersonLink.other).where(PersonLink.subject.in_(wanted),
                                              PersonLink.relation == "household_head")
    # two index scans in one round trip (an OR of them would scan the whole table)
    links = session.scalars(select(PersonLink).from_statement(union_all(
        select(PersonLink).where(PersonLink.other.in_(wanted), PersonLink.relation.in_(
            ["father", "mother", "household_head", "guardian"])),
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
        elif link.relation == "guardian":
            out[link.other]["ward_personal_ids"].append(link.subject)
        else:
            out[link.other]["children_personal_ids"].append(link.subject)
    for s in subjects:
        group = members.get(heads[s], set())
        if len(group) > 1:  # a lone person with no head and no members has no household
            out[s]["household_member_personal_ids"] = sorted(group - {s})
        out[s]["children_personal_ids"].sort()
        out[s]["ward_personal_ids"].sort()
    return out


def neighbourhood(session: Session, subject: str) -> dict[str, list[str]]:
    """Everyone the population register links to ``subject``, by relation (father, mother,
    spouse, household head, guardian, children, wards, household members), in one query."""
    heads_of = select(PersonLink.other).where(PersonLink.subject == subject,
                                              PersonLink.relation == "household_head")
    links = session.scalars(select(PersonLink).from_statement(union_all(
        select(PersonLink).where(PersonLink.subject == subject),
        select(PersonLink).where(PersonLink.other == subject, PersonLink.relation.in_(
            ["father", "mother", "household_head", "guardian"])),
        select(PersonLink).where(PersonLink.relation == "household_head",
                                 PersonLink.other.in_(heads_of),
                                 PersonLink.subject != subject),
    ))).all()
    out: dict[str, list[str]] = {r: [] for r in
                                 ("father", "mother", "spouse", "household_head", "guardian",
                                  "child", "ward", "household_member")}
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
        elif link.relation == "guardian" and link.other == subject:
            out["ward"].append(link.subject)
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


# -- reserved numbers of a gapless series ------------------------------------------------------
# A number that must be printed on a document before the document can be recorded (a signed
# result: its number is under the signature, and signing waits on the time-stamping authority)
# is reserved in one short transaction and used or given back in another, so that no lock is
# held while the document is made. The series' counter row ``<series>`` holds the highest
# number handed out; ``<series>:held:<holder>`` the number a holder has reserved and not yet
# used; ``<series>:free:<n>`` a number given back below the highest, which the next
# reservation takes first. Every number up to the highest is thus issued, held or free, and
# none is lost: the issued series has no gap once the holders have finished.


def _like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _lock_series(session: Session, series: str) -> int:
    """Lock the series' counter row (created at 0) until commit; its highest number so far.
    Every reservation and every giving back of the series queues here, briefly."""
    return int(session.execute(text(
        "INSERT INTO counters (name, last) VALUES (:n, 0) ON CONFLICT (name) "
        "DO UPDATE SET last = counters.last RETURNING last"), {"n": series}).scalar_one())


def _numbered(session: Session, prefix: str) -> list[tuple[str, int]]:
    rows = session.execute(text("SELECT name, last FROM counters WHERE name LIKE :p "
                                "ESCAPE '\\' ORDER BY last"), {"p": _like(prefix)}).all()
    return [(name, last) for name, last in rows]


def _give_back(session: Session, series: str, last: int, number: int) -> None:
    if number != last:
        session.execute(text("INSERT INTO counters (name, last) VALUES (:n, :v)"),
                        {"n": f"{series}:free:{number}", "v": number})
        return
    free = {n for _, n in _numbered(session, f"{series}:free:")}
    top = number - 1
    while top in free:  # free numbers just below the top go back with it
        session.execute(text("DELETE FROM counters WHERE name = :n"),
                        {"n": f"{series}:free:{top}"})
        top -= 1
    session.execute(text("UPDATE counters SET last = :v WHERE name = :n"),
                    {"n": series, "v": top})


def _unhold(session: Session, series: str, holder: str, number: int) -> bool:
    # a DELETE's result is a cursor's, which counts the rows it matched
    done = cast("CursorResult[Any]", session.execute(
        text("DELETE FROM counters WHERE name = :n AND last = :v"),
        {"n": f"{series}:held:{holder}", "v": number}))
    return done.rowcount == 1


def reserve_number(session: Session, series: str, holder: str,
                   abandoned: Callable[[list[str]], set[str]] | None = None) -> int:
    """Reserve a number of ``series`` for ``holder`` (in the caller's transaction, which should
    commit at once): the number it already holds, else the lowest number given back, else the
    next one. ``abandoned`` names, of the holders of reservations, those that will never use
    them (a crash between reserving and using): their numbers are given back first."""
    last = _lock_series(session, series)
    if abandoned is not None:
        held = {name.rsplit(":", 1)[1]: n for name, n in _numbered(session, f"{series}:held:")}
        for gone in sorted(abandoned(sorted(set(held) - {holder}))):
            if _unhold(session, series, gone, held[gone]):
                _give_back(session, series, last, held[gone])
                last = _lock_series(session, series)
    mine = session.scalar(text("SELECT last FROM counters WHERE name = :n"),
                          {"n": f"{series}:held:{holder}"})
    if mine is not None:
        return int(mine)
    free = _numbered(session, f"{series}:free:")
    if free:
        name, number = free[0]
        session.execute(text("DELETE FROM counters WHERE name = :n"), {"n": name})
    else:
        number = last + 1
        session.execute(text("UPDATE counters SET last = :v WHERE name = :n"),
                        {"n": series, "v": number})
    session.execute(text("INSERT INTO counters (name, last) VALUES (:n, :v)"),
                    {"n": f"{series}:held:{holder}", "v": number})
    return number


def use_number(session: Session, series: str, holder: str, number: int) -> bool:
    """Mark the holder's reserved number used, in the transaction that records what carries
    it. False if the reservation is gone (given back meanwhile): the number is not the
    holder's to use any more."""
    return _unhold(session, series, holder, number)


def release_number(session: Session, series: str, holder: str, number: int) -> bool:
    """Give a reserved number back (the document that was to carry it was not made): the
    highest number is taken back from the counter, any other is kept for the next
    reservation. False if the reservation was already used or given back."""
    last = _lock_series(session, series)
    if not _unhold(session, series, holder, number):
        return False
    _give_back(session, series, last, number)
    return True


# -- digitised documents ----------------------------------------------------------------------

def digitised_document(session: Session, public_id: str,
                       agency_code: str | None) -> DigitisedDocument | None:
    """The digitised document with this id, only if it belongs to ``agency_code``: another
    agency's document and an unknown id look alike, from the same single query."""
    return session.scalar(select(DigitisedDocument).where(
        DigitisedDocument.public_id == public_id,
        DigitisedDocument.agency_code == agency_code))


def claim_digitised(session: Session, document_id: int, *, subject: str, actor: str,
                    reason: str | None) -> bool:
    """Mark a pending digitised document confirmed, conditionally: of two confirmations at
    once exactly one claims it (True), so only one changes the record."""
    claimed = cast(CursorResult[Any], session.execute(
        update(DigitisedDocument)
        .where(DigitisedDocument.id == document_id, DigitisedDocument.status == "pending")
        .values(status="confirmed", subject=subject, confirmed_by=actor,
                confirmed_at=utcnow(), confirm_reason=reason)))
    return claimed.rowcount == 1

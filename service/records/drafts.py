"""The citizen's e-form between the first page and the dossier: the answer to "use my data"
(remembered per form version), the draft (saved on every step, resumed on any device, with the
idempotency key the dossier will be filed with), and the disputes of prefilled values
(báo sai thông tin), attached to the dossier when it is filed.

Plain functions of a database session; the caller commits. Nothing here reads a register:
:func:`readings` says which registers *would* be read, from the form's bindings alone, so
that the citizen sees it before choosing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forms import registers
from forms.model import FormDefinition, Person
from service.records import prefill as pf
from storage.models import Dispute, Dossier, FormDraft, PrefillChoice

#: the answers to "use my data": read the registers, or type everything
CHOICES = ("use", "type")
#: a statement of what is wrong is kept to this length
STATEMENT_MAX = 2000


# -- what prefill would read ------------------------------------------------------------------

@dataclass(frozen=True)
class BoundField:
    """A field a register would fill: its label, and whether the value is verified (kept as
    the register holds it) or suggested (editable)."""

    label: str
    verified: bool


@dataclass(frozen=True)
class ReadSection:
    """The fields of one section (or group) a register fills, and whose record they are read
    from (relations of :data:`forms.registers.PERSONS`: ``declarant``, ``spouse``…)."""

    title: str
    relations: tuple[str, ...]
    fields: tuple[BoundField, ...]
    #: a person the citizen names: the label of the field where their personal ID number is
    #: typed, and the relations to the citizen under which their records are read
    named_by: str | None = None
    allowed: tuple[str, ...] = ()
    #: a person chosen by an answer: the label of the question whose answer picks the relation
    chosen_by: str | None = None


@dataclass(frozen=True)
class Reading:
    """One register the form reads, and the fields it fills, section by section."""

    register: str
    title: str
    sections: tuple[ReadSection, ...]


def readings(form: FormDefinition) -> list[Reading]:
    """Which registers prefill would read, for which fields, from the form's bindings alone
    (no register is read): what the citizen is shown before choosing. In the form's order."""
    titles = {s.id: s.title for s in form.sections}
    by_register: dict[str, dict[tuple[str, Person], list[BoundField]]] = {}
    for scope in pf.scopes(form):
        for f in pf.bound_fields(scope.fields):
            bound = pf.binding(f)
            register = bound.record.split(".", 1)[0]
            key = (titles.get(f.path[0], f.path[0]), scope.person)
            entry = BoundField(f.label, bound.mode == "verified")
            fields = by_register.setdefault(register, {}).setdefault(key, [])
            if entry not in fields:
                fields.append(entry)

    def label(path: tuple[str, ...] | None) -> str | None:
        found = form.find(path) if path else None
        return found.label if found is not None else None

    return [Reading(name, registers.REGISTERS[name].title, tuple(
                ReadSection(title, person.relations, tuple(fields),
                            named_by=label(person.named_by), allowed=person.allowed,
                            chosen_by=label(person.relation_by))
                for (title, person), fields in sections.items()))
            for name, sections in by_register.items()]


# -- use my data, or type everything ----------------------------------------------------------

def choice_of(session: Session, citizen: str, form_id: str, version: int) -> str | None:
    """The citizen's answer for this form version, or None when not asked yet."""
    return session.scalar(select(PrefillChoice.choice).where(
        PrefillChoice.citizen_id == citizen, PrefillChoice.form_id == form_id,
        PrefillChoice.form_version == version))


def choose(session: Session, citizen: str, form_id: str, version: int, choice: str,
           at: datetime) -> None:
    """Remember the citizen's answer for this form version (a new answer replaces the old)."""
    if choice not in CHOICES:
        raise ValueError(choice)
    row = session.scalar(select(PrefillChoice).where(
        PrefillChoice.citizen_id == citizen, PrefillChoice.form_id == form_id,
        PrefillChoice.form_version == version))
    if row is not None:
        row.choice, row.chosen_at = choice, at
        return
    try:
        with session.begin_nested():  # the same answer from another tab at the same moment
            session.add(PrefillChoice(citizen_id=citizen, form_id=form_id,
                                      form_version=version, choice=choice, chosen_at=at))
    except IntegrityError:
        session.execute(update(PrefillChoice).where(
            PrefillChoice.citizen_id == citizen, PrefillChoice.form_id == form_id,
            PrefillChoice.form_version == version).values(choice=choice, chosen_at=at))


# -- drafts -----------------------------------------------------------------------------------

def draft_of(session: Session, citizen: str, form_id: str, version: int) -> FormDraft | None:
    return session.scalar(select(FormDraft).where(
        FormDraft.citizen_id == citizen, FormDraft.form_id == form_id,
        FormDraft.form_version == version))


def save_draft(session: Session, citizen: str, form_id: str, version: int, data: Any,
               at: datetime, agency_code: str | None = None) -> FormDraft:
    """Keep ``data`` as the citizen's draft of this form version (made on first save, with
    the idempotency key its dossier will be filed with). ``agency_code`` None keeps the
    draft's agency."""
    row = draft_of(session, citizen, form_id, version)
    if row is None:
        try:
            with session.begin_nested():  # another device saving its first draft as well
                row = FormDraft(citizen_id=citizen, form_id=form_id, form_version=version,
                                agency_code=agency_code, data=data,
                                idempotency_key=f"draft-{secrets.token_urlsafe(24)}",
                                created_at=at, updated_at=at)
                session.add(row)
            return row
        except IntegrityError:
            row = draft_of(session, citizen, form_id, version)
            assert row is not None
    row.data = data
    row.updated_at = at
    if agency_code is not None:
        row.agency_code = agency_code
    return row


def start_draft(session: Session, citizen: str, form_id: str, version: int,
                agency_code: str, at: datetime) -> FormDraft:
    """The citizen's draft for filing with ``agency_code``: the one they have (its agency
    set), or a new, empty one."""
    row = draft_of(session, citizen, form_id, version)
    if row is not None:
        row.agency_code = agency_code
        row.updated_at = at
        return row
    return save_draft(session, citizen, form_id, version, {}, at, agency_code)


def filed_with(session: Session, citizen: str, idempotency_key: str) -> Dossier | None:
    """The citizen's dossier filed with this idempotency key (a retry after the draft is
    gone), or None."""
    return session.scalar(select(Dossier).where(Dossier.citizen_id == citizen,
                                                Dossier.idempotency_key == idempotency_key))


def filed(session: Session, citizen: str, form_id: str, version: int, dossier_id: int) -> None:
    """The dossier is filed: its draft goes, the disputes raised while filling are attached
    to it."""
    session.execute(delete(FormDraft).where(
        FormDraft.citizen_id == citizen, FormDraft.form_id == form_id,
        FormDraft.form_version == version))
    session.execute(update(Dispute).where(
        Dispute.citizen_id == citizen, Dispute.form_id == form_id,
        Dispute.form_version == version, Dispute.dossier_id.is_(None),
    ).values(dossier_id=dossier_id))


# -- disputes ---------------------------------------------------------------------------------

def dispute(session: Session, citizen: str, form_id: str, version: int, pointer: str,
            provenance: dict[str, Any], shown_value: Any, statement: str,
            at: datetime) -> Dispute:
    """Record that the citizen says the prefilled value at ``pointer`` is wrong: against the
    register and record it came from (``provenance``, as prefill gave it), with the value
    shown and their statement. A second report of the same field replaces the first while
    the dossier is not filed."""
    shown = None if shown_value is None else (
        shown_value if isinstance(shown_value, str) else _plain(shown_value))
    record_id = provenance.get("record_id")
    row = session.scalar(select(Dispute).where(
        Dispute.citizen_id == citizen, Dispute.form_id == form_id,
        Dispute.form_version == version, Dispute.pointer == pointer,
        Dispute.dossier_id.is_(None)))
    if row is None:
        row = Dispute(citizen_id=citizen, form_id=form_id, form_version=version,
                      pointer=pointer[:300], status="open")
        session.add(row)
    row.register = str(provenance.get("register") or "")[:40]
    row.record_key = None if record_id is None else str(record_id)[:120]
    row.shown_value = shown
    row.statement = statement.strip()[:STATEMENT_MAX]
    row.created_at = at
    session.flush()
    return row


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(str(v) for v in value.values() if v not in (None, ""))
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    return str(value)


def pending_disputes(session: Session, citizen: str, form_id: str,
                     version: int) -> dict[str, Dispute]:
    """The disputes the citizen raised on this form version not yet filed, by field."""
    rows = session.scalars(select(Dispute).where(
        Dispute.citizen_id == citizen, Dispute.form_id == form_id,
        Dispute.form_version == version, Dispute.dossier_id.is_(None)))
    return {row.pointer: row for row in rows}


def disputes_of(session: Session, dossier_id: int) -> list[Dispute]:
    """The disputes filed with a dossier, oldest first."""
    return list(session.scalars(select(Dispute).where(Dispute.dossier_id == dossier_id)
                                .order_by(Dispute.id)))

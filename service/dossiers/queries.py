"""Reading dossiers: the citizen's list and the officers' queue, a dossier's history, the
ordered event log, the monthly list of late dossiers and the latest apology letter.

Plain functions of a database session (no request, no Flask), so that what they answer can be
tested by calling them, and the web views only shape the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, UnaryExpression, func, select
from sqlalchemy.orm import Session, load_only

from forms.model import FormDefinition
from service.dossiers import counts, lateness, lifecycle, names
from service.dossiers.states import FINISHED, STATES
from service.tokens import Principal
from service.worktime import VIETNAM
from storage.models import Dossier, DossierDocument, DossierEvent, FormVersion, Upload

#: the officer column of a late dossier nobody has explained yet
UNEXPLAINED = "(chưa giải trình)"


def by_code(session: Session, code: str) -> Dossier | None:
    return session.scalar(select(Dossier).where(Dossier.code == code))


def archiving_states(session: Session, dossiers: list[Dossier]) -> dict[int, str]:
    """For dossiers with a result: whether the repository holds it yet (``stored``) or it
    waits in the outbox (``pending``), in one query for a whole page."""
    ids = [d.id for d in dossiers if d.status in ("result_ready", "delivered")]
    if not ids:
        return {}
    stored = dict(session.execute(select(DossierDocument.dossier_id, DossierDocument.stored_at)
                                  .where(DossierDocument.dossier_id.in_(ids),
                                         DossierDocument.kind == "result")).all())
    return {i: "stored" if stored.get(i) else "pending" for i in ids}


def queue(session: Session, principal: Principal, page: int, per_page: int,
          status: str | None = None, late: bool | None = None,
          at: datetime | None = None) -> tuple[list[Dossier], int]:
    """A page of dossiers and the total: a citizen's own, newest first, or an officer's agency
    queue sorted by the deadline that matters now; filtered by status and lateness (as of
    ``at``, by default now: ``lateness.late_clause``, the same test as a dossier's own
    ``late``)."""
    q = select(Dossier)
    order: list[UnaryExpression[Any]]
    if principal.role == "citizen":
        q = q.where(Dossier.citizen_id == principal.personal_id)
        order = [Dossier.submitted_at.desc(), Dossier.id.desc()]
    else:
        q = q.where(Dossier.agency_code == principal.agency_code)
        order = [Dossier.due_at.asc().nulls_last(), Dossier.id.asc()]
    if status is not None:
        q = q.where(Dossier.status == status)
    if late is not None:
        is_late = lateness.late_clause(at or lifecycle.now())
        q = q.where(is_late if late else ~is_late | lateness.first_missed_column().is_(None))
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    rows = list(session.scalars(q.order_by(*order).limit(per_page)
                                .offset((page - 1) * per_page)))
    return rows, int(total or 0)


# -- the officers' queue page ------------------------------------------------------------------

#: the states a dossier waits in for the agency (the queue's default)
OPEN = tuple(s for s in STATES if s not in FINISHED)
#: a filtered queue is counted up to this many (the pages say "more than"): a count stays a
#: bounded index scan however many dossiers match
COUNT_CAP = 1000
#: a name matching more than COUNT_CAP dossiers orders this many of them (the first by the
#: name index) by deadline, and the page asks for a fuller name
NAME_ORDERED = 200
_PERSONAL_ID = re.compile(r"^\d{12}$")
_CODE = re.compile(r"^[A-Za-z0-9-]*\d{6}-\d{1,6}$")
#: what a queue row needs (lateness.assess's facts, the columns shown): never the form data
_QUEUE_COLUMNS = (
    Dossier.id, Dossier.code, Dossier.agency_code, Dossier.procedure_code,
    Dossier.procedure_name, Dossier.citizen_id, Dossier.citizen_name, Dossier.status,
    Dossier.row_version, Dossier.submitted_at, Dossier.accept_deadline, Dossier.accepted_at,
    Dossier.process_deadline, Dossier.finished_at, Dossier.due_at, Dossier.promised_at,
    Dossier.broken_promise_at, Dossier.late_explanation, Dossier.late_explained_at,
    Dossier.paused_at, Dossier.paused_from, Dossier.late_at, Dossier.late_stage)


@dataclass(frozen=True)
class QueuePage:
    rows: list[Dossier]
    #: how many dossiers match, at most COUNT_CAP (+1 when there are more: ``capped``)
    total: int
    capped: bool
    #: a name matching more than COUNT_CAP dossiers: only NAME_ORDERED of them (the first by
    #: name) are ordered by deadline, and the page asks for a fuller name
    partial: bool = False


def state_counts(session: Session, agency_code: str) -> dict[str, int]:
    """How many of the agency's dossiers are in each state (service.dossiers.counts: a few
    rows kept by every status change, never a count of the dossiers)."""
    return counts.of_agency(session, agency_code)


def search_kind(text: str) -> str:
    """What the officer typed: ``personal_id`` (12 digits), ``code`` (a dossier code, or its
    date-and-number tail), or ``name``."""
    if _PERSONAL_ID.match(text):
        return "personal_id"
    if _CODE.match(text):
        return "code"
    return "name"


def office_queue(session: Session, agency_code: str, page: int, per_page: int, *,
                 states: tuple[str, ...] | None = OPEN, procedure: str | None = None,
                 late: bool = False, search: str | None = None,
                 at: datetime | None = None,
                 counts: dict[str, int] | None = None) -> QueuePage:
    """A page of an agency's queue for its officers, by the deadline that matters now (the
    API's order), never another agency's dossier whatever is searched: filtered by states
    (None: every state), procedure code and lateness (``lateness.late_clause``, as of ``at``),
    and searched by dossier code, the citizen's personal ID or name (a prefix of the name,
    accents and case optional: ``names.name_key``).

    Every query starts with the agency: the state filter and the order use
    ix_dossiers_agency_status_deadline, the personal ID ix_dossiers_citizen_submitted, the
    name ix_dossiers_agency_name, the code its unique index. The total comes from ``counts``
    (``state_counts``) when only states filter; otherwise one count capped at COUNT_CAP."""
    q = select(Dossier).where(Dossier.agency_code == agency_code)
    if states is not None:
        q = q.where(Dossier.status == states[0] if len(states) == 1
                    else Dossier.status.in_(states))
    if procedure:
        q = q.where(Dossier.procedure_code == procedure)
    if late:
        q = q.where(lateness.late_clause(at or lifecycle.now()))
    text = " ".join((search or "").split())
    by_name: ColumnElement[bool] | None = None
    if text:
        kind = search_kind(text)
        if kind == "personal_id":
            q = q.where(Dossier.citizen_id == text)
        elif kind == "code":
            wanted = text.upper()
            if not wanted.startswith(f"{agency_code}-"):
                wanted = f"{agency_code}-{wanted}"
            q = q.where(Dossier.code == wanted)
        else:
            key = names.name_key(text).replace("\\", "").replace("%", "").replace("_", "")
            by_name = Dossier.citizen_name_key.like(f"{key}%")
    filtered = bool(procedure or late or text)
    unnamed = q
    if by_name is not None:
        q = q.where(by_name)
    if counts is not None and not filtered:
        total = sum(n for s, n in counts.items() if states is None or s in states)
        capped = False
    else:
        found = session.scalar(select(func.count()).select_from(
            q.with_only_columns(Dossier.id).limit(COUNT_CAP + 1).subquery()))
        total, capped = min(int(found or 0), COUNT_CAP), int(found or 0) > COUNT_CAP
    partial = capped and by_name is not None
    if partial and by_name is not None:
        # a common name (a family name alone): ordering every match by deadline reads and
        # sorts them all (10,000 of an agency's 50,000: 50 ms); the first NAME_ORDERED by
        # the name index are ordered instead, and the page says so
        q = unnamed.where(Dossier.id.in_(select(Dossier.id).where(
            Dossier.agency_code == agency_code, by_name).limit(NAME_ORDERED)))
    rows = list(session.scalars(
        q.options(load_only(*_QUEUE_COLUMNS))
        .order_by(Dossier.due_at.asc().nulls_last(), Dossier.id.asc())
        .limit(per_page).offset((page - 1) * per_page)))
    return QueuePage(rows, total, capped, partial)


def procedures(session: Session) -> list[tuple[str, str]]:
    """The procedures of the published forms (code, name), for the queue's filter. Published
    versions never change, only new ones come: the list is read again (two JSON values of
    every published definition, 8 ms a page) only when their number or newest id moved."""
    published = FormVersion.status == "published"
    key = (str(session.get_bind().engine.url),
           *session.execute(select(func.count(), func.max(FormVersion.id))
                            .where(published)).one())
    cached = _PROCEDURES.get(key)
    if cached is not None:
        return cached
    code = FormVersion.definition["procedure_code"].as_string()
    name = func.coalesce(FormVersion.definition["procedure_name"].as_string(),
                         FormVersion.title)
    rows = session.execute(select(code, name).where(published)).all()
    found = sorted({(c, n) for c, n in rows if c}, key=lambda r: (r[1], r[0]))
    if len(_PROCEDURES) > 32:  # one entry per database in practice; tests make many
        _PROCEDURES.clear()
    _PROCEDURES[key] = found
    return found


_PROCEDURES: dict[tuple[Any, ...], list[tuple[str, str]]] = {}


@dataclass(frozen=True)
class Attachment:
    """A file a dossier's attachment field references: a document tokhai issued and signed
    (``signed``: from the citizen's repository), a file the citizen uploaded (``upload``: a
    scan or photo, not verified), or an id nothing holds any more (``missing``)."""

    pointer: str
    document_id: str
    kind: str
    document: DossierDocument | None = None
    upload: Upload | None = None


def attachments(session: Session, definition: FormDefinition,
                dossier: Dossier) -> list[Attachment]:
    """The dossier's attachments with what is known of each, in two queries (no content)."""
    from service.repository.documents import references

    found = references(definition, dossier.data)
    ids = sorted({d for _, d in found})
    if not ids:
        return []
    signed = {d.document_id: d for d in session.scalars(
        select(DossierDocument).where(DossierDocument.document_id.in_(ids)))}
    uploaded = {u.document_id: u for u in session.scalars(
        select(Upload).where(Upload.document_id.in_(ids)))}
    out = []
    for pointer, document_id in found:
        if document_id in signed:
            out.append(Attachment(pointer, document_id, "signed",
                                  document=signed[document_id]))
        elif document_id in uploaded:
            out.append(Attachment(pointer, document_id, "upload",
                                  upload=uploaded[document_id]))
        else:
            out.append(Attachment(pointer, document_id, "missing"))
    return out


def history(session: Session, dossier: Dossier) -> list[DossierEvent]:
    """Every status change of the dossier, in order."""
    return list(session.scalars(select(DossierEvent).where(
        DossierEvent.dossier_id == dossier.id).order_by(DossierEvent.position)))


def events(session: Session, after: int, limit: int) -> list[DossierEvent]:
    """The event log after position ``after``, in order, at most ``limit`` events."""
    return list(session.scalars(select(DossierEvent).where(DossierEvent.position > after)
                                .order_by(DossierEvent.position).limit(limit)))


def latest_apology_letter(session: Session, dossier: Dossier) -> DossierDocument | None:
    return session.scalar(select(DossierDocument).where(
        DossierDocument.dossier_id == dossier.id, DossierDocument.kind == "apology_letter",
    ).order_by(DossierDocument.id.desc()).limit(1))


def _vietnam(moment: datetime | None) -> str | None:
    return moment.astimezone(VIETNAM).isoformat() if moment is not None else None


def late_report(session: Session, month: str, agency_code: str | None = None,
                at: datetime | None = None) -> dict[str, Any]:
    """The monthly list of late dossiers (``month``: ``YYYY-MM``), per agency and officer,
    for publication.

    Each late dossier is listed once, in the month (as the agency lives it, Vietnam time) of
    the first deadline it missed, with every stage it was late at (acceptance, processing,
    the promised date) as of ``at``, by default now. The first deadline missed never moves
    (``lateness``: waiting for the citizen is not counted, a deadline passed stays passed), so
    a dossier never leaves or changes month once listed; what happens later (a supplement, a
    result, another missed deadline, an explanation) only adds to its row. The officer is the
    one who explained it last (or, if unexplained, ``UNEXPLAINED``)."""
    year, mon = (int(p) for p in month.split("-"))
    start = datetime(year, mon, 1, tzinfo=VIETNAM)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=VIETNAM)
    at = at or lifecycle.now()
    first = lateness.first_missed_column()
    q = select(Dossier).where(first >= start, first < end, lateness.late_clause(at))
    if agency_code:
        q = q.where(Dossier.agency_code == agency_code)
    agencies: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for d in session.scalars(q.order_by(Dossier.agency_code, Dossier.code)):
        found = lateness.assess(d, at)
        if found.first is None or not start <= found.first.deadline < end:
            continue  # not reached: the clause and the assessment are the same test
        officer = d.late_explained_by or UNEXPLAINED
        facts = found.as_dict()
        agencies.setdefault(d.agency_code, {}).setdefault(officer, []).append({
            "code": d.code, "procedure_code": d.procedure_code,
            "procedure_name": d.procedure_name, "channel": d.channel, "status": d.status,
            "late_since": _vietnam(found.first.deadline), "stage": found.first.stage,
            "stages": list(found.stages),
            "missed": [{"stage": m.stage, "deadline": _vietnam(m.deadline)}
                       for m in found.missed],
            "acceptance_late": facts["acceptance_late"],
            "processing_late": facts["processing_late"],
            "promise_late": facts["promise_late"],
            "explanation_required": found.explanation_required,
            "submitted_at": _vietnam(d.submitted_at),
            "accept_by": _vietnam(d.accept_deadline), "process_by": _vietnam(d.process_deadline),
            "explanation": d.late_explanation, "promised_at": _vietnam(d.promised_at),
        })
    return {"month": month, "agencies": [
        {"agency_code": a, "officers": [{"officer": o, "dossiers": ds}
                                        for o, ds in officers.items()],
         "count": sum(len(ds) for ds in officers.values())}
        for a, officers in agencies.items()]}

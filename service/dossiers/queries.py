"""Reading dossiers: the citizen's list and the officers' queue, a dossier's history, the
ordered event log, the monthly list of late dossiers and the latest apology letter.

Plain functions of a database session (no request, no Flask), so that what they answer can be
tested by calling them, and the web views only shape the answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UnaryExpression, func, select
from sqlalchemy.orm import Session

from service.dossiers import lateness, lifecycle
from service.tokens import Principal
from service.worktime import VIETNAM
from storage.models import Dossier, DossierDocument, DossierEvent

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

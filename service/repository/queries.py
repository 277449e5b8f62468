"""What the repository's views read: documents by id, consents, the access log and the
record-change trail. Views call these instead of building queries themselves
(docs/architecture.md: view, operation, storage)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from storage.documents import DOCUMENT_ID
from storage.models import AccessLog, Consent, Dossier, DossierDocument, RecordChange


def document(session: Session, document_id: object) -> DossierDocument | None:
    """The document with this public id; None for an unknown or malformed one (no query)."""
    if not isinstance(document_id, str) or not DOCUMENT_ID.match(document_id):
        return None
    return session.scalar(select(DossierDocument).where(
        DossierDocument.document_id == document_id))


def dossier_code(session: Session, doc: DossierDocument) -> str:
    """The code of the dossier a document belongs to (every document belongs to one)."""
    return session.execute(select(Dossier.code).where(Dossier.id == doc.dossier_id)).scalar_one()


def owner_of(session: Session, document_id: str) -> str | None:
    return session.scalar(select(DossierDocument.owner_id).where(
        DossierDocument.document_id == document_id))


def consents(session: Session, owners: list[str], limit: int = 1000) -> list[Consent]:
    """The owners' consents, newest first, the revoked and expired ones too."""
    return list(session.scalars(select(Consent).where(Consent.owner_id.in_(owners))
                                .order_by(Consent.id.desc()).limit(limit)))


def access_log(session: Session, after: int, limit: int, document_id: str | None = None,
               actor: str | None = None, outcome: str | None = None) -> list[AccessLog]:
    """The access log, oldest first from a cursor, filtered."""
    query = select(AccessLog).where(AccessLog.id > after)
    if document_id:
        query = query.where(AccessLog.document_id == document_id)
    if actor:
        query = query.where(AccessLog.actor == actor)
    if outcome:
        query = query.where(AccessLog.outcome == outcome)
    return list(session.scalars(query.order_by(AccessLog.id).limit(limit)))


def record_changes(session: Session, after: int, limit: int, register: str | None = None,
                   subject: str | None = None,
                   document_id: str | None = None) -> list[RecordChange]:
    """The record-change trail, oldest first from a cursor, filtered."""
    query = select(RecordChange).where(RecordChange.id > after)
    if register:
        query = query.where(RecordChange.register == register)
    if subject:
        query = query.where(RecordChange.subject == subject)
    if document_id:
        query = query.where(RecordChange.document_id == document_id)
    return list(session.scalars(query.order_by(RecordChange.id).limit(limit)))


def latest_of_kind(session: Session, dossier_id: int, kind: str) -> DossierDocument | None:
    """The dossier's newest document of a kind (``result``, ``apology_letter``)."""
    return session.scalar(select(DossierDocument).where(
        DossierDocument.dossier_id == dossier_id, DossierDocument.kind == kind)
        .order_by(DossierDocument.id.desc()).limit(1))


def consent(session: Session, consent_id: int) -> Consent | None:
    """The consent with this id (ids beyond the column's range are simply unknown)."""
    return session.get(Consent, consent_id) if 0 < consent_id < 2**62 else None


def owner_access_log(session: Session, owners: list[str], page: int,
                     per_page: int) -> tuple[list[AccessLog], int]:
    """Who read the owners' documents (the owners themselves too), newest first: a page of
    the access log's entries naming one of them, and how many there are."""
    where = AccessLog.owner_id.in_(owners)
    total = session.scalar(select(func.count()).select_from(AccessLog).where(where))
    rows = list(session.scalars(select(AccessLog).where(where)
                                .order_by(AccessLog.id.desc())
                                .offset((page - 1) * per_page).limit(per_page)))
    return rows, int(total or 0)


# -- the auditors' pages: the access log filtered, paged by id, exported --------------------------


@dataclass(frozen=True)
class AccessFilter:
    """What an auditor narrows the access log to: whose data (``owner_id``: a personal ID or a
    tax code), which agency's staff read it, which document, and a time range (``since``
    included, ``until`` excluded)."""

    owner_id: str | None = None
    agency_code: str | None = None
    document_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def where(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.owner_id:
            found.append(AccessLog.owner_id == self.owner_id)  # ix_access_log_owner
        if self.agency_code:
            found.append(AccessLog.agency_code == self.agency_code)
        if self.document_id:
            found.append(AccessLog.document_id == self.document_id)  # ix_access_log_document_id
        if self.since is not None:
            found.append(AccessLog.at >= self.since)  # ix_access_log_at
        if self.until is not None:
            found.append(AccessLog.at < self.until)
        return found


def access_page(session: Session, filters: AccessFilter, limit: int, *,
                before: int | None = None,
                after: int | None = None) -> tuple[list[AccessLog], bool, bool]:
    """A page of the filtered access log, newest first, by keyset on the id (as the API's
    cursor): the entries older than ``before`` (the next page), or those newer than ``after``
    (the previous page), else the newest. Answers the entries and whether there are newer and
    older ones beyond them."""
    query = select(AccessLog).where(*filters.where())
    if after is not None:
        rows = list(session.scalars(query.where(AccessLog.id > after)
                                    .order_by(AccessLog.id.asc()).limit(limit + 1)))
        newer = len(rows) > limit
        rows = rows[:limit][::-1]
        older = _exists(session, filters, below=rows[-1].id if rows else after + 1)
        return rows, newer, older
    if before is not None:
        query = query.where(AccessLog.id < before)
    rows = list(session.scalars(query.order_by(AccessLog.id.desc()).limit(limit + 1)))
    older = len(rows) > limit
    rows = rows[:limit]
    newer = before is not None and _exists(
        session, filters, above=rows[0].id if rows else before - 1)
    return rows, newer, older


def _exists(session: Session, filters: AccessFilter, *, below: int | None = None,
            above: int | None = None) -> bool:
    query = select(AccessLog.id).where(*filters.where())
    if below is not None:
        query = query.where(AccessLog.id < below)
    if above is not None:
        query = query.where(AccessLog.id > above)
    return session.scalar(query.limit(1)) is not None


def access_export(session: Session, filters: AccessFilter, limit: int,
                  batch: int = 1000) -> Iterator[AccessLog]:
    """The filtered access log, newest first, at most ``limit`` entries, read ``batch`` at a
    time by keyset on the id (never the whole table in memory, no server-side cursor: each
    batch is one short query)."""
    below: int | None = None
    left = limit
    while left > 0:
        query = select(AccessLog).where(*filters.where())
        if below is not None:
            query = query.where(AccessLog.id < below)
        rows = list(session.scalars(query.order_by(AccessLog.id.desc())
                                    .limit(min(batch, left))))
        yield from rows  # the session's identity map holds them weakly: not kept
        if len(rows) < min(batch, left):
            return
        left -= len(rows)
        below = rows[-1].id


def dossier_codes_of_documents(session: Session, document_ids: Iterable[str]) -> dict[str, str]:
    """The dossier code of each of these documents (one query for a page of the log)."""
    wanted = sorted({d for d in document_ids if d})
    if not wanted:
        return {}
    return {doc: code for doc, code in session.execute(
        select(DossierDocument.document_id, Dossier.code)
        .join(Dossier, Dossier.id == DossierDocument.dossier_id)
        .where(DossierDocument.document_id.in_(wanted)))}


def apology_letters(session: Session, codes: Iterable[str]) -> dict[str, datetime | None]:
    """For each of these dossiers that has an apology letter, when the newest was signed
    (one query for the month's late list)."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    found: dict[str, datetime | None] = {}
    for code, signed_at in session.execute(
            select(Dossier.code, func.max(DossierDocument.signed_at))
            .join(DossierDocument, DossierDocument.dossier_id == Dossier.id)
            .where(Dossier.code.in_(wanted), DossierDocument.kind == "apology_letter")
            .group_by(Dossier.code)):
        found[code] = signed_at
    return found

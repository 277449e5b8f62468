"""What the repository's views read: documents by id, consents, the access log and the
record-change trail. Views call these instead of building queries themselves
(docs/architecture.md: view, operation, storage)."""

from __future__ import annotations

from sqlalchemy import func, select
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

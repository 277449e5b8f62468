"""The citizen and organisation document repository: archiving issued documents in the
document store, retention, who may read what, and the access log.

Hand-over is durable: issuing commits the signed bytes to the database first (the outbox, in
``dossier_documents``) and only then uploads them. If the store is down or slow the document
stays "archiving pending" and is uploaded later by ``tokhai worker`` or the next attempt; the
store refuses a second object for the same key, so retries never duplicate a document. The
version id the upload returns is recorded: the store is read by it, never by the key alone
(``integrity``).

Access: owners read their documents (and those of organisations they represent); an agency
reads a document it issued, or one whose owner consented for a stated purpose that has not
expired or been revoked. Every access, allowed or refused, is written to the append-only access
log, in its own transaction so that a refusal is logged even though the request fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, func, insert, or_, select, text
from sqlalchemy.orm import Session

from forms import pointers
from forms.model import FormDefinition
from service.repository.retention import retention_for
from service.tokens import Principal
from storage.documents import (
    BucketMissing,
    DocumentStore,
    LocalStore,
    Retention,
    S3Settings,
    S3Store,
    StoreError,
    StoreUnavailable,
    object_key,
)
from storage.models import (
    AccessLog,
    ApiToken,
    Consent,
    Dossier,
    DossierDocument,
    FormVersion,
    Record,
    Upload,
)


class StoreSettings(Protocol):
    """What choosing the document store reads of the settings (``service.config.Settings``,
    a layer above)."""

    @property
    def store(self) -> str: ...
    @property
    def data_dir(self) -> str: ...
    @property
    def s3_endpoint(self) -> str: ...
    @property
    def s3_access_key(self) -> str: ...
    @property
    def s3_secret_key(self) -> str: ...
    @property
    def s3_bucket(self) -> str: ...
    @property
    def s3_secure(self) -> bool: ...
    @property
    def s3_region(self) -> str: ...
    @property
    def s3_timeout(self) -> float: ...
    @property
    def s3_public_endpoint(self) -> str | None: ...


def make_store(settings: StoreSettings) -> DocumentStore:
    if settings.store == "s3":
        return S3Store(S3Settings(
            endpoint=settings.s3_endpoint, access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key, bucket=settings.s3_bucket,
            secure=settings.s3_secure, region=settings.s3_region,
            timeout=settings.s3_timeout, public_endpoint=settings.s3_public_endpoint))
    from pathlib import Path

    return LocalStore(Path(settings.data_dir) / "documents")


# -- archiving --------------------------------------------------------------------------------

def file_name(title: str, number: str | None, dossier_code: str) -> str:
    """``Trích lục khai sinh 12-2026-TLKS.pdf``: what the citizen sees when saving it."""
    label = title[:1].upper() + title[1:].lower()
    suffix = (number or dossier_code).replace("/", "-")
    return f"{label} {suffix}.pdf"


def prepare(document: DossierDocument, periods: dict[str, str], document_class: str,
            procedure_code: str, title: str, data: dict[str, Any] | None,
            dossier_code: str) -> None:
    """Fill in what archiving needs, at issuance, in the issuing transaction."""
    assert document.owner_id and document.signed_at
    retention = retention_for(periods, document_class, document.signed_at)
    document.document_class = document_class
    document.procedure_code = procedure_code
    document.data = data
    document.file_name = file_name(title, document.number, dossier_code)
    document.storage_key = object_key(document.owner_id, document.document_id)
    document.retain_until = retention.until
    document.legal_hold = retention.legal_hold


def object_metadata(document: DossierDocument, dossier_code: str) -> dict[str, str]:
    return {
        "document-id": document.document_id, "media-type": document.media_type,
        "dossier-code": dossier_code, "procedure": document.procedure_code or "",
        "issuing-agency": document.agency_code or "", "kind": document.kind,
        "document-class": document.document_class or "",
        "issued-at": document.signed_at.isoformat() if document.signed_at else "",
        "owner": document.owner_id or "",
    }


def archive(session: Session, store: DocumentStore, document_id: int) -> bool:
    """Upload one pending document, holding its row locked (a worker running at the same
    time skips it). Returns whether it is stored; a failure is recorded on the row, and a
    store that is unavailable raises ``StoreUnavailable`` after that (``BucketMissing`` when
    the bucket is gone: the worker makes it again)."""
    query = (select(DossierDocument, Dossier.code)
             .join(Dossier, Dossier.id == DossierDocument.dossier_id)
             .where(DossierDocument.id == document_id, DossierDocument.stored_at.is_(None)))
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(of=DossierDocument, skip_locked=True)
        # the mark "stored" need not wait for the disk: if a crash loses it, the next
        # attempt finds the object with the same hash in the store and marks it again
        session.execute(text("SET LOCAL synchronous_commit = off"))
    row = session.execute(query).first()
    if row is None:
        session.rollback()
        return True  # stored meanwhile, or being stored by someone else
    return _upload(session, store, row[0], row[1])


def _upload(session: Session, store: DocumentStore, document: DossierDocument,
            code: str) -> bool:
    assert document.storage_key
    try:
        stored = store.put(document.storage_key, document.content, sha256=document.sha256,
                           metadata=object_metadata(document, code),
                           retention=Retention(document.retain_until, document.legal_hold),
                           media_type=document.media_type,
                           first_attempt=document.archive_attempts == 0)
    except StoreError as e:
        document.archive_attempts += 1
        document.archive_error = f"{type(e).__name__}: {e}"[:1000]
        session.commit()
        if isinstance(e, StoreUnavailable | BucketMissing):
            raise
        return False
    document.stored_at = datetime.now(UTC)
    document.store_version_id = stored.version_id
    document.store_problem = document.store_problem_at = document.store_problem_detail = None
    document.archive_error = None
    session.commit()
    return True


def pending_ids(session: Session, limit: int) -> list[int]:
    return list(session.scalars(
        select(DossierDocument.id).where(DossierDocument.stored_at.is_(None),
                                         DossierDocument.storage_key.is_not(None))
        .order_by(DossierDocument.id).limit(limit)))


def archive_pending(sessions: Callable[[], Session], store: DocumentStore,
                    limit: int = 100) -> tuple[int, int]:
    """One pass of the worker: (stored, still pending). A store that is unavailable ends
    the pass (``StoreUnavailable``): every other document would wait out the same timeout;
    so does a bucket that is gone (``BucketMissing``)."""
    with sessions() as session:
        ids = pending_ids(session, limit)
    stored = failed = 0
    for document_id in ids:
        with sessions() as session:
            if archive(session, store, document_id):
                stored += 1
            else:
                failed += 1
    return stored, failed


# -- access -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    #: the consent that allowed it, if one did (a download link made on it dies with it)
    consent_id: int | None = None


def represented(session: Session, personal_id: str) -> list[str]:
    """Tax codes of the organisations a person represents (the business register)."""
    return sorted(session.scalars(select(Record.subject).where(
        Record.register == "business",
        Record.data["legal_representative_personal_id"].as_string() == personal_id)))


def owners_of(session: Session, principal: Principal) -> list[str]:
    assert principal.personal_id
    return [principal.personal_id, *represented(session, principal.personal_id)]


def purpose_fits(session: Session, agency_code: str, kind: str, code: str) -> bool:
    """Whether an agency can have this purpose: ``dossier`` names a dossier the agency holds,
    ``procedure`` a procedure the agency has received dossiers of (which procedures an agency
    handles is known to the service only through the dossiers filed with it). A consent names
    its purpose; without this check a consent naming another agency's dossier let any agency
    that it named read the documents "for" that dossier."""
    column = {"dossier": Dossier.code, "procedure": Dossier.procedure_code}.get(kind)
    if column is None:
        return False
    return session.scalar(select(Dossier.id).where(Dossier.agency_code == agency_code,
                                                   column == code).limit(1)) is not None


def known_procedure(session: Session, code: str) -> bool:
    """Whether a published form serves this procedure."""
    return session.scalar(select(FormVersion.id).where(
        FormVersion.status == "published",
        FormVersion.definition["procedure_code"].as_string() == code).limit(1)) is not None


def decide(session: Session, principal: Principal, document: DossierDocument,
           purpose: str | None, now: datetime, consent_id: int | None = None) -> Decision:
    """Whether ``principal`` may read ``document`` for ``purpose``. ``consent_id`` restricts
    the consents that count to that one (a download link made on a consent)."""
    if principal.role == "citizen":
        if document.owner_id == principal.personal_id:
            return Decision(True, "owner")
        if document.owner_id in owners_of(session, principal):
            return Decision(True, "representative of the owner")
        return Decision(False, "not the owner")
    if principal.role == "officer" and principal.agency_code:
        if document.agency_code == principal.agency_code:
            return Decision(True, "issued by this agency")
        if not purpose:
            return Decision(False, "no purpose stated and no consent")
        kind, _, code = purpose.partition(":")
        if not purpose_fits(session, principal.agency_code, kind, code):
            return Decision(False, f"purpose {purpose[:80]} is not this agency's")
        query = select(Consent).where(
            Consent.owner_id == document.owner_id,
            Consent.agency_code == principal.agency_code,
            Consent.purpose_kind == kind, Consent.purpose == code,
            or_(Consent.document_id.is_(None), Consent.document_id == document.document_id),
            Consent.revoked_at.is_(None), Consent.expires_at > now)
        if consent_id is not None:
            query = query.where(Consent.id == consent_id)
        consent = session.scalar(query.limit(1))
        if consent is not None:
            return Decision(True, f"consent {consent.id}", consent_id=consent.id)
        return Decision(False, "no valid consent for this purpose")
    return Decision(False, f"role {principal.role} does not read documents")


def link_maker(session: Session, token_id: object) -> tuple[Principal, bool] | None:
    """The principal of the token that made a download link, as it is now, and whether the
    token is still in force (a link dies with its token); None for an unknown token."""
    if not isinstance(token_id, int) or not 0 < token_id < 2**62:
        return None
    row = session.get(ApiToken, token_id)
    if row is None:
        return None
    return (Principal(row.id, row.role, row.label, row.agency_code, row.personal_id),
            row.revoked_at is None)


def log(session: Session, principal: Principal, action: str, outcome: str,
        *, document_id: str | None = None, owner_id: str | None = None,
        purpose: str | None = None, reason: str | None = None) -> None:
    """Append to the access log, committed at once: on the autocommitting session of a read
    request it is one statement, and a refusal that follows does not take it back."""
    session.execute(insert(AccessLog).values(
        at=datetime.now(UTC), actor=principal.actor, role=principal.role,
        agency_code=principal.agency_code, purpose=purpose,
        document_id=(document_id or "")[:64] or None, owner_id=owner_id, action=action,
        outcome=outcome, reason=(reason or "")[:200]))
    session.commit()


def list_documents(session: Session, owners: list[str], procedure_code: str | None,
                   issued_from: datetime | None, issued_to: datetime | None, page: int,
                   per_page: int) -> tuple[list[tuple[DossierDocument, str]], int]:
    """A page of the owners' documents, each with its dossier's code, and the total."""
    conditions: list[ColumnElement[bool]] = [DossierDocument.owner_id.in_(owners)]
    if procedure_code:
        conditions.append(DossierDocument.procedure_code == procedure_code)
    if issued_from:
        conditions.append(DossierDocument.signed_at >= issued_from)
    if issued_to:
        conditions.append(DossierDocument.signed_at < issued_to)
    where = and_(*conditions)
    total = session.scalar(select(func.count()).select_from(DossierDocument).where(where))
    rows = session.execute(
        select(DossierDocument, Dossier.code)
        .join(Dossier, Dossier.id == DossierDocument.dossier_id).where(where)
        .order_by(DossierDocument.signed_at.desc(), DossierDocument.id.desc())
        .offset((page - 1) * per_page).limit(per_page))
    return [(doc, code) for doc, code in rows], int(total or 0)


# -- reuse ------------------------------------------------------------------------------------

def references(definition: FormDefinition, data: Any) -> list[tuple[str, str]]:
    """The ids the attachment fields of ``data`` reference, each with its pointer."""
    found: list[tuple[str, str]] = []
    for _, field in definition.leaves():
        if field.type != "attachment":
            continue
        for pointer, value in pointers.each(data, field.path):  # each item of a repeated group
            for i, item in enumerate(value if isinstance(value, list) else []):
                document_id = item.get("document_id") if isinstance(item, dict) else None
                if isinstance(document_id, str):
                    found.append((f"{pointer}/{i}/document_id", document_id))
    return found


def attachment_errors(session: Session, definition: FormDefinition, data: Any,
                      declarant: str) -> list[dict[str, str]]:
    """A submission may reference a document already in the declarant's repository (or an
    organisation's they represent), or a file uploaded where nothing digital exists
    (``service.repository.uploads``) by the declarant or an organisation they represent:
    every referenced id must be one of theirs."""
    found = references(definition, data)
    if not found:
        return []
    owners = {declarant, *represented(session, declarant)}
    ids = [d for _, d in found]
    held = dict(session.execute(select(DossierDocument.document_id, DossierDocument.owner_id)
                                .where(DossierDocument.document_id.in_(ids))).all())
    uploaded = dict(session.execute(select(Upload.document_id, Upload.owner_id)
                                    .where(Upload.document_id.in_(ids))).all())
    return [{"field": pointer, "code": "unknown_document",
             "message": "Không có tài liệu này trong kho dữ liệu của người nộp.",
             "message_en": "No such document in the applicant's repository."}
            for pointer, document_id in found
            if held.get(document_id) not in owners and uploaded.get(document_id) not in owners]

"""Consents: an owner allows an agency to retrieve their documents for one purpose (a dossier
that agency holds, or a procedure), until a date, and may revoke it. The same checks for
every caller (the API's ``/consents`` and the citizen's pages): the expiry within a year,
a purpose the agency can have, a document of the owner's own repository."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from service.errors import InvalidData, not_found
from service.repository import documents as repository
from service.repository import queries
from service.tokens import Principal
from storage.models import Consent

#: how long a consent may last at most
MAX_CONSENT = timedelta(days=366)
#: what a consent may be for: a dossier the agency holds, or a procedure
PURPOSE_KINDS = ("dossier", "procedure")


def check_purpose(session: Session, agency_code: str, kind: str, code: str) -> None:
    """A consent's purpose must be one the agency can have: a dossier that agency holds (an
    unknown code and another agency's dossier get the same answer), or a procedure a
    published form serves. At use, a procedure purpose also needs dossiers of that procedure
    at the agency (``repository.decide``)."""
    if kind == "dossier" and not repository.purpose_fits(session, agency_code, kind, code):
        raise InvalidData("unknown_dossier",
                          "Cơ quan được đồng ý không có hồ sơ mang mã này.",
                          "The agency named holds no dossier with this code.", field="purpose")
    if kind == "procedure" and not repository.known_procedure(session, code):
        raise InvalidData("unknown_procedure", "Không có thủ tục hành chính mang mã này.",
                          "No procedure has this code.", field="purpose")
    if kind not in PURPOSE_KINDS:
        raise InvalidData("bad_purpose_kind", "Mục đích là một hồ sơ hoặc một thủ tục.",
                          "The purpose is a dossier or a procedure.", field="purpose_kind")


def grant(session: Session, principal: Principal, *, agency_code: str, purpose_kind: str,
          purpose: str, document_id: str | None, expires_at: datetime,
          now: datetime) -> Consent:
    """Record the citizen's consent (the caller commits); refused with ``InvalidData``
    naming the field: an expiry not in the future or beyond a year, a purpose the agency
    cannot have, a document that is not in the citizen's repository (unknown or another's:
    the same answer)."""
    if not now < expires_at <= now + MAX_CONSENT:
        raise InvalidData("bad_expiry", "Thời hạn đồng ý phải ở tương lai và không quá "
                          "một năm.", "expires_at must be in the future and within a year.",
                          field="expires_at")
    check_purpose(session, agency_code, purpose_kind, purpose)
    owners = repository.owners_of(session, principal)
    if document_id:
        owner = queries.owner_of(session, document_id)
        if owner not in owners:
            raise InvalidData("unknown_document",
                              "Không có tài liệu này trong kho dữ liệu của bạn.",
                              "No such document in your repository.", field="document_id")
    else:
        owner = principal.personal_id
    consent = Consent(owner_id=owner, agency_code=agency_code, purpose_kind=purpose_kind,
                      purpose=purpose, document_id=document_id or None,
                      granted_by=principal.actor, granted_at=now, expires_at=expires_at)
    session.add(consent)
    session.flush()
    return consent


def revoke(session: Session, principal: Principal, consent_id: int, now: datetime) -> Consent:
    """Revoke one of the citizen's consents (it stays, as revoked; revoking twice changes
    nothing). Another's consent and an unknown id: the same ``NotFound``. The caller
    commits."""
    consent = queries.consent(session, consent_id)
    if consent is None or consent.owner_id not in repository.owners_of(session, principal):
        raise not_found("sự đồng ý", "Consent")
    if consent.revoked_at is None:
        consent.revoked_at = now
    return consent


def active(consent: Consent, now: datetime) -> bool:
    return consent.revoked_at is None and consent.expires_at > now

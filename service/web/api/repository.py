"""The document repository over HTTP: citizens list and download their documents and manage
consents; agencies retrieve documents they issued or were allowed to; auditors read the access
log. Every access to a document is logged, refusals included."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import Response, g, redirect
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.wrappers import Response as BaseResponse

from schemas.repository import (
    AccessPageSchema,
    AccessQuerySchema,
    AuditQuerySchema,
    ConsentInputSchema,
    ConsentSchema,
    ContentQuerySchema,
    LinkSchema,
    RecordChangePageSchema,
    RecordChangeQuerySchema,
    RepositoryDocumentSchema,
    RepositoryPageSchema,
    RepositoryQuerySchema,
)
from service.errors import Gone, NotFound, not_found
from service.repository import consents, integrity, queries
from service.repository import documents as repository
from service.tokens import Principal
from service.web.api.documents import document_out
from service.web.auth import require, require_principal
from service.web.http import error_responses, verified_bytes
from service.web.runtime import current_runtime
from service.worktime import VIETNAM
from storage.documents import StoreError, content_disposition
from storage.models import Consent, DossierDocument

blp = Blueprint("repository", __name__, url_prefix="/api/v1",
                description="Kho dữ liệu của công dân, tổ chức: tài liệu, đồng ý chia sẻ, "
                            "nhật ký truy cập")
_AUTH: list[dict[str, list[str]]] = [{"bearerAuth": []}]
#: lifetime of the store's presigned URL behind ``?redirect=true``, at most: unlike tokhai's
#: own download links, it cannot be revoked, so it lives only as long as following it takes
REDIRECT_SECONDS = 60


def _out(doc: DossierDocument, dossier_code: str) -> dict[str, Any]:
    embedded = doc.data or {}
    body = document_out(doc, dossier_code)
    body.update({
        "title": embedded.get("title"), "procedure_code": doc.procedure_code,
        "document_class": doc.document_class, "file_name": doc.file_name,
        "retain_until": doc.retain_until, "legal_hold": doc.legal_hold,
        "data": embedded.get("data"),
        "content_url": f"/api/v1/repository/documents/{doc.document_id}/content",
    })
    return body


@blp.route("/repository/documents")
class Documents(MethodView):
    @blp.doc(security=_AUTH)
    @blp.arguments(RepositoryQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, RepositoryPageSchema)
    @error_responses(401, 403, 422)
    @require("citizen")
    def get(self, page: int, per_page: int, procedure_code: str | None = None,
            issued_from: Any = None, issued_to: Any = None) -> dict[str, Any]:
        """The citizen's documents, and those of organisations they represent

        Newest first; filter by procedure and by issue date (Vietnam dates)."""
        principal = require_principal()
        owners = repository.owners_of(g.db, principal)

        def start(day: Any) -> datetime | None:
            return datetime.combine(day, time(), tzinfo=VIETNAM) if day else None

        rows, total = repository.list_documents(g.db, owners, procedure_code,
                                                start(issued_from), start(issued_to),
                                                page, per_page)
        repository.log(g.db, principal, "list", "allowed", owner_id=principal.personal_id)
        return {"items": [_out(d, code) for d, code in rows], "page": page, "per_page": per_page,
                "total": total}


def _hidden() -> NotFound:
    """The one answer for an unknown document and for one the caller may not read: a
    refusal must not tell that the document exists (ids could be probed)."""
    return NotFound("not_found",
                    "Không tìm thấy tài liệu, hoặc bạn không được xem tài liệu này. Cơ quan "
                    "chỉ xem được tài liệu do mình cấp, hoặc khi chủ sở hữu đã đồng ý cho mục "
                    "đích đã nêu (purpose) và sự đồng ý còn hiệu lực.",
                    "Document not found, or not yours to read. An agency reads a document it "
                    "issued, or one whose owner consented for the stated purpose (not expired, "
                    "not revoked).")


def _load(document_id: str, action: str,
          purpose: str | None) -> tuple[DossierDocument, repository.Decision]:
    """The document if the caller may read it, and why; every attempt is logged. An unknown
    id and a refusal answer the same 404 (the access log tells them apart)."""
    principal = require_principal()
    doc = queries.document(g.db, document_id)
    if doc is None:
        repository.log(g.db, principal, action, "not_found", document_id=document_id,
                       purpose=purpose, reason="unknown document id")
        raise _hidden()
    decision = repository.decide(g.db, principal, doc, purpose, datetime.now(UTC))
    repository.log(g.db, principal, action, "allowed" if decision.allowed else "denied",
                   document_id=doc.document_id, owner_id=doc.owner_id, purpose=purpose,
                   reason=decision.reason)
    if not decision.allowed:
        raise _hidden()
    return doc, decision


@blp.route("/repository/documents/<string:document_id>")
class Document(MethodView):
    @blp.doc(security=_AUTH)
    @blp.arguments(AccessQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, RepositoryDocumentSchema)
    @error_responses(401, 403, 404, 422)
    @require("citizen", "officer")
    def get(self, document_id: str, purpose: str | None = None) -> dict[str, Any]:
        """A document's record: number, signer, level, retention, its structured data"""
        doc, _ = _load(document_id, "metadata", purpose)
        return _out(doc, queries.dossier_code(g.db, doc))


@blp.route("/repository/documents/<string:document_id>/content")
class Content(MethodView):
    @blp.doc(security=_AUTH)
    @blp.arguments(ContentQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, description="The signed PDF", content_type="application/pdf")
    @blp.alt_response(302, description="Redirect to a short-lived presigned URL")
    @error_responses(401, 403, 404, 422, 503)
    @require("citizen", "officer")
    def get(self, document_id: str, redirect: bool = False,  # noqa: A002 - query name
            purpose: str | None = None) -> BaseResponse:
        """Download a document (its bytes, or by a presigned URL)

        Always the bytes as issued: read from the store by the version written at archiving
        and checked against their sha256, else from the verified copy the database keeps
        (so too while archiving is pending); a newer version or a delete marker on the key
        is never served. `redirect=true` gives a presigned URL for that version, once it has
        passed the check. 503 only when no copy holds the issued bytes. The file name is
        Vietnamese (RFC 5987)."""
        return _content(_load(document_id, "download", purpose)[0], redirect)


def _content(doc: DossierDocument, redirect: bool) -> BaseResponse:
    """The document's issued bytes, checked against their sha256 before the first byte is
    sent: the store's pinned version, or the database's verified copy when the store's
    object is missing, changed or unreachable (and while archiving is pending). Asked and
    possible, a redirect to the store's presigned URL for the pinned version, made only once
    that version has passed the same check."""
    rt = current_runtime()
    name = doc.file_name or f"{doc.document_id}.pdf"
    headers = {"Content-Disposition": content_disposition(name),
               "ETag": f'"{doc.sha256}"', "Cache-Control": "private, no-store"}
    if redirect and rt.settings.presign_seconds > 0 and doc.storage_key is not None:
        version = integrity.link_version(rt.store, doc)
        if version is not None:
            # the store's URL cannot be revoked: it is for following at once, not for keeping
            seconds = min(rt.settings.presign_seconds, REDIRECT_SECONDS)
            try:
                url = rt.store.presigned_url(doc.storage_key, timedelta(seconds=seconds), name,
                                             version_id=version)
            except StoreError:
                url = None
            if url:
                return _redirect(url)
    served = verified_bytes(doc, prefer="store")
    headers["Content-Length"] = str(len(served.data))
    return Response(served.data, mimetype=doc.media_type, headers=headers)


def _serializer():
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(current_runtime().secret_key, salt="tokhai-download-link")


@blp.route("/repository/documents/<string:document_id>/links")
class Links(MethodView):
    @blp.doc(security=_AUTH)
    @blp.arguments(AccessQuerySchema, location="query", as_kwargs=True)
    @blp.response(201, LinkSchema)
    @error_responses(401, 403, 404, 422)
    @require("citizen", "officer")
    def post(self, document_id: str, purpose: str | None = None) -> tuple[dict[str, Any], int]:
        """A short-lived download link for a document (to hand to a browser or another
        system without the token); it expires after TOKHAI_PRESIGN_SECONDS"""
        doc, decision = _load(document_id, "link", purpose)
        principal = require_principal()
        seconds = current_runtime().settings.presign_seconds
        # who made it and on which consent: the link dies with either (checked at download)
        token = _serializer().dumps({"d": doc.document_id, "t": principal.token_id,
                                     "p": purpose, "c": decision.consent_id})
        return {"url": f"/api/v1/repository/links/{token}",
                "expires_at": datetime.now(UTC) + timedelta(seconds=seconds)}, 201


@blp.route("/repository/links/<string:token>")
class Link(MethodView):
    @blp.response(200, description="The signed PDF", content_type="application/pdf")
    @error_responses(404, 410, 503)
    def get(self, token: str) -> BaseResponse:
        """Download by a short-lived link (no token needed)

        Refused with 410 once expired (`link_expired`), and as soon as the token that made
        it is revoked or the consent it was made on is revoked or expires (`link_revoked`):
        the link is checked again, as its maker would be, at every download."""
        from itsdangerous import BadSignature, SignatureExpired

        seconds = current_runtime().settings.presign_seconds
        try:
            claims = _serializer().loads(token[:2000], max_age=seconds)
        except SignatureExpired:
            raise Gone("link_expired", "Đường dẫn tải về đã hết hạn; hãy tạo đường "
                       "dẫn mới.", "The download link has expired; ask for a new one.",
                       field="path.token") from None
        except BadSignature:
            raise not_found("đường dẫn tải về", "Download link") from None
        doc = queries.document(g.db, claims.get("d"))
        if doc is None:
            raise not_found("tài liệu", "Document")
        purpose = claims.get("p")
        maker = repository.link_maker(g.db, claims.get("t"))
        if maker is None or not maker[1]:
            who = maker[0] if maker else Principal(token_id=0, role="unknown", label="link",
                                                   agency_code=None, personal_id=None)
            decision = repository.Decision(False, "the token that made it is revoked")
        else:
            who = maker[0]
            decision = repository.decide(g.db, who, doc, purpose, datetime.now(UTC),
                                         consent_id=claims.get("c"))
        repository.log(g.db, who, "link_download", "allowed" if decision.allowed else "denied",
                       document_id=doc.document_id, owner_id=doc.owner_id, purpose=purpose,
                       reason=f"download link: {decision.reason}")
        if not decision.allowed:
            # 410 like an expired link: its holder already knew the document, and should ask
            # for a new link (which the revocation now refuses) rather than retry this one
            raise Gone("link_revoked", "Đường dẫn tải về không còn hiệu lực: mã truy "
                       "cập hoặc sự đồng ý đã tạo ra nó đã bị thu hồi hoặc hết hạn.",
                       "The download link no longer works: the token or the consent that "
                       "made it was revoked or has expired.", field="path.token")
        return _content(doc, redirect=False)


def _redirect(url: str) -> BaseResponse:
    # Flask's redirect is typed as werkzeug's Response (it makes the app's response class)
    response = redirect(url, code=302)
    response.headers["Cache-Control"] = "no-store"
    return response


def _consent_out(c: Consent) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"id": c.id, "owner_id": c.owner_id, "agency_code": c.agency_code,
            "purpose_kind": c.purpose_kind, "purpose": c.purpose,
            "document_id": c.document_id, "granted_at": c.granted_at,
            "expires_at": c.expires_at, "revoked_at": c.revoked_at,
            "active": consents.active(c, now)}


@blp.route("/consents")
class Consents(MethodView):
    @blp.doc(security=_AUTH)
    @blp.arguments(ConsentInputSchema)
    @blp.response(201, ConsentSchema)
    @error_responses(401, 403, 422)
    @require("citizen")
    def post(self, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """Allow an agency to retrieve your documents for one purpose, until a date"""
        consent = consents.grant(
            g.db, require_principal(), agency_code=body["agency_code"],
            purpose_kind=body["purpose_kind"], purpose=body["purpose"],
            document_id=body.get("document_id"), expires_at=body["expires_at"],
            now=datetime.now(UTC))
        g.db.commit()
        return _consent_out(consent), 201

    @blp.doc(security=_AUTH)
    @blp.response(200, ConsentSchema(many=True))
    @error_responses(401, 403)
    @require("citizen")
    def get(self) -> list[dict[str, Any]]:
        """Your consents, the revoked and expired ones too"""
        principal = require_principal()
        owners = repository.owners_of(g.db, principal)
        return [_consent_out(c) for c in queries.consents(g.db, owners)]


@blp.route("/consents/<int:consent_id>")
class ConsentItem(MethodView):
    @blp.doc(security=_AUTH)
    @blp.response(200, ConsentSchema)
    @error_responses(401, 403, 404)
    @require("citizen")
    def delete(self, consent_id: int) -> dict[str, Any]:
        """Revoke a consent (it stays listed, as revoked)"""
        consent = consents.revoke(g.db, require_principal(), consent_id, datetime.now(UTC))
        g.db.commit()
        return _consent_out(consent)


@blp.route("/audit/access")
class Audit(MethodView):
    @blp.doc(security=_AUTH)
    @blp.arguments(AuditQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, AccessPageSchema)
    @error_responses(401, 403, 422)
    @require("auditor")
    def get(self, after: int, limit: int, document_id: str | None = None,
            actor: str | None = None, outcome: str | None = None) -> dict[str, Any]:
        """The access log, oldest first from a cursor (who, role, agency, purpose, document,
        time, outcome)"""
        entries = queries.access_log(g.db, after, limit, document_id, actor, outcome)
        return {"entries": [{c: getattr(e, c) for c in (
            "id", "at", "actor", "role", "agency_code", "purpose", "document_id", "owner_id",
            "action", "outcome", "reason")} for e in entries],
            "next_after": entries[-1].id if entries else after}


@blp.route("/audit/record-changes")
class RecordChanges(MethodView):
    @blp.doc(security=_AUTH)
    @blp.arguments(RecordChangeQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, RecordChangePageSchema)
    @error_responses(401, 403, 422)
    @require("auditor")
    def get(self, after: int, limit: int, register: str | None = None,
            subject: str | None = None, document_id: str | None = None) -> dict[str, Any]:
        """The record-change trail, oldest first from a cursor: every change of a register's
        record the service made (confirmed digitised documents, results), with its evidence,
        who, which agency, and the values before and after"""
        entries = queries.record_changes(g.db, after, limit, register, subject, document_id)
        return {"entries": entries, "next_after": entries[-1].id if entries else after}

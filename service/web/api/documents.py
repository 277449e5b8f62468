"""Signed documents over HTTP: issuing a dossier's result, downloading it, and verifying
signed PDFs (anyone may verify: an upload, or a document id from a QR code)."""

from __future__ import annotations

from typing import Any

from flask import Response, g, redirect, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from schemas.documents import DocumentSchema, IssueSchema, VerificationSchema
from service import catalogue as form_ops
from service.errors import not_found
from service.pki import validation as verification
from service.repository import documents as repository
from service.results import issuance
from service.tokens import Principal
from service.web.api.dossiers import load, load_for_download
from service.web.auth import require, require_principal
from service.web.errors import ApiError
from service.web.http import (
    archive_now,
    caller,
    error_responses,
    expected_version,
    pdf_response,
    verified_bytes,
)
from service.web.runtime import current_runtime
from storage.models import DossierDocument

blp = Blueprint("documents", __name__, url_prefix="/api/v1",
                description="Kết quả điện tử có chữ ký số: phát hành, tải về, xác thực")
_AUTH: list[dict[str, list[str]]] = [{"bearerAuth": []}]
_PDF_BODY = {"required": True, "content": {"application/pdf": {
    "schema": {"type": "string", "format": "binary"}}}}


def document_out(doc: DossierDocument, dossier_code: str) -> dict[str, Any]:
    return {
        "document_id": doc.document_id, "kind": doc.kind, "dossier_code": dossier_code,
        "agency_code": doc.agency_code, "owner_id": doc.owner_id, "template": doc.template,
        "number": doc.number, "sha256": doc.sha256, "signer": doc.signer, "level": doc.level,
        "signed_at": doc.signed_at, "timestamp_at": doc.timestamp_at,
        "download_url": f"/api/v1/dossiers/{dossier_code}/result" if doc.kind == "result"
        else f"/api/v1/dossiers/{dossier_code}/apology-letter",
        "verification_url": f"/api/v1/documents/{doc.document_id}/verification",
        "archiving": "stored" if doc.stored_at else "pending",
        "stored_at": doc.stored_at,
    }


@blp.route("/dossiers/<string:code>/result")
class Result(MethodView):
    @blp.doc(security=_AUTH, parameters=[{
        "in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"},
        "description": "The ETag read with the dossier"}])
    @blp.arguments(IssueSchema)
    @blp.response(201, DocumentSchema)
    @blp.alt_response(200, schema=DocumentSchema, description="Already issued: the same one")
    @error_responses(401, 403, 404, 409, 412, 422, 428, 503)
    @require("officer")
    def post(self, body: dict[str, Any], code: str):
        """Issue the signed result of a dossier in processing

        Renders the procedure's result template, signs it with the agency's key (PAdES
        B-LT by default) and moves the dossier to `result_ready`. Issuing again returns the
        first document (200). 409 when the dossier is not in processing (or is late and
        unexplained); 503 when the time-stamping authority does not answer in time, in which
        case nothing is issued and the dossier is unchanged."""
        principal = require_principal()
        dossier = load(code, principal)
        rt = current_runtime()
        earlier = issuance.existing_result(g.db, dossier)
        if earlier is not None:
            return document_out(earlier, dossier.code), 200
        expected = expected_version(required=True)
        compiled = form_ops.published_form(g.db, dossier.form_id, dossier.form_version)
        doc, created = issuance.issue_result(
            g.db, dossier, principal, compiled.definition, rt.signing,
            rt.calendar_for(dossier.agency_code), expected_version=expected,
            retention=rt.settings.retention, level=body.get("level"))
        g.db.commit()  # the signed bytes are safe in the outbox before any upload
        archive_now(doc.id)
        g.db.refresh(doc)
        return document_out(doc, dossier.code), 201 if created else 200

    @blp.doc(security=_AUTH)
    @blp.response(200, description="The signed result (PDF)", content_type="application/pdf")
    @error_responses(401, 403, 404, 503)
    @require("citizen", "officer", "auditor")
    def get(self, code: str) -> Response:
        """Download the signed result of a dossier

        The bytes as issued, checked against their sha256 (from the database's copy, or the
        repository's pinned version); every download and every refusal is in the access
        log. 404 alike for an unknown dossier and one the caller may not see."""
        return result_download(code, require_principal())


def result_download(code: str, principal: Principal) -> Response:
    """A dossier's signed result for ``principal``, as every download of it is answered (the
    API, the citizen's and the officer's pages): the dossier's check, the bytes checked
    against their sha256, the access log; NotFound alike for an unknown dossier, one
    ``principal`` may not see and one without a result (logged)."""
    dossier = load_for_download(code[:60], principal, "result")
    doc = issuance.existing_result(g.db, dossier)
    if doc is None:
        repository.log(g.db, principal, "download", "not_found",
                       reason=f"result of dossier {dossier.code}: none issued yet")
        raise not_found("kết quả của hồ sơ này", "Result")
    return pdf_response(doc, f"ket-qua-{dossier.code}.pdf", principal=principal,
                        reason=f"result of dossier {dossier.code}")


def verify_bytes(data: bytes) -> dict[str, Any]:
    """The report, read under the PDF limits (service/pdflimits.py): a PDF over a limit is
    refused with 422 naming it, 503 when every verifying process is busy."""
    rt = current_runtime()
    try:
        return verification.verify(data, verification.trust_of(rt.signing),
                                   max_pages=rt.settings.verify_max_pages,
                                   original=issuance.original_finder(g.db),
                                   limits=verification.PdfLimits.from_settings(rt.settings))
    except verification.VerificationRefused as e:
        e.field = "body"
        raise e from None


@blp.route("/verifications")
class Verifications(MethodView):
    @blp.doc(requestBody=_PDF_BODY)
    @blp.response(200, VerificationSchema)
    @error_responses(413, 415, 422, 503)
    def post(self) -> dict[str, Any]:
        """Verify a signed PDF (anyone, no token)

        The report says whether the bytes are intact, who signed, whether the chain reaches
        a trusted anchor, the revocation status, the timestamp, the PAdES level, what changed
        after signing, and whether these are the bytes tokhai issued. Refused (422): not a
        PDF, encrypted, no signature, over a limit (pages, objects, signature fields,
        inflated size, processing time: `too_many_pages`, `too_many_objects`,
        `too_many_signatures`, `pdf_too_large`, `pdf_too_costly`); 413 over the size limit."""
        request.max_content_length = current_runtime().settings.verify_max_bytes
        if request.mimetype != "application/pdf":
            raise ApiError(415, "unsupported_media_type", "Gửi tệp với Content-Type "
                           "application/pdf.", "Send the file as application/pdf.",
                           field="header.Content-Type")
        return verify_bytes(request.get_data(cache=False))


def issued_report(document_id: str) -> tuple[DossierDocument, dict[str, Any]]:
    """A document tokhai issued, by its id, and the report of its bytes as issued (checked
    against their sha256): the API's answer and the verification page's. Every request is in
    the access log, an anonymous one and one for an unknown id included (NotFound)."""
    who = caller()
    doc = issuance.find_document(g.db, document_id)
    if doc is None:
        repository.log(g.db, who, "verification", "not_found",
                       document_id=document_id[:64], reason="unknown document id")
        raise not_found(f"tài liệu {document_id[:40]}", "Document")
    repository.log(g.db, who, "verification", "allowed", document_id=doc.document_id,
                   owner_id=doc.owner_id, reason="verification by id")
    return doc, verify_bytes(verified_bytes(doc, prefer="copy").data)


def _prefers_page() -> bool:
    """A browser following the QR code: it names text/html and prefers it to JSON (an API
    client asking for JSON, or for anything, gets JSON)."""
    accept = request.accept_mimetypes
    return ("text/html" in {value for value, _ in accept}
            and accept.best_match(["application/json", "text/html"]) == "text/html")


@blp.route("/documents/<string:document_id>/verification")
class DocumentVerification(MethodView):
    @blp.response(200, VerificationSchema)
    @blp.alt_response(303, description="A browser (Accept prefers text/html): to the "
                                        "verification page of the document")
    @error_responses(404, 503)
    def get(self, document_id: str) -> Any:
        """Verify a document tokhai issued, by its id (the QR code leads here; no token)

        Verifies the bytes as issued (checked against their sha256). Every request is in the
        access log, an anonymous one and one for an unknown id included. A browser (whose
        Accept prefers text/html to JSON) is sent to the verification page, which shows the
        same report in words."""
        if _prefers_page():
            return redirect(url_for("public.verify_document", document_id=document_id), 303)
        return issued_report(document_id)[1]

"""Small HTTP helpers shared by the blueprints."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, g, json, request
from flask_smorest import Blueprint

from schemas.common import ErrorSchema
from service.errors import PreconditionRequired, Unavailable, VersionMismatch
from service.repository import documents as repository
from service.repository import integrity
from service.repository import queries as repo_queries
from service.tokens import Principal
from service.web.auth import current_principal
from service.web.runtime import current_runtime
from storage.documents import StoreError
from storage.models import DossierDocument

# alt_response only records documentation on the view; any Blueprint instance can do that
_doc = Blueprint("_doc_helpers", __name__)


def error_responses(*statuses: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Document the error responses of a view, all in the one error shape."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        for status in statuses:
            view = _doc.alt_response(status, schema=ErrorSchema,
                                     description="Error (see the error shape)")(view)
        return view

    return decorate


def conditional_json(data: Any, etag: str, status: str) -> Response:
    """JSON with a strong ETag, answering 304 to a matching If-None-Match. Published versions
    never change, so caches may keep them; drafts must be revalidated."""
    if request.if_none_match.contains(etag):
        resp = Response(status=304)
    else:
        resp = current_app.response_class(
            json.dumps(data, ensure_ascii=False), mimetype="application/json")
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = ("public, max-age=300" if status == "published"
                                     else "no-cache")
    return resp


def expected_version(required: bool) -> int | None:
    """The dossier version an If-Match header names (428 when required and missing, 412 when it
    names no version of a dossier)."""
    header = request.headers.get("If-Match")
    if header is None:
        if required:
            raise PreconditionRequired("if_match_required",
                                       "Cần gửi If-Match với ETag của hồ sơ vừa đọc.",
                                       "Send If-Match with the dossier's ETag.",
                                       field="header.If-Match")
        return None
    match = re.fullmatch(r'\s*(?:W/)?"v([0-9]{1,9})"\s*', header)
    if match is None:
        raise VersionMismatch("stale_version", "If-Match không khớp phiên bản hồ sơ.",
                              "If-Match does not name a version of the dossier.",
                              field="header.If-Match")
    return int(match.group(1))


def archive_now(document_id: int) -> bool:
    """Hand a just-issued document to the store; if the store fails (down, refusing, its
    bucket gone) it stays pending for ``tokhai worker``."""
    rt = current_runtime()
    with rt.sessions() as session:
        try:
            return repository.archive(session, rt.store, document_id)
        except StoreError:
            return False


#: who calls a public route without a token, in the access log
ANONYMOUS = Principal(token_id=0, role="anonymous", label="public", agency_code=None,
                      personal_id=None)


def caller() -> Principal:
    """The request's principal, or the anonymous caller of a public route."""
    return current_principal() or ANONYMOUS


def verified_bytes(doc: DossierDocument, *, prefer: str = "store") -> integrity.Served:
    """The document's issued bytes, checked against their sha256 before anything is served:
    the store's pinned version or the database's verified copy (``integrity.read``). A
    problem noticed with the store's object is recorded for the worker to repair; when
    neither holds the issued bytes the answer is a clear 503, never other bytes."""
    rt = current_runtime()
    try:
        served = integrity.read(rt.store, doc, prefer=prefer)
    except integrity.Unreadable as e:
        current_app.logger.error("document unreadable: no copy holds the issued bytes",
                                 extra={"document_id": doc.document_id,
                                        "error": str(e)[:300]})
        if e.store_unavailable:
            raise Unavailable("store_unavailable",
                              "Kho dữ liệu tạm thời không phản hồi; vui lòng thử lại sau.",
                              "The document store is unavailable; retry later.") from None
        integrity.note(g.db, doc, integrity.ALTERED, str(e))
        raise Unavailable("document_unreadable",
                          "Bản lưu của tài liệu không còn đúng như khi cấp; kho dữ liệu đã "
                          "được báo để khôi phục. Vui lòng thử lại sau.",
                          "The stored document is not as issued; its restoration has been "
                          "requested. Retry later.") from None
    if served.problem:
        integrity.note(g.db, doc, served.problem, served.detail)
    elif served.source == "copy" and doc.stored_at is not None and prefer == "store":
        current_app.logger.warning("document store unavailable: served the verified copy",
                                   extra={"document_id": doc.document_id,
                                          "error": served.detail[:200]})
    return served


def pdf_response(doc: DossierDocument, filename: str, *, principal: Principal | None = None,
                 reason: str | None = None) -> Response:
    """A signed document as a download: its issued bytes, checked (``verified_bytes``), and
    the access written to the access log. ``no-store``: it carries personal data, and no
    browser or proxy cache may keep a copy."""
    who = principal or caller()
    repository.log(g.db, who, "download", "allowed", document_id=doc.document_id,
                   owner_id=doc.owner_id,
                   reason=reason or f"{doc.kind} at {request.path}")
    served = verified_bytes(doc, prefer="copy")
    return Response(served.data, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "ETag": f'"{doc.sha256}"', "Cache-Control": "no-store"})


def log_dossier_refusal(code: str, principal: Principal, kind: str) -> None:
    """A download of a dossier's document (``kind``: ``result``, ``apology_letter``) refused
    because the dossier is not the caller's, or unknown: the caller gets the one 404 for both,
    the access log tells them apart (``denied`` with the document, ``not_found``)."""
    from service.dossiers import queries

    dossier = queries.by_code(g.db, code[:60])
    doc = None if dossier is None else repo_queries.latest_of_kind(g.db, dossier.id, kind)
    repository.log(g.db, principal, "download", "denied" if dossier else "not_found",
                   document_id=doc.document_id if doc else None,
                   owner_id=doc.owner_id if doc else None,
                   reason=(f"{kind} of dossier {code[:60]}: not the caller's" if dossier
                           else f"{kind} of unknown dossier {code[:60]}"))

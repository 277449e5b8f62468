"""Small HTTP helpers shared by the blueprints."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, json, request
from flask_smorest import Blueprint

from schemas.common import ErrorSchema
from service.errors import PreconditionRequired, VersionMismatch
from service.repository import documents as repository
from service.web.runtime import current_runtime
from storage.documents import StoreUnavailable
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
    """Hand a just-issued document to the store; if the store fails it stays pending for
    ``tokhai worker``."""
    rt = current_runtime()
    with rt.sessions() as session:
        try:
            return repository.archive(session, rt.store, document_id)
        except StoreUnavailable:
            return False


def pdf_response(doc: DossierDocument, filename: str) -> Response:
    """A signed document as a download. ``no-store``: it carries personal data, and no
    browser or proxy cache may keep a copy."""
    return Response(doc.content, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "ETag": f'"{doc.sha256}"', "Cache-Control": "no-store"})

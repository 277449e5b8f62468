"""Small HTTP helpers shared by the blueprints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, current_app, json, request
from flask_smorest import Blueprint

from schemas.common import ErrorSchema

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

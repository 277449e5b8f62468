"""Files a citizen uploads for an attachment field where nothing digital exists (a scan or a
photo of a paper), and the attachments of a dossier for whoever may see the dossier."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response, g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from schemas.uploads import UploadQuerySchema, UploadSchema
from service.dossiers import lifecycle
from service.errors import not_found
from service.repository import documents as repository
from service.repository import uploads
from service.tokens import Principal
from service.web.api.dossiers import load
from service.web.auth import require, require_principal
from service.web.errors import ApiError
from service.web.http import error_responses
from service.web.runtime import current_runtime
from storage.models import Upload

blp = Blueprint("uploads", __name__, url_prefix="/api/v1",
                description="Tệp tải lên cho ô đính kèm (chỉ khi không có bản điện tử)")
_AUTH: list[dict[str, list[str]]] = [{"bearerAuth": []}]
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_FILE_BODY = {"required": True, "description": "The file: a PDF, a JPEG or a PNG",
              "content": {m: _BINARY for m in uploads.MEDIA_TYPES}}


def out(row: Upload) -> dict[str, Any]:
    return {"document_id": row.document_id, "file_name": row.file_name,
            "media_type": row.media_type, "size": row.size, "sha256": row.sha256}


def disposition(file_name: str) -> str:
    """``attachment`` with the name in ASCII (for old clients) and in UTF-8 (RFC 6266)."""
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_"
                    for c in file_name)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(file_name, safe='')}"


@blp.route("/uploads")
class Uploads(MethodView):
    @blp.doc(requestBody=_FILE_BODY, security=_AUTH)
    @blp.arguments(UploadQuerySchema, location="query", as_kwargs=True)
    @blp.response(201, UploadSchema)
    @error_responses(401, 403, 413, 415, 422)
    @require("citizen")
    def post(self, file_name: str | None = None) -> tuple[dict[str, Any], int]:
        """Upload a file for an attachment field

        Only where nothing digital exists in the citizen's repository (a scan or a photo of
        a paper). The body is the file, sent with its Content-Type (application/pdf,
        image/jpeg or image/png; 415 otherwise); its type is the one its bytes show (422
        `unsupported_file` naming `body` when they show none of these, `empty_file` when
        empty); over TOKHAI_MAX_UPLOAD_BYTES it is refused with 413. Reference the returned
        `document_id` in an attachment field of a submission: only its owner (or someone who
        represents the owner) can."""
        settings = current_runtime().settings
        request.max_content_length = settings.max_upload_bytes
        if request.mimetype not in uploads.MEDIA_TYPES:
            raise ApiError(415, "unsupported_media_type",
                           "Gửi tệp với Content-Type application/pdf, image/jpeg hoặc "
                           "image/png.", "Send the file as application/pdf, image/jpeg or "
                           "image/png.")
        row = uploads.store(g.db, require_principal(), request.get_data(cache=False),
                            file_name, uploads.MEDIA_TYPES, settings.max_upload_bytes,
                            lifecycle.now())
        g.db.commit()
        return out(row), 201


@blp.route("/dossiers/<string:code>/attachments/<string:document_id>")
class Attachment(MethodView):
    @blp.doc(security=_AUTH)
    @blp.response(200, description="The attached file (PDF, JPEG or PNG)",
                  content_type="application/octet-stream")
    @error_responses(401, 403, 404)
    @require("citizen", "officer", "auditor")
    def get(self, code: str, document_id: str) -> Response:
        """Download a file uploaded for one of a dossier's attachment fields

        For whoever may see the dossier (its citizen, an officer of its agency, an auditor),
        and only a file the dossier's data references; 404 alike for an unknown dossier, one
        the caller may not see, and a file it does not reference. Every download is in the
        access log."""
        return attachment_download(code, document_id, require_principal())


def attachment_download(code: str, document_id: str, principal: Principal) -> Response:
    """A file uploaded for a dossier's attachment field, for ``principal`` (the API and the
    officers' page): only a file the dossier's data references, NotFound alike otherwise;
    every download and refusal in the access log."""
    dossier = load(code[:60], principal)
    row = uploads.readable(g.db, principal, dossier, document_id[:64])
    if row is None:
        repository.log(g.db, principal, "download", "not_found",
                       document_id=document_id[:64], reason=f"attachment of {dossier.code}")
        raise not_found("tệp đính kèm này của hồ sơ", "Attachment")
    repository.log(g.db, principal, "download", "allowed", document_id=row.document_id,
                   owner_id=row.owner_id, reason=f"attachment of {dossier.code}")
    return Response(row.content, mimetype=row.media_type, headers={
        "Content-Disposition": disposition(row.file_name), "ETag": f'"{row.sha256}"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})

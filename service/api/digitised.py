"""Digitised paper documents: officers upload a born-digital PDF, check the values read from
it, and confirm them into a record."""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from forms.records import RecordInvalid, check_subject, normalise_record
from schemas.digitised import ConfirmSchema, DigitisedDocumentSchema, DigitiseQuerySchema
from service import current_runtime, digitised
from service.api.http import error_responses
from service.auth import current_principal, require
from service.errors import ApiError, not_found
from storage import records as store
from storage.models import DigitisedDocument, utcnow

blp = Blueprint("digitised", __name__, url_prefix="/api/v1/digitised-documents",
                description="Số hóa giấy tờ giấy đã cấp trước đây (PDF có lớp văn bản)")
_OFFICER = [{"bearerAuth": []}]
_PDF_BODY = {"required": True, "description": "The PDF",
             "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}


def _out(row: DigitisedDocument) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "register": row.register, "subject": row.subject,
            "sha256": row.sha256, "status": row.status, "provenance": "digitised document",
            "values": row.values.get("values", {}), "problems": row.values.get("problems", []),
            "uploaded_by": row.uploaded_by, "confirmed_by": row.confirmed_by,
            "confirmed_at": row.confirmed_at}


def _get(doc_id: int) -> DigitisedDocument:
    row = g.db.get(DigitisedDocument, doc_id) if 0 < doc_id < 2**31 else None
    if row is None:
        raise not_found(f"giấy tờ số hóa {doc_id}", f"Digitised document {doc_id}")
    return row


@blp.route("")
class Upload(MethodView):
    @blp.doc(requestBody=_PDF_BODY, security=_OFFICER)
    @blp.arguments(DigitiseQuerySchema, location="query", as_kwargs=True)
    @blp.response(201, DigitisedDocumentSchema)
    @error_responses(401, 403, 413, 415, 422)
    @require("officer")
    def post(self, kind: str) -> tuple[dict[str, Any], int]:
        """Read a born-digital PDF of a paper document

        The values are kept as pending until an officer confirms them. Refused: not a PDF,
        encrypted, no text layer (a scan), more pages than the limit, or not the template."""
        settings = current_runtime().settings
        request.max_content_length = settings.max_upload_bytes
        if request.mimetype != "application/pdf":
            raise ApiError(415, "unsupported_media_type", "Gửi tệp với Content-Type "
                           "application/pdf.", "Send the file as application/pdf.")
        try:
            reading = digitised.read(request.get_data(cache=False), kind,
                                     settings.digitised_max_pages)
        except digitised.DigitisedError as exc:
            raise ApiError(422, exc.code, exc.message, exc.message_en, field="body") from None
        row = DigitisedDocument(kind=kind, register=reading.register, subject=reading.subject,
                                sha256=reading.sha256,
                                values={"values": reading.values, "problems": reading.problems},
                                status="pending",
                                uploaded_by=current_principal().actor)  # type: ignore[union-attr]
        g.db.add(row)
        g.db.commit()
        return _out(row), 201


@blp.route("/<int:doc_id>")
class Document(MethodView):
    @blp.doc(security=_OFFICER)
    @blp.response(200, DigitisedDocumentSchema)
    @error_responses(401, 403, 404)
    @require("officer")
    def get(self, doc_id: int) -> dict[str, Any]:
        """Get a digitised document and the values read from it"""
        return _out(_get(doc_id))


@blp.route("/<int:doc_id>/confirm")
class Confirm(MethodView):
    @blp.doc(security=_OFFICER)
    @blp.arguments(ConfirmSchema)
    @blp.response(200, DigitisedDocumentSchema)
    @error_responses(401, 403, 404, 409, 422)
    @require("officer")
    def post(self, body: dict[str, Any], doc_id: int) -> dict[str, Any]:
        """Confirm the values (with corrections) into a record

        The record is merged into the register's existing record of the subject, with
        provenance `digitised:<id>`. Confirming twice is refused with 409."""
        row = _get(doc_id)
        if row.status == "confirmed":
            raise ApiError(409, "already_confirmed", "Giấy tờ này đã được xác nhận.",
                           "This document is already confirmed.")
        values = digitised.record_values(row.values.get("values", {}), row.register)
        values.update(body["values"])
        try:
            subject = check_subject(row.register, body.get("subject") or row.subject)
            data = normalise_record(row.register, values)
        except RecordInvalid as exc:
            raise ApiError(422, "record_invalid", "Giá trị không hợp lệ; hãy sửa trước khi "
                           "xác nhận.", "Invalid values; correct them before confirming.",
                           errors=[{"field": p.field, "code": p.code, "message": p.message}
                                   for p in exc.problems]) from None
        existing = store.fetch(g.db, row.register, [subject]).get(subject)
        merged = {**(existing.data if existing else {}), **data}
        store.upsert_many(g.db, row.register, [(subject, merged)], f"digitised:{row.id}")
        row.subject = subject
        row.status = "confirmed"
        row.confirmed_by = current_principal().actor  # type: ignore[union-attr]
        row.confirmed_at = utcnow()
        g.db.commit()
        return _out(row)

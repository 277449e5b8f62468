"""Importing a printed form: a designer sends an official form's PDF and gets a draft
definition to review, with its findings (issue #17). Nothing is stored: the designer creates
the draft with ``POST /api/v1/forms``."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.exceptions import RequestEntityTooLarge

from schemas.imports import FormImportSchema
from service import imports
from service.errors import InvalidData
from service.web.auth import require
from service.web.errors import ApiError
from service.web.http import error_responses

blp = Blueprint("form_imports", __name__, url_prefix="/api/v1",
                description="Nhập tờ khai từ tệp PDF của mẫu in: bản nháp định nghĩa để rà soát")

#: room for a multipart body's boundaries and headers around the file
MULTIPART_ROOM = 64 * 1024
_DESIGNER: list[dict[str, list[str]]] = [{"bearerAuth": []}]
_PDF_BODY = {
    "required": True,
    "description": f"The printed form's PDF (at most {imports.MAX_BYTES // imports.MiB} MiB and "
                   f"{imports.MAX_PAGES} pages): the body itself as application/pdf, or the "
                   "multipart/form-data field `file`.",
    "content": {
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"}}}},
    },
}


def _pdf_bytes() -> bytes:
    """The PDF sent: the body, or the multipart field ``file``; 413 naming ``file`` past the
    limit (before a byte is read when the request says its length), 415 for another type."""
    request.max_content_length = imports.MAX_BYTES + MULTIPART_ROOM
    length = request.content_length
    if length is not None and length > imports.MAX_BYTES + MULTIPART_ROOM:
        raise imports.too_large(length)
    try:
        if request.mimetype == "application/pdf":
            return request.get_data(cache=False)
        if request.mimetype == "multipart/form-data":
            sent = request.files.get(imports.FIELD)
            if sent is None:
                raise InvalidData("file_missing", "Chưa chọn tệp PDF (trường 'file').",
                                  "No PDF sent (multipart field 'file').", field=imports.FIELD)
            data = sent.stream.read(imports.MAX_BYTES + 1)
            if len(data) > imports.MAX_BYTES:
                raise imports.too_large()
            return data
    except RequestEntityTooLarge:
        raise imports.too_large() from None
    raise ApiError(415, "unsupported_media_type",
                   "Gửi tệp PDF với Content-Type application/pdf, hoặc trong trường 'file' của "
                   "multipart/form-data.",
                   "Send the PDF as application/pdf, or as the field 'file' of "
                   "multipart/form-data.", field=imports.FIELD)


@blp.route("/form-imports")
class FormImports(MethodView):
    @blp.doc(requestBody=_PDF_BODY, security=_DESIGNER)
    @blp.response(200, FormImportSchema)
    @error_responses(401, 403, 413, 415, 422, 503)
    @require("designer")
    def post(self) -> dict[str, Any]:
        """Read a printed form's PDF as a draft definition

        The PDF of an official form (born digital, or a scan: its text is then read by OCR
        with Tesseract's Vietnamese model, and `from_ocr` says so) becomes a draft in the
        form language that passes `tokhai forms check`, with the findings the designer must
        review: the guessed types and prefill bindings with their confidence, what was dropped
        and why. The importer never guesses conditions, person sections or rules. Nothing is
        stored: send the `yaml` to `POST /api/v1/forms` to create the draft.

        Refused, naming the field `file`: over the size limit (413 `too_large`); not a PDF,
        damaged, encrypted, empty, too many pages, a compression bomb, too slow to read, no
        text even after OCR, a form not in Vietnamese (422 with the reader's code); 503
        `busy` when every importing process is busy."""
        draft = imports.import_pdf(_pdf_bytes())
        return {"yaml": draft.yaml, "definition": draft.definition,
                "findings": [asdict(f) for f in draft.findings], "from_ocr": draft.from_ocr}

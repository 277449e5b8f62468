"""Digitised paper documents: officers upload a born-digital PDF, check the values read from
it, and confirm them into a record.

A document belongs to the agency whose officer uploaded it and is named by a random public id:
an officer of another agency gets the same 404 as for an unknown id. Confirming writes only
what the document evidences: the subject read from it, and the fields its kind's template
shows; every change goes to the append-only record-change trail with the document.

A document is refused when it is not the declared kind (its first page lacks the title) or its
dates are impossible (registered in the future, or before the person was born). The person it
prints (name, birth date, sex) is compared with the population register's record of the
personal ID number it prints: a difference is flagged, and the document is confirmed only with
the officer's reason, which the trail keeps.
"""

from __future__ import annotations

import time
import uuid
from datetime import date, datetime
from typing import Any, NoReturn

from flask import g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from forms import registers
from forms.records import RecordInvalid, check_subject, normalise_record
from schemas.digitised import ConfirmSchema, DigitisedDocumentSchema, DigitiseQuerySchema
from service.errors import Conflict, InvalidData, not_found
from service.records import digitised
from service.records.templates import TEMPLATES, Template
from service.repository import documents as repository
from service.tokens import Principal
from service.web.auth import current_principal, require
from service.web.errors import ApiError
from service.web.http import error_responses
from service.web.runtime import current_runtime
from service.worktime import VIETNAM
from storage import records as store
from storage.models import DigitisedDocument

blp = Blueprint("digitised", __name__, url_prefix="/api/v1/digitised-documents",
                description="Số hóa giấy tờ giấy đã cấp trước đây (PDF có lớp văn bản)")
_OFFICER: list[dict[str, list[str]]] = [{"bearerAuth": []}]
_PDF_BODY = {"required": True, "description": "The PDF",
             "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}


def _out(row: DigitisedDocument) -> dict[str, Any]:
    return {"id": row.public_id, "agency_code": row.agency_code, "kind": row.kind,
            "register": row.register, "subject": row.subject,
            "sha256": row.sha256, "status": row.status, "provenance": "digitised document",
            "values": row.values.get("values", {}), "problems": row.values.get("problems", []),
            "identity": row.values.get("identity"), "reason": row.confirm_reason,
            "uploaded_by": row.uploaded_by, "confirmed_by": row.confirmed_by,
            "confirmed_at": row.confirmed_at}


#: the access-log action of comparing a document's printed person with the population register
IDENTITY_CHECK = "identity_check"


def _person(template: Template, values: dict[str, dict[str, Any]], subject: str | None,
            ) -> tuple[str | None, dict[str, Any] | None, bool]:
    """The personal ID number of the person the document names, their population record (or
    None) and whether the register could not be read."""
    identity = template.identity
    if identity is None:
        return None, None, False
    personal_id = (subject if identity.personal_id == registers.REGISTERS[
        template.register].subject else digitised.read_value(values, identity.personal_id))
    if not isinstance(personal_id, str):
        return None, None, False
    sources = current_runtime().sources(g.db)
    population = sources.by_register.get("population")
    fetched = sources.fetch({"population": {personal_id}},
                            time.monotonic() + sources.deadline_seconds)
    record = fetched.found.get(("population", personal_id))
    unavailable = population is None or population.name in fetched.failed
    return personal_id, None if record is None else record.data, unavailable


def _check_identity(template: Template, values: dict[str, dict[str, Any]], subject: str | None,
                    where: str) -> tuple[dict[str, Any], date | None]:
    """The identity check of the document's person (logged: it reads the population
    register), and the birth date the document's dates are checked against."""
    personal_id, person, unavailable = _person(template, values, subject)
    check = digitised.identity_check(template, values, personal_id, person, unavailable)
    if check["result"] != "not_checked":
        repository.log(g.db, _officer(), IDENTITY_CHECK, check["result"], owner_id=personal_id,
                       reason=where)
    return check, digitised.born_on(template, values, person)


def _today() -> date:
    return datetime.now(VIETNAM).date()


def _refuse_dates(problems: list[dict[str, str]]) -> None:
    if problems:
        raise InvalidData("impossible_date",
                          "Giấy tờ có ngày không thể có: " + " ".join(
                              p["message"] for p in problems),
                          "The document has an impossible date.",
                          field=problems[0]["field"] if len(problems) == 1 else None,
                          errors=problems)


def _officer() -> Principal:
    principal = current_principal()
    assert principal is not None and principal.role == "officer"  # @require("officer")
    return principal


def _get(doc_id: str) -> DigitisedDocument:
    """The document, if it belongs to the caller's agency. Another agency's document, an
    unknown id and a malformed one give the same 404, from the same single query."""
    try:
        public_id = str(uuid.UUID(doc_id))
    except ValueError:
        public_id = None
    row = None if public_id is None else store.digitised_document(
        g.db, public_id, _officer().agency_code)
    if row is None:
        raise not_found("giấy tờ số hóa", "Digitised document")
    return row


def evidenced_fields(kind: str) -> frozenset[str]:
    """The record fields a document of this kind evidences: those its template prints, in its
    register's vocabulary, the subject excepted (it is confirmed as the subject). A birth
    certificate cannot register a death; a household-business certificate says nothing of
    marriage."""
    template = TEMPLATES[kind]
    register = registers.REGISTERS[template.register]
    return frozenset(label.field for label in template.labels
                     if label.field in register.fields and label.field != register.subject)


def _refuse(problems: list[dict[str, str]]) -> NoReturn:
    first = problems[0]
    raise InvalidData(first["code"], first["message"], first["message_en"],
                      field=first["field"], errors=problems)


def _subject(row: DigitisedDocument, given: str | None) -> tuple[str, dict[str, Any]]:
    """The subject to confirm, and the correction to record if the officer supplied it. When
    the document's subject was read, it is the subject: another one is refused. Only when it
    could not be read does the officer type it (and the trail keeps that)."""
    name = registers.REGISTERS[row.register].subject
    if row.subject is not None:
        if given is not None and given.strip() != row.subject:
            _refuse([{"field": "subject", "code": "subject_mismatch",
                      "message": "Số định danh/mã số khác với số đọc được trên giấy tờ; "
                                 "không xác nhận được giấy tờ cho chủ thể khác.",
                      "message_en": "The subject read from the document cannot be changed."}])
        return row.subject, {}
    if not given:
        _refuse([{"field": "subject", "code": "subject_required",
                  "message": "Không đọc được số định danh/mã số trên giấy tờ; hãy nhập theo "
                             "giấy tờ.",
                  "message_en": "The subject could not be read; give it as the document "
                                "shows it."}])
    try:
        subject = check_subject(row.register, given)
    except RecordInvalid as exc:
        _refuse([{"field": "subject", "code": p.code, "message": p.message,
                  "message_en": "Not a valid subject for this register."} for p in exc.problems])
    read = row.values.get("values", {}).get(name, {})
    return subject, {name: {"read": read.get("value"), "text": read.get("text"),
                            "confirmed": subject}}


def _check_corrections(row: DigitisedDocument, corrections: dict[str, Any]) -> None:
    """Corrections only for fields the kind evidences and the document shows (a label was
    found); each field outside is named."""
    allowed = evidenced_fields(row.kind)
    shown = row.values.get("values", {})
    title = TEMPLATES[row.kind].title
    problems = []
    for name in corrections:
        if name not in allowed:
            problems.append({
                "field": f"values.{name}", "code": "field_not_evidenced",
                "message": f"'{title}' không chứng minh trường '{name}'; chỉ xác nhận được: "
                           f"{', '.join(sorted(allowed))}.",
                "message_en": f"A {row.kind} does not evidence '{name}'."})
        elif name not in shown:
            problems.append({
                "field": f"values.{name}", "code": "field_not_on_document",
                "message": f"Không tìm thấy trường '{name}' trên giấy tờ này; chỉ sửa được giá "
                           "trị đã đọc từ giấy tờ.",
                "message_en": f"'{name}' was not found on this document; only values read "
                              "from it can be corrected."})
    if problems:
        _refuse(problems)


@blp.route("")
class Upload(MethodView):
    @blp.doc(requestBody=_PDF_BODY, security=_OFFICER)
    @blp.arguments(DigitiseQuerySchema, location="query", as_kwargs=True)
    @blp.response(201, DigitisedDocumentSchema)
    @error_responses(401, 403, 413, 415, 422, 503)
    @require("officer")
    def post(self, kind: str) -> tuple[dict[str, Any], int]:
        """Read a born-digital PDF of a paper document

        The values are kept as pending until an officer confirms them. Refused: not a PDF,
        encrypted, no text layer (a scan), more pages than the limit, not the template (its
        first page lacks the document's title), or an impossible date (a registration in the
        future or before the person's birth: 422 `impossible_date` naming
        `body.<field>`). The person the document prints (name, birth date, sex) is compared
        with the population register's record of its personal ID number: `identity` says
        the result, and each field that differs is a problem `identity_mismatch`."""
        settings = current_runtime().settings
        request.max_content_length = settings.max_upload_bytes
        if request.mimetype != "application/pdf":
            raise ApiError(415, "unsupported_media_type", "Gửi tệp với Content-Type "
                           "application/pdf.", "Send the file as application/pdf.")
        try:
            reading = digitised.read(request.get_data(cache=False), kind,
                                     settings.digitised_max_pages,
                                     limits=digitised.limits_of(settings))
        except digitised.DigitisedError as exc:
            exc.field = "body"
            raise exc from None
        officer = _officer()
        template = TEMPLATES[kind]
        check, born = _check_identity(template, reading.values, reading.subject,
                                      f"digitised {kind} upload")
        _refuse_dates(digitised.date_problems(
            template, {k: v.get("value") for k, v in reading.values.items()}, _today(), born,
            "body."))
        row = DigitisedDocument(kind=kind, register=reading.register, subject=reading.subject,
                                sha256=reading.sha256,
                                values={"values": reading.values,
                                        "problems": [*reading.problems,
                                                     *digitised.identity_problems(check)],
                                        "identity": check},
                                status="pending", uploaded_by=officer.actor,
                                agency_code=officer.agency_code)
        g.db.add(row)
        g.db.commit()
        return _out(row), 201


@blp.route("/<string:doc_id>")
class Document(MethodView):
    @blp.doc(security=_OFFICER)
    @blp.response(200, DigitisedDocumentSchema)
    @error_responses(401, 403, 404)
    @require("officer")
    def get(self, doc_id: str) -> dict[str, Any]:
        """Get a digitised document and the values read from it

        Only officers of the agency that uploaded it; for others it does not exist (404)."""
        return _out(_get(doc_id))


@blp.route("/<string:doc_id>/confirm")
class Confirm(MethodView):
    @blp.doc(security=_OFFICER)
    @blp.arguments(ConfirmSchema)
    @blp.response(200, DigitisedDocumentSchema)
    @error_responses(401, 403, 404, 409, 422)
    @require("officer")
    def post(self, body: dict[str, Any], doc_id: str) -> dict[str, Any]:
        """Confirm the values (with corrections) into a record

        Only officers of the agency that uploaded the document. The subject is the one read
        from the document (typed only when it could not be read); corrections only for the
        fields the document's kind evidences and that were found on it (422 naming each other
        field). The record is merged into the register's record of the subject, with
        provenance `digitised:<id>`, and the change (before, after, corrections, officer,
        agency, document) is written to the append-only record-change trail. A document fills
        in what the register does not hold: a value the register holds differently is refused
        with 409 `record_conflict`, naming each field. A corrected date that is impossible is
        refused with 422 `impossible_date` naming `values.<field>`. A document whose printed
        person the population register does not bear out (or could not be checked against
        it) is confirmed only with a `reason` (422 `identity_mismatch` naming each field
        otherwise); the reason is kept with the document and in the trail. Confirming twice
        is refused with 409."""
        officer = _officer()
        row = _get(doc_id)
        if row.status == "confirmed":
            raise _already_confirmed()
        subject, corrections = _subject(row, body.get("subject"))
        _check_corrections(row, body["values"])
        read = row.values.get("values", {})
        allowed = evidenced_fields(row.kind)
        values = {k: v for k, v in digitised.record_values(read, row.register).items()
                  if k in allowed}
        values.update(body["values"])
        try:
            data = normalise_record(row.register, values)
        except RecordInvalid as exc:
            raise InvalidData("record_invalid", "Giá trị không hợp lệ; hãy sửa trước khi "
                              "xác nhận.", "Invalid values; correct them before confirming.",
                              errors=[{"field": p.field, "code": p.code, "message": p.message}
                                      for p in exc.problems]) from None
        if not data:
            _refuse([{"field": "values", "code": "nothing_to_confirm",
                      "message": "Không có giá trị nào đọc được để xác nhận.",
                      "message_en": "No value was read to confirm."}])
        for name in body["values"]:  # read values are in normal form already
            found = read[name]
            if name in data and data[name] != found.get("value"):
                corrections[name] = {"read": found.get("value"), "text": found.get("text"),
                                     "confirmed": data[name]}
        reason = _identity_reason(row, subject, data, body.get("reason"))
        _refuse_overwrites(row.register, subject, data)
        # claim the document first: of two confirmations at once, one changes the record
        if not store.claim_digitised(g.db, row.id, subject=subject, actor=officer.actor,
                                     reason=reason):
            g.db.rollback()
            raise _already_confirmed()
        store.change(g.db, row.register, subject, data, f"digitised:{row.public_id}",
                     document_id=row.public_id, actor=officer.actor, role=officer.role,
                     agency_code=officer.agency_code, corrections=corrections, reason=reason)
        g.db.commit()
        return _out(row)


def _identity_reason(row: DigitisedDocument, subject: str, data: dict[str, Any],
                     reason: str | None) -> str | None:
    """Check the document as it is to be confirmed (the subject, the corrected values): its
    dates, then its printed person against the population register. A person the register
    does not bear out (or that could not be checked) needs the officer's reason; the reason
    is returned, to be kept."""
    template = TEMPLATES[row.kind]
    values = {**row.values.get("values", {}),
              **{name: {"value": value} for name, value in data.items()}}
    check, born = _check_identity(template, values, subject,
                                  f"digitised {row.kind} confirm {row.public_id}")
    _refuse_dates(digitised.date_problems(template, data, _today(), born, "values."))
    reason = reason.strip() if reason and reason.strip() else None
    if check["result"] in digitised.NEEDS_REASON and reason is None:
        problems = digitised.identity_problems(check)
        code = problems[0]["code"]
        raise InvalidData(code,
                          "Thông tin in trên giấy tờ không khớp (hoặc không đối chiếu được) với "
                          "Cơ sở dữ liệu quốc gia về dân cư; cần ghi rõ lý do xác nhận "
                          "('reason').",
                          "The person the document prints is not borne out by the population "
                          "register; a reason is required to confirm it.",
                          field="reason", errors=problems)
    return reason


def _refuse_overwrites(register: str, subject: str, data: dict[str, Any]) -> None:
    """A digitised paper document fills in what the register does not hold yet; it never
    changes a value the register holds (409 ``record_conflict``, naming each field). A paper
    copy is weaker evidence than the register, and anyone can print a convincing PDF: were it
    allowed to overwrite, an officer could replace a business's legal representative (who
    reaches the business's documents) with a document made for the purpose. Corrections of
    registered data go through the register's own procedure."""
    existing = store.fetch(g.db, register, [subject]).get(subject)
    held = existing.data if existing is not None else {}
    conflicts = [name for name, value in data.items()
                 if held.get(name) not in (None, "", value)]
    if conflicts:
        raise Conflict(
            "record_conflict",
            "Sổ đăng ký đã có giá trị khác cho trường này; giấy tờ số hóa chỉ bổ sung dữ liệu "
            "còn thiếu, không thay đổi dữ liệu đã đăng ký.",
            "The register already holds another value; a digitised document only fills in "
            "what is missing, it never changes registered data.",
            field=f"values.{conflicts[0]}" if len(conflicts) == 1 else None,
            errors=[{"field": f"values.{name}", "code": "record_conflict",
                     "message": "Sổ đăng ký đã có giá trị khác.",
                     "message_en": "The register holds another value."} for name in conflicts])


def _already_confirmed() -> Conflict:
    return Conflict("already_confirmed", "Giấy tờ này đã được xác nhận.",
                    "This document is already confirmed.")


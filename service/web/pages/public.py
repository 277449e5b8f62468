"""The public pages, for anyone and without signing in: the catalogue of procedures, a page
per procedure, the verification of a signed document (an upload, or the link of its QR code),
the receipt lookup and the monthly list of late dossiers with their apologies.

Each page calls the operations the API calls (the same verification, the same receipt check,
the same late report) and only shapes their answer for people: plain Vietnamese (English from
the catalogue), dates as dd/mm/yyyy in Vietnam time, errors in an error summary and at their
field. Nothing here needs JavaScript.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from flask_babel import format_decimal
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from forms import pointers
from forms.model import Field, FormDefinition
from forms.registers import REGISTERS
from forms.results import TEMPLATES, Value
from service import catalogue as form_ops
from service.dossiers import lifecycle, queries
from service.dossiers.names import fold
from service.errors import NotFound
from service.pki.pdflimits import PdfBusy, PdfRefused
from service.results import issuance
from service.web.api import documents as documents_api
from service.web.pages.rendering import (
    PAGE_BLUEPRINTS,
    agency_name,
    page_error,
    render,
    status_label,
)
from service.web.ratelimit import ChecksUnavailable, TooManyLookups, charge_receipt_lookup
from service.web.runtime import current_runtime
from service.worktime import VIETNAM
from storage.models import DossierDocument, FormVersion

bp = Blueprint("public", __name__)
PAGE_BLUEPRINTS.add("public")

#: the file input of the verification page
FILE_FIELD = "document"
#: what a multipart upload carries besides the file (boundaries, headers, the CSRF token)
FORM_OVERHEAD = 64 * 1024
_CODE = re.compile(r"^[A-Za-z0-9._-]{1,80}$")
_AGENCY = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
_MONTH = re.compile(r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$")
_FORM_ID = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
#: a run of digits as long as a personal ID, a tax code or a phone number: never published
_NUMBER = re.compile(r"(?<![0-9])[0-9][0-9 .]{7,14}[0-9](?![0-9])")


# -- words --------------------------------------------------------------------------------------

def agency_levels() -> dict[str, str]:
    """The levels of the agencies that settle a procedure (forms.model.AGENCY_LEVELS)."""
    return {"central": _("Trung ương"), "province": _("Cấp tỉnh"), "commune": _("Cấp xã")}


def stage_label(stage: str) -> str:
    """A deadline a dossier can miss (service.dossiers.lateness.STAGES)."""
    return {"acceptance": _("Trễ hạn tiếp nhận"), "processing": _("Trễ hạn giải quyết"),
            "promise": _("Trễ ngày hẹn trả lại")}.get(stage, stage)


def _moment(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


# -- the catalogue ------------------------------------------------------------------------------

def _published() -> list[FormVersion]:
    """The latest published version of each form, by title."""
    latest: dict[str, FormVersion] = {}
    for row in form_ops.list_versions(g.db, None, include_drafts=False):
        latest[row.form_id] = row  # ordered by form, then version
    return sorted(latest.values(), key=lambda r: (fold(r.title), r.form_id))


@bp.get("/procedures")
def catalogue() -> Response:
    """The procedures whose form is published: search by name or code, filter by level."""
    levels = agency_levels()
    # what is searched and shown back: printable text only (a NUL or a control character
    # typed into the box is dropped, not echoed into the page)
    query = " ".join("".join(c for c in request.args.get("q", "") if c.isprintable()
                             or c.isspace()).split())[:100]
    level = request.args.get("level", "")
    errors = []
    if level and level not in levels:
        errors.append({"field": "level", "message": _("Chọn cấp cơ quan trong danh sách.")})
        level = ""
    rows = _published()
    found = []
    wanted = fold(query)
    for row in rows:
        d = row.definition
        if level and d.get("agency_level") != level:
            continue
        haystack = fold(" ".join(str(d.get(k) or "") for k in (
            "title", "procedure_name", "procedure_code", "description")) + " " + row.form_id)
        if wanted and not all(word in haystack for word in wanted.split()):
            continue
        found.append({"form_id": row.form_id, "title": row.title,
                      "procedure_name": d.get("procedure_name"),
                      "procedure_code": d.get("procedure_code"),
                      "level": levels.get(str(d.get("agency_level")), d.get("agency_level"))})
    return render("public/catalogue.html", status=400 if errors else 200, items=found,
                  total=len(rows), query=query, level=level, levels=levels, errors=errors,
                  error_count=len(errors))


# -- a procedure --------------------------------------------------------------------------------

def _field_items(fields: tuple[Field, ...], marks: dict[str, dict[str, Any]]
                 ) -> list[dict[str, Any]]:
    """The fields of a section as the procedure page lists them: each with who fills it (a
    register, verified or suggested, or the citizen), groups with their own fields."""
    out = []
    for f in fields:
        item: dict[str, Any] = {"label": f.label, "required": f.required,
                                "conditional": f.when is not None, "official": f.official,
                                "group": f.is_group, "repeat": f.repeat is not None}
        if f.is_group:
            item["fields"] = _field_items(f.fields, marks)
        else:
            mark = marks.get("/" + "/".join(f.path), {})
            item["status"] = mark.get("status", "typed")
            item["source"] = mark.get("source")
            item["person"] = (mark.get("person") or {}).get("label")
        out.append(item)
    return out


def _can_start() -> bool:
    """Whether this installation serves the e-form (its pages are another module's)."""
    return "eform.start" in current_app.view_functions


@bp.get("/procedures/<form_id>")
def procedure(form_id: str) -> Response:
    """A procedure: legal basis, code, processing time, fee, the form's fields and which of
    them the state's records fill (the trimming report's figures)."""
    if not _FORM_ID.match(form_id):
        return page_error(404)
    rows = form_ops.list_versions(g.db, form_id, include_drafts=False)
    if not rows:
        return page_error(404)
    row = rows[-1]
    compiled = form_ops.published_form(g.db, row.form_id, row.version)
    definition: FormDefinition = compiled.definition
    report = compiled.trimming_report
    marks = {f["path"]: f for f in report["fields"]}
    sections = [{"id": s.id, "title": s.title, "help": s.help,
                 "fields": _field_items(s.fields, marks)} for s in definition.sections]
    settings = current_runtime().settings
    return render(
        "public/procedure.html", row=row, definition=definition, sections=sections,
        report=report, counts=report["counts"],
        percent=format_decimal(report["reduction_percent"]),
        target=format_decimal(report["target_percent"]),
        level=agency_levels().get(definition.agency_level, definition.agency_level),
        processing_days=(settings.default_processing_days if definition.processing_days is None
                         else definition.processing_days),
        default_days=definition.processing_days is None,
        start=_can_start())


# -- verification -------------------------------------------------------------------------------

@bp.url_value_preprocessor
def _upload_limit(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """An upload to the verification page may be as large as the API's (``verify_max_bytes``,
    and the form around it), not just as large as any other form: set before the pages' CSRF
    check reads the form (URL value preprocessors run before every ``before_request``)."""
    if endpoint == "public.verify" and request.method == "POST":
        request.max_content_length = (current_runtime().settings.verify_max_bytes
                                      + FORM_OVERHEAD)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge) -> Response:
    if request.endpoint == "public.verify":
        return _upload_refused(_too_large_message(), 413)
    return page_error(413)


def _too_large_message() -> str:
    limit = current_runtime().settings.verify_max_bytes
    return _("Tệp lớn hơn %(size)s MB: hệ thống chỉ xác thực tệp tối đa %(size)s MB.",
             size=_megabytes(limit))


def _megabytes(size: int) -> str:
    value = size / (1024 * 1024)
    return f"{value:g}" if value >= 1 else f"{value:.2f}"


def _refusal_message(refused: PdfRefused) -> str:
    """What the person reads when their file cannot be verified at all."""
    settings = current_runtime().settings
    messages = {
        "not_a_pdf": _("Tệp đã chọn không phải là tệp PDF. Hãy chọn văn bản điện tử dạng PDF."),
        "encrypted_pdf": _("Tệp PDF được đặt mật khẩu (mã hóa) nên không kiểm tra được. Hãy "
                           "chọn bản không đặt mật khẩu."),
        "no_signature": _("Tệp PDF không có chữ ký số nào, nên không có gì để xác thực."),
        "too_many_pages": _("Tệp có quá nhiều trang: hệ thống chỉ xác thực tệp tối đa "
                            "%(pages)d trang.", pages=settings.verify_max_pages),
        "pdf_too_large": _("Tệp PDF giải nén ra quá lớn hoặc cần quá nhiều bộ nhớ; hệ thống "
                           "không xử lý tệp này."),
        "pdf_too_costly": _("Tệp PDF cần quá nhiều thời gian để đọc; hệ thống không xử lý "
                            "tệp này."),
        "unreadable_pdf": _("Tệp PDF bị hỏng, không đọc được."),
        "pdf_busy": _("Hệ thống đang bận kiểm tra tệp khác. Hãy thử lại sau ít phút."),
    }
    if refused.code in messages:
        return messages[refused.code]
    if refused.code.startswith("too_many_"):
        return _("Tệp PDF có cấu trúc vượt giới hạn cho phép (quá nhiều đối tượng, phiên bản "
                 "hoặc chữ ký); hệ thống không xử lý tệp này.")
    return refused.message if g.get("lang", "vi") == "vi" else refused.message_en


def _upload_refused(message: str, status: int) -> Response:
    errors = [{"field": FILE_FIELD, "message": message}]
    response = render("public/verify.html", status=status, errors=errors,
                      error_count=len(errors), file_error=message, report=None,
                      max_mb=_megabytes(current_runtime().settings.verify_max_bytes))
    if status == 503:
        response.headers["Retry-After"] = "5"
    return response


@bp.route("/verify", methods=["GET", "POST"])
def verify() -> Response:
    """Upload a signed PDF and read the report: the API's verification (the same limits, in
    the same sandbox), in words."""
    settings = current_runtime().settings
    if request.method == "GET":
        return render("public/verify.html", errors=[], report=None,
                      max_mb=_megabytes(settings.verify_max_bytes))
    upload = request.files.get(FILE_FIELD)
    if upload is None or not upload.filename:
        return _upload_refused(_("Chọn tệp PDF cần xác thực."), 400)
    data = upload.stream.read(settings.verify_max_bytes + 1)
    if len(data) > settings.verify_max_bytes:
        return _upload_refused(_too_large_message(), 413)
    if not data:
        return _upload_refused(_("Tệp đã chọn trống (0 byte). Hãy chọn lại tệp PDF."), 400)
    try:
        report = documents_api.verify_bytes(data)
    except PdfBusy as busy:
        return _upload_refused(_refusal_message(busy), 503)
    except PdfRefused as refused:
        return _upload_refused(_refusal_message(refused), 422)
    doc = None
    if report.get("issued_by_tokhai") and isinstance(report.get("document_id"), str):
        doc = issuance.find_document(g.db, report["document_id"])
    return render("public/verify.html", errors=[], report=explain(report, doc),
                  file_name=upload.filename[:200],
                  max_mb=_megabytes(settings.verify_max_bytes))


@bp.get("/verify/<document_id>")
def verify_document(document_id: str) -> Response:
    """The report of a document tokhai issued, by its id: where the QR code leads a browser
    (the API's GET …/verification, the same access log)."""
    try:
        doc, report = documents_api.issued_report(document_id)
    except NotFound:
        return render("public/verify_document.html", status=404, report=None,
                      document_id=document_id[:64])
    except PdfRefused as refused:  # the issued bytes themselves cannot be verified
        status = 503 if isinstance(refused, PdfBusy) else 422
        return render("public/verify_document.html", status=status, report=None,
                      refused=_refusal_message(refused), document_id=document_id[:64])
    return render("public/verify_document.html", report=explain(report, doc),
                  document_id=doc.document_id)


def _problem_messages() -> dict[str, str]:
    """service.pki.validation.PROBLEMS, in the reader's language."""
    return {
        "not_intact": _("Nội dung đã bị thay đổi sau khi ký: chữ ký không còn khớp."),
        "invalid_signature": _("Chữ ký số không hợp lệ."),
        "signature_unreadable": _("Không đọc được chữ ký số (dữ liệu chữ ký bị hỏng hoặc bị "
                                  "xóa)."),
        "untrusted": _("Chứng thư số không thuộc tổ chức chứng thực được tin cậy."),
        "revoked": _("Chứng thư số đã bị thu hồi."),
        "revocation_unknown": _("Dữ liệu trong tài liệu không chứng minh được chứng thư số chưa "
                                "bị thu hồi khi ký."),
        "no_timestamp": _("Chữ ký không có dấu thời gian tin cậy."),
        "modified_after_signing": _("Tài liệu đã bị sửa sau khi ký."),
        "development_key": _("Ký bằng khóa phát triển: không có giá trị pháp lý."),
        "not_the_original": _("Tệp không trùng với bản gốc do hệ thống phát hành."),
        "unknown_document": _("Mã tài liệu không có trong hệ thống."),
    }


def _problem(p: dict[str, str]) -> str:
    known = _problem_messages().get(p.get("code", ""))
    if known:
        return known
    return p.get("message", "") if g.get("lang", "vi") == "vi" else p.get("message_en", "")


def _level_text(level: str | None) -> str:
    return {
        "B-B": _("PAdES B-B: chữ ký cơ bản, không có dấu thời gian."),
        "B-T": _("PAdES B-T: chữ ký có dấu thời gian tin cậy."),
        "B-LT": _("PAdES B-LT: có dấu thời gian và dữ liệu kiểm tra thu hồi chứng thư, kiểm "
                  "tra được lâu dài."),
        "B-LTA": _("PAdES B-LTA: như B-LT, thêm dấu thời gian lưu trữ để giữ giá trị lâu dài."),
        "PKCS7": _("Chữ ký PKCS#7 (không theo chuẩn PAdES)."),
    }.get(level or "", _("Không xác định được (chữ ký không hợp lệ)."))


def _changes_text(changes: str | None) -> str:
    return {
        "none": _("Không có thay đổi nào sau khi ký."),
        "validation_data": _("Chỉ bổ sung dữ liệu kiểm tra chữ ký; nội dung đã ký giữ "
                             "nguyên."),
        "document_timestamps": _("Chỉ bổ sung dấu thời gian; nội dung đã ký giữ nguyên."),
        "new_signatures": _("Có thêm chữ ký khác sau chữ ký này; nội dung đã ký giữ nguyên."),
        "other_edits": _("Tài liệu đã bị sửa sau khi ký."),
    }.get(changes or "", _("Không đánh giá được."))


def _revocation_text(revocation: str) -> str:
    return {"good": _("Chưa bị thu hồi"), "revoked": _("Đã bị thu hồi"),
            "unknown": _("Không xác định được")}.get(revocation, revocation)


def _signature(sig: dict[str, Any]) -> dict[str, Any]:
    signer = sig.get("signer") or {}
    ts = sig.get("timestamp") or {}
    return {
        "readable": sig.get("readable", True),
        "intact": sig.get("intact"), "valid": sig.get("valid"), "trusted": sig.get("trusted"),
        "name": signer.get("common_name"), "organisation": signer.get("organisation"),
        "issuer": _common_name(signer.get("issuer")), "serial": signer.get("serial_number"),
        "valid_from": _moment(signer.get("valid_from")),
        "valid_to": _moment(signer.get("valid_to")),
        "signing_time": _moment(sig.get("signing_time")),
        "timestamp_time": _moment(ts.get("time")),
        "timestamp_trusted": bool(ts.get("valid") and ts.get("trusted")),
        "timestamp_authority": _common_name(ts.get("authority")),
        "level": sig.get("level"), "level_text": _level_text(sig.get("level")),
        "changes": _changes_text(sig.get("changes_after_signing")),
        "revocation": _revocation_text(sig.get("revocation", "unknown")),
        "development": sig.get("development"),
        "problems": [_problem(p) for p in sig.get("problems", [])],
    }


def _data_rows(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """The structured data of an issued result as its paper prints it: labelled by the
    template, codes and addresses in words, dates as dd/mm/yyyy (service.results.issuance)."""
    template = TEMPLATES.get(str(payload.get("template")))
    values = {v.key: v for v in template.values} if template else {}
    definition = _definition_of(payload)
    rows = []
    for key, raw in (payload.get("data") or {}).items():
        value = values.get(key)
        field, kind = _kind_of(value, definition) if value is not None else (None, None)
        rows.append((value.label if value is not None else key,
                     issuance.paper_text(raw, field, definition, kind)))
    return rows


def _definition_of(payload: dict[str, Any]) -> FormDefinition | None:
    """The form the issued document's dossier was filed on (its code lists name the codes)."""
    dossier = queries.by_code(g.db, str(payload.get("dossier_code") or ""))
    if dossier is None:
        return None
    try:
        return form_ops.published_form(g.db, dossier.form_id, dossier.form_version).definition
    except NotFound:
        return None


def _kind_of(value: Value, definition: FormDefinition | None) -> tuple[Field | None, str | None]:
    """The form's field a template value is read from, or the kind of its register value."""
    if definition is not None:
        for paths in value.pointers():
            path = tuple(pointers.parse(paths[0]))
            found = definition.find(path) if len(paths) == 1 and len(path) >= 2 else None
            if found is not None:
                return found, None
    for source in value.registers():
        register, _, name = source.partition(".")
        if register in REGISTERS and name in REGISTERS[register].fields:
            return None, REGISTERS[register].fields[name][0]
    return None, None


def _common_name(name: str | None) -> str | None:
    """"Common Name: TSA thử nghiệm, Organization: …" read as its common name."""
    if not name:
        return name
    found = re.search(r"Common Name: ([^,]+)", name)
    return found.group(1).strip() if found else name


def explain(report: dict[str, Any], doc: DossierDocument | None) -> dict[str, Any]:
    """The verification report as the page says it: the verdict and why, the issued document
    (agency, number, data) when the file is the one tokhai issued, and each signature."""
    codes = {p["code"] for p in report.get("problems", [])}
    reasons = [_problem(p) for p in report.get("problems", [])]
    matches = report.get("matches_original")
    payload = doc.data if doc is not None and isinstance(doc.data, dict) else None
    document = None
    if doc is not None:
        document = {
            "id": doc.document_id, "number": doc.number,
            "title": (payload or {}).get("title"),
            "agency": (payload or {}).get("issuing_agency") or agency_name(doc.agency_code),
            "signed_at": doc.signed_at,
            # the data of the issued document, shown only for its own bytes: a changed copy's
            # content is not what tokhai issued
            "data": _data_rows(payload) if payload and matches else [],
        }
    signatures = [_signature(s) for s in report.get("signatures", [])]
    agency = (document or {}).get("agency") or next(
        (s["organisation"] or s["name"] for s in signatures if s["name"]), None)
    return {
        "valid": bool(report.get("valid")), "legally_valid": bool(report.get("legally_valid")),
        "not_legal_reasons": [_problem(p) for p in report.get("problems", [])
                              if p["code"] in {"development_key", "revocation_unknown",
                                               "no_timestamp"}],
        "reasons": reasons, "codes": codes, "agency": agency,
        "issued": bool(report.get("issued_by_tokhai")), "matches": matches,
        "additions": report.get("additions") or [],
        "unknown_id": "unknown_document" in codes,
        "document_id": report.get("document_id"),
        "pages": report.get("pages"), "sha256": report.get("sha256"),
        "document": document, "signatures": signatures,
    }


# -- receipts -----------------------------------------------------------------------------------

@bp.route("/receipt", methods=["GET", "POST"])
def receipt() -> Response:
    """A dossier's status for whoever holds its receipt (code and secret): the API's receipt
    check; a wrong code and a wrong secret get the same answer."""
    if request.method == "GET":
        code = request.args.get("code", "")
        return render("public/receipt.html", code=code if _CODE.match(code) else "",
                      errors=[], found=None)
    code = request.form.get("code", "").strip()
    secret = request.form.get("secret", "").strip()
    errors = []
    if not code:
        errors.append({"field": "code", "message": _("Nhập mã hồ sơ ghi trên giấy biên nhận.")})
    elif not _CODE.match(code):
        errors.append({"field": "code", "message": _(
            "Mã hồ sơ chỉ gồm chữ, số và dấu gạch ngang, như trên giấy biên nhận.")})
    if not secret:
        errors.append({"field": "secret", "message": _(
            "Nhập mã bí mật ghi trên giấy biên nhận.")})
    elif len(secret) > 64:
        errors.append({"field": "secret", "message": _("Mã bí mật dài tối đa 64 ký tự.")})
    if errors:
        return render("public/receipt.html", status=400, code=code[:80], errors=errors,
                      error_count=len(errors), found=None)
    try:
        charge_receipt_lookup(request.remote_addr or "-",
                              current_runtime().settings.receipt_lookups)
    except ChecksUnavailable:
        return page_error(503)
    except TooManyLookups as e:
        wait = e.retry_after or 60
        response = render("public/receipt.html", status=429, code=code, errors=[],
                          found=None, wait_minutes=max(1, math.ceil(wait / 60)))
        response.headers["Retry-After"] = str(wait)
        return response
    row = lifecycle.receipt(g.db, code, secret)
    if row is None:
        message = _("Không tìm thấy hồ sơ với mã hồ sơ và mã bí mật này. Hãy kiểm tra lại cả "
                    "hai mã trên giấy biên nhận.")
        errors = [{"field": "code", "message": message}]
        return render("public/receipt.html", status=404, code=code, errors=errors,
                      error_count=1, found=None, pair_error=message)
    return render("public/receipt.html", code=code, errors=[], found={
        "code": row.code, "status": status_label(row.status),
        "accept_by": row.accept_deadline, "process_by": row.process_deadline,
        "promised_at": row.promised_at})


# -- late dossiers ------------------------------------------------------------------------------

def _months(today: date, count: int = 24) -> Iterator[tuple[str, str]]:
    """The last ``count`` months, this one first: (YYYY-MM, mm/yyyy)."""
    year, month = today.year, today.month
    for _i in range(count):
        yield f"{year:04d}-{month:02d}", f"{month:02d}/{year:04d}"
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)


def _public_explanation(text: str | None) -> str | None:
    """An officer's explanation as published: numbers as long as a personal ID or a phone
    number are masked (the list never carries personal data)."""
    if not text:
        return text
    return _NUMBER.sub("…", text)


@bp.get("/late")
def late() -> Response:
    """The month's late dossiers per agency, with the agencies' explanations and new
    promised dates; never who filed them."""
    return late_list("public/late.html", lambda _report: _public_late_row)


def _public_late_row(d: dict[str, Any], _officer: dict[str, Any]) -> dict[str, Any]:
    return {"code": d["code"], "procedure": d["procedure_name"] or d["procedure_code"],
            "procedure_code": d["procedure_code"], "status": status_label(d["status"]),
            "late_since": _moment(d["late_since"]),
            "missed": [(stage_label(m["stage"]), _moment(m["deadline"])) for m in d["missed"]],
            "explanation": _public_explanation(d["explanation"]),
            "promised_at": _moment(d["promised_at"])}


#: one late dossier's row of a late list, from the report's dossier and its officer's entry
LateRow = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]


def late_list(template: str, rows_for: Callable[[dict[str, Any]], LateRow]) -> Response:
    """A month's late list (the public one, and the auditors'): the month and agency asked
    for, checked (a bad one named at its field, 400), the late report
    (``queries.late_report``) grouped by agency, each dossier made a row by what
    ``rows_for(report)`` gives."""
    today = lifecycle.now().astimezone(VIETNAM).date()
    months = list(_months(today))
    month = request.args.get("month") or months[0][0]
    agency = request.args.get("agency", "")
    errors = []
    if not _MONTH.match(month):
        errors.append({"field": "month", "message": _("Chọn tháng trong danh sách.")})
        month = months[0][0]
    if agency and not _AGENCY.match(agency):
        errors.append({"field": "agency", "message": _("Chọn cơ quan trong danh sách.")})
        agency = ""
    if month not in dict(months):
        months.append((month, f"{month[5:]}/{month[:4]}"))
    report = queries.late_report(g.db, month, agency or None)
    signing = current_runtime().signing
    agencies = {code: str(a.name) for code, a in signing.agencies.items()} if signing else {}
    if agency and agency not in agencies:
        agencies[agency] = agency
    row = rows_for(report)
    groups = []
    for entry in report["agencies"]:
        rows = [row(d, officer) for officer in entry["officers"] for d in officer["dossiers"]]
        rows.sort(key=lambda r: r["code"])
        groups.append({"code": entry["agency_code"],
                       "name": agencies.get(entry["agency_code"], entry["agency_code"]),
                       "count": entry["count"], "dossiers": rows})
    return render(template, status=400 if errors else 200, months=months,
                  month=month, month_label=dict(months)[month], agency=agency,
                  agencies=sorted(agencies.items()), groups=groups, errors=errors,
                  error_count=len(errors))

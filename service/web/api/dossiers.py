"""Dossiers over HTTP: submission, tracking, officers' actions, receipts, the event log and the
monthly list of late dossiers."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from forms.language import normalise
from schemas.dossiers import (
    ActionSchema,
    DossierPageSchema,
    DossierSchema,
    EventPageSchema,
    EventQuerySchema,
    EventSchema,
    ExplanationSchema,
    LateReportQuerySchema,
    QueueQuerySchema,
    ReceiptQuerySchema,
    ReceiptSchema,
    SubmitSchema,
    SupplementSchema,
)
from schemas.prefill import PrefillSchema
from service import catalogue as form_ops
from service.dossiers import lateness, queries
from service.dossiers import lifecycle as ops
from service.dossiers.states import STATES
from service.errors import InvalidData, NotFound, not_found
from service.records import drafts
from service.records import prefill as pf
from service.repository import documents as repository
from service.results import issuance
from service.tokens import Principal
from service.web.api.prefill import prefill_response
from service.web.auth import require, require_principal
from service.web.errors import ApiError
from service.web.http import (
    archive_now,
    error_responses,
    expected_version,
    log_dossier_refusal,
    pdf_response,
)
from service.web.ratelimit import ChecksUnavailable, charge_receipt_lookup
from service.web.runtime import current_runtime
from storage.models import Dossier, DossierEvent

blp = Blueprint("dossiers", __name__, url_prefix="/api/v1",
                description="Hồ sơ: nộp trực tuyến, theo dõi, tiếp nhận và xử lý, trễ hạn")
_AUTH: list[dict[str, list[str]]] = [{"bearerAuth": []}]
_IDEMPOTENCY = re.compile(r"^[\x21-\x7e]{1,100}$")
#: the access-log action of an officer reading what the registers hold for a dossier's citizen
REGISTER_READ = "register_read"


def etag(d: Dossier) -> str:
    return f"v{d.row_version}"


def deadlines(d: Dossier | ops.ReceiptRow) -> dict[str, Any]:
    return {"accept_by": d.accept_deadline, "process_by": d.process_deadline,
            "promised_at": d.promised_at}


def out(d: Dossier, secret: str | None = None,
        states: dict[int, str] | None = None) -> dict[str, Any]:
    archiving = (queries.archiving_states(g.db, [d]) if states is None else states).get(d.id)
    label = STATES[d.status]
    if archiving == "pending":
        label += ", đang chờ lưu vào kho dữ liệu"
    body: dict[str, Any] = {
        "code": d.code, "status": d.status, "status_label": label, "archiving": archiving,
        "agency_code": d.agency_code, "form_id": d.form_id, "form_version": d.form_version,
        "procedure_code": d.procedure_code, "procedure_name": d.procedure_name,
        "channel": d.channel, "prefill_choice": d.prefill_choice, "citizen_id": d.citizen_id,
        "submitted_at": d.submitted_at, "accepted_at": d.accepted_at,
        "finished_at": d.finished_at, "waiting_since": d.paused_at,
        "deadlines": deadlines(d),
        "lateness": lateness.assess(d, ops.now()).as_dict(),
        "explanation": d.late_explanation,
        "version": d.row_version, "data": d.data, "prefill_basis": d.prefill_basis,
    }
    if secret is not None:
        body["receipt_secret"] = secret
    return body


def _with_etag(body: dict[str, Any], d: Dossier, status: int = 200):
    return body, status, {"ETag": f'"{etag(d)}"'}


def load(code: str, principal: Principal) -> Dossier:
    """The dossier, if the caller may see it: its citizen, an officer of its agency, or an
    auditor. For anyone else it does not exist: the same 404 as an unknown code (codes are
    sequential, so a 403 would confirm that a dossier exists); the refusal is logged."""
    dossier = queries.by_code(g.db, code)
    allowed = dossier is not None and (
        principal.role == "auditor"
        or (principal.role == "citizen" and principal.personal_id == dossier.citizen_id)
        or (principal.role == "officer" and principal.agency_code == dossier.agency_code))
    if dossier is not None and not allowed:
        current_app.logger.warning("dossier access refused", extra={
            "token_id": principal.token_id, "role": principal.role, "dossier": code})
    if dossier is None or not allowed:
        raise not_found(f"hồ sơ {code}", f"Dossier {code}")
    return dossier


def load_for_download(code: str, principal: Principal, kind: str) -> Dossier:
    """``load`` for a route that returns a document's bytes (``kind``: ``result``,
    ``apology_letter``): a refusal is also written to the access log."""
    try:
        return load(code, principal)
    except NotFound:
        log_dossier_refusal(code, principal, kind)
        raise


@blp.route("/dossiers")
class Dossiers(MethodView):
    @blp.doc(security=_AUTH, parameters=[{
        "in": "header", "name": "Idempotency-Key", "required": False,
        "schema": {"type": "string", "maxLength": 100},
        "description": "A retried submission with the same key and body returns the same "
                       "dossier and its receipt secret again; with another body it is refused "
                       "(422)."}])
    @blp.arguments(SubmitSchema)
    @blp.response(201, DossierSchema)
    @blp.alt_response(200, schema=DossierSchema, description="A retry: the same dossier")
    @error_responses(401, 403, 404, 413, 422)
    @require("citizen")
    def post(self, body: dict[str, Any]):
        """Submit a dossier

        The form data is checked against the published form version: every error at once,
        each with a JSON pointer and a Vietnamese message; verified values must be as the
        registers hold them. Returns the dossier with its code and the receipt secret (a
        retry with the same Idempotency-Key returns it again; without a key it is shown
        once)."""
        key = request.headers.get("Idempotency-Key")
        if key is not None and not _IDEMPOTENCY.match(key):
            raise InvalidData("bad_idempotency_key",
                              "Idempotency-Key gồm 1-100 ký tự in được, không có khoảng trắng.",
                              "Idempotency-Key must be 1-100 printable characters.",
                              field="header.Idempotency-Key")
        rt = current_runtime()
        compiled = form_ops.published_form(g.db, body["form_id"], body["version"])
        data = normalise(body["data"])  # NFC, so that text typed two ways compares equal
        dossier, created, secret = ops.submit(
            g.db, compiled, require_principal(), data, body["agency_code"], key,
            rt.sources(g.db), rt.calendar_for(body["agency_code"]),
            rt.settings.default_processing_days, rt.secret_key)
        g.db.commit()
        return _with_etag(out(dossier, secret), dossier, 201 if created else 200)

    @blp.doc(security=_AUTH)
    @blp.arguments(QueueQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, DossierPageSchema)
    @error_responses(401, 403, 422)
    @require("citizen", "officer")
    def get(self, page: int, per_page: int, status: str | None = None,
            late: bool | None = None) -> dict[str, Any]:
        """List dossiers: a citizen's own, or an officer's agency queue

        Citizens see their dossiers, newest first. Officers see their agency's queue sorted by
        the deadline that matters now, filterable by status and lateness (`late=true`: the
        dossiers whose own `lateness.late` is true, the same test)."""
        rows, total = queries.queue(g.db, require_principal(), page, per_page,
                                    status, late)
        states = queries.archiving_states(g.db, rows)
        return {"items": [out(d, states=states) for d in rows], "page": page,
                "per_page": per_page, "total": total}


@blp.route("/dossiers/<string:code>")
class DossierByCode(MethodView):
    @blp.doc(security=_AUTH)
    @blp.response(200, DossierSchema)
    @error_responses(401, 403, 404)
    @require("citizen", "officer", "auditor")
    def get(self, code: str):
        """Get a dossier, with its deadlines and lateness (ETag for If-Match)

        404 both for an unknown code and for a dossier the caller may not see. `disputes`:
        the prefilled values its citizen reported wrong while filling the form."""
        dossier = load(code, require_principal())
        body = out(dossier)
        body["disputes"] = [{
            "pointer": d.pointer, "register": d.register, "record_key": d.record_key,
            "shown_value": d.shown_value, "statement": d.statement,
            "created_at": d.created_at, "status": d.status,
        } for d in drafts.disputes_of(g.db, dossier.id)]
        return _with_etag(body, dossier)


@blp.route("/dossiers/<string:code>/prefill")
class DossierPrefill(MethodView):
    @blp.doc(security=_AUTH)
    @blp.response(200, PrefillSchema)
    @error_responses(401, 403, 404)
    @require("officer")
    def get(self, code: str) -> Response:
        """Prefill the dossier's form from its citizen's records, for an officer of its agency

        What the registers hold now for the citizen who filed it (and the people linked to
        them), with provenance: the officer checks the dossier against it. Read with the
        dossier's answers, as its citizen's prefill was: a person named by a typed number is
        read only when the registers link them to the citizen by a relation the form allows
        (each value's provenance says on what basis), a relation or a record chosen by an
        answer is the one chosen. The access is logged."""
        principal = require_principal()
        dossier = load(code, principal)
        current_app.logger.info("officer prefill on a dossier", extra={
            "token_id": principal.token_id, "dossier": code})
        # the citizen reads it on their page "who accessed my data"
        repository.log(g.db, principal, REGISTER_READ, "allowed", owner_id=dossier.citizen_id,
                       purpose=f"dossier:{dossier.code}"[:80],
                       reason="the registers' data of the dossier's citizen")
        compiled = form_ops.published_form(g.db, dossier.form_id, dossier.form_version)
        result = pf.prefill(compiled.definition, dossier.citizen_id,
                            current_runtime().sources(g.db),
                            answers=dossier.data if isinstance(dossier.data, dict) else None)
        return prefill_response(dossier.form_id, dossier.form_version, result)


@blp.route("/dossiers/<string:code>/history")
class History(MethodView):
    @blp.doc(security=_AUTH)
    @blp.response(200, EventSchema(many=True))
    @error_responses(401, 403, 404)
    @require("citizen", "officer", "auditor")
    def get(self, code: str) -> list[DossierEvent]:
        """The dossier's history: every status change, who, when and why"""
        dossier = load(code, require_principal())
        return queries.history(g.db, dossier)


@blp.route("/dossiers/<string:code>/actions")
class Actions(MethodView):
    @blp.doc(security=_AUTH, parameters=[{
        "in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
        "description": "The ETag read with the dossier; required for officers"}])
    @blp.arguments(ActionSchema)
    @blp.response(200, DossierSchema)
    @error_responses(401, 403, 404, 409, 412, 422, 428)
    @require("citizen", "officer")
    def post(self, body: dict[str, Any], code: str):
        """Move a dossier to its next status

        Officers: accept, request_supplement, reject, start_processing, deliver (a dossier
        reaches `result_ready` only by issuing its signed result, `POST .../result`).
        Citizens: withdraw. Refused with 409 when the current status does not allow it, or
        when the dossier is late and has no explanation yet; 412 when If-Match names an older
        version, also when a concurrent change is written first (409 `concurrent_change` for
        a caller who sent no If-Match)."""
        principal = require_principal()
        dossier = load(code, principal)
        expected = expected_version(required=principal.role == "officer")
        ops.act(g.db, dossier, body["action"], principal, body.get("reason"), expected,
                current_runtime().calendar_for(dossier.agency_code))
        g.db.commit()
        return _with_etag(out(dossier), dossier)


@blp.route("/dossiers/<string:code>/supplement")
class Supplement(MethodView):
    @blp.doc(security=_AUTH, parameters=[{
        "in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
        "description": "The ETag read with the dossier (optional; 412 if it is stale)"}])
    @blp.arguments(SupplementSchema)
    @blp.response(200, DossierSchema)
    @error_responses(401, 403, 404, 409, 412, 413, 422)
    @require("citizen")
    def post(self, body: dict[str, Any], code: str):
        """Send the corrected form data a supplement request asked for"""
        principal = require_principal()
        dossier = load(code, principal)
        rt = current_runtime()
        compiled = form_ops.published_form(g.db, dossier.form_id, dossier.form_version)
        ops.supplement(g.db, dossier, compiled, principal, normalise(body["data"]),
                       rt.sources(g.db), rt.calendar_for(dossier.agency_code),
                       expected_version(required=False))
        g.db.commit()
        return _with_etag(out(dossier), dossier)


@blp.route("/dossiers/<string:code>/explanation")
class Explanation(MethodView):
    @blp.doc(security=_AUTH, parameters=[{
        "in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
        "description": "The ETag read with the dossier (optional; 412 if it is stale)"}])
    @blp.arguments(ExplanationSchema)
    @blp.response(200, DossierSchema)
    @error_responses(401, 403, 404, 409, 412, 422, 503)
    @require("officer")
    def post(self, body: dict[str, Any], code: str):
        """Explain a late dossier and issue the apology letter with a new promised date

        Required before any further action on a late dossier, and again when the dossier
        misses the date its last apology promised. The letter (PDF, signed with the agency's
        key like a result) is at `/dossiers/{code}/apology-letter`; the `explain` event (with
        the new promised date) reaches the event log."""
        principal = require_principal()
        dossier = load(code, principal)
        letter = issuance.explain_late(
            g.db, dossier, principal, body["reason"], body["promised_at"],
            expected_version(required=False), current_runtime().signing,
            current_runtime().settings.retention,
            current_runtime().calendar_for(dossier.agency_code))
        g.db.commit()
        archive_now(letter.id)
        return _with_etag(out(dossier), dossier)


@blp.route("/dossiers/<string:code>/apology-letter")
class ApologyLetter(MethodView):
    @blp.doc(security=_AUTH)
    @blp.response(200, description="The apology letter (PDF)", content_type="application/pdf")
    @error_responses(401, 403, 404)
    @require("citizen", "officer", "auditor")
    def get(self, code: str) -> Response:
        """Download the latest apology letter of a late dossier

        Every download and every refusal is in the access log; 404 alike for an unknown
        dossier and one the caller may not see."""
        dossier = load_for_download(code, require_principal(), "apology_letter")
        doc = queries.latest_apology_letter(g.db, dossier)
        if doc is None:
            raise not_found("thư xin lỗi của hồ sơ này", "Apology letter")
        return pdf_response(doc, f"thu-xin-loi-{dossier.code}.pdf")


@blp.route("/receipts/<string:code>")
class Receipt(MethodView):
    @blp.arguments(ReceiptQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, ReceiptSchema)
    @error_responses(404, 422, 429, 503)
    def get(self, code: str, secret: str) -> dict[str, Any]:
        """Status of a dossier for whoever holds its receipt (code and secret), no login

        Only the status and deadlines: nothing of the form data. A wrong secret is answered
        like an unknown code, in the same time. Lookups are counted per client address
        (`TOKHAI_RECEIPT_LOOKUPS`, shared with the receipt page): 429 beyond."""
        try:
            charge_receipt_lookup(request.remote_addr or "-",
                                  current_runtime().settings.receipt_lookups)
        except ChecksUnavailable:
            raise ApiError(503, "checks_unavailable", "Tạm thời không tra cứu được; hãy thử "
                           "lại sau.", "Lookups are unavailable for now; retry later.",
                           retry_after=5) from None
        found = ops.receipt(g.db, code, secret)
        if found is None:
            raise not_found(f"hồ sơ {code} với mã bí mật này", "Receipt")
        return {"code": found.code, "status": found.status,
                "status_label": STATES[found.status], "deadlines": deadlines(found)}


@blp.route("/events")
class Events(MethodView):
    @blp.doc(security=_AUTH)
    @blp.arguments(EventQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, EventPageSchema)
    @error_responses(401, 403, 422)
    @require("auditor")
    def get(self, after: int, limit: int) -> dict[str, Any]:
        """Read the ordered event log from a cursor (for the national portal)

        Positions are gapless and appear in order, so reading `after` the last position seen
        never skips an event; delivery is at-least-once, and `event_id` lets a consumer
        de-duplicate. Format: docs/dossiers.md."""
        events = queries.events(g.db, after, limit)
        return {"events": events, "next_cursor": events[-1].position if events else after}


@blp.route("/reports/late-dossiers")
class LateReport(MethodView):
    @blp.doc(security=_AUTH)
    @blp.arguments(LateReportQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, description="Late dossiers of the month, by agency and officer")
    @error_responses(401, 403, 422)
    @require("auditor")
    def get(self, month: str, agency_code: str | None = None) -> dict[str, Any]:
        """The monthly list of late dossiers, per agency and officer, for publication

        Each late dossier once, in the month (Vietnam time) of the first deadline it missed,
        with every stage it was late at; time waiting for the citizen is not counted, and a
        dossier never leaves its month (docs/dossiers.md). The officer is the one who
        explained it (or, if unexplained, the agency's queue)."""
        return queries.late_report(g.db, month, agency_code)

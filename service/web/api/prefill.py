"""Prefill and validation of form data for citizens."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, g, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from forms.language import normalise
from forms.model import FormDefinition
from schemas.prefill import (
    PrefillAnswersSchema,
    PrefillQuerySchema,
    PrefillSchema,
    SubmissionSchema,
    ValidationResultSchema,
)
from service import catalogue as ops
from service.dossiers import lifecycle
from service.errors import NotAllowed
from service.records import prefill as pf
from service.records import submissions
from service.repository import documents as repository
from service.tokens import Principal
from service.web import ratelimit
from service.web.auth import require, require_principal
from service.web.http import error_responses
from service.web.runtime import current_runtime

log = logging.getLogger(__name__)

blp = Blueprint("prefill", __name__, url_prefix="/api/v1/forms",
                description="Điền sẵn tờ khai từ dữ liệu đã số hóa; kiểm tra dữ liệu tờ khai")
_CITIZEN: list[dict[str, list[str]]] = [{"bearerAuth": []}]
#: the access-log action of a check of a typed person
PERSON_CHECK = "person_check"


def own_subject(principal: Principal, personal_id: str | None) -> str:
    """A citizen may only ask about themself; asking for someone else is refused and logged."""
    assert principal.personal_id is not None
    if personal_id is not None and personal_id != principal.personal_id:
        log.warning("citizen asked for another person's records", extra={
            "token_id": principal.token_id, "asked_tail": personal_id[-4:]})
        raise NotAllowed("not_your_record",
                         "Bạn chỉ được điền sẵn tờ khai bằng dữ liệu của chính mình.",
                         "You may only prefill with your own records.",
                         field="query.personal_id")
    return principal.personal_id


def prefill_response(form_id: str, version: int, result: pf.PrefillResult) -> Response:
    # built here in the documented shape; a Response skips re-serialising ~200 values
    return jsonify({"form_id": form_id, "version": version, "data": result.data,
                    "provenance": result.provenance, "to_type": result.to_type,
                    "failed_sources": result.failed_sources, "missing": result.missing})


def runtime_sources() -> pf.Sources:
    return current_runtime().sources(g.db)


@blp.route("/<string:form_id>/versions/<int:version>/prefill")
class Prefill(MethodView):
    @blp.doc(security=_CITIZEN)
    @blp.arguments(PrefillQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, PrefillSchema)
    @error_responses(401, 403, 404, 422)
    @require("citizen")
    def get(self, form_id: str, version: int, personal_id: str | None = None) -> Response:
        """Prefill a published form with the caller's records

        Every bound field the registers can fill, each with its provenance (source, record,
        retrieved at, verified or suggested); the fields still to type; the sources that
        failed. Fields of people the registers link to the caller (parents, spouse, children,
        household, wards) are filled from their records; no one else's are read. Sections
        whose person or record depends on an answer stay empty: `POST` the answers."""
        subject = own_subject(require_principal(), personal_id)
        form = ops.published_form(g.db, form_id, version).definition
        return prefill_response(form_id, version, pf.prefill(form, subject, runtime_sources()))

    @blp.doc(security=_CITIZEN)
    @blp.arguments(PrefillAnswersSchema)
    @blp.response(200, PrefillSchema)
    @error_responses(401, 403, 404, 413, 422)
    @require("citizen")
    def post(self, body: dict[str, Any], form_id: str, version: int) -> Response:
        """Prefill a published form with the caller's records and the answers typed so far

        As GET, and the answers decide what GET cannot: the person a section is about when
        the form names them by a typed personal ID number (read only when the registers link
        that person to the caller by a relation the form allows, e.g. a ward under the
        caller's guardianship; each value then carries `basis` in its provenance) or by a
        chosen relationship, and the record a field reads when an answer picks it (the birth
        or the marriage register, say). A field whose condition does not hold for the answers
        is not filled. Anyone else's records are never read or shown: what is typed about
        them is only checked, by `POST …/validate`."""
        subject = own_subject(require_principal(), None)
        form = ops.published_form(g.db, form_id, version).definition
        answers = normalise(body["answers"])
        return prefill_response(form_id, version, pf.prefill(form, subject, runtime_sources(),
                                                             answers=answers))


@blp.route("/<string:form_id>/versions/<int:version>/validate")
class Validate(MethodView):
    @blp.doc(security=_CITIZEN)
    @blp.arguments(SubmissionSchema)
    @blp.response(200, ValidationResultSchema)
    @error_responses(401, 403, 404, 413, 422, 429)
    @require("citizen")
    def post(self, body: dict[str, Any], form_id: str, version: int) -> dict[str, Any]:
        """Check form data against a published form version

        All errors at once, each with a JSON pointer and a Vietnamese message: control
        characters, the schema, verified values, which must stay as the registers hold them
        (suggested values may be changed), and documents of the repository an attachment
        names: the one check filing a dossier makes, so the same data gets the same answer.
        Where the form marks fields `check_typed`, `checks` says for each person the
        registers do not link to the caller whether what was typed about them matches their
        records: one `match` or `no_match` for the whole person, revealing nothing else. Each
        such check is written to the access log and counted per caller and per person
        checked; past the limit the answer is 429 with `Retry-After`."""
        principal = require_principal()
        subject = own_subject(principal, None)
        compiled = ops.published_form(g.db, form_id, version)
        data = normalise(body["data"])  # NFC: the same letter typed two ways compares equal
        # checked as intake stores it: hidden values removed, computed text made
        data = submissions.prepared(compiled.definition, data)
        sources = runtime_sources()
        result = pf.prefill(compiled.definition, subject, sources, answers=data)
        errors = lifecycle.check(g.db, compiled, data, subject, sources, prefilled=result)
        checks = person_checks(principal, compiled.definition, data, result, sources)
        return {"valid": not errors, "errors": errors, "checks": checks}


def person_checks(principal: Principal, form: FormDefinition, data: Any,
                  result: pf.PrefillResult, sources: pf.Sources) -> list[dict[str, str]]:
    """Check the typed people within the caller's and each person's limits, one access-log
    row per person checked (or refused)."""
    people = submissions.typed_people(form, data, result)
    if not people:
        return []
    purpose = f"validate {form.id} v{form.version}"[:80]

    def log_each(outcomes: list[str]) -> None:
        for person, outcome in zip(people, outcomes, strict=True):
            repository.log(g.db, principal, PERSON_CHECK, outcome, owner_id=person.subject,
                           purpose=purpose, reason=person.pointer)

    try:
        ratelimit.person_checks().charge(principal, [(p.subject, p.id_pointer) for p in people])
    except ratelimit.RateLimited:
        log_each(["rate_limited"] * len(people))
        raise
    except ratelimit.ChecksUnavailable:
        outcomes = ["unavailable"] * len(people)
    else:
        outcomes = submissions.person_checks(form, data, people, sources)
    log_each(outcomes)
    return [{"person": p.pointer, "result": outcome} for p, outcome in zip(people, outcomes,
                                                                         strict=True)]

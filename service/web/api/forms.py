"""Forms and their versions: public reading of published forms; designers create, edit and
publish drafts."""

from __future__ import annotations

import time
from typing import Any

from flask import g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from schemas.forms import (
    FormSchema,
    FormVersionSchema,
    SchemaQuerySchema,
    TrimmingReportSchema,
)
from schemas.prefill import ReportQuerySchema
from service import catalogue as ops
from service.errors import NotAllowed, Unauthenticated, not_found
from service.records import prefill as pf
from service.repository import documents as repository
from service.tokens import Principal
from service.web import door
from service.web.api.prefill import own_subject
from service.web.auth import current_principal, require, require_principal
from service.web.errors import ApiError
from service.web.http import conditional_json, error_responses
from service.web.runtime import current_runtime
from storage.models import FormVersion

blp = Blueprint("forms", __name__, url_prefix="/api/v1/forms",
                description="Tờ khai điện tử: định nghĩa, phiên bản, JSON Schema, báo cáo cắt giảm")

_DEFINITION_BODY = {
    "required": True,
    "description": "A form definition in the form language (docs/forms.md), as YAML or JSON.",
    "content": {
        "application/yaml": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "object"}},
    },
}
_DESIGNER: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def _designer_view() -> bool:
    principal = current_principal()
    return principal is not None and principal.role == "designer"


def _body_format() -> str:
    mimetype = request.mimetype or ""
    if mimetype == "application/json":
        return "json"
    if mimetype in ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"):
        return "yaml"
    raise ApiError(415, "unsupported_media_type",
                   "Gửi định nghĩa với Content-Type application/yaml hoặc application/json.",
                   "Send the definition as application/yaml or application/json.")


def summary(row: FormVersion) -> dict[str, Any]:
    d = row.definition
    base = f"/api/v1/forms/{row.form_id}/versions/{row.version}"
    return {
        "form_id": row.form_id, "version": row.version, "status": row.status,
        "title": row.title, "procedure_code": d.get("procedure_code"),
        "legal_basis": d.get("legal_basis"), "agency_level": d.get("agency_level"),
        "published_at": row.published_at, "updated_at": row.updated_at,
        "links": {"self": base, "schema": f"{base}/schema", "ui_schema": f"{base}/ui-schema",
                  "trimming_report": f"{base}/trimming-report"},
    }


def detail(row: FormVersion) -> dict[str, Any]:
    return {**summary(row), "definition": row.definition, "source": row.source,
            "source_format": row.source_format, "digest": row.digest,
            "created_by": row.created_by, "published_by": row.published_by}


def _group(rows: list[FormVersion]) -> list[dict[str, Any]]:
    forms: dict[str, dict[str, Any]] = {}
    for row in rows:
        f = forms.setdefault(row.form_id, {"id": row.form_id, "title": row.title,
                                           "latest_published_version": None, "versions": []})
        f["versions"].append(summary(row))
        if row.status == "published":
            f["latest_published_version"] = row.version
            f["title"] = row.title
    return list(forms.values())


@blp.route("")
class Forms(MethodView):
    @blp.response(200, FormSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """List forms and their versions

        Public: published versions only. A designer's token also lists drafts."""
        return _group(ops.list_versions(g.db, None, include_drafts=_designer_view()))

    @blp.doc(requestBody=_DEFINITION_BODY, security=_DESIGNER)
    @blp.response(201, FormVersionSchema)
    @error_responses(400, 401, 403, 409, 413, 415, 422)
    @require("designer")
    def post(self) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Create a draft version from a definition

        The definition names the form id and version; a version number already used is
        refused with 409. The draft can be edited until it is published."""
        row = ops.create_draft(g.db, request.get_data(cache=False), _body_format(),
                               require_principal().actor)
        door.refuse_bad_characters(row.definition, "definition")  # YAML escapes; rolled back
        g.db.commit()
        return detail(row), 201, {"Location": summary(row)["links"]["self"]}


@blp.route("/<string:form_id>")
class FormById(MethodView):
    @blp.response(200, FormSchema)
    @error_responses(404)
    def get(self, form_id: str) -> dict[str, Any]:
        """Get a form with all its versions"""
        grouped = _group(ops.list_versions(g.db, form_id, include_drafts=_designer_view()))
        if not grouped:
            raise not_found(f"tờ khai '{form_id}'", f"Form '{form_id}'")
        return grouped[0]


@blp.route("/<string:form_id>/versions/<int:version>")
class FormVersionById(MethodView):
    @blp.response(200, FormVersionSchema)
    @error_responses(404)
    def get(self, form_id: str, version: int) -> dict[str, Any]:
        """Get one version of a form, with its definition"""
        return detail(ops.get_version(g.db, form_id, version, include_drafts=_designer_view()))

    @blp.doc(requestBody=_DEFINITION_BODY, security=_DESIGNER)
    @blp.response(200, FormVersionSchema)
    @error_responses(400, 401, 403, 404, 409, 413, 415, 422)
    @require("designer")
    def put(self, form_id: str, version: int) -> dict[str, Any]:
        """Replace the definition of a draft

        A published version is frozen: editing it is refused with 409."""
        row = ops.update_draft(g.db, form_id, version, request.get_data(cache=False),
                               _body_format(), require_principal().actor)
        door.refuse_bad_characters(row.definition, "definition")
        g.db.commit()
        return detail(row)


@blp.route("/<string:form_id>/versions/<int:version>/publish")
class Publish(MethodView):
    @blp.doc(security=_DESIGNER)
    @blp.response(200, FormVersionSchema)
    @error_responses(401, 403, 404, 409)
    @require("designer")
    def post(self, form_id: str, version: int) -> dict[str, Any]:
        """Publish a draft, freezing it for ever

        Publishing twice is refused with 409."""
        row = ops.publish(g.db, form_id, version, require_principal().actor)
        g.db.commit()
        return detail(row)


def _compiled(form_id: str, version: int) -> tuple[FormVersion, Any]:
    row = ops.get_version(g.db, form_id, version, include_drafts=_designer_view())
    return row, ops.compiled(row)


@blp.route("/<string:form_id>/versions/<int:version>/schema")
class CompiledSchema(MethodView):
    @blp.arguments(SchemaQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, description="JSON Schema (draft 2020-12, or draft-07 with ?draft=07)")
    @blp.alt_response(304, description="Not modified (If-None-Match)")
    @error_responses(404, 422)
    def get(self, form_id: str, version: int, draft: str) -> Any:
        """Get the compiled JSON Schema of a form version

        Answers `304` to an `If-None-Match` carrying the current `ETag`."""
        row, compiled = _compiled(form_id, version)
        if draft == "07":
            return conditional_json(compiled.draft07, compiled.schema_etag + "-07", row.status)
        return conditional_json(compiled.schema, compiled.schema_etag, row.status)


@blp.route("/<string:form_id>/versions/<int:version>/ui-schema")
class UiSchema(MethodView):
    @blp.response(200, description="UI schema in react-jsonschema-form conventions")
    @blp.alt_response(304, description="Not modified (If-None-Match)")
    @error_responses(404)
    def get(self, form_id: str, version: int) -> Any:
        """Get the UI schema of a form version"""
        row, compiled = _compiled(form_id, version)
        return conditional_json(compiled.ui_schema, compiled.ui_schema_etag, row.status)


@blp.route("/<string:form_id>/versions/<int:version>/trimming-report")
class TrimmingReport(MethodView):
    @blp.arguments(ReportQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, TrimmingReportSchema)
    @error_responses(401, 403, 404, 422)
    def get(self, form_id: str, version: int, personal_id: str | None = None,
            purpose: str | None = None) -> dict[str, Any]:
        """Get the trimming report of a form version

        How many of the official form's fields the citizen still types, which are prefilled
        and from which register, which were dropped and why, and whether the directive's 20%
        target is met. With `personal_id` (a designer's or auditor's token, or the citizen's
        own), `actual` adds what prefill really fills for that citizen and which registers
        were missing. A designer or auditor may look up demo data freely; anyone else only
        with a `purpose`, which the access log keeps with who asked."""
        _, compiled = _compiled(form_id, version)
        if personal_id is None:
            return compiled.trimming_report
        principal = current_principal()
        if principal is None:
            raise Unauthenticated("unauthenticated", "Cần đăng nhập để xem số liệu thực tế.",
                                  "Authentication required for actual figures.")
        sources = current_runtime().sources(g.db)
        if principal.role == "citizen":
            own_subject(principal, personal_id)
        elif principal.role in ("designer", "auditor"):
            report_lookup_allowed(principal, personal_id, purpose, sources, form_id, version)
        else:
            raise NotAllowed("forbidden", "Vai trò này không xem được số liệu thực tế.",
                             "This role may not see actual figures.")
        result = pf.prefill(compiled.definition, personal_id, sources)
        return {**compiled.trimming_report,
                "actual": pf.actual_report(compiled.definition, result)}


#: the access-log action of a designer's or auditor's lookup of a person
REPORT_LOOKUP = "report_lookup"


def report_lookup_allowed(principal: Principal, personal_id: str, purpose: str | None,
                          sources: pf.Sources, form_id: str, version: int) -> None:
    """A designer or auditor sees a person's actual figures when the person is demo data, or
    when they say why (kept in the access log). Refusals are logged too; an unknown number is
    refused like a real person's, so that the answer does not tell whether someone exists.
    The designers' preview and trimming-report pages call it too (the same check and log)."""
    where = f"trimming report {form_id} v{version}"[:200]
    if purpose is None:
        found = sources.fetch({"population": {personal_id}},
                              time.monotonic() + sources.deadline_seconds).found
        record = found.get(("population", personal_id))
        # demo data: the person the demo made (a later change of some field, a result say,
        # does not make them real)
        if record is not None and record.provenance_of("personal_id") == "demo":
            repository.log(g.db, principal, REPORT_LOOKUP, "allowed", owner_id=personal_id,
                           reason=f"{where}: demo data")
            return
        repository.log(g.db, principal, REPORT_LOOKUP, "refused", owner_id=personal_id,
                       reason=f"{where}: no purpose")
        raise NotAllowed("purpose_required",
                         "Tra cứu số liệu thực tế của một người (không phải dữ liệu mẫu) cần nêu "
                         "mục đích ('purpose'); mục đích được ghi vào nhật ký truy cập.",
                         "Looking up a person who is not demo data needs a purpose, which is "
                         "written to the access log.", field="query.purpose")
    repository.log(g.db, principal, REPORT_LOOKUP, "allowed", owner_id=personal_id,
                   purpose=purpose.strip(), reason=where)

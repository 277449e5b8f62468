"""Operability: liveness, readiness, and reference data used by renderers."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from forms import units
from schemas.common import HealthSchema
from schemas.forms import UnitSchema
from service.errors import Unavailable, not_found
from service.web.http import error_responses
from service.web.runtime import current_runtime
from storage.db import ping

health = Blueprint("health", __name__, url_prefix="/", description="Vận hành")


@health.route("/healthz")
class Healthz(MethodView):
    @health.response(200, HealthSchema)
    def get(self) -> dict[str, str]:
        """Liveness: the process is up"""
        return {"status": "ok"}


@health.route("/readyz")
class Readyz(MethodView):
    @health.response(200, HealthSchema)
    @error_responses(503)
    def get(self) -> dict[str, str]:
        """Readiness: the database answers"""
        try:
            ping(current_runtime().engine)
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            current_app.logger.error("database not reachable", extra={"error": str(exc)})
            raise Unavailable("database_unavailable", "Cơ sở dữ liệu không phản hồi.",
                              "The database is not reachable.") from None
        return {"status": "ok", "database": "ok"}


@health.route("/metrics")
class Metrics(MethodView):
    @health.response(200, description="Prometheus text exposition format",
                     content_type="text/plain")
    def get(self) -> Response:
        """Prometheus metrics: request counts and latencies per endpoint"""
        registry = current_app.extensions["tokhai_metrics"]
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


reference = Blueprint("reference", __name__, url_prefix="/api/v1/administrative-units",
                      description="Danh mục đơn vị hành chính (sau sắp xếp năm 2025)")


@reference.route("/provinces")
class Provinces(MethodView):
    @reference.response(200, UnitSchema(many=True))
    def get(self) -> list[Any]:
        """List provinces and centrally-run cities"""
        return list(units.provinces())


@reference.route("/provinces/<string:code>/communes")
class Communes(MethodView):
    @reference.response(200, UnitSchema(many=True))
    @error_responses(404)
    def get(self, code: str) -> list[Any]:
        """List the communes, wards and special zones of a province"""
        found = units.communes(code)
        if found is None:
            raise not_found(f"tỉnh, thành phố mã '{code}'", f"Province '{code}'")
        return list(found)

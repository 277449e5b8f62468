"""The tokhai web service: the Flask application factory.

``create_app()`` builds a complete application from environment variables (see the README):
database engine, the API with its OpenAPI document, JSON logs with request ids, and Prometheus
metrics. It wires; it does not act: it neither migrates the database, nor publishes the
catalogue, nor writes any file. Those are explicit steps (``tokhai db upgrade``, ``tokhai forms
load``, ``tokhai secret-key``), or :func:`prepare` when a start-up is configured to take them
(``wsgi.py`` with TOKHAI_AUTO_MIGRATE / TOKHAI_LOAD_CATALOGUE).
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from flask import Flask, g, request
from flask_smorest import Api
from prometheus_client import CollectorRegistry
from prometheus_flask_exporter import PrometheusMetrics
from sqlalchemy.exc import DataError, DBAPIError, OperationalError, StatementError
from werkzeug.exceptions import HTTPException

from schemas.common import ErrorSchema
from service.config import Settings
from service.pki.signer import Signing
from service.records.sources import HttpSettings, HttpSource
from service.web import door, errors
from service.web.runtime import Runtime
from service.worktime import WorkCalendar, parse_dates, parse_periods
from storage import db
from storage.documents import DocumentStore

log = logging.getLogger("tokhai")
_REQUEST_ID_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


class TokhaiApi(Api):
    """flask-smorest's Api with the project's one error shape."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException):
        from service.web import pages

        return pages.error_page(error.code or 500) or errors.from_http(error)


class SecretKeyMissing(Exception):
    """Production mode without the installation's secret (TOKHAI_SECRET_KEY or the file)."""


class DevelopmentOnly(Exception):
    """Production mode with a setting that is for development only (the development sign-in,
    cookies without ``Secure``)."""


def startup_errors() -> tuple[type[Exception], ...]:
    """Configuration mistakes that stop a start-up with one line, not a traceback: signing
    keys, document store, rate-limit storage, the missing secret, development settings in
    production (``except startup_errors()``)."""
    from service.pki.config import SigningSetupError
    from service.web.ratelimit import RateLimitMisconfigured
    from storage.documents import StoreMisconfigured

    return (SigningSetupError, StoreMisconfigured, RateLimitMisconfigured, SecretKeyMissing,
            DevelopmentOnly)


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    settings = settings or Settings.from_env(**overrides)
    from service import logs, patches

    patches.install()  # pyHanko's hex reader, fpdf2's font and stream speed-ups

    logs.configure(settings.log_level)
    if settings.production and (settings.dev_signin or settings.insecure_cookies):
        # development conveniences are never available in production
        raise DevelopmentOnly(
            "TOKHAI_DEV_SIGNIN and TOKHAI_INSECURE_COOKIES are for development only and cannot "
            "be used with TOKHAI_PRODUCTION=1")
    # its logger is "service", as before the package moved; the pages' templates and assets
    app = Flask("service", template_folder="web/pages/templates",
                static_folder="web/pages/static")
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        API_TITLE="tokhai",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    # the door (service.web.door): bodies bounded even when chunked; JSON that never fails
    app.request_class = door.DoorRequest
    app.json = door.SafeJSONProvider(app)

    engine = db.make_engine(settings.database_url)
    http = HttpSettings(settings.source_connect_timeout, settings.source_read_timeout,
                        settings.source_retries, settings.source_max_bytes,
                        settings.source_breaker_failures, settings.source_breaker_reset)
    remote_sources = {name: HttpSource(name, url, http)
                      for name, url in settings.source_urls.items()}
    days_off, make_up = parse_dates(settings.days_off), parse_dates(settings.make_up_days)
    calendar = WorkCalendar(parse_periods(settings.office_hours), days_off=days_off,
                            make_up_days=make_up)
    agency_calendars = {
        code.strip(): WorkCalendar(parse_periods(hours), days_off=days_off, make_up_days=make_up)
        for code, hours in settings.agency_office_hours.items()}
    signing = None
    if settings.signing_config:
        # keys are opened now: a wrong password or PIN stops the start-up, naming the agency
        signing = Signing.from_file(settings.signing_config)
        if settings.production and signing.config.development:
            from service.pki.config import SigningSetupError

            # development keys, the in-process TSA and revocation service are never used in
            # production, whatever the configuration file says
            raise SigningSetupError(
                f"signing configuration {settings.signing_config}: a development configuration "
                "(development: true) cannot be used with TOKHAI_PRODUCTION=1")
        log.info("signing keys loaded", extra={
            "agencies": sorted(signing.agencies), "development": signing.config.development})
    runtime = Runtime(settings, engine, db.session_factory(engine),
                      db.session_factory(engine.execution_options(isolation_level="AUTOCOMMIT")),
                      _document_store(settings), remote_sources=remote_sources,
                      calendar=calendar, agency_calendars=agency_calendars, signing=signing)
    secret = _secret_key(settings)
    runtime.secret_key = secret or ""
    logs.use_key(runtime.secret_key)  # personal numbers in logs: hashed with this key
    app.extensions["tokhai"] = runtime
    from service.web import ratelimit  # checks of typed people: counted per caller and per person

    ratelimit.init_app(app, settings, runtime.secret_key)
    if secret is None:  # production, after the other configuration checks
        raise SecretKeyMissing(f"no installation secret: set TOKHAI_SECRET_KEY or run "
                               f"`tokhai secret-key` (makes {_secret_key_path(settings)})")

    _install_request_hooks(app, runtime)
    from service.web import headers  # security headers and no-store on every response

    headers.install(app, settings)
    api = TokhaiApi(app, spec_kwargs={
        "info": {"description": "Tờ khai điện tử, hồ sơ và kết quả điện tử có chữ ký số."},
    })
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    from service.web.api import digitised as digitised_api
    from service.web.api import documents as documents_api
    from service.web.api import dossiers as dossiers_api
    from service.web.api import forms as forms_api
    from service.web.api import imports as imports_api
    from service.web.api import ops
    from service.web.api import prefill as prefill_api
    from service.web.api import repository as repository_api
    from service.web.api import uploads as uploads_api

    api.register_blueprint(ops.health)
    api.register_blueprint(ops.reference)
    api.register_blueprint(forms_api.blp)
    api.register_blueprint(imports_api.blp)
    api.register_blueprint(prefill_api.blp)
    api.register_blueprint(digitised_api.blp)
    api.register_blueprint(dossiers_api.blp)
    api.register_blueprint(documents_api.blp)
    api.register_blueprint(repository_api.blp)
    api.register_blueprint(uploads_api.blp)
    if signing is not None and signing.responder is not None and not settings.production:
        from service.web import devpki  # the development CA's OCSP and CRL, never in production

        devpki.install(app, signing.responder)

    from service.web import pages  # the pages for people, outside /api/v1

    pages.install(app)

    registry = CollectorRegistry()
    PrometheusMetrics(app, registry=registry, group_by="endpoint", path=None,
                      defaults_prefix="tokhai")
    app.extensions["tokhai_metrics"] = registry

    app.register_error_handler(errors.DomainError, _domain_error)
    app.register_error_handler(Exception, _unexpected)

    from service.cli import register

    register(app)
    return app


def _secret_key_path(settings: Settings) -> Any:
    from pathlib import Path

    return Path(settings.data_dir) / "secret-key"


def _secret_key(settings: Settings) -> str | None:
    """The installation's secret: TOKHAI_SECRET_KEY, else the file ``tokhai secret-key`` (or
    ``tokhai dev-setup``) made in the data directory. Nothing is written here. Without either:
    None in production mode (the start-up stops), and in development a key of this process
    only (download links and log hashes change at each start, and differ between workers),
    with a warning."""
    import secrets

    if settings.secret_key:
        return settings.secret_key
    path = _secret_key_path(settings)
    if path.exists():
        return str(path.read_text().strip())
    if settings.production:
        return None
    log.warning("no installation secret (TOKHAI_SECRET_KEY or the file): using a key of this "
                "process only; run `tokhai secret-key` to make the file",
                extra={"path": str(path)})
    return secrets.token_urlsafe(48)


def _document_store(settings: Settings) -> DocumentStore:
    """The repository's store, checked: in production mode a bucket without versioning and
    object lock stops the start-up (in development a missing bucket is made, as the worker
    does). A store that does not answer does not: issued documents wait in the database until
    it is back. The local folder is neither checked nor made here."""
    from service.repository.documents import make_store
    from storage.documents import StoreUnavailable

    store = make_store(settings)
    if store.name == "local":
        return store  # nothing to check, and no folder made here: the first document makes it
    try:
        store.ensure_ready(production=settings.production)
    except StoreUnavailable as e:
        log.warning("document store unavailable at start-up; documents will wait in the "
                    "outbox", extra={"error": str(e)[:300]})
    return store


def prepare(app: Flask, *, migrate: bool, load_catalogue: bool) -> None:
    """The start-up steps a server may be configured to take itself (wsgi.py): migrate the
    database and publish the catalogue's missing forms, under the start-up lock, so that
    workers starting together do each once. ``tokhai db upgrade`` and ``tokhai forms load``
    are the same steps, run explicitly."""
    from service import catalogue as form_ops

    runtime: Runtime = app.extensions["tokhai"]
    if not (migrate or load_catalogue):
        return
    with db.startup_lock(runtime.engine):
        if migrate:
            db.upgrade(runtime.engine)
        if load_catalogue:
            with runtime.sessions() as session:
                outcomes = form_ops.load_catalogue(session)
                session.commit()
            published = sum(1 for _, o in outcomes if o == "published")
            log.info("catalogue loaded", extra={"forms": len(outcomes), "published": published})


def _install_request_hooks(app: Flask, runtime: Runtime) -> None:
    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        ok = 0 < len(incoming) <= 64 and set(incoming) <= _REQUEST_ID_OK
        g.request_id = incoming if ok else uuid.uuid4().hex
        g.started = time.perf_counter()
        # reads need no transaction: no BEGIN and ROLLBACK round trips for GET and HEAD
        g.db = (runtime.read_sessions() if request.method in ("GET", "HEAD")
                else runtime.sessions())

    # authentication, then the body's size, depth and characters, before any view
    door.install(app, runtime.settings.max_json_depth)

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = g.get("request_id", "-")
        started = g.get("started")
        if started is not None:
            log.info("request", extra={
                "method": request.method, "path": request.path, "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            })
        return response

    @app.teardown_request
    def _close(exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.close()  # rolls back whatever a failed request left uncommitted


def _domain_error(err: errors.DomainError):
    """A domain error: the one JSON shape for the API, a page for a person's browser."""
    from service.web import pages

    return pages.error_page(errors.status_of(err)) or errors.respond(err)


def _unexpected(exc: Exception):
    """Errors no view turned into an ApiError, in the one error shape, or as a page for a
    person's browser (same status). The request's session is closed (and its transaction
    rolled back) by the teardown."""
    from service.web import pages

    response = _unexpected_json(exc)
    page = pages.error_page(response.status_code)
    if page is None:
        return response
    if "Retry-After" in response.headers:
        page.headers["Retry-After"] = response.headers["Retry-After"]
    return page


def _unexpected_json(exc: Exception):
    from service import logs  # the texts of errors, without the values they carry

    if isinstance(exc, HTTPException):
        return errors.from_http(exc)
    if isinstance(exc, StatementError) and isinstance(exc.orig, OverflowError):
        exc = exc.orig  # a value that could not even be bound (a date beyond the calendar)
    if isinstance(exc, DataError | OverflowError):
        # a value the database cannot hold (a number too large...): the caller's input, which
        # validation should have caught; say so rather than 500
        log.warning("value out of range for the database", extra={"error": logs.describe(exc)})
        return errors.respond(errors.ApiError(400, "value_out_of_range",
                                              "Giá trị nằm ngoài phạm vi cho phép.",
                                              "A value is out of range."))
    if isinstance(exc, DBAPIError) and (exc.connection_invalidated
                                        or isinstance(exc, OperationalError)):
        log.warning("database connection lost", extra={"error": logs.describe(
            exc.orig if exc.orig is not None else exc)})
        resp = errors.respond(errors.ApiError(
            503, "database_unavailable", "Cơ sở dữ liệu tạm thời không phản hồi; vui lòng thử "
            "lại sau ít giây.", "The database is temporarily unavailable; retry shortly."))
        resp.headers["Retry-After"] = "2"
        return resp
    log.exception("unhandled error")
    return errors.respond(errors.ApiError(500, "internal_error",
                                          "Lỗi hệ thống; vui lòng thử lại sau.",
                                          "Internal server error."))

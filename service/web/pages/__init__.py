"""The pages: server-rendered HTML (Jinja) for citizens and anyone checking a document,
outside the API (``/api/v1``). Vietnamese is the source language; every string goes through
Babel and has an English translation (``i18n/<area>/en``), chosen with the language switch.

What every page shares is installed here: the session cookie and its server-side sessions
(:mod:`.sessions`), CSRF tokens on every form (Flask-WTF), the language, the layout's context,
and page answers for errors. Each area of pages is a module with its own blueprint: the site
itself (:mod:`.site`), sign-in (:mod:`.signin`), and the public, citizens' and staff pages.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime, timedelta
from importlib import import_module
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Flask, Response, current_app, g, request, session
from flask_babel import Babel
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf

from service.tokens import ROLES
from service.web.pages.rendering import PAGE_BLUEPRINTS, page_error, render, wants_page

HERE = Path(__file__).resolve().parent
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
#: the modules of pages, each registering its blueprint with ``init_app(app)`` (in this order)
AREAS = ("site", "signin", "public", "eform", "space", "office", "issuing", "design",
         "audit")

csrf = CSRFProtect()


def _locale() -> str:
    from service.web.pages.site import LANGUAGES

    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    return "vi"


def install(app: Flask) -> None:
    """Make ``app`` serve the pages."""
    from service.web.pages import site

    runtime = app.extensions["tokhai"]
    settings = runtime.settings
    secure = not settings.insecure_cookies
    app.secret_key = hmac.new(runtime.secret_key.encode(), b"tokhai pages session",
                              hashlib.sha256).hexdigest()
    app.config.update(
        SESSION_COOKIE_NAME="__Host-tokhai" if secure else "tokhai",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
        # forms are protected by request (pages only; the API takes bearer tokens, no cookie)
        WTF_CSRF_CHECK_DEFAULT=False,
        # the token lives as long as the session: a citizen may type for an hour
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE="vi",
        BABEL_DEFAULT_TIMEZONE="Asia/Ho_Chi_Minh",
        BABEL_TRANSLATION_DIRECTORIES=";".join(
            str(p) for p in sorted((HERE / "i18n").iterdir()) if p.is_dir()),
        SEND_FILE_MAX_AGE_DEFAULT=timedelta(days=1),
    )
    Babel(app, locale_selector=_locale)
    csrf.init_app(app)
    app.jinja_env.globals.update(csrf_token=generate_csrf, nav=site.navigation,
                                 languages=site.LANGUAGES, development=not settings.production,
                                 asset_version=_asset_version())
    app.jinja_env.filters.update(day=day, moment=moment, actor=actor)
    app.jinja_env.autoescape = True

    @app.before_request
    def _pages() -> Response | None:
        if request.blueprint in PAGE_BLUEPRINTS or request.path == "/":
            g.lang = _locale()
            if request.method == "POST":
                if _cross_site():
                    # a form another site made a browser post: refused before anything is
                    # read, kept or written (no cookie either: the person stays signed in)
                    current_app.logger.warning("cross-site post refused",
                                               extra={"path": request.path})
                    return page_error(403, _("Yêu cầu này đến từ một trang web khác nên "
                                             "không được thực hiện; không có gì được lưu."),
                                      title=_("Yêu cầu bị từ chối"))
                csrf.protect()
        return None

    @app.after_request
    def _static_cache(response: Response) -> Response:
        if request.endpoint == "static" and response.status_code == 200:
            response.cache_control.public = True  # the same for everyone (headers.py)
        return response

    app.register_error_handler(CSRFError, _csrf_failed)
    for area in AREAS:
        try:
            module = import_module(f"service.web.pages.{area}")
        except ModuleNotFoundError as e:
            if e.name != f"service.web.pages.{area}":
                raise
            continue  # an area not built yet
        init = getattr(module, "init_app", None)
        if init is not None:
            init(app)
        else:
            app.register_blueprint(module.bp)


def _cross_site() -> bool:
    """Whether the browser says this request comes from another site: ``Sec-Fetch-Site``
    (every current browser sends it), else an ``Origin`` other than this host (``null``
    included). A form a hostile page posts is refused outright, before the CSRF check, so that
    its 400 page (which offers to send the data again, with a fresh token and cookie) is never
    shown for it: the cookie would sign the person out, and the data would be an attacker's."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "cross-site"
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    return origin == "null" or urlsplit(origin).netloc != request.host


def _asset_version() -> str:
    """A digest of the static files, appended to their URLs: a new release is fetched anew,
    an unchanged one comes from the browser's cache."""
    digest = hashlib.sha256()
    for path in sorted((HERE / "static").rglob("*")):
        if path.is_file() and path.suffix in (".css", ".js"):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def _csrf_failed(error: CSRFError) -> Response:
    """A form posted without a valid CSRF token (a stale page, a cookie that expired, or a
    forgery): a 400 page that keeps what was typed and offers to send it again with a fresh
    token, from this page and by the person's own click."""
    fields = [(k, v) for k, v in request.form.items(multi=True) if k != "csrf_token"]
    return render("csrf.html", status=400, fields=fields[:2000], action=request.path)


def error_page(status: int) -> Response | None:
    """A page for an error of a page request, or None for the API's own JSON answer."""
    if not wants_page():
        return None
    return page_error(status)


def day(value: date | datetime | None) -> str:
    """A date as people read it on paper: dd/mm/yyyy (in Vietnam time for a moment)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(VIETNAM).date()
    return value.strftime("%d/%m/%Y")


def moment(value: datetime | None) -> str:
    """A moment in Vietnam time: ``14:05 ngày 30/11/2026``."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(VIETNAM)
    return _("%(time)s ngày %(day)s", time=local.strftime("%H:%M"),
             day=local.strftime("%d/%m/%Y"))


def actor(value: str | None) -> str:
    """Who did something, as it was recorded (``role:label``, ``Principal.actor``): the label
    people read (their name), without the role's code."""
    if not value:
        return ""
    role, sep, label = value.partition(":")
    return label if sep and role in ROLES and label else value

"""The pages in a real browser: a live server, Chromium driven by Playwright, axe-core, an
OpenID Connect provider and an SMTP server on loopback.

Every fixture here is available to every test module of ``tests/service/web/pages`` (the
folder's ``conftest.py`` imports them); the helpers are imported from this module.

How to use it (a test module of your area, e.g. ``test_browser_eform.py``)::

    from tests.service.web.pages.browser import check_page, sign_in_page, screenshot

    def test_the_form(page, live):            # page: a fresh context, 1280 px, JS on
        sign_in_page(page, "citizen_father", next_path="/thu-tuc/...")
        page.goto("/thu-tuc/...")               # relative to live.url (the context's base URL)
        check_page(page, "eform-empty")         # axe at 1280 and 360 px, no horizontal
                                                # scroll at 360, no CSP violation, screenshots
        page.get_by_role("button", name="Tiếp tục").click()
        check_page(page, "eform-errors")

    def test_without_javascript(page_no_js):    # same, JavaScript turned off
        ...

    def test_small(page_360): ...               # a 360 px wide phone from the start

Fixtures:

- ``browser`` (module): one headless Chromium (Debian's ``/usr/bin/chromium``) per module.
  While it is open an asyncio loop counts as running in the main thread: code that calls
  ``asyncio.run`` (pyHanko, when a result is signed) must run through the live server (HTTP,
  e.g. ``requests.post(live("/api/v1/dossiers/<code>/result"), ...)``) or in
  :func:`outside_the_loop` (``outside_the_loop(client.post, url, json=...)``).
- ``live_app`` (module): an application serving the pages with the development sign-in AND
  the OpenID Connect sign-in (the ``oidc_provider`` below), the demo records (demo father
  001085012345, daughter 079199054321), the test agencies' signing keys; one database
  backend (PostgreSQL when ``TOKHAI_TEST_DATABASE_URL`` is set, else SQLite) to keep the
  browser suite short. API fixtures of ``tests/conftest.py`` that take ``app`` take it too
  (``_token(live_app, "officer", agency_code=...)``; ``live_app.test_client()``).
- ``live`` (module): :class:`LiveServer` serving ``live_app`` on 127.0.0.1 (``live.url``).
- ``page`` / ``page_360`` / ``page_no_js``: a new browser context and page per test (1280 px;
  360 px; 1280 px with JavaScript off), base URL = ``live.url``, Vietnamese locale. The page's
  Content-Security-Policy is enforced (axe is injected by the driver, which the policy does
  not govern), and every CSP violation, script error or failed request is recorded
  (``page.problems``, checked by :func:`check_accessible`).
- ``oidc_provider`` (session): :class:`OidcProvider`, ``oidc-provider-mock`` on loopback with
  the users ``father`` (claim ``personal_id`` = the demo father) and ``no-id`` (no personal
  ID); ``oidc_provider.set_user(sub, claims)`` adds one.
- ``smtp`` (function): :class:`SmtpServer` (aiosmtpd) on loopback; ``smtp.messages`` are the
  received ``email.message.EmailMessage``; ``smtp.server`` is ``host:port`` for
  ``TOKHAI_SMTP_SERVER`` / ``Settings(smtp_server=...)``.

Helpers: :func:`check_page` (the whole check of a page state, both widths),
:func:`check_accessible` (axe only, current width), :func:`screenshot` (PNGs at 360 and 1280 px
into :data:`ARTEFACTS`), :func:`assert_no_horizontal_scroll`, :func:`sign_in_page` (the
development sign-in, by the page), :func:`oidc_sign_in_page` (through the provider, by the
page), :func:`oidc_authorize` (the provider's consent, by HTTP: for the Flask test client),
:func:`tab_to` (Tab until an element has the focus, checking the focus is visible),
:func:`serve` (any WSGI app on loopback, in a thread).

Screenshots are test artefacts, not committed (``var/`` is ignored); the folder is printed at
the end of the run.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import email
import email.policy
import functools
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from werkzeug.serving import WSGIRequestHandler, make_server

ROOT = Path(__file__).resolve().parents[4]
#: where screenshots go (not committed: ``var/`` is ignored); TOKHAI_TEST_ARTEFACTS moves it
ARTEFACTS = Path(os.environ.get("TOKHAI_TEST_ARTEFACTS",
                                ROOT / "var" / "test-artefacts")) / "screenshots"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking"]
WIDE, NARROW = 1280, 360
#: the WCAG 2.0 and 2.1 levels A and AA rules of axe
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DEMO_FATHER = "001085012345"
#: the claims of the provider's users (sub -> claims)
OIDC_USERS: dict[str, dict[str, object]] = {
    "father": {"personal_id": DEMO_FATHER, "name": "Nguyễn Văn An",
               "email": "an.nguyen@example.test", "email_verified": True},
    "no-id": {"name": "Khách không định danh", "email": "khach@example.test"},
}
OIDC_CLIENT_ID = "tokhai-test"
OIDC_CLIENT_SECRET = "tokhai-test-client-secret"  # noqa: S105 (a test value)
written: list[Path] = []
T = TypeVar("T")


# -- servers on loopback ----------------------------------------------------------------------


class _Quiet(WSGIRequestHandler):
    """No access log: URLs carry codes and states, which the run's log check would flag."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass
class LiveServer:
    """A WSGI application served on loopback; ``url`` has no trailing slash."""

    url: str
    app: Any

    def __call__(self, path: str) -> str:
        """The absolute URL of ``path``."""
        return urljoin(self.url + "/", path.lstrip("/"))


@contextlib.contextmanager
def serve(app: Any, host: str = "127.0.0.1") -> Iterator[LiveServer]:
    """Serve ``app`` on ``host`` at a free port, in a thread (one thread per request), until
    the block ends."""
    server = make_server(host, 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://{host}:{server.server_port}", app)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class OidcProvider:
    """``oidc-provider-mock`` on loopback: its issuer URL and its users."""

    url: str

    def set_user(self, sub: str, claims: dict[str, Any]) -> None:
        """Add (or replace) a user the provider signs in with one click."""
        answer = requests.put(f"{self.url}/users/{sub}", json=claims, timeout=10)
        assert answer.status_code == 204, answer.text


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """An OpenID Connect provider on loopback (code flow, nonce required) with the users of
    :data:`OIDC_USERS`."""
    import oidc_provider_mock

    # the provider logs its users' claims (a personal ID): not in this run's log
    logging.getLogger("oidc_provider_mock").setLevel(logging.CRITICAL)
    provider = oidc_provider_mock.app(
        require_nonce=True,
        user_claims=[oidc_provider_mock.User(sub=s, claims=c) for s, c in OIDC_USERS.items()])
    with serve(provider) as server:
        yield OidcProvider(server.url)


def oidc_authorize(authorize_url: str, sub: str = "father") -> str:
    """What a browser does at the provider: open its authorization page (``authorize_url``,
    where the service's ``/sign-in/start`` sent it) and sign in as ``sub``; the callback URL
    the provider sends back to (with ``code`` and ``state``)."""
    page = requests.get(authorize_url, timeout=10)
    assert page.status_code == 200, page.text[:500]
    answer = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:500]
    return str(answer.headers["Location"])


@dataclass
class SmtpServer:
    """An SMTP server on loopback keeping what it receives."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 at a free port."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    kept = SmtpServer("127.0.0.1", port)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            kept.envelopes.append(envelope)
            message = email.message_from_bytes(envelope.original_content or envelope.content,
                                               policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            kept.messages.append(message)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield kept
    finally:
        controller.stop()


# -- the application served -------------------------------------------------------------------


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory, signing_config: str,
             oidc_provider: OidcProvider) -> Iterator[Any]:
    """The pages with the development sign-in and the OpenID Connect sign-in, the demo
    records and the test agencies' keys; one backend (PostgreSQL when the tests have one)."""
    from storage.db import normalise_url
    from tests.conftest import _fresh_postgres
    from tests.service.web.pages.conftest import page_app

    data_dir = tmp_path_factory.mktemp("live")
    settings = {"signing_config": signing_config, "oidc_issuer": oidc_provider.url,
                "oidc_client_id": OIDC_CLIENT_ID, "oidc_client_secret": OIDC_CLIENT_SECRET,
                "public_url": "http://127.0.0.1"}
    postgres = os.environ.get("TOKHAI_TEST_DATABASE_URL")
    if not postgres:
        yield page_app(f"sqlite:///{data_dir / 'tokhai.db'}", data_dir, **settings)
        return
    for url in _fresh_postgres(normalise_url(postgres)):
        application = page_app(url, data_dir, **settings)
        yield application
        application.extensions["tokhai"].engine.dispose()


@pytest.fixture(scope="module")
def live(live_app: Any) -> Iterator[LiveServer]:
    """``live_app`` served on 127.0.0.1 (threaded) for the browser."""
    with serve(live_app) as server:
        yield server


# -- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module. Not for the whole run: while Playwright's sync
    API is started, an asyncio loop counts as running in the main thread, and code that calls
    ``asyncio.run`` there (pyHanko signing a result) fails; the tests after the module must
    not inherit that. Within a browser module, sign through the live server (HTTP) or
    :func:`outside_the_loop`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def new_page(browser: Any, base_url: str, *, width: int = WIDE, javascript: bool = True) -> Any:
    """A page in a new context (its own cookies): ``width`` px wide, JavaScript on or off,
    relative URLs against ``base_url``, and the page's problems (CSP violations, uncaught
    errors, failed requests) kept in ``page.problems``."""
    context = browser.new_context(
        base_url=base_url, viewport={"width": width, "height": 900},
        java_script_enabled=javascript, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    context.set_default_timeout(15_000)
    # nothing leaves loopback: a request to another host fails (and is a problem of the page
    # when the page is one of ours)
    context.route(lambda url: urlsplit(url).hostname not in ("127.0.0.1", "localhost"),
                  lambda route: route.abort("blockedbyclient"))
    page = context.new_page()
    problems: list[str] = []
    page.problems = problems
    page.javascript = javascript
    ours = urlsplit(base_url).netloc

    def note(problem: str) -> None:
        if urlsplit(page.url).netloc == ours:  # not the provider's pages
            problems.append(problem)

    def console(message: Any) -> None:
        # a failed load is reported by its response below (an error page opened on purpose
        # is not a problem; the browser's own /favicon.ico is not the page's)
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            note(f"console: {message.text}")

    def response(answer: Any) -> None:
        if (answer.status >= 400 and answer.request.resource_type != "document"
                and not answer.url.endswith("/favicon.ico")):
            note(f"{answer.status} for {answer.url}")

    page.on("console", console)
    page.on("response", response)
    page.on("pageerror", lambda error: note(f"page error: {error}"))

    def failed(request: Any) -> None:
        # a load the browser gave up because the page went on (a click before the fonts
        # came) is not a failure of the page
        if request.failure != "net::ERR_ABORTED":
            note(f"request failed: {request.url} ({request.failure})")

    page.on("requestfailed", failed)
    return page


@contextlib.contextmanager
def _page(browser: Any, live: LiveServer, **kwargs: Any) -> Iterator[Any]:
    page = new_page(browser, live.url, **kwargs)
    try:
        yield page
    finally:
        page.context.close()


@pytest.fixture
def page(browser: Any, live: LiveServer) -> Iterator[Any]:
    """A fresh context and page, 1280 px wide, JavaScript on."""
    with _page(browser, live) as p:
        yield p


@pytest.fixture
def page_360(browser: Any, live: LiveServer) -> Iterator[Any]:
    """A fresh context and page, 360 px wide (a cheap phone), JavaScript on."""
    with _page(browser, live, width=NARROW) as p:
        yield p


@pytest.fixture
def page_no_js(browser: Any, live: LiveServer) -> Iterator[Any]:
    """A fresh context and page, 1280 px wide, JavaScript off."""
    with _page(browser, live, javascript=False) as p:
        yield p


def outside_the_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a thread of its own: for code that runs an asyncio loop
    (issuing a signed result through ``live_app.test_client()``) while the browser is open."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


# -- checks -----------------------------------------------------------------------------------


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "page"


def _width(page: Any) -> int:
    return int((page.viewport_size or {"width": WIDE})["width"])


def _set_width(page: Any, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})


def shot(page: Any, name: str) -> Path:
    """A full-page screenshot at the current width: ``<name>-<width>.png`` in
    :data:`ARTEFACTS`."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{_slug(name)}-{_width(page)}.png"
    page.screenshot(path=str(path), full_page=True)
    written.append(path)
    return path


def screenshot(page: Any, name: str) -> list[Path]:
    """Screenshots of the page as it is now at 360 and at 1280 px (the width it had is
    restored)."""
    before = _width(page)
    paths = []
    for width in (NARROW, WIDE):
        _set_width(page, width)
        paths.append(shot(page, name))
    _set_width(page, before)
    return paths


def axe_violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical"),
                   disable: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.0/2.1 A and AA violations of ``impacts`` on the page as it is."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source())  # by the driver: not subject to the page's CSP
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"],
               "rules": {rule: {"enabled": False} for rule in disable}}
    result = page.evaluate("async (options) => await axe.run(document, options)", options)
    return [v for v in result["violations"] if v.get("impact") in impacts]


@functools.cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"][:5]:
            lines.append(f"    {node['target']}: {node.get('failureSummary', '')[:300]}")
    return "\n".join(lines)


def check_accessible(page: Any, name: str, disable: tuple[str, ...] = ()) -> None:
    """axe-core on the page as it is, at its current width: fails listing each serious or
    critical WCAG 2.0/2.1 A/AA violation; fails on a CSP violation or a script error the page
    met; writes a screenshot ``<name>-<width>.png``. With JavaScript off axe cannot run in
    the page (its timers never fire): the page's HTML is checked in a JavaScript context of
    the same browser instead, at the same URL (same styles)."""
    shot(page, name)
    problems = list(getattr(page, "problems", []))
    assert not problems, f"{name}: the page met problems:\n" + "\n".join(problems)
    if getattr(page, "javascript", True):
        violations = axe_violations(page, disable=disable)
    else:
        violations = _axe_of_copy(page, disable)
    assert not violations, (f"{name} ({_width(page)} px, {page.url}): accessibility "
                            f"violations\n{_describe(violations)}")


def _axe_of_copy(page: Any, disable: tuple[str, ...]) -> list[dict[str, Any]]:
    html = re.sub(r"<script\b[^>]*>.*?</script>", "", page.content(), flags=re.S | re.I)
    target = page.url
    copy = new_page(page.context.browser, target, width=_width(page))
    try:
        copy.route(lambda url: url == target, lambda route: route.fulfill(
            status=200, body=html, headers={"Content-Type": "text/html; charset=utf-8"}))
        copy.goto(target)
        return axe_violations(copy, disable=disable)
    finally:
        copy.context.close()


def scroll_width(page: Any) -> int:
    return int(page.evaluate("() => document.scrollingElement.scrollWidth"))


def assert_no_horizontal_scroll(page: Any, name: str = "") -> None:
    """Nothing wider than the viewport (at 360 px: a page read on a cheap phone)."""
    width = _width(page)
    assert scroll_width(page) <= width, (
        f"{name}: the page scrolls sideways at {width} px (content {scroll_width(page)} px "
        f"wide): {page.url}")


def check_page(page: Any, name: str, disable: tuple[str, ...] = ()) -> None:
    """The whole check of one state of a page, at 1280 and then at 360 px: axe (no serious or
    critical violation), no horizontal scroll at 360 px, no CSP violation or script error,
    screenshots at both widths. The page's width is restored."""
    before = _width(page)
    for width in (WIDE, NARROW):
        _set_width(page, width)
        check_accessible(page, name, disable=disable)
        if width == NARROW:
            assert_no_horizontal_scroll(page, name)
    _set_width(page, before)


# -- the keyboard -----------------------------------------------------------------------------


def focused(page: Any) -> str:
    """A short description of the focused element (tag, id, name, text)."""
    return str(page.evaluate("""() => {
        const e = document.activeElement; if (!e) return '';
        return [e.tagName.toLowerCase(), e.id && '#' + e.id, e.name && '[name=' + e.name + ']',
                (e.innerText || e.value || '').trim().slice(0, 60)].filter(Boolean).join(' ');
    }"""))


def tab_to(page: Any, selector: str, most: int = 80, key: str = "Tab") -> int:
    """Press Tab (or ``key``) until the element matching ``selector`` has the focus, as a
    keyboard user does; how many presses it took. Fails when it is never reached (not
    focusable, or hidden from the keyboard)."""
    for presses in range(1, most + 1):
        page.keyboard.press(key)
        if page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)",
                         selector):
            assert_focus_visible(page)
            return presses
    raise AssertionError(f"{selector} never took the focus after {most} presses of {key} "
                         f"(last: {focused(page)})")


def assert_focus_visible(page: Any) -> None:
    """The focused element shows that it has the focus (an outline, a shadow or a changed
    background: WCAG 2.4.7)."""
    shown = page.evaluate("""() => {
        const e = document.activeElement; if (!e || e === document.body) return true;
        const s = getComputedStyle(e);
        return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
               || (s.boxShadow && s.boxShadow !== 'none'); }""")
    assert shown, f"the focus is not visible on {focused(page)}"


# -- signing in, by the page ------------------------------------------------------------------


def sign_in_page(page: Any, person: str = "citizen_father", next_path: str = "/") -> None:
    """Sign in on the development sign-in page as one of its people (``citizen_father``,
    ``citizen_daughter``, ``officer``, ``designer``, ``auditor``), then back at
    ``next_path``."""
    from urllib.parse import quote

    page.goto(f"/sign-in?next={quote(next_path)}")
    page.locator(f"#person-{person}").check()
    page.locator("form[action$='/sign-in/development'] button[type=submit]").click()
    page.wait_for_load_state()
    assert "/sign-in" not in page.url, page.url


def oidc_sign_in_page(page: Any, sub: str = "father", next_path: str = "/") -> None:
    """Sign in through the OpenID Connect provider (the real code path), as the provider's
    user ``sub``; back at ``next_path``."""
    from urllib.parse import quote

    page.goto(f"/sign-in?next={quote(next_path)}")
    page.get_by_role("button", name="Đăng nhập bằng tài khoản định danh điện tử").click()
    page.locator(f"button[name=sub][value='{sub}']").click()
    page.wait_for_load_state()


def report_artefacts(terminalreporter: Any) -> None:
    """The folder of this run's screenshots, at the end of the run (conftest's hook)."""
    if written:
        terminalreporter.write_sep("-", f"{len(set(written))} screenshots in {ARTEFACTS}")

"""Fixtures of the pages' tests: an application serving the pages with the development
sign-in and the demo records, and signing in through the real pages (CSRF token included).
The browser's fixtures (a live server, Chromium, axe, an OpenID Connect provider, an SMTP
server) are in :mod:`tests.service.web.pages.browser`, imported here for every module."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest

from storage.db import normalise_url
from tests.conftest import BACKENDS, _fresh_postgres, make_app
from tests.service.web.pages.browser import (  # noqa: F401 (fixtures of every module here)
    browser,
    live,
    live_app,
    oidc_provider,
    page,
    page_360,
    page_no_js,
    report_artefacts,
    smtp,
)

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def page_app(url: str, data_dir: Any, **overrides: Any):
    """An application serving the pages as `make run` does: development sign-in, cookies
    without ``Secure`` (the test client speaks plain http), the demo records."""
    from service.cli import load_demo
    from service.records import demo

    overrides.setdefault("dev_signin", True)
    overrides.setdefault("insecure_cookies", True)
    application = make_app(url, data_dir, **overrides)
    with application.app_context():
        load_demo(demo.generate(30))
    return application


@pytest.fixture(scope="module", params=BACKENDS)
def pages(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          signing_config: str) -> Iterator[Any]:
    """One pages application per backend and test module (migrated, catalogue, demo records,
    the test agencies' keys)."""
    data_dir = tmp_path_factory.mktemp("pages")
    if request.param == "sqlite":
        yield page_app(f"sqlite:///{data_dir / 'tokhai.db'}", data_dir,
                       signing_config=signing_config)
        return
    for url in _fresh_postgres(normalise_url(os.environ["TOKHAI_TEST_DATABASE_URL"])):
        application = page_app(url, data_dir, signing_config=signing_config)
        yield application
        application.extensions["tokhai"].engine.dispose()


def sign_in(client: Any, person: str = "citizen_father", next_path: str = "/") -> Any:
    """Sign ``client`` in on the development sign-in page as one of its people
    (``citizen_father``, ``citizen_daughter``, ``officer``, ``designer``, ``auditor``)."""
    form = client.get("/sign-in")
    assert form.status_code == 200
    answer = client.post("/sign-in/development", data={
        "person": person, "next": next_path, "csrf_token": csrf_of(form.get_data(as_text=True))})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    return answer


def pytest_terminal_summary(terminalreporter: Any) -> None:
    report_artefacts(terminalreporter)

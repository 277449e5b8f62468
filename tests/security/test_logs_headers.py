"""Issue #10, findings 9 and 17: logs carry no SQL parameters, tokens, link tokens or personal
numbers; every response has the security headers, and whatever carries personal data or a
document is never stored by a cache. On SQLite and PostgreSQL.

The whole run's logs are checked as well, at the end of every run (tests/conftest.py)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask, g
from sqlalchemy import text

import service.web.api.dossiers as dossiers_api
from service import logs
from service.config import Settings
from service.web import headers
from tests.conftest import DEMO_FATHER, citizen_headers
from tests.service.results.test_results import FORM

STRANGER = "079199054321"
NAME = "Nguyễn Văn An"  # the demo father's name


@pytest.fixture
def logged() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The lines the service's own log handler writes while the test runs, decoded."""
    stream = io.StringIO()
    handler = logs.make_handler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


def _text(lines: list[dict[str, Any]]) -> str:
    return "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)


# -- logs ----------------------------------------------------------------------------------

def test_a_database_error_in_a_request_logs_no_parameters(app, people, logged,
                                                          monkeypatch) -> None:
    """A unique violation and a NOT NULL violation quoting a personal ID and a name: the
    traceback names the statement and the constraint, never the values."""
    with app.extensions["tokhai"].engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS leak_probe"))
        conn.execute(text("CREATE TABLE leak_probe (pid VARCHAR(12) PRIMARY KEY, "
                          "name VARCHAR(100) NOT NULL, note VARCHAR(100) NOT NULL)"))
        conn.execute(text("INSERT INTO leak_probe VALUES (:pid, :name, 'x')"),
                     {"pid": DEMO_FATHER, "name": NAME})
    def failing_load(code, principal):
        if code == "dup":
            g.db.execute(text("INSERT INTO leak_probe VALUES (:pid, :name, 'y')"),
                         {"pid": DEMO_FATHER, "name": NAME})
        g.db.execute(text("INSERT INTO leak_probe (pid, name) VALUES (:pid, :name)"),
                     {"pid": STRANGER, "name": NAME})

    monkeypatch.setattr(dossiers_api, "load", failing_load)
    client = app.test_client()
    father = citizen_headers(app, DEMO_FATHER)
    for code in ("dup", "null"):
        resp = client.get(f"/api/v1/dossiers/{code}", headers=father)
        assert resp.status_code == 500 and resp.get_json()["code"] == "internal_error"
    lines = logged()
    errors = [line for line in lines if line["message"] == "unhandled error"]
    assert len(errors) == 2
    assert all("INSERT INTO leak_probe" in e["exc_info"] for e in errors)  # still useful
    written = _text(lines)
    for secret in (DEMO_FATHER, STRANGER, NAME, "[parameters:", "DETAIL:", "Failing row"):
        assert secret not in written, secret
    with app.extensions["tokhai"].engine.begin() as conn:
        conn.execute(text("DROP TABLE leak_probe"))


def test_a_download_link_logs_no_token(app, issued, logged) -> None:
    client, doc = issued["client"], issued["doc"]
    made = client.post(f"/api/v1/repository/documents/{doc['document_id']}/links",
                       headers=issued["father"])
    url = made.get_json()["url"]
    token = url.rsplit("/", 1)[1]
    assert client.get(url).status_code == 200
    assert client.get(url[:-3] + "abc").status_code == 404  # a tampered one: logged too
    lines = logged()
    paths = [line["path"] for line in lines if line["message"] == "request"]
    assert paths.count("/api/v1/repository/links/***") == 2
    written = _text(lines)
    assert token not in written and token[:-3] not in written
    assert "tk_" not in written and issued["father"]["Authorization"][7:] not in written


def test_the_formatter_redacts_whatever_a_call_site_passes(logged) -> None:
    log = logging.getLogger("tokhai.test")
    token = "tk_" + "A1b2" * 10
    log.info("lookup of %s by %s", DEMO_FATHER, token, extra={
        "personal_id": STRANGER, "old_card": "012345678", "token": "plain-secret-value",
        "receipt_secret": "s3cr3t", "url": "/api/v1/receipts/X?secret=abcdefgh&personal_id=1",
        "nested": {"ids": [DEMO_FATHER]}, "auth": f"Bearer {token[3:]}", "count": 123456789012})
    try:
        raise ValueError(f"no record for {DEMO_FATHER}")
    except ValueError:
        log.exception("failed")
    first, second = logged()
    written = _text([first, second])
    for secret in (DEMO_FATHER, STRANGER, "012345678", "plain-secret-value", "s3cr3t",
                   "abcdefgh", token[3:]):
        assert secret not in written, secret
    assert first["message"] == f"lookup of {logs.pseudonym(DEMO_FATHER)} by tk_***"
    assert first["personal_id"] == logs.pseudonym(STRANGER)
    assert first["nested"] == {"ids": [logs.pseudonym(DEMO_FATHER)]}
    assert first["token"] == first["receipt_secret"] == "***"
    assert first["url"] == "/api/v1/receipts/X?secret=***&personal_id=***"
    assert first["count"] == 123456789012  # numbers are not personal numbers
    assert logs.pseudonym(DEMO_FATHER) in second["exc_info"]


def test_pseudonyms_are_stable_keyed_and_not_numbers() -> None:
    logs.use_key("one installation")
    a = logs.pseudonym(DEMO_FATHER)
    assert a == logs.pseudonym(DEMO_FATHER) != logs.pseudonym(STRANGER)
    assert logs.redact(a) == a  # never a number to redact again
    logs.use_key("another installation")
    assert logs.pseudonym(DEMO_FATHER) != a


# -- headers and caching -------------------------------------------------------------------

SECURITY = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def _secured(resp) -> None:
    for name, value in SECURITY.items():
        assert resp.headers.get(name) == value, (name, resp.status_code)
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "Strict-Transport-Security" not in resp.headers  # plain HTTP


def test_every_kind_of_response_has_the_security_headers(app, issued) -> None:
    client = issued["client"]
    responses = {
        "json": client.get("/api/v1/forms"),
        "authenticated json": client.get("/api/v1/dossiers", headers=issued["father"]),
        "401": client.get("/api/v1/dossiers"),
        "404": client.get("/api/v1/no-such-thing"),
        "422": client.post("/api/v1/dossiers", json={"form_id": 1}, headers=issued["father"]),
        "pdf": client.get(f"/api/v1/dossiers/{issued['code']}/result",
                          headers=issued["father"]),
        "openapi": client.get("/api/v1/openapi.json"),
        "health": client.get("/healthz"),
    }
    assert responses["pdf"].mimetype == "application/pdf"
    assert [r.status_code for r in responses.values()] == [200, 200, 401, 404, 422, 200, 200,
                                                           200]
    for resp in responses.values():
        _secured(resp)


def test_personal_data_and_documents_are_never_stored(app, issued) -> None:
    client, father, doc = issued["client"], issued["father"], issued["doc"]
    link = client.post(f"/api/v1/repository/documents/{doc['document_id']}/links",
                       headers=father).get_json()["url"]
    responses = [
        client.get("/api/v1/dossiers", headers=father),
        client.get(f"/api/v1/dossiers/{issued['code']}", headers=father),
        client.get(f"/api/v1/forms/{FORM}/versions/1/prefill", headers=father),
        client.get(f"/api/v1/dossiers/{issued['code']}/result", headers=father),
        client.get(f"/api/v1/repository/documents/{doc['document_id']}/content",
                   headers=father),
        client.get(link),
        client.get(f"/api/v1/dossiers/{issued['code']}", headers=issued["clerk"]),
        client.get("/api/v1/dossiers/nope", headers=father),  # errors too
    ]
    for resp in responses:
        assert resp.headers["Cache-Control"] == "no-store", (resp.request.path, resp.headers)
    assert [r.status_code for r in responses[:-1]] == [200] * 7


def test_public_schemas_keep_their_caching(client) -> None:
    url = f"/api/v1/forms/{FORM}/versions/1/schema"
    first = client.get(url)
    assert first.headers["Cache-Control"] == "public, max-age=300" and first.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.headers["Cache-Control"] == "public, max-age=300"
    _secured(again)


def _bare_app(**overrides: object) -> Flask:
    bare = Flask("headers-test")
    headers.install(bare, Settings.from_env(database_url="sqlite://", **overrides))

    @bare.get("/page")
    def page():
        return "<p>page</p>", 200, {"Content-Security-Policy": "default-src 'self'"}

    return bare


def test_hsts_only_over_tls_and_forwarded_proto_only_from_a_trusted_proxy() -> None:
    direct = _bare_app().test_client()
    assert "Strict-Transport-Security" not in direct.get("/page").headers
    secure = direct.get("/page", base_url="https://tokhai.example")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    assert "Strict-Transport-Security" not in direct.get("/page", headers=forwarded).headers
    proxied = _bare_app(trusted_proxies=1).test_client()
    assert "Strict-Transport-Security" in proxied.get("/page", headers=forwarded).headers


def test_a_page_may_set_its_own_content_security_policy() -> None:
    resp = _bare_app().test_client().get("/page")
    assert resp.headers["Content-Security-Policy"] == "default-src 'self'"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Cache-Control"] == "no-store"

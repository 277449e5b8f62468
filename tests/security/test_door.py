"""The door: authentication before any body is read, bodies bounded in size (chunked ones
too) and in JSON depth before parsing, text that cannot be encoded or hides itself refused with
422 naming the field, and no stored value that can make a read fail (issue #10: 2, 6, 13, 16,
18)."""

from __future__ import annotations

import http.client
import json
import logging
import threading
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from storage.models import Dossier
from tests.conftest import _token, make_app, sample_definition, valid_submission

FORM = "don-de-nghi-doi-cap-lai-gplx"
AGENCY = "CA-HN"
FORM_PATH = f"/api/v1/forms/{FORM}/versions/1"
JSON = {"Content-Type": "application/json"}
#: the JSON POSTs the review found answering 500 to deep nesting, and the role each needs
JSON_POSTS = [("/api/v1/dossiers", "citizen"), (f"{FORM_PATH}/validate", "citizen"),
              ("/api/v1/forms", "designer")]
#: invisible and bidirectional-control characters, NUL, a lone surrogate, and characters
#: that are invisible though not format characters (the attack review printed "Bệnh viện"
#: + four Hangul fillers + "X" on a signed result as "Bệnh việnX")
HOSTILE = {"RLO": "\u202e", "ZWJ": "\u200d", "BOM": "\ufeff", "NUL": "\x00",
           "LRI": "\u2066", "surrogate": "\ud800", "Hangul filler": "\u3164",
           "halfwidth Hangul filler": "\uffa0", "choseong filler": "\u115f",
           "braille blank": "\u2800", "grapheme joiner": "\u034f",
           "variation selector": "\ufe0f", "Khmer inherent vowel": "\u17b4",
           "line separator": "\u2028", "paragraph separator": "\u2029"}


def nested(levels: int) -> bytes:
    return b'{"data":' + b"[" * levels + b"]" * levels + b"}"


def raw_json(value: Any) -> bytes:
    """JSON as a client would send it: lone surrogates as ``\\ud800`` escapes (the test
    client's own encoder goes through the application's, which would replace them)."""
    return json.dumps(value).encode()


@pytest.fixture
def clerk(app) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'officer', agency_code=AGENCY)}"}


@pytest.fixture
def headers_of(app, father, designer):
    return {"citizen": father, "designer": designer}


def submission(client, app, reason: str) -> dict[str, Any]:
    data = valid_submission(client, app, FORM)
    data["de_nghi"]["ly_do"] = reason
    return {"form_id": FORM, "version": 1, "agency_code": AGENCY, "data": data}


# -- authentication before the body ------------------------------------------------------------


def test_deep_json_without_a_token_is_401_and_logs_nothing(client, caplog) -> None:
    with caplog.at_level(logging.INFO):
        for path, _ in JSON_POSTS:
            resp = client.post(path, data=nested(10_000), headers=JSON)
            assert resp.status_code == 401, (path, resp.get_json())
            assert resp.get_json()["code"] == "unauthenticated"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_an_invalid_body_without_a_token_is_401_not_422(client, father) -> None:
    for path, _ in JSON_POSTS[:2]:
        assert client.post(path, json={"bad": 1}).status_code == 401
    assert client.post("/api/v1/dossiers/X/actions", json={"action": 5}).status_code == 401
    # invalid query arguments too, and a wrong role is 403 before the body is looked at
    assert client.get("/api/v1/events", query_string={"limit": "x"}).status_code == 401
    assert client.get("/api/v1/dossiers", query_string={"page": "x"}).status_code == 401
    wrong_role = client.post("/api/v1/dossiers/X/explanation", json={"x": 1}, headers=father)
    assert wrong_role.status_code == 403
    # with the right token the body's errors are reported as before
    bad = client.post("/api/v1/dossiers", json={"bad": 1}, headers=father)
    assert bad.status_code == 422 and bad.get_json()["code"] == "invalid"


# -- JSON depth ------------------------------------------------------------------------------


@pytest.mark.parametrize("levels", [900, 10_000])
def test_deep_json_with_a_token_is_422(client, headers_of, levels, caplog) -> None:
    with caplog.at_level(logging.INFO):
        for path, role in JSON_POSTS:
            resp = client.post(path, data=nested(levels), headers={**headers_of[role], **JSON})
            assert resp.status_code == 422, (path, resp.get_json())
            body = resp.get_json()
            assert (body["code"], body["field"]) == ("json_too_deep", "json")
            assert f"({levels + 1} levels; at most 32)" in body["message_en"] and body["message"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    # brackets inside strings do not count
    text = '[[[{{"\\"' * 200
    resp = client.post(f"{FORM_PATH}/validate", headers=headers_of["citizen"],
                       json={"data": {"de_nghi": {"ly_do": text}}})
    assert resp.status_code == 200, resp.get_json()


def test_a_number_too_long_to_read_is_422(client, father) -> None:
    resp = client.post(f"{FORM_PATH}/validate", headers={**father, **JSON},
                       data=b'{"data": {"n": ' + b"1" * 5000 + b"}}")
    assert resp.status_code == 422 and resp.get_json()["code"] == "json_unreadable"


# -- characters ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_characters_are_refused_naming_the_field(client, app, father, name) -> None:
    body = submission(client, app, f"Mất{HOSTILE[name]} giấy")
    before = count(app)
    for path, sent in (("/api/v1/dossiers", body),
                       (f"{FORM_PATH}/validate", {"data": body["data"]})):
        resp = client.post(path, data=raw_json(sent), headers={**father, **JSON})
        assert resp.status_code == 422, (path, resp.get_json())
        got = resp.get_json()
        assert (got["code"], got["field"]) == ("invalid_character", "json.data.de_nghi.ly_do")
        assert f"U+{ord(HOSTILE[name]):04X}" in got["errors"][0]["message_en"]
    assert count(app) == before


def test_hostile_characters_in_keys_and_other_bodies(client, app, father, clerk) -> None:
    body = submission(client, app, "Mất giấy")
    body["data"]["de_nghi"]["x\ud800"] = "1"
    body["data"]["de_nghi"]["ly_do"] = "\u202eabc"
    resp = client.post("/api/v1/dossiers", data=raw_json(body), headers={**father, **JSON})
    assert resp.status_code == 422
    fields = {e["field"] for e in resp.get_json()["errors"]}
    assert fields == {"json.data.de_nghi.x\\ud800", "json.data.de_nghi.ly_do"}
    assert resp.get_json()["field"] is None  # more than one
    code = client.post("/api/v1/dossiers", json=submission(client, app, "Mất giấy"),
                       headers=father).get_json()["code"]
    etag = client.get(f"/api/v1/dossiers/{code}", headers=clerk).headers["ETag"]
    reject = client.post(f"/api/v1/dossiers/{code}/actions", headers={
        **clerk, **JSON, "If-Match": etag}, data=raw_json({"action": "reject",
                                                           "reason": "Thiếu\ud83d giấy"}))
    assert reject.status_code == 422 and reject.get_json()["field"] == "json.reason"
    # ordinary text passes: Vietnamese (NFC and NFD), CR LF and tabs from text areas, emoji
    # (without joiners), other scripts
    reason = ("Mất giấy phép lái xe\r\n\tdo bị trộm 😀 — «ngày 1/1» 中文 "
              + unicodedata.normalize("NFD", "Mất giấy phép lái xe"))
    resp = client.post(f"{FORM_PATH}/validate", headers=father,
                       json={"data": submission(client, app, reason)["data"]})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["valid"], resp.get_json()["errors"]


def test_form_definitions_are_checked_in_yaml_and_json(client, designer) -> None:
    yaml_text = sample_definition().replace("title: Tờ khai thử nghiệm",
                                            'title: "Tờ khai \\u202ethử nghiệm"')
    resp = client.post("/api/v1/forms", data=yaml_text.encode(),
                       headers={**designer, "Content-Type": "application/yaml"})
    assert resp.status_code == 422, resp.get_json()
    assert (resp.get_json()["code"], resp.get_json()["field"]) == ("invalid_character",
                                                                   "definition.title")
    as_json = client.post("/api/v1/forms", headers={**designer, **JSON},
                          data=raw_json({"id": "x", "version": 1, "title": "a\ud800"}))
    assert as_json.status_code == 422 and as_json.get_json()["field"] == "json.title"


# -- reading what an earlier version stored ---------------------------------------------------


def test_a_stored_lone_surrogate_cannot_make_a_read_fail(client, app, father, clerk) -> None:
    code = client.post("/api/v1/dossiers", json=submission(client, app, "Mất giấy"),
                       headers=father).get_json()["code"]
    with app.extensions["tokhai"].sessions() as session:  # as an earlier version stored it
        dossier = session.scalar(select(Dossier).where(Dossier.code == code))
        data = json.loads(json.dumps(dossier.data))
        data["de_nghi"]["ly_do"] = "Mất\ud800 giấy"
        dossier.data = data
        session.commit()
    one = client.get(f"/api/v1/dossiers/{code}", headers=father)
    assert one.status_code == 200
    assert one.get_json()["data"]["de_nghi"]["ly_do"] == "Mất\ufffd giấy"
    assert client.get("/api/v1/dossiers", headers=father).status_code == 200
    queue = client.get("/api/v1/dossiers", headers=clerk, query_string={"per_page": 100})
    assert queue.status_code == 200 and code in {d["code"] for d in queue.get_json()["items"]}
    accepted = client.post(f"/api/v1/dossiers/{code}/actions", json={"action": "accept"},
                           headers={**clerk, "If-Match": one.headers["ETag"]})
    assert accepted.status_code == 200, accepted.get_json()


def count(app) -> int:
    with app.extensions["tokhai"].sessions() as session:
        return len(session.scalars(select(Dossier.id)).all())


# -- size, chunked -----------------------------------------------------------------------------

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, int]]:
    """An application with small limits behind a real HTTP server (werkzeug's, which
    accepts chunked bodies), on a free loopback port."""
    data_dir: Path = tmp_path_factory.mktemp("door")
    application = make_app(f"sqlite:///{data_dir / 'door.db'}", data_dir,
                           max_request_bytes=LIMIT, verify_max_bytes=LIMIT,
                           max_upload_bytes=LIMIT)
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield application, server.server_port
    server.shutdown()
    thread.join(5)


def send_chunked(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        chunks = (body[i:i + 8192] for i in range(0, len(body), 8192))
        conn.request("POST", path, body=chunks, headers=headers, encode_chunked=True)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"null")
    finally:
        conn.close()


def test_chunked_bodies_over_the_limit_are_413(served) -> None:
    application, port = served
    pdf = {"Content-Type": "application/pdf"}
    junk = b"%PDF-1.7\n" + b"x" * LIMIT
    status, body = send_chunked(port, "/api/v1/verifications", junk, pdf)
    assert (status, body["code"]) == (413, "too_large")
    officer = {"Authorization": f"Bearer {_token(application, 'officer', agency_code=AGENCY)}"}
    status, body = send_chunked(port, "/api/v1/digitised-documents?kind=birth_certificate",
                                junk, {**pdf, **officer})
    assert (status, body["code"]) == (413, "too_large")
    token = _token(application, "citizen", personal_id="001090000001")
    citizen = {"Authorization": f"Bearer {token}"}
    big_json = b'{"data": "' + b"a" * LIMIT + b'"}'
    status, body = send_chunked(port, f"{FORM_PATH}/validate", big_json, {**JSON, **citizen})
    assert (status, body["code"]) == (413, "too_large")
    # under the limit the whole body is read: the verification reports on it as usual
    status, body = send_chunked(port, "/api/v1/verifications", junk[:LIMIT - 10], pdf)
    assert status == 422 and body["code"] != "too_large"

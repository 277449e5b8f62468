"""External registers over HTTP: a dead, slow or garbage-answering source degrades prefill,
never breaks it."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from service.cli import load_demo
from service.records import demo
from service.records.sources import HttpSettings, HttpSource, SourceError
from tests.conftest import make_app

FATHER = demo.DEMO_FATHER
LICENCE = {"number": "790123456789", "licence_class": "B", "issue_date": "2015-04-01",
           "issued_by": "Sở Giao thông vận tải Hà Nội", "training_institution": "Trường lái",
           "training_year": 2015, "revoked": False}


SPOUSE, CHILD = "001188000002", "001222000003"
FAMILY = {
    FATHER: {"personal_id": FATHER, "full_name": "Nguyễn Văn An", "sex": "nam",
             "birth_date": "1985-03-14", "spouse_personal_id": SPOUSE,
             "children_personal_ids": [CHILD],
             "household_member_personal_ids": [SPOUSE, CHILD]},
    SPOUSE: {"personal_id": SPOUSE, "full_name": "Trần Thị Bình", "sex": "nu",
             "birth_date": "1988-09-02", "spouse_personal_id": FATHER},
    CHILD: {"personal_id": CHILD, "full_name": "Nguyễn Minh Khôi", "sex": "nam",
            "birth_date": "2022-06-01", "father_personal_id": FATHER,
            "mother_personal_id": SPOUSE},
}


class Handler(BaseHTTPRequestHandler):
    """/good/ID answers a record; /slow sleeps; /garbage, /huge, /bad-values, /error misbehave;
    anything for an unknown subject is 404."""

    calls: dict[str, int] = {}

    def log_message(self, *args):
        pass

    def do_GET(self) -> None:  # noqa: N802
        mode, _, subject = self.path.strip("/").partition("/")
        Handler.calls[mode] = Handler.calls.get(mode, 0) + 1
        if mode == "population":
            found = FAMILY.get(subject)
            if found is None:
                return self._send(404, b"{}")
            return self._send(200, json.dumps({"record_id": f"DC-{subject}",
                                               "data": found}).encode())
        if mode == "slow":
            time.sleep(2.0)
        if subject != FATHER:
            return self._send(404, b'{"error": "not found"}')
        if mode in ("good", "slow"):
            return self._send(200, json.dumps({"record_id": "GPLX-1", "data": LICENCE}).encode())
        if mode == "garbage":
            return self._send(200, b"<html>not json</html>")
        if mode == "huge":
            return self._send(200, b'{"data": {"number": "' + b"9" * 2_000_000 + b'"}}')
        if mode == "bad-values":
            return self._send(200, json.dumps({"data": {**LICENCE,
                                                        "issue_date": "31/02/1990"}}).encode())
        return self._send(500, b"oops")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


FAST = {"source_connect_timeout": 0.3, "source_read_timeout": 0.5, "source_retries": 1,
        "prefill_deadline": 1.5}


def app_with_licence_source(tmp_path, url: str):
    app = make_app(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path,
                   source_urls={"driving_licence": url}, **FAST)
    with app.app_context():
        load_demo(demo.generate(3))
    return app


def licence_prefill(app):
    from tests.conftest import _token

    token = _token(app, "citizen", personal_id=FATHER)
    started = time.monotonic()
    resp = app.test_client().get("/api/v1/forms/don-de-nghi-doi-cap-lai-gplx/versions/1/prefill",
                                 headers={"Authorization": f"Bearer {token}"})
    return resp, time.monotonic() - started


def test_a_good_http_source_fills_fields(tmp_path, server) -> None:
    resp, _ = licence_prefill(app_with_licence_source(tmp_path, f"{server}/good"))
    body = resp.get_json()
    assert resp.status_code == 200 and body["failed_sources"] == []
    assert body["data"]["gplx_hien_co"]["so"] == "790123456789"
    prov = body["provenance"]["/gplx_hien_co/so"]
    assert prov["source"] == "driving_licence@127.0.0.1" and prov["record_id"] == "GPLX-1"


@pytest.mark.parametrize(("mode", "reason"), [
    ("dead", "unreachable"), ("slow", "timeout"), ("garbage", "malformed"),
    ("huge", "oversized"), ("bad-values", "malformed"), ("error", "server_error"),
])
def test_a_failing_source_degrades(tmp_path, server, mode, reason) -> None:
    url = dead_url() if mode == "dead" else f"{server}/{mode}"
    resp, elapsed = licence_prefill(app_with_licence_source(tmp_path, url))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["failed_sources"] == [{"source": "driving_licence@127.0.0.1", "reason": reason}]
    # the other registers still answer
    assert body["data"]["nguoi_de_nghi"]["ho_ten"] == "Nguyễn Văn An"
    assert "gplx_hien_co" not in body["data"] or body["data"]["gplx_hien_co"] == {}
    assert {m["reason"] for m in body["missing"]} == {"source_failed"}
    assert elapsed < FAST["prefill_deadline"] + 1.0


def test_the_circuit_opens_after_repeated_failures() -> None:
    source = HttpSource("driving_licence", dead_url(),
                        HttpSettings(connect_timeout=0.2, read_timeout=0.2, retries=0,
                                     breaker_failures=3, breaker_reset_seconds=60))
    reasons = []
    for _ in range(5):
        try:
            source.lookup(FATHER)
        except SourceError as exc:
            reasons.append(exc.reason)
    assert reasons[:2] == ["unreachable", "unreachable"]
    assert reasons[-1] == "circuit_open"


def test_unknown_subjects_and_retries(server) -> None:
    source = HttpSource("driving_licence", f"{server}/error",
                        HttpSettings(retries=2, breaker_failures=100))
    before = Handler.calls.get("error", 0)
    with pytest.raises(SourceError):
        source.lookup(FATHER)
    assert Handler.calls["error"] - before == 3  # one try and two bounded retries
    assert HttpSource("driving_licence", f"{server}/good").lookup("001099999999") is None


def test_a_remote_population_register_links_the_family(tmp_path, server) -> None:
    """With the population register behind HTTP, the links come in the declarant's record and
    the linked people are looked up there too; nobody else is asked for."""
    from tests.conftest import _token

    app = make_app(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path,
                   source_urls={"population": f"{server}/population"}, **FAST)
    token = _token(app, "citizen", personal_id=FATHER)
    before = Handler.calls.get("population", 0)
    resp = app.test_client().get("/api/v1/forms/to-khai-dang-ky-khai-sinh/versions/1/prefill",
                                 headers={"Authorization": f"Bearer {token}"})
    body = resp.get_json()
    assert resp.status_code == 200 and body["failed_sources"] == []
    assert body["data"]["nguoi_cha"]["ho_ten"] == "Nguyễn Văn An"
    assert body["data"]["nguoi_me"]["ho_ten"] == "Trần Thị Bình"
    assert body["provenance"]["/nguoi_me/ho_ten"]["record_id"] == f"DC-{SPOUSE}"
    assert Handler.calls["population"] - before == 2  # the declarant, then the spouse
    u14 = app.test_client().get(
        "/api/v1/forms/to-khai-cap-ho-chieu-nguoi-chua-du-14-tuoi/versions/1/prefill",
        headers={"Authorization": f"Bearer {token}"}).get_json()
    assert u14["data"]["tre_em"]["so_dinh_danh"] == CHILD
    assert u14["data"]["tre_em"]["me"]["ho_ten"] == "Trần Thị Bình"

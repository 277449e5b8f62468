# ruff: noqa: E501 - embedded YAML fields and one long constructor call stay on one line
"""The document repository: the store contract on both backends, retention, the durable
hand-over, citizens' and agencies' access with consent, the access log, reuse."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote

import httpx
import pytest
from sqlalchemy import select, text

from storage.documents import (
    LocalStore,
    ObjectExists,
    ObjectRetained,
    Retention,
    S3Settings,
    S3Store,
    StoreMisconfigured,
    StoreUnavailable,
    object_key,
)
from storage.models import AccessLog, DossierDocument, Record, RecordChange
from tests.conftest import (
    DEMO_FATHER,
    _token,
    citizen_headers,
    demo_app,
    s3_overrides,
)
from tests.service.results.test_results import AGENCY, in_processing, issue

PDF = b"%PDF-1.7\n" + b"x" * 1000


def _bucket() -> str:
    return f"t-{uuid.uuid4().hex[:16]}"


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path, s3_server):
    if request.param == "local":
        s = LocalStore(tmp_path / "documents")
    else:
        s = S3Store(S3Settings(s3_server["endpoint"], s3_server["access_key"],
                               s3_server["secret_key"], _bucket(), secure=False, timeout=2))
    s.ensure_ready(production=request.param == "local")
    return s


def _key() -> str:
    return object_key("001085012345", str(uuid.uuid4()))


# -- the store contract, on both backends -----------------------------------------------------

def test_put_get_stat_and_retry(store) -> None:
    key, sha = _key(), hashlib.sha256(PDF).hexdigest()
    until = datetime.now(UTC) + timedelta(days=30)
    stored = store.put(key, PDF, sha256=sha, metadata={"dossier-code": "X-1",
                                                       "issuing-agency": "UBND-XA-00004"},
                       retention=Retention(until))
    assert stored.sha256 == sha and stored.size == len(PDF)
    assert store.get(key) == PDF and b"".join(store.stream(key)) == PDF
    info = store.stat(key)
    assert info is not None and info.sha256 == sha and info.metadata["dossier-code"] == "X-1"
    again = store.put(key, PDF, sha256=sha, metadata={}, retention=Retention(until))
    assert again.sha256 == sha  # a retry of the same bytes is a no-op
    assert key in set(store.keys("001085012345/"))


def test_no_overwrite_and_no_delete_while_retained(store) -> None:
    key, sha = _key(), hashlib.sha256(PDF).hexdigest()
    store.put(key, PDF, sha256=sha, metadata={},
              retention=Retention(datetime.now(UTC) + timedelta(days=30)))
    other = PDF + b"changed"
    with pytest.raises(ObjectExists):
        store.put(key, other, sha256=hashlib.sha256(other).hexdigest(), metadata={},
                  retention=Retention(datetime.now(UTC) + timedelta(days=30)))
    with pytest.raises(ObjectRetained):
        store.delete(key)
    held = _key()
    store.put(held, PDF, sha256=sha, metadata={}, retention=Retention(None, legal_hold=True))
    with pytest.raises(ObjectRetained):
        store.delete(held)
    assert store.get(key) == PDF and store.get(held) == PDF


def test_even_the_raw_s3_client_cannot_remove_a_retained_version(s3_server) -> None:
    """COMPLIANCE mode: not this service, not anyone with the bucket's keys."""
    from minio.error import S3Error

    s = S3Store(S3Settings(s3_server["endpoint"], s3_server["access_key"],
                           s3_server["secret_key"], _bucket(), secure=False))
    s.ensure_ready(production=False)
    key, sha = _key(), hashlib.sha256(PDF).hexdigest()
    version = s.put(key, PDF, sha256=sha, metadata={},
                    retention=Retention(datetime.now(UTC) + timedelta(days=1))).version_id
    with pytest.raises(S3Error):
        s.client.remove_object(s.bucket, key, version_id=version)
    s.client.put_object(s.bucket, key, io.BytesIO(b"forged"), 6)  # a new version, at most
    original = s.client.get_object(s.bucket, key, version_id=version)
    assert original.read() == PDF


_SOME_ID = "8c0e6a62-3f3b-4b8e-9d3c-0d6f2a1b7e55"


@pytest.mark.parametrize("owner, document_id", [
    ("../../etc", _SOME_ID), ("001085012345", "../passwd"),
    ("001085012345", "a%2Fb"), ("0010850\x0012345", _SOME_ID),
    ("00108501234５", _SOME_ID), ("001085012345", "tài-liệu"),
])
def test_path_like_ids_never_make_a_key(owner: str, document_id: str) -> None:
    with pytest.raises(ValueError):
        object_key(owner, document_id)


def test_a_bucket_without_object_lock_stops_production(s3_server, tmp_path) -> None:
    plain = S3Store(S3Settings(s3_server["endpoint"], s3_server["access_key"],
                               s3_server["secret_key"], _bucket(), secure=False))
    plain.client.make_bucket(plain.bucket)  # no object lock, no versioning
    with pytest.raises(StoreMisconfigured, match="object lock"):
        plain.ensure_ready(production=True)
    plain.ensure_ready(production=False)  # development: a warning only
    env = {"TOKHAI_STORE": "s3", "TOKHAI_S3_ENDPOINT": str(s3_server["endpoint"]),
           "TOKHAI_S3_ACCESS_KEY": str(s3_server["access_key"]),
           "TOKHAI_S3_SECRET_KEY": str(s3_server["secret_key"]),
           "TOKHAI_S3_BUCKET": plain.bucket, "TOKHAI_S3_SECURE": "0",
           "TOKHAI_PRODUCTION": "1", "TOKHAI_DATA_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "PATH": "/usr/bin:/bin"}
    started = subprocess.run([sys.executable, "-c", "import wsgi"], env=env,
                             capture_output=True, text=True, cwd=Path(__file__).parents[3])
    assert started.returncode == 1 and "tokhai cannot start: bucket" in started.stderr
    assert "object lock is not configured" in started.stderr
    assert "Traceback" not in started.stderr


def test_an_unreachable_store_is_unavailable_not_a_crash() -> None:
    with socket_port() as port:
        s = S3Store(S3Settings(f"127.0.0.1:{port}", "a", "b", "kho-tai-lieu", secure=False,
                               timeout=1))
        with pytest.raises(StoreUnavailable):
            s.stat(_key())


class socket_port:
    """A port with nothing listening."""

    def __enter__(self) -> int:
        import socket

        self.s = socket.socket()
        self.s.bind(("127.0.0.1", 0))
        return self.s.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        self.s.close()


# -- through the service, on S3 ---------------------------------------------------------------

@pytest.fixture
def s3_app(s3_server, signing_config, tmp_path, people):
    return demo_app(tmp_path, "s3", AGENCY, signing_config=signing_config,
                    **s3_overrides(s3_server, _bucket())).app


def test_issued_results_are_archived_with_their_metadata(s3_app) -> None:
    client = s3_app.test_client()
    father = citizen_headers(s3_app, DEMO_FATHER)
    clerk = {"Authorization": f"Bearer {_token(s3_app, 'officer', agency_code=AGENCY)}"}
    code, etag = in_processing(client, s3_app, father, clerk)
    doc = issue(client, clerk, code, etag).get_json()
    assert doc["archiving"] == "stored"
    store = s3_app.extensions["tokhai"].store
    info = store.stat(object_key(DEMO_FATHER, doc["document_id"]))
    assert info.sha256 == doc["sha256"]
    assert info.metadata["dossier-code"] == code and info.metadata["procedure"] == "1.001193"
    assert info.metadata["issuing-agency"] == AGENCY and info.metadata["issued-at"]
    assert info.metadata["media-type"] == "application/pdf"
    legal_hold = store.client.is_object_legal_hold_enabled(store.bucket, info.key)
    assert legal_hold  # a birth extract is kept for ever
    listed = client.get("/api/v1/repository/documents", headers=father).get_json()
    assert [d["document_id"] for d in listed["items"]] == [doc["document_id"]]
    content = client.get(f"/api/v1/repository/documents/{doc['document_id']}/content",
                         headers=father)
    assert content.status_code == 200
    assert hashlib.sha256(content.data).hexdigest() == doc["sha256"]
    disposition = content.headers["Content-Disposition"]
    assert "filename*=UTF-8''" in disposition
    assert unquote(disposition.split("''")[1]).startswith("Trích lục khai sinh ")
    redirect = client.get(f"/api/v1/repository/documents/{doc['document_id']}/content",
                          query_string={"redirect": "true"}, headers=father)
    assert redirect.status_code == 302
    # the store's URL cannot be revoked: it lives a minute, not TOKHAI_PRESIGN_SECONDS
    assert "X-Amz-Expires=60&" in redirect.headers["Location"]
    fetched = httpx.get(redirect.headers["Location"])
    assert fetched.status_code == 200 and hashlib.sha256(fetched.content).hexdigest() == \
        doc["sha256"]


def test_presigned_urls_are_short_lived(s3_server) -> None:
    """The URL is signed (SigV4) for the configured seconds only. The store refuses it
    afterwards: MinIO and S3 check X-Amz-Date + X-Amz-Expires; moto, which the suite runs
    against, does not check expiry, so this test checks what the URL asks for."""
    from urllib.parse import parse_qs, urlparse

    s = S3Store(S3Settings(s3_server["endpoint"], s3_server["access_key"],
                           s3_server["secret_key"], _bucket(), secure=False))
    s.ensure_ready(production=False)
    key = _key()
    s.put(key, PDF, sha256=hashlib.sha256(PDF).hexdigest(), metadata={},
          retention=Retention(datetime.now(UTC) + timedelta(days=1)))
    url = s.presigned_url(key, timedelta(seconds=90), "Giấy tờ.pdf")
    assert url is not None
    query = parse_qs(urlparse(url).query)
    assert query["X-Amz-Expires"] == ["90"] and query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - signed_at).total_seconds()) < 60
    assert "filename*=UTF-8''Gi%E1%BA%A5y%20t%E1%BB%9D.pdf" in \
        query["response-content-disposition"][0]
    fetched = httpx.get(url)
    assert fetched.status_code == 200 and fetched.content == PDF


def test_a_store_outage_during_issuance_loses_nothing(s3_server, signing_config, tmp_path,
                                                      people) -> None:
    """The S3 server stops during issuance; results wait in the outbox; it starts again and
    the worker stores every document exactly once, with the right hash."""
    from moto.server import ThreadedMotoServer

    if s3_server["server"] is None:
        pytest.skip("needs the in-process moto server, which the test can stop")
    own = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    own.start()
    host, port = own.get_host_and_port()
    s3 = {**s3_server, "endpoint": f"{host}:{port}"}
    setup = demo_app(tmp_path, "outage", AGENCY, signing_config=signing_config,
                     **s3_overrides(s3, _bucket()))
    app, client, father, clerk = setup.app, setup.client, setup.father, setup.clerk
    ready = [in_processing(client, app, father, clerk) for _ in range(3)]
    first = issue(client, clerk, *ready[0]).get_json()
    assert first["archiving"] == "stored"
    own.stop()  # the store goes down
    pending = [issue(client, clerk, *d) for d in ready[1:]]
    assert all(r.status_code == 201 for r in pending)
    assert all(r.get_json()["archiving"] == "pending" for r in pending)
    dossier = client.get(f"/api/v1/dossiers/{ready[1][0]}", headers=father).get_json()
    assert dossier["status"] == "result_ready" and dossier["archiving"] == "pending"
    assert "chờ lưu vào kho" in dossier["status_label"]
    listed = {d["code"]: d["archiving"] for d in client.get(
        "/api/v1/dossiers", headers=father, query_string={"per_page": 100}).get_json()["items"]}
    assert listed[ready[1][0]] == "pending" and listed[ready[0][0]] == "stored"
    # the citizen still gets the result, from the outbox copy
    early = client.get(f"/api/v1/repository/documents/{pending[0].get_json()['document_id']}"
                       "/content", headers=father)
    assert early.status_code == 200
    runner = app.test_cli_runner()
    assert runner.invoke(args=["worker", "--once"]).exit_code == 1  # still down
    own = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    own.start()  # back (moto keeps its state in the process)
    done = runner.invoke(args=["worker", "--once"])
    assert done.exit_code == 0, done.output
    assert runner.invoke(args=["worker", "--once"]).exit_code == 0  # nothing left, no repeat
    store = app.extensions["tokhai"].store
    for response in [first, *[p.get_json() for p in pending]]:
        key = object_key(DEMO_FATHER, response["document_id"])
        versions = list(store.client.list_objects(store.bucket, prefix=key,
                                                  include_version=True))
        assert len(versions) == 1  # exactly once
        assert hashlib.sha256(store.get(key)).hexdigest() == response["sha256"]
    verified = runner.invoke(args=["repository", "verify"])
    assert verified.exit_code == 0 and ": 0 problem(s)" in verified.output
    own.stop()


# -- access, consent, audit, on the module's app (local store) --------------------------------

@pytest.fixture
def issued(app, people):
    client = app.test_client()
    father = citizen_headers(app, DEMO_FATHER)
    clerk = {"Authorization": f"Bearer {_token(app, 'officer', agency_code=AGENCY)}"}
    code, etag = in_processing(client, app, father, clerk)
    doc = issue(client, clerk, code, etag).get_json()
    return {"client": client, "father": father, "clerk": clerk, "code": code, "doc": doc}


def _audit(app, document_id: str) -> list[tuple[str, str, str]]:
    auditor = {"Authorization": f"Bearer {_token(app, 'auditor')}"}
    body = app.test_client().get("/api/v1/audit/access", headers=auditor,
                                 query_string={"document_id": document_id}).get_json()
    return [(e["role"], e["action"], e["outcome"]) for e in body["entries"]]


def test_citizens_see_only_their_own(app, issued) -> None:
    client, doc = issued["client"], issued["doc"]
    stranger = citizen_headers(app, "079199054321")
    url = f"/api/v1/repository/documents/{doc['document_id']}"
    assert client.get(url, headers=issued["father"]).status_code == 200
    probe = client.get(url, headers=stranger)
    assert probe.status_code == 404  # not 403: ids cannot be probed
    assert client.get(url + "/content", headers=stranger).status_code == 404
    listed = client.get("/api/v1/repository/documents", headers=stranger).get_json()
    assert doc["document_id"] not in {d["document_id"] for d in listed["items"]}
    entries = _audit(app, doc["document_id"])
    assert ("citizen", "metadata", "denied") in entries
    assert ("citizen", "metadata", "allowed") in entries
    for bad in ["..%2F..%2Fetc", "00000000-0000-0000-0000-000000000000", "x" * 300]:
        assert client.get(f"/api/v1/repository/documents/{bad}",
                          headers=issued["father"]).status_code == 404


def test_listing_filters_and_pages(app, issued) -> None:
    client, father = issued["client"], issued["father"]
    today = datetime.now(UTC).date()
    mine = client.get("/api/v1/repository/documents", headers=father,
                      query_string={"procedure_code": "1.001193", "per_page": 1}).get_json()
    assert mine["total"] >= 1 and len(mine["items"]) == 1
    assert all(d["procedure_code"] == "1.001193" for d in mine["items"])
    other = client.get("/api/v1/repository/documents", headers=father,
                       query_string={"procedure_code": "khac"}).get_json()
    assert other["total"] == 0
    future = client.get("/api/v1/repository/documents", headers=father, query_string={
        "issued_from": (today + timedelta(days=2)).isoformat()}).get_json()
    assert future["total"] == 0
    bad = client.get("/api/v1/repository/documents", headers=father,
                     query_string={"per_page": 1000})
    assert bad.status_code == 422


def file_at(client, app, father, agency: str) -> str:
    """The code of a dossier the father files at ``agency`` (a purpose that agency has)."""
    from tests.conftest import valid_submission
    from tests.service.results.test_results import FORM

    filed = client.post("/api/v1/dossiers", headers=father, json={
        "form_id": FORM, "version": 1, "agency_code": agency,
        "data": valid_submission(client, app, FORM)})
    assert filed.status_code == 201, filed.get_json()
    return filed.get_json()["code"]


OTHER_AGENCY = "UBND-XA-00007"


def test_agencies_need_to_have_issued_it_or_a_consent(app, issued) -> None:
    client, father, doc = issued["client"], issued["father"], issued["doc"]
    url = f"/api/v1/repository/documents/{doc['document_id']}/content"
    assert client.get(url, headers=issued["clerk"]).status_code == 200  # the issuer
    file_at(client, app, father, OTHER_AGENCY)  # the other agency handles the procedure
    other = {"Authorization": f"Bearer {_token(app, 'officer', agency_code=OTHER_AGENCY)}"}
    purpose = {"purpose": "procedure:1.001193"}
    refused = client.get(url, headers=other, query_string=purpose)
    assert refused.status_code == 404  # like an unknown document: existence is not told
    assert "đồng ý" in refused.get_json()["message"]
    expires = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    consent = client.post("/api/v1/consents", headers=father, json={
        "agency_code": OTHER_AGENCY, "purpose_kind": "procedure", "purpose": "1.001193",
        "expires_at": expires})
    assert consent.status_code == 201, consent.get_json()
    assert client.get(url, headers=other, query_string=purpose).status_code == 200
    assert client.get(url, headers=other).status_code == 404  # no purpose stated
    wrong = client.get(url, headers=other, query_string={"purpose": "procedure:khac"})
    assert wrong.status_code == 404
    listed = client.get("/api/v1/consents", headers=father).get_json()
    assert any(c["id"] == consent.get_json()["id"] and c["active"] for c in listed)
    revoked = client.delete(f"/api/v1/consents/{consent.get_json()['id']}", headers=father)
    assert revoked.status_code == 200 and revoked.get_json()["active"] is False
    assert client.get(url, headers=other, query_string=purpose).status_code == 404
    # an expired consent
    again = client.post("/api/v1/consents", headers=father, json={
        "agency_code": OTHER_AGENCY, "purpose_kind": "procedure", "purpose": "1.001193",
        "expires_at": expires}).get_json()
    with app.extensions["tokhai"].sessions() as session:
        session.execute(text("UPDATE consents SET expires_at = :t WHERE id = :i"),
                        {"t": datetime.now(UTC) - timedelta(minutes=1), "i": again["id"]})
        session.commit()
    assert client.get(url, headers=other, query_string=purpose).status_code == 404
    stranger = citizen_headers(app, "079199054321")
    assert client.delete(f"/api/v1/consents/{again['id']}", headers=stranger).status_code == 404
    past = client.post("/api/v1/consents", headers=father, json={
        "agency_code": OTHER_AGENCY, "purpose_kind": "dossier", "purpose": "X",
        "expires_at": "2020-01-01T00:00:00+07:00"})
    assert past.status_code == 422 and past.get_json()["field"] == "expires_at"
    entries = _audit(app, doc["document_id"])
    assert ("officer", "download", "denied") in entries
    assert ("officer", "download", "allowed") in entries


def test_the_access_log_is_append_only(app, issued) -> None:
    from sqlalchemy.exc import DBAPIError

    issued["client"].get(f"/api/v1/repository/documents/{issued['doc']['document_id']}",
                         headers=issued["father"])  # one access, logged
    with app.extensions["tokhai"].sessions() as session:
        assert session.scalar(select(AccessLog).limit(1)) is not None
        for statement in ("UPDATE access_log SET outcome = 'allowed'", "DELETE FROM access_log"):
            with pytest.raises(DBAPIError, match="append-only"):
                session.execute(text(statement))
            session.rollback()
    clerk = issued["clerk"]
    assert app.test_client().get("/api/v1/audit/access", headers=clerk).status_code == 403


ATTACHMENT_FORM = """
id: de-nghi-kem-giay-to
version: 1
title: Đơn đề nghị có kèm giấy tờ
legal_basis: Thử nghiệm
procedure_code: local.thu.kem-giay-to
agency_level: commune
sections:
  - id: nguoi_de_nghi
    title: Người đề nghị
    fields:
      - {id: ho_ten, type: text, label: Họ và tên, prefill: {record: population.full_name, mode: verified}}
  - id: giay_to
    title: Giấy tờ kèm theo
    fields:
      - {id: trich_luc, type: attachment, label: Trích lục khai sinh, media_types: [application/pdf]}
"""


def test_a_submission_reuses_a_document_from_the_repository(app, issued) -> None:
    client, father = issued["client"], issued["father"]
    designer = {"Authorization": f"Bearer {_token(app, 'designer')}"}
    created = client.post("/api/v1/forms", data=ATTACHMENT_FORM.encode(),
                          headers={**designer, "Content-Type": "application/yaml"})
    assert created.status_code in (201, 409), created.get_json()
    client.post("/api/v1/forms/de-nghi-kem-giay-to/versions/1/publish", headers=designer)
    name = client.get("/api/v1/forms/de-nghi-kem-giay-to/versions/1/prefill",
                      headers=father).get_json()["data"]["nguoi_de_nghi"]["ho_ten"]

    def submit(document_id: str):
        return client.post("/api/v1/dossiers", headers=father, json={
            "form_id": "de-nghi-kem-giay-to", "version": 1, "agency_code": AGENCY,
            "data": {"nguoi_de_nghi": {"ho_ten": name},
                     "giay_to": {"trich_luc": [{"document_id": document_id}]}}})

    ok = submit(issued["doc"]["document_id"])
    assert ok.status_code == 201, ok.get_json()
    foreign = submit(str(uuid.uuid4()))
    assert foreign.status_code == 422
    assert foreign.get_json()["errors"][0]["code"] == "unknown_document"
    assert foreign.get_json()["errors"][0]["field"] == "/giay_to/trich_luc/0/document_id"


def test_a_marriage_result_prefills_the_next_form(app, people) -> None:
    """Once-only: the marriage registration's result becomes the civil-status record that
    the birth registration form prefills (provenance result:<document id>)."""
    client = app.test_client()
    father = citizen_headers(app, DEMO_FATHER)
    clerk = {"Authorization": f"Bearer {_token(app, 'officer', agency_code=AGENCY)}"}
    from tests.conftest import valid_submission

    body = {"form_id": "to-khai-dang-ky-ket-hon", "version": 1, "agency_code": AGENCY,
            "data": valid_submission(client, app, "to-khai-dang-ky-ket-hon")}
    filed = client.post("/api/v1/dossiers", json=body, headers=father)
    assert filed.status_code == 201, filed.get_json()
    code, etag = filed.get_json()["code"], filed.headers["ETag"]
    for action in ("accept", "start_processing"):
        moved = client.post(f"/api/v1/dossiers/{code}/actions", json={"action": action},
                            headers={**clerk, "If-Match": etag})
        etag = moved.headers["ETag"]
    doc = issue(client, clerk, code, etag).get_json()
    with app.extensions["tokhai"].sessions() as session:
        record = session.scalar(select(Record).where(Record.register == "civil_status",
                                                     Record.subject == DEMO_FATHER))
        assert record.data["marriage_certificate_number"] == doc["number"]
        assert record.provenance == f"result:{doc['document_id']}"
        # the change is in the record-change trail, with the result as its evidence
        trail = session.scalars(select(RecordChange).where(
            RecordChange.document_id == doc["document_id"])).all()
        assert [(t.register, t.subject, t.role, t.agency_code) for t in trail] == \
            [("civil_status", DEMO_FATHER, "officer", AGENCY)]
        assert trail[0].after["marriage_certificate_number"] == doc["number"]
    # auditors read the trail over HTTP; nobody else does
    auditor = {"Authorization": f"Bearer {_token(app, 'auditor')}"}
    page = client.get("/api/v1/audit/record-changes", headers=auditor,
                      query_string={"document_id": doc["document_id"]}).get_json()
    assert [(e["register"], e["subject"], e["document_id"]) for e in page["entries"]] == \
        [("civil_status", DEMO_FATHER, doc["document_id"])]
    assert page["next_after"] == page["entries"][0]["id"]
    for other in (father, clerk):
        assert client.get("/api/v1/audit/record-changes", headers=other).status_code == 403
    prefill = client.get("/api/v1/forms/to-khai-dang-ky-khai-sinh/versions/1/prefill",
                         headers=father).get_json()
    assert prefill["data"]["ket_hon_cha_me"]["so"] == doc["number"]
    assert doc["document_id"] in str(prefill)


def test_the_repository_check_finds_missing_extra_and_altered(app, issued) -> None:
    """The local store: an altered file and a missing one are found, and ``--repair``
    restores both from the verified copy; its exit code and counts are those after the
    repair (issue #12: altered objects were not restored, and the exit code and counts were
    those from before)."""
    store = app.extensions["tokhai"].store
    runner = app.test_cli_runner()
    assert runner.invoke(args=["repository", "verify"]).exit_code == 0
    key = object_key(DEMO_FATHER, issued["doc"]["document_id"])
    path = store.root / key
    path.chmod(0o644)
    original = path.read_bytes()
    path.write_bytes(original + b"%tampered")
    extra = object_key(DEMO_FATHER, str(uuid.uuid4()))
    store.put(extra, PDF, sha256=hashlib.sha256(PDF).hexdigest(), metadata={},
              retention=Retention(datetime.now(UTC) - timedelta(days=1)))
    report = runner.invoke(args=["repository", "verify"])
    assert report.exit_code == 1
    assert f"altered: {key}" in report.output and f"extra: {extra}" in report.output
    assert "2 problem(s) (altered 1, extra 1)" in report.output
    store.delete(extra)  # its retention has passed
    repaired = runner.invoke(args=["repository", "verify", "--repair"])
    assert f"altered: {key}" in repaired.output
    assert f"restored: document {issued['doc']['document_id']}" in repaired.output
    assert "found 1 problem(s) (altered 1), repaired 1; after repair: 0 problem(s)" in \
        repaired.output
    assert repaired.exit_code == 0, repaired.output
    assert path.read_bytes() == original and path.stat().st_mode & 0o777 == 0o444
    path.unlink()
    (store.root / (key + ".meta.json")).chmod(0o644)
    (store.root / (key + ".meta.json")).unlink()
    missing = runner.invoke(args=["repository", "verify", "--repair"])
    assert f"missing: {key}" in missing.output
    assert f"restored: document {issued['doc']['document_id']}" in missing.output
    assert missing.exit_code == 0, missing.output
    assert runner.invoke(args=["repository", "verify"]).exit_code == 0
    assert path.read_bytes() == original
    with app.extensions["tokhai"].sessions() as session:
        row = session.scalar(select(DossierDocument).where(
            DossierDocument.document_id == issued["doc"]["document_id"]))
        assert row.stored_at is not None and row.store_problem is None


def test_short_lived_download_links(app, issued, monkeypatch) -> None:
    client, father, doc = issued["client"], issued["father"], issued["doc"]
    made = client.post(f"/api/v1/repository/documents/{doc['document_id']}/links",
                       headers=father)
    assert made.status_code == 201
    url = made.get_json()["url"]
    fetched = client.get(url)  # no token needed
    assert fetched.status_code == 200
    assert hashlib.sha256(fetched.data).hexdigest() == doc["sha256"]
    stranger = citizen_headers(app, "079199054321")
    assert client.post(f"/api/v1/repository/documents/{doc['document_id']}/links",
                       headers=stranger).status_code == 404
    assert client.get(url[:-3] + "abc").status_code == 404  # tampered
    from itsdangerous import URLSafeTimedSerializer

    token = url.rsplit("/", 1)[1]
    old = URLSafeTimedSerializer(app.extensions["tokhai"].secret_key,
                                 salt="tokhai-download-link")
    claims = old.loads(token)
    monkeypatch.setattr(time, "time", lambda: 1_000_000_000.0)  # signed long ago
    expired_token = old.dumps(claims)
    monkeypatch.undo()
    expired = client.get(f"/api/v1/repository/links/{expired_token}")
    assert expired.status_code == 410 and expired.get_json()["code"] == "link_expired"
    entries = _audit(app, doc["document_id"])
    assert ("citizen", "link_download", "allowed") in entries


def test_documents_of_represented_organisations(app, issued) -> None:
    """A household business's documents (owned by its tax code) are listed and readable by
    the person the business register names as its representative, and no one else."""
    client, father = issued["client"], issued["father"]
    tax_code = "0312345678"
    with app.extensions["tokhai"].sessions() as session:
        from storage import records as store

        store.upsert_many(session, "business", [(tax_code, {
            "enterprise_code": tax_code, "name": "Hộ kinh doanh Phở Thìn",
            "legal_representative_personal_id": DEMO_FATHER})], "test")
        base = session.scalar(select(DossierDocument).where(
            DossierDocument.document_id == issued["doc"]["document_id"]))
        org_doc = DossierDocument(
            dossier_id=base.dossier_id, document_id=str(uuid.uuid4()), kind="letter",
            media_type="application/pdf", sha256=hashlib.sha256(PDF).hexdigest(),
            content=PDF, size=len(PDF), agency_code=AGENCY, owner_id=tax_code, signed_at=datetime.now(UTC),
            procedure_code="local.dkkd.ho-kinh-doanh", storage_key=object_key(
                tax_code, str(uuid.uuid4())))
        session.add(org_doc)
        session.commit()
        org_id = org_doc.document_id
    listed = client.get("/api/v1/repository/documents", headers=father).get_json()
    assert org_id in {d["document_id"] for d in listed["items"]}
    assert client.get(f"/api/v1/repository/documents/{org_id}/content",
                      headers=father).status_code == 200
    stranger = citizen_headers(app, "079199054321")
    assert client.get(f"/api/v1/repository/documents/{org_id}",
                      headers=stranger).status_code == 404


class _Closable(Protocol):
    def close(self) -> None: ...


def _failing_server() -> tuple[_Closable, str]:
    """A store answering every request with 503."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Failing(BaseHTTPRequestHandler):
        def _fail(self) -> None:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_PUT = do_HEAD = do_POST = _fail  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    class Closer:
        def close(self) -> None:
            server.shutdown()

    return Closer(), f"http://127.0.0.1:{server.server_address[1]}/tsa"


@pytest.mark.parametrize("failure", ["hangs", "answers 503"])
def test_a_failing_store_leaves_results_pending(failure, s3_server, signing_config, tmp_path,
                                                people) -> None:
    """A store that never answers, or answers with errors: issuance still succeeds within
    the store's timeout, and the result waits in the outbox."""
    from tests.service.results.test_results import _silent_server

    server, url = _silent_server() if failure == "hangs" else _failing_server()
    endpoint = url.removeprefix("http://").removesuffix("/tsa")
    setup = demo_app(tmp_path, "hang", AGENCY, signing_config=signing_config,
                     **{**s3_overrides(s3_server, _bucket()), "s3_endpoint": endpoint,
                        "s3_timeout": 1.0})
    app, client, father, clerk = setup.app, setup.client, setup.father, setup.clerk
    code, etag = in_processing(client, app, father, clerk)
    started = time.monotonic()
    issued = issue(client, clerk, code, etag)
    waited = time.monotonic() - started
    server.close()
    assert issued.status_code == 201 and issued.get_json()["archiving"] == "pending"
    assert waited < 8
    with app.extensions["tokhai"].sessions() as session:
        row = session.scalar(select(DossierDocument).where(
            DossierDocument.document_id == issued.get_json()["document_id"]))
        assert row.stored_at is None and row.archive_attempts == 1
        assert "StoreUnavailable" in row.archive_error

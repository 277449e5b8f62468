"""Issue #12, points 7, 8 and 10: the repository serves only what it stored, and notices and
repairs what the store lost.

boto3 is the attacker, against moto's S3 server (or the MinIO that TOKHAI_TEST_S3_ENDPOINT
names): a forged version PUT on a document's key, a DELETE (a delete marker), a legal hold
lifted, a retention shortened, the bucket lost. moto accepts shortening a COMPLIANCE retention,
which real S3 and MinIO refuse: no test depends on that. Whether or not the store refused an
attack, what is asserted is tokhai's own checks: the citizen's download, streamed, through the
presigned link and through tokhai's download link, and the agency's, return the bytes as
issued, never the forgery; ``tokhai repository verify`` and the worker name what was wrong and
restore it from the verified copy, with the original retention.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from service.repository.retention import parse_retention
from storage.documents import Retention, S3Settings, S3Store, object_key
from storage.models import DossierDocument
from tests.conftest import DEMO_FATHER, DemoApp, demo_app, s3_overrides
from tests.service.results.test_results import AGENCY, in_processing, issue

FORGED = b"%PDF-1.7\n% forged by someone with the bucket's keys\n" + b"y" * 500


def _bucket() -> str:
    return f"t-{uuid.uuid4().hex[:16]}"


def _attacker(s3_server: dict[str, Any]):
    """A plain S3 client with the bucket's keys: what an insider, or a leaked key, can do.
    Its refusals are ``client.exceptions.ClientError``."""
    import boto3  # type: ignore[import-untyped]  # ships no types; only the attacker uses it

    return boto3.client("s3", endpoint_url=f"http://{s3_server['endpoint']}",
                        aws_access_key_id=str(s3_server["access_key"]),
                        aws_secret_access_key=str(s3_server["secret_key"]),
                        region_name="us-east-1")


def _s3_setup(tmp_path, s3_server, signing_config, **overrides: Any) -> DemoApp:
    return demo_app(tmp_path, f"s3-{uuid.uuid4().hex[:6]}", AGENCY,
                    signing_config=signing_config,
                    **{**s3_overrides(s3_server, _bucket()), **overrides})


def _issue(setup: DemoApp) -> tuple[str, dict[str, Any]]:
    code, etag = in_processing(setup.client, setup.app, setup.father, setup.clerk)
    made = issue(setup.client, setup.clerk, code, etag)
    assert made.status_code == 201, made.get_json()
    doc = made.get_json()
    assert doc["archiving"] == "stored"
    return code, doc


def _row(app, document_id: str) -> DossierDocument:
    with app.extensions["tokhai"].sessions() as session:
        row = session.scalar(select(DossierDocument).where(
            DossierDocument.document_id == document_id))
        assert row is not None
        session.expunge(row)
        return row


def _downloads(setup: DemoApp, code: str, doc: dict[str, Any]) -> dict[str, tuple[int, bytes]]:
    """Every way a citizen or an agency gets the document's bytes: the dossier's result, the
    repository's download (streamed, and through the store's presigned link when one is
    given), tokhai's own download link; each answer's status and bytes."""
    client, father, clerk = setup.client, setup.father, setup.clerk
    content = f"/api/v1/repository/documents/{doc['document_id']}/content"
    answers: dict[str, tuple[int, bytes]] = {}
    for name, response in {
        "result (citizen)": client.get(f"/api/v1/dossiers/{code}/result", headers=father),
        "result (officer)": client.get(f"/api/v1/dossiers/{code}/result", headers=clerk),
        "streamed (citizen)": client.get(content, headers=father),
        "streamed (officer)": client.get(content, headers=clerk),
    }.items():
        if response.status_code == 200:
            assert response.headers["ETag"] == f'"{doc["sha256"]}"', name
        answers[name] = (response.status_code, response.data)
    redirected = client.get(content, headers=father, query_string={"redirect": "true"})
    if redirected.status_code == 302:
        location = redirected.headers["Location"]
        pinned = _row(setup.app, doc["document_id"]).store_version_id
        assert pinned and f"versionId={pinned}" in location  # the version written, only
        fetched = httpx.get(location)
        answers["presigned link"] = (fetched.status_code, fetched.content)
    else:  # no version passed the check: no link, the verified bytes instead
        answers["presigned link"] = (redirected.status_code, redirected.data)
    made = client.post(f"/api/v1/repository/documents/{doc['document_id']}/links",
                       headers=father)
    assert made.status_code == 201
    fetched_link = client.get(made.get_json()["url"])
    answers["download link"] = (fetched_link.status_code, fetched_link.data)
    return answers


def _assert_original(answers: dict[str, tuple[int, bytes]], doc: dict[str, Any]) -> None:
    for name, (status, data) in answers.items():
        assert data != FORGED, f"{name}: served the forgery"
        assert status == 200, f"{name}: {status}"
        assert hashlib.sha256(data).hexdigest() == doc["sha256"], name


def _verify(app, *args: str):
    return app.test_cli_runner().invoke(args=["repository", "verify", *args])


# -- a forged version, a delete marker --------------------------------------------------------

def test_a_forged_version_on_the_key_is_never_served(tmp_path, s3_server, signing_config,
                                                     people) -> None:
    """Issue #12: a plain PUT on a document's key added a version, and tokhai served the
    forgery (streamed and through the presigned link) under the original's ETag."""
    setup = _s3_setup(tmp_path, s3_server, signing_config)
    code, doc = _issue(setup)
    store = setup.app.extensions["tokhai"].store
    key = object_key(DEMO_FATHER, doc["document_id"])
    # a presigned link handed out before the forgery lands: it names the version written
    early = setup.client.get(f"/api/v1/repository/documents/{doc['document_id']}/content",
                             headers=setup.father, query_string={"redirect": "true"})
    assert early.status_code == 302
    attacker = _attacker(s3_server)
    attacker.put_object(Bucket=store.bucket, Key=key, Body=FORGED,
                        Metadata={"sha256": doc["sha256"]})  # even its metadata lies
    assert attacker.get_object(Bucket=store.bucket, Key=key)["Body"].read() == FORGED
    followed = httpx.get(early.headers["Location"])
    assert followed.status_code == 200
    assert hashlib.sha256(followed.content).hexdigest() == doc["sha256"]
    _assert_original(_downloads(setup, code, doc), doc)
    row = _row(setup.app, doc["document_id"])
    assert row.store_problem == "shadowed"  # noticed on the way, for the worker to repair
    report = _verify(setup.app)
    assert report.exit_code == 1
    assert f"shadowed: {key} (document {doc['document_id']})" in report.output
    repaired = _verify(setup.app, "--repair")
    assert f"restored: document {doc['document_id']}" in repaired.output
    assert "after repair: 0 problem(s)" in repaired.output and repaired.exit_code == 0
    # a plain read of the bucket finds the issued bytes again, locked as they were
    plain = attacker.get_object(Bucket=store.bucket, Key=key)
    assert hashlib.sha256(plain["Body"].read()).hexdigest() == doc["sha256"]
    row = _row(setup.app, doc["document_id"])
    assert plain["VersionId"] == row.store_version_id and row.store_problem is None
    assert plain["ObjectLockMode"] == "COMPLIANCE"
    assert plain["ObjectLockRetainUntilDate"] == row.retain_until
    assert plain["ObjectLockLegalHoldStatus"] == "ON"
    _assert_original(_downloads(setup, code, doc), doc)
    assert _verify(setup.app).exit_code == 0


def test_a_delete_marker_hides_nothing(tmp_path, s3_server, signing_config, people) -> None:
    """Issue #12: a plain DELETE (a delete marker) made tokhai answer 503 for a document whose
    locked version still exists."""
    setup = _s3_setup(tmp_path, s3_server, signing_config)
    code, doc = _issue(setup)
    store = setup.app.extensions["tokhai"].store
    key = object_key(DEMO_FATHER, doc["document_id"])
    attacker = _attacker(s3_server)
    attacker.delete_object(Bucket=store.bucket, Key=key)
    _assert_original(_downloads(setup, code, doc), doc)
    assert _row(setup.app, doc["document_id"]).store_problem == "hidden"
    report = _verify(setup.app)
    assert report.exit_code == 1 and f"hidden: {key}" in report.output
    repaired = _verify(setup.app, "--repair")
    assert f"unhidden: document {doc['document_id']}" in repaired.output
    assert repaired.exit_code == 0, repaired.output
    plain = attacker.get_object(Bucket=store.bucket, Key=key)["Body"].read()
    assert hashlib.sha256(plain).hexdigest() == doc["sha256"]


def test_the_worker_repairs_what_a_download_noticed(tmp_path, s3_server, signing_config,
                                                    people) -> None:
    setup = _s3_setup(tmp_path, s3_server, signing_config)
    code, doc = _issue(setup)
    store = setup.app.extensions["tokhai"].store
    key = object_key(DEMO_FATHER, doc["document_id"])
    _attacker(s3_server).put_object(Bucket=store.bucket, Key=key, Body=FORGED)
    _assert_original(_downloads(setup, code, doc), doc)
    worked = setup.app.test_cli_runner().invoke(args=["worker", "--once"])
    assert worked.exit_code == 0, worked.output
    assert f"shadowed: {key} (document {doc['document_id']})" in worked.output
    assert f"restored: document {doc['document_id']}" in worked.output
    assert _row(setup.app, doc["document_id"]).store_problem is None
    assert hashlib.sha256(store.get(key)).hexdigest() == doc["sha256"]


# -- retention: a legal hold lifted, a retention shortened ------------------------------------

def test_a_permanent_document_stays_locked_when_its_legal_hold_is_lifted(
        tmp_path, s3_server, signing_config, people) -> None:
    """Issue #12: permanent documents (the birth extract) got only a legal hold, which anyone
    allowed to change legal holds can lift, and then delete the version. They now get a
    COMPLIANCE retention too, 100 years by default."""
    setup = _s3_setup(tmp_path, s3_server, signing_config)
    code, doc = _issue(setup)
    store = setup.app.extensions["tokhai"].store
    key = object_key(DEMO_FATHER, doc["document_id"])
    row = _row(setup.app, doc["document_id"])
    assert row.document_class == "civil_status" and row.legal_hold
    assert row.signed_at is not None and row.retain_until is not None
    signed = row.signed_at.astimezone(UTC)
    assert row.retain_until.date() in {signed.replace(year=signed.year + 100).date(),
                                       signed.replace(year=signed.year + 100, day=28).date()}
    attacker = _attacker(s3_server)
    head = attacker.head_object(Bucket=store.bucket, Key=key, VersionId=row.store_version_id)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] == row.retain_until
    assert head["ObjectLockLegalHoldStatus"] == "ON"
    attacker.put_object_legal_hold(Bucket=store.bucket, Key=key, VersionId=row.store_version_id,
                                   LegalHold={"Status": "OFF"})
    with pytest.raises(attacker.exceptions.ClientError):  # the retention still refuses
        attacker.delete_object(Bucket=store.bucket, Key=key, VersionId=row.store_version_id,
                               BypassGovernanceRetention=True)
    _assert_original(_downloads(setup, code, doc), doc)
    assert _verify(setup.app).exit_code == 0


def test_a_shortened_retention_is_caught_by_tokhai_own_checks(tmp_path, s3_server,
                                                             signing_config, people) -> None:
    """moto lets a COMPLIANCE retention be shortened (S3 and MinIO refuse): the attack is
    tried either way, and what is asserted holds whether or not the store refused it."""
    setup = _s3_setup(tmp_path, s3_server, signing_config,
                      retention=parse_retention("civil_status=P10Y"))
    code, doc = _issue(setup)
    store = setup.app.extensions["tokhai"].store
    key = object_key(DEMO_FATHER, doc["document_id"])
    row = _row(setup.app, doc["document_id"])
    assert not row.legal_hold and row.retain_until is not None
    attacker = _attacker(s3_server)
    refused = []
    try:
        attacker.put_object_retention(
            Bucket=store.bucket, Key=key, VersionId=row.store_version_id,
            Retention={"Mode": "COMPLIANCE",
                       "RetainUntilDate": datetime.now(UTC) + timedelta(seconds=1)})
    except attacker.exceptions.ClientError:
        refused.append("shorten")
    time.sleep(1.5)
    try:
        attacker.delete_object(Bucket=store.bucket, Key=key, VersionId=row.store_version_id)
    except attacker.exceptions.ClientError:
        refused.append("delete")
    attacker.put_object(Bucket=store.bucket, Key=key, Body=FORGED)
    _assert_original(_downloads(setup, code, doc), doc)
    report = _verify(setup.app)
    assert report.exit_code == 1
    assert (f"altered: {key}" if not refused else f"shadowed: {key}") in report.output
    repaired = _verify(setup.app, "--repair")
    assert f"restored: document {doc['document_id']}" in repaired.output
    assert repaired.exit_code == 0, repaired.output
    after = _row(setup.app, doc["document_id"])
    head = attacker.head_object(Bucket=store.bucket, Key=key, VersionId=after.store_version_id)
    # restored with its original retention, not the shortened one
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] == row.retain_until
    plain = attacker.get_object(Bucket=store.bucket, Key=key)["Body"].read()
    assert hashlib.sha256(plain).hexdigest() == doc["sha256"]
    _assert_original(_downloads(setup, code, doc), doc)


# -- the bucket lost --------------------------------------------------------------------------

def _lose_the_bucket(s3_server: dict[str, Any], bucket: str) -> None:
    """Every version and delete marker deleted, then the bucket: a disaster, or an insider.
    A store that refuses (S3 and MinIO keep COMPLIANCE versions) cannot lose it this way."""
    s3 = _attacker(s3_server)
    listed = s3.list_object_versions(Bucket=bucket)
    try:
        for v in listed.get("Versions", []):
            s3.put_object_legal_hold(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"],
                                     LegalHold={"Status": "OFF"})
            s3.put_object_retention(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"],
                                    Retention={"Mode": "COMPLIANCE", "RetainUntilDate":
                                               datetime.now(UTC) - timedelta(days=1)})
            s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"],
                             BypassGovernanceRetention=True)
        for m in listed.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=m["Key"], VersionId=m["VersionId"])
        s3.delete_bucket(Bucket=bucket)
    except s3.exceptions.ClientError as e:
        pytest.skip(f"this store refuses to lose locked versions ({e}): nothing to simulate")


@pytest.mark.parametrize("repairer", ["worker", "verify --repair"])
def test_a_lost_bucket_is_noticed_and_every_document_restored(
        repairer: str, tmp_path, s3_server, signing_config, people) -> None:
    """Issue #12: after the bucket was lost, the running service answered 503 for earlier
    documents; the worker made the bucket again and said nothing about the documents gone."""
    setup = _s3_setup(tmp_path, s3_server, signing_config)
    documents = [_issue(setup) for _ in range(3)]
    store = setup.app.extensions["tokhai"].store
    _lose_the_bucket(s3_server, store.bucket)
    for code, doc in documents:  # the running service: no 503, the verified copies
        _assert_original(_downloads(setup, code, doc), doc)
        assert _row(setup.app, doc["document_id"]).store_problem == "missing"
    report = _verify(setup.app)
    assert report.exit_code == 1 and "the bucket is gone" in report.output
    for _, doc in documents:
        assert f"missing: {object_key(DEMO_FATHER, doc['document_id'])}" in report.output
    runner = setup.app.test_cli_runner()
    if repairer == "worker":
        done = runner.invoke(args=["worker", "--once"])
        assert "checking every stored document" in done.output
    else:
        done = runner.invoke(args=["repository", "verify", "--repair"])
        assert "found 3 problem(s) (missing 3), repaired 3; after repair: 0 problem(s)" in \
            done.output
    assert done.exit_code == 0, done.output
    for _, doc in documents:  # every document that had to be restored is named
        assert f"restored: document {doc['document_id']}" in done.output
    attacker = _attacker(s3_server)
    for code, doc in documents:
        row = _row(setup.app, doc["document_id"])
        head = attacker.head_object(Bucket=store.bucket, Key=row.storage_key,
                                    VersionId=row.store_version_id)
        assert head["ObjectLockMode"] == "COMPLIANCE" and head["ObjectLockLegalHoldStatus"] == "ON"
        assert head["ObjectLockRetainUntilDate"] == row.retain_until
        assert row.store_problem is None
        _assert_original(_downloads(setup, code, doc), doc)
    assert _verify(setup.app).exit_code == 0


def test_a_lost_bucket_made_again_by_someone_else_is_noticed(tmp_path, s3_server,
                                                            signing_config, people) -> None:
    """The bucket comes back empty (the service's start-up or an operator made it): the
    worker finds the last stored document missing and checks them all."""
    setup = _s3_setup(tmp_path, s3_server, signing_config)
    documents = [_issue(setup) for _ in range(2)]
    store = setup.app.extensions["tokhai"].store
    _lose_the_bucket(s3_server, store.bucket)
    assert store.ensure_ready(production=False)  # made again, empty
    done = setup.app.test_cli_runner().invoke(args=["worker", "--once"])
    assert done.exit_code == 0, done.output
    for _, doc in documents:
        assert f"restored: document {doc['document_id']}" in done.output
    assert _verify(setup.app).exit_code == 0


# -- the store's own contract -----------------------------------------------------------------

def test_a_retry_pins_the_version_that_holds_the_bytes_not_its_metadata(s3_server) -> None:
    """A retry after a lost answer looks for the upload: a forged version whose metadata
    names the right sha256 is not it."""
    s = S3Store(S3Settings(str(s3_server["endpoint"]), str(s3_server["access_key"]),
                           str(s3_server["secret_key"]), _bucket(), secure=False))
    s.ensure_ready(production=False)
    key = object_key(DEMO_FATHER, str(uuid.uuid4()))
    data = b"%PDF-1.7\n" + b"z" * 300
    sha = hashlib.sha256(data).hexdigest()
    first = s.put(key, data, sha256=sha, metadata={}, first_attempt=True,
                  retention=Retention(datetime.now(UTC) + timedelta(days=1)))
    _attacker(s3_server).put_object(Bucket=s.bucket, Key=key, Body=FORGED,
                                    Metadata={"sha256": sha})
    again = s.put(key, data, sha256=sha, metadata={},
                  retention=Retention(datetime.now(UTC) + timedelta(days=1)))
    assert again.version_id == first.version_id
    assert s.get(key, version_id=again.version_id) == data
    assert [v.delete_marker for v in s.versions(key)] == [False, False]


# -- the local store: the read-only file and the sha256 check ---------------------------------

def test_a_changed_local_file_is_never_served(app, issued) -> None:
    """The local store has no versions: its guarantee is the read-only file and tokhai's
    sha256 check. A file changed behind the service's back is not served; the worker
    restores it."""
    store = app.extensions["tokhai"].store
    client, father, doc, code = issued["client"], issued["father"], issued["doc"], issued["code"]
    path = store.root / object_key(DEMO_FATHER, doc["document_id"])
    original = path.read_bytes()
    path.chmod(0o644)
    path.write_bytes(FORGED)
    content = client.get(f"/api/v1/repository/documents/{doc['document_id']}/content",
                         headers=father)
    assert content.status_code == 200 and content.data == original
    result = client.get(f"/api/v1/dossiers/{code}/result", headers=father)
    assert result.status_code == 200 and result.data == original
    assert _row(app, doc["document_id"]).store_problem == "altered"
    worked = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert f"restored: document {doc['document_id']}" in worked.output
    assert worked.exit_code == 0, worked.output
    assert path.read_bytes() == original and path.stat().st_mode & 0o777 == 0o444
    assert _row(app, doc["document_id"]).store_problem is None


def test_the_database_copy_is_checked_too(app, issued) -> None:
    """The dossier's result route serves the database's copy: checked against the sha256 as
    well (the store's copy when it is not the issued one), and a clear 503 when no copy is,
    never other bytes."""
    store = app.extensions["tokhai"].store
    client, father, doc, code = issued["client"], issued["father"], issued["doc"], issued["code"]
    engine = app.extensions["tokhai"].engine
    with engine.begin() as conn:
        conn.execute(text("UPDATE dossier_documents SET content = :c WHERE document_id = :d"),
                     {"c": FORGED, "d": doc["document_id"]})
    result = client.get(f"/api/v1/dossiers/{code}/result", headers=father)
    assert result.status_code == 200
    assert hashlib.sha256(result.data).hexdigest() == doc["sha256"]
    path = store.root / object_key(DEMO_FATHER, doc["document_id"])
    original = path.read_bytes()
    path.chmod(0o644)
    path.write_bytes(FORGED)
    for url in (f"/api/v1/dossiers/{code}/result",
                f"/api/v1/repository/documents/{doc['document_id']}/content"):
        refused = client.get(url, headers=father)
        assert refused.status_code == 503, url
        assert refused.get_json()["code"] == "document_unreadable"
        assert FORGED not in refused.data
    path.write_bytes(original)
    path.chmod(0o444)
    with engine.begin() as conn:
        conn.execute(text("UPDATE dossier_documents SET content = :c, store_problem = NULL "
                          "WHERE document_id = :d"), {"c": original, "d": doc["document_id"]})

"""Existence probes and secrets around dossiers.

Dossier codes are sequential, so an answer that differs between "not yours" and "no such
dossier" tells a stranger which dossiers exist; a receipt lookup that does more work for a known
code tells it by time. A retried submission must hand the citizen the receipt secret again, and
signed documents must not be kept by caches.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from service.dossiers import lifecycle as ops
from storage.models import Dossier
from tests.conftest import _token, citizen_headers, valid_submission

FORM = "to-khai-dang-ky-khai-sinh"
AGENCY = "UBND-XA-00004"


@pytest.fixture
def clerk(app) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'officer', agency_code=AGENCY)}"}


def submit(client, app, father, key: str | None = None, data=None):
    body = {"form_id": FORM, "version": 1, "agency_code": AGENCY,
            "data": data if data is not None else valid_submission(client, app, FORM)}
    return client.post("/api/v1/dossiers", json=body,
                       headers={**father, **({"Idempotency-Key": key} if key else {})})


def probes(code: str, etag: str) -> list[tuple[str, str, dict[str, Any] | None, dict[str, str]]]:
    """Every route that names a dossier: method, path, JSON body, extra headers."""
    promised = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    return [
        ("GET", f"/api/v1/dossiers/{code}", None, {}),
        ("GET", f"/api/v1/dossiers/{code}/history", None, {}),
        ("GET", f"/api/v1/dossiers/{code}/result", None, {}),
        ("GET", f"/api/v1/dossiers/{code}/apology-letter", None, {}),
        ("GET", f"/api/v1/dossiers/{code}/prefill", None, {}),
        ("POST", f"/api/v1/dossiers/{code}/actions", {"action": "withdraw", "reason": "x"}, {}),
        ("POST", f"/api/v1/dossiers/{code}/actions", {"action": "accept"}, {"If-Match": etag}),
        ("POST", f"/api/v1/dossiers/{code}/supplement", {"data": {}}, {}),
        ("POST", f"/api/v1/dossiers/{code}/explanation",
         {"reason": "Mất điện", "promised_at": promised}, {}),
        ("POST", f"/api/v1/dossiers/{code}/result", {}, {"If-Match": etag}),
    ]


def test_another_s_dossier_is_answered_like_an_unknown_one(client, app, father, caplog) -> None:
    filed = submit(client, app, father)
    code, etag = filed.get_json()["code"], filed.headers["ETag"]
    unknown = f"{code[:-4]}9999"
    callers = {
        "citizen": citizen_headers(app, "079199054321"),
        "officer elsewhere": {"Authorization":
                              f"Bearer {_token(app, 'officer', agency_code='UBND-XA-00005')}"},
    }
    for who, headers in callers.items():
        for (method, path, body, extra), (_, unknown_path, _, _) in zip(
                probes(code, etag), probes(unknown, etag), strict=True):
            caplog.clear()
            with caplog.at_level(logging.WARNING):
                theirs = client.open(path, method=method, json=body,
                                     headers={**headers, **extra})
            logged = [r for r in caplog.records if r.getMessage() == "dossier access refused"]
            nobody = client.open(unknown_path, method=method, json=body,
                                 headers={**headers, **extra})
            if nobody.status_code == 403:  # the role may not use this route at all
                assert theirs.status_code == 403, (who, method, path)
                continue
            assert nobody.status_code == 404, (who, method, path, nobody.get_json())
            assert theirs.status_code == 404, (who, method, path, theirs.get_json())
            mine, other = theirs.get_json(), nobody.get_json()
            for answer in (mine, other):
                answer.pop("request_id")
            assert mine == {**other, "message": other["message"].replace(unknown, code),
                            "message_en": other["message_en"].replace(unknown, code)}
            assert len(logged) == 1 and logged[0].dossier == code, (who, method, path)
    stored = client.get(f"/api/v1/dossiers/{code}", headers=father).get_json()
    assert stored["status"] == "submitted" and stored["version"] == 1  # nothing happened


def test_a_receipt_lookup_does_the_same_work_for_known_and_unknown_codes(client, app,
                                                                         father,
                                                                         monkeypatch) -> None:
    code = submit(client, app, father).get_json()["code"]
    unknown = f"{code[:-4]}9999"
    hashed: list[str] = []
    real_sha256 = ops._sha256

    def sha256(text: str) -> str:
        hashed.append(text)
        return real_sha256(text)

    monkeypatch.setattr(ops, "_sha256", sha256)
    compared: list[tuple[str, str]] = []
    real_compare = ops.secrets.compare_digest

    def compare_digest(a: str, b: str) -> bool:
        compared.append((a, b))
        return real_compare(a, b)

    monkeypatch.setattr(ops.secrets, "compare_digest", compare_digest)
    statements: list[str] = []
    engine = app.extensions["tokhai"].engine

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    work = {}
    event.listen(engine, "before_cursor_execute", seen)
    try:
        for target in (code, unknown):
            hashed.clear()
            compared.clear()
            statements.clear()
            resp = client.get(f"/api/v1/receipts/{target}",
                              query_string={"secret": "doan-bua-12345"})
            assert resp.status_code == 404
            assert resp.get_json()["code"] == "not_found"
            work[target] = (list(hashed), len(compared), list(statements))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert work[code] == work[unknown]
    hashes, comparisons, queries = work[code]
    assert hashes == ["doan-bua-12345"] and comparisons >= 1
    reads = [q for q in queries if "FROM dossiers" in q]
    assert len(reads) == 1 and "dossiers.data" not in reads[0]  # never the form data


def test_a_retry_gets_the_receipt_secret_again(client, app, father) -> None:
    data = valid_submission(client, app, FORM)
    key = f"lost-response-{datetime.now(UTC).timestamp()}"
    first = submit(client, app, father, key, data)
    again = submit(client, app, father, key, data)
    assert (first.status_code, again.status_code) == (201, 200)
    secret = first.get_json()["receipt_secret"]
    assert len(secret) >= 16 and again.get_json()["receipt_secret"] == secret
    code = first.get_json()["code"]
    receipt = client.get(f"/api/v1/receipts/{code}", query_string={"secret": secret})
    assert receipt.status_code == 200 and receipt.get_json()["status"] == "submitted"
    with app.extensions["tokhai"].sessions() as session:  # only its hash is kept
        row = session.scalar(select(Dossier).where(Dossier.code == code))
        assert row.receipt_secret_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in repr({c.name: getattr(row, c.key)
                                   for c in Dossier.__table__.columns})
    # the same key for another citizen is another dossier with another secret
    other = submit(client, app, citizen_headers(app, "079199054321"), key, data)
    if other.status_code == 201:
        assert other.get_json()["receipt_secret"] != secret
    # without a key a submission cannot be retried: its secret is random
    plain = [submit(client, app, father, None, data).get_json()["receipt_secret"]
             for _ in range(2)]
    assert plain[0] != plain[1]


def test_a_retry_after_the_installation_key_changed_gets_no_wrong_secret(client, app,
                                                                        father,
                                                                        monkeypatch) -> None:
    data = valid_submission(client, app, FORM)
    key = f"rotated-{datetime.now(UTC).timestamp()}"
    assert submit(client, app, father, key, data).status_code == 201
    monkeypatch.setattr(app.extensions["tokhai"], "secret_key", "another installation key")
    again = submit(client, app, father, key, data)
    assert again.status_code == 200 and "receipt_secret" not in again.get_json()


def test_signed_documents_are_not_cached(client, app, father, clerk) -> None:
    filed = submit(client, app, father)
    code, etag = filed.get_json()["code"], filed.headers["ETag"]
    for action in ("accept", "start_processing"):
        moved = client.post(f"/api/v1/dossiers/{code}/actions", json={"action": action},
                            headers={**clerk, "If-Match": etag})
        etag = moved.headers["ETag"]
    issued = client.post(f"/api/v1/dossiers/{code}/result", json={},
                         headers={**clerk, "If-Match": etag})
    assert issued.status_code == 201, issued.get_json()
    pdf = client.get(f"/api/v1/dossiers/{code}/result", headers=father)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["Cache-Control"] == "no-store"
    late = submit(client, app, father).get_json()["code"]
    with app.extensions["tokhai"].sessions() as session:
        d = session.scalar(select(Dossier).where(Dossier.code == late))
        d.accept_deadline = d.due_at = datetime.now(UTC) - timedelta(hours=30)
        d.submitted_at = d.accept_deadline - timedelta(hours=1)
        session.commit()
    from tests.service.dossiers.test_dossiers import promise_after

    explained = client.post(f"/api/v1/dossiers/{late}/explanation", headers=clerk, json={
        "reason": "Mất điện",
        "promised_at": promise_after(app, AGENCY, datetime.now(UTC)).isoformat()})
    assert explained.status_code == 200, explained.get_json()
    letter = client.get(f"/api/v1/dossiers/{late}/apology-letter", headers=father)
    assert letter.status_code == 200 and letter.headers["Cache-Control"] == "no-store"

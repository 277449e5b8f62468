"""Issue #10, finding 14: a download link dies with the token that made it and with the
consent it was made on (revoked or expired), at once, not when its 300 s run out. On SQLite
and PostgreSQL with the local store, and on the S3 store."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from service.tokens import hash_token, revoke_token
from storage.models import AccessLog, ApiToken
from tests.conftest import DEMO_FATHER, _token, citizen_headers, demo_app, s3_overrides
from tests.service.repository.test_repository import (
    OTHER_AGENCY,
    file_at,
)
from tests.service.results.test_results import AGENCY, in_processing, issue


def revoke(app, headers: dict[str, str]) -> None:
    """Revoke the token in ``headers``, as `tokhai tokens revoke` does."""
    digest = hash_token(headers["Authorization"].removeprefix("Bearer "))
    with app.extensions["tokhai"].sessions() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
        assert revoke_token(session, row.id)
        session.commit()


def link(client, headers, document_id: str, **query: str) -> str:
    made = client.post(f"/api/v1/repository/documents/{document_id}/links", headers=headers,
                       query_string=query)
    assert made.status_code == 201, made.get_json()
    return made.get_json()["url"]


def assert_revoked(client, url: str) -> None:
    refused = client.get(url)
    assert refused.status_code == 410, refused.get_json()
    assert refused.get_json()["code"] == "link_revoked"
    assert refused.get_json()["field"] == "path.token"
    assert not refused.data.startswith(b"%PDF")


def link_downloads(app, document_id: str) -> list[tuple[str, str]]:
    with app.extensions["tokhai"].sessions() as session:
        return [(e.outcome, e.reason) for e in session.scalars(
            select(AccessLog).where(AccessLog.document_id == document_id,
                                    AccessLog.action == "link_download")
            .order_by(AccessLog.id))]


def test_a_link_dies_with_the_citizen_token_that_made_it(app, issued) -> None:
    client, doc = issued["client"], issued["doc"]
    father = citizen_headers(app, DEMO_FATHER)  # a token of its own, revoked below
    url = link(client, father, doc["document_id"])
    assert client.get(url).status_code == 200
    revoke(app, father)
    assert_revoked(client, url)
    outcomes = link_downloads(app, doc["document_id"])
    assert outcomes[-1][0] == "denied" and "revoked" in outcomes[-1][1]
    # the same document through a link of a token still in force
    assert client.get(link(client, issued["father"], doc["document_id"])).status_code == 200


def test_a_link_dies_with_the_officer_token_that_made_it(app, issued) -> None:
    client, doc = issued["client"], issued["doc"]
    clerk = {"Authorization": f"Bearer {_token(app, 'officer', agency_code=AGENCY)}"}
    url = link(client, clerk, doc["document_id"])  # the issuing agency, no consent needed
    assert client.get(url).status_code == 200
    revoke(app, clerk)
    assert_revoked(client, url)


def _consent(client, father, **overrides: str) -> int:
    made = client.post("/api/v1/consents", headers=father, json={
        "agency_code": OTHER_AGENCY, "purpose_kind": "procedure", "purpose": "1.001193",
        "expires_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(), **overrides})
    assert made.status_code == 201, made.get_json()
    return int(made.get_json()["id"])


def test_a_link_dies_with_the_consent_it_was_made_on(app, issued) -> None:
    """Revoked: dead at once, even while another consent for the same purpose would let
    the agency make a new link (the link was made on the revoked one)."""
    client, father, doc = issued["client"], issued["father"], issued["doc"]
    file_at(client, app, father, OTHER_AGENCY)
    other = {"Authorization": f"Bearer {_token(app, 'officer', agency_code=OTHER_AGENCY)}"}
    purpose = {"purpose": "procedure:1.001193"}
    first = _consent(client, father)
    url = link(client, other, doc["document_id"], **purpose)
    fetched = client.get(url)
    assert fetched.status_code == 200
    assert hashlib.sha256(fetched.data).hexdigest() == doc["sha256"]
    second = _consent(client, father)
    assert client.delete(f"/api/v1/consents/{first}", headers=father).status_code == 200
    assert_revoked(client, url)
    # a link made on the consent still in force works, until it too is revoked
    again = link(client, other, doc["document_id"], **purpose)
    assert client.get(again).status_code == 200
    assert client.delete(f"/api/v1/consents/{second}", headers=father).status_code == 200
    assert_revoked(client, again)
    outcomes = link_downloads(app, doc["document_id"])
    assert [o for o, _ in outcomes] == ["allowed", "denied", "allowed", "denied"]


def test_a_link_dies_when_its_consent_expires(app, issued) -> None:
    client, father, doc = issued["client"], issued["father"], issued["doc"]
    file_at(client, app, father, OTHER_AGENCY)
    other = {"Authorization": f"Bearer {_token(app, 'officer', agency_code=OTHER_AGENCY)}"}
    consent = _consent(client, father, document_id=doc["document_id"])
    url = link(client, other, doc["document_id"], purpose="procedure:1.001193")
    assert client.get(url).status_code == 200
    with app.extensions["tokhai"].sessions() as session:
        session.execute(text("UPDATE consents SET expires_at = :t WHERE id = :i"),
                        {"t": datetime.now(UTC) - timedelta(seconds=1), "i": consent})
        session.commit()
    assert_revoked(client, url)


def test_a_link_without_its_maker_is_refused(app, issued) -> None:
    """A link signed before makers were recorded (or naming no token) is not honoured."""
    from itsdangerous import URLSafeTimedSerializer

    serializer = URLSafeTimedSerializer(app.extensions["tokhai"].secret_key,
                                        salt="tokhai-download-link")
    old = serializer.dumps({"d": issued["doc"]["document_id"], "a": "citizen:x", "g": None,
                            "p": None})
    assert_revoked(issued["client"], f"/api/v1/repository/links/{old}")


def test_on_the_s3_store_a_link_dies_with_its_token(s3_server, signing_config, tmp_path,
                                                   people) -> None:
    setup = demo_app(tmp_path, "links", AGENCY, signing_config=signing_config,
                     **s3_overrides(s3_server, f"t-{uuid.uuid4().hex[:16]}"))
    app, client = setup.app, setup.client
    code, etag = in_processing(client, app, setup.father, setup.clerk)
    doc = issue(client, setup.clerk, code, etag).get_json()
    assert doc["archiving"] == "stored"  # served from the store, not the outbox
    father = citizen_headers(app, DEMO_FATHER)
    url = link(client, father, doc["document_id"])
    fetched = client.get(url)
    assert fetched.status_code == 200
    assert hashlib.sha256(fetched.data).hexdigest() == doc["sha256"]
    revoke(app, father)
    assert_revoked(client, url)

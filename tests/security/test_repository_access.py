"""Issue #10, repository findings: 12 (a refused document answers like an unknown one, and is
still logged), 15 (a consent's purpose must be one the agency can have, checked when the
consent is made and when it is used) and 19 (consents answer what their schema promises).
Issue #12, point 9: every route that returns a document's bytes writes the access log,
refusals included, and every dossier route answers one 404 for a hidden and an unknown
dossier. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator
from sqlalchemy import select

from storage.models import AccessLog, Consent
from tests.conftest import DEMO_FATHER, _token, citizen_headers
from tests.service.repository.test_repository import (
    OTHER_AGENCY,
    file_at,
)


def _officer(app, agency: str = OTHER_AGENCY) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'officer', agency_code=agency)}"}


def _shown(response) -> tuple[int, dict[str, Any]]:
    body = dict(response.get_json())
    body.pop("request_id")
    return response.status_code, body


def _outcomes(app, document_id: str) -> list[tuple[str, str, str]]:
    with app.extensions["tokhai"].sessions() as session:
        return [(e.action, e.outcome, e.reason) for e in session.scalars(
            select(AccessLog).where(AccessLog.document_id == document_id)
            .order_by(AccessLog.id))]


# -- 12: existence is not told ----------------------------------------------------------------

@pytest.mark.parametrize("who", ["officer of another agency", "another citizen"])
@pytest.mark.parametrize("route", ["", "/content", "/links"])
def test_a_refused_document_answers_like_an_unknown_one(app, issued, who: str,
                                                        route: str) -> None:
    client, doc = issued["client"], issued["doc"]
    caller = _officer(app) if who.startswith("officer") else citizen_headers(app,
                                                                               "079199054321")
    unknown_id = str(uuid.uuid4())

    def ask(document_id: str, query: dict[str, str]):
        url = f"/api/v1/repository/documents/{document_id}{route}"
        return (client.post if route == "/links" else client.get)(
            url, headers=caller, query_string=query)

    for query in ({}, {"purpose": "procedure:1.001193"}):
        refused, unknown = ask(doc["document_id"], query), ask(unknown_id, query)
        assert refused.status_code == 404
        assert _shown(refused) == _shown(unknown)
    # every attempt is in the access log, told apart there
    assert [o for _, o, _ in _outcomes(app, doc["document_id"])] == ["denied", "denied"]
    assert [o for _, o, _ in _outcomes(app, unknown_id)] == ["not_found", "not_found"]


# -- 15: a consent's purpose ------------------------------------------------------------------

def _consent(client, father, **fields: str):
    body = {"agency_code": OTHER_AGENCY, "purpose_kind": "dossier",
            "expires_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(), **fields}
    return client.post("/api/v1/consents", headers=father, json=body)


def test_a_consent_names_a_purpose_the_agency_has(app, issued) -> None:
    client, father = issued["client"], issued["father"]
    foreign = _consent(client, father, purpose=issued["code"])  # a dossier at AGENCY
    assert foreign.status_code == 422
    assert foreign.get_json()["code"] == "unknown_dossier"
    assert foreign.get_json()["field"] == "purpose"
    unknown = _consent(client, father, purpose=f"{OTHER_AGENCY}-991231-9999")
    assert _shown(unknown) == _shown(foreign)  # another agency's, or none: the same answer
    own = _consent(client, father, purpose=file_at(client, app, father, OTHER_AGENCY))
    assert own.status_code == 201, own.get_json()
    no_procedure = _consent(client, father, purpose_kind="procedure", purpose="khong.co.thu-tuc")
    assert no_procedure.status_code == 422
    assert no_procedure.get_json()["code"] == "unknown_procedure"
    assert no_procedure.get_json()["field"] == "purpose"
    procedure = _consent(client, father, purpose_kind="procedure", purpose="1.001193")
    assert procedure.status_code == 201, procedure.get_json()
    strangers = _consent(client, citizen_headers(app, "079199054321"), purpose_kind="procedure",
                         purpose="1.001193", document_id=issued["doc"]["document_id"])
    assert strangers.status_code == 422
    assert strangers.get_json()["code"] == "unknown_document"
    assert strangers.get_json()["field"] == "document_id"


def test_a_consent_is_used_only_for_a_purpose_the_agency_has(app, issued) -> None:
    """Consents made before the purpose was checked at creation (rows written directly), and
    one for a procedure the agency does not handle: refused at use, and logged."""
    client, father, doc = issued["client"], issued["father"], issued["doc"]
    url = f"/api/v1/repository/documents/{doc['document_id']}/content"
    other = _officer(app)
    now = datetime.now(UTC)
    with app.extensions["tokhai"].sessions() as session:
        session.add(Consent(owner_id=DEMO_FATHER, agency_code=OTHER_AGENCY,
                            purpose_kind="dossier", purpose=issued["code"],
                            granted_by="test", granted_at=now,
                            expires_at=now + timedelta(days=7)))
        session.commit()
    foreign = client.get(url, headers=other, query_string={"purpose": f"dossier:{issued['code']}"})
    assert foreign.status_code == 404
    assert "not this agency's" in _outcomes(app, doc["document_id"])[-1][2]
    # a procedure the agency has no dossier of: a consent for it does not open the document
    passport = _consent(client, father, purpose_kind="procedure",
                        purpose="local.xnc.ho-chieu-duoi-14")
    assert passport.status_code == 201, passport.get_json()
    refused = client.get(url, headers=other,
                         query_string={"purpose": "procedure:local.xnc.ho-chieu-duoi-14"})
    assert refused.status_code == 404
    # the agency's own dossier, consented to: allowed
    code = file_at(client, app, father, OTHER_AGENCY)
    assert _consent(client, father, purpose=code).status_code == 201
    assert client.get(url, headers=other,
                      query_string={"purpose": f"dossier:{code}"}).status_code == 200


# -- 19: consents match their schema ----------------------------------------------------------

def test_consents_answer_what_their_schema_promises(app, issued) -> None:
    client, father = issued["client"], issued["father"]
    spec = client.get("/api/v1/openapi.json").get_json()
    validator = OAS30Validator(spec["components"]["schemas"]["Consent"])
    every = _consent(client, father, purpose_kind="procedure", purpose="1.001193")
    one = _consent(client, father, purpose_kind="procedure", purpose="1.001193",
                   document_id=issued["doc"]["document_id"])
    assert every.status_code == one.status_code == 201
    assert every.get_json()["document_id"] is None  # every document: present, null
    revoked = client.delete(f"/api/v1/consents/{every.get_json()['id']}", headers=father)
    listed = client.get("/api/v1/consents", headers=father).get_json()
    for body in [every.get_json(), one.get_json(), revoked.get_json(), *listed]:
        validator.validate(body)


# -- dates beyond the calendar ----------------------------------------------------------------

@pytest.mark.parametrize(("route", "query", "field"), [
    ("/api/v1/repository/documents", {"issued_from": "0001-01-01"}, "query.issued_from"),
    ("/api/v1/repository/documents", {"issued_to": "9999-12-31"}, "query.issued_to"),
])
def test_a_date_beyond_the_calendar_is_422_not_500(app, issued, route, query, field) -> None:
    """Year 1 in Vietnam time is before year 1 in UTC: binding it overflowed (a 500, found by
    the attack review). Dates a caller sends are kept between 1900 and 9998."""
    resp = issued["client"].get(route, query_string=query, headers=issued["father"])
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["field"] == field


def test_a_consent_time_beyond_the_calendar_is_422(app, issued) -> None:
    client, father = issued["client"], issued["father"]
    resp = _consent(client, father, purpose=issued["code"],
                    expires_at="0001-01-01T00:00:00+14:00")
    assert resp.status_code == 422 and resp.get_json()["field"] == "json.expires_at"


# -- issue #12, point 9: every access logged, no existence oracle -----------------------------

def _entries(app, **where: str) -> list[AccessLog]:
    with app.extensions["tokhai"].sessions() as session:
        query = select(AccessLog).order_by(AccessLog.id)
        for name, value in where.items():
            query = query.where(getattr(AccessLog, name) == value)
        return list(session.scalars(query))


def _unknown_code(code: str) -> str:
    """A code shaped like ``code`` that no dossier has (codes are sequential)."""
    prefix, _, number = code.rpartition("-")
    return f"{prefix}-{'9' * len(number)}"


def test_downloading_a_dossier_result_is_logged_refusals_included(app, issued) -> None:
    """Issue #12: a download through GET /dossiers/{code}/result wrote nothing to the access
    log, for the owner, an officer, an auditor and a refused caller alike."""
    client, code, doc = issued["client"], issued["code"], issued["doc"]
    url = f"/api/v1/dossiers/{code}/result"
    auditor = {"Authorization": f"Bearer {_token(app, 'auditor')}"}
    for who, headers in (("citizen", issued["father"]), ("officer", issued["clerk"]),
                         ("auditor", auditor)):
        before = len(_entries(app, document_id=doc["document_id"]))
        got = client.get(url, headers=headers)
        assert got.status_code == 200, who
        after = _entries(app, document_id=doc["document_id"])
        assert len(after) == before + 1, who
        assert (after[-1].role, after[-1].action, after[-1].outcome) == \
            (who, "download", "allowed")
        assert after[-1].owner_id == DEMO_FATHER
    for headers in (citizen_headers(app, "079199054321"), _officer(app)):
        before = len(_entries(app, document_id=doc["document_id"]))
        assert client.get(url, headers=headers).status_code == 404
        refused = _entries(app, document_id=doc["document_id"])
        assert len(refused) == before + 1
        assert (refused[-1].action, refused[-1].outcome) == ("download", "denied")
    unknown = _unknown_code(code)
    assert client.get(f"/api/v1/dossiers/{unknown}/result",
                      headers=issued["father"]).status_code == 404
    probes = [e for e in _entries(app, outcome="not_found") if unknown in (e.reason or "")]
    assert [(e.role, e.action, e.document_id) for e in probes] == \
        [("citizen", "download", None)]


def test_a_refused_apology_letter_download_is_logged(app, issued) -> None:
    """Every route that returns a document's bytes logs refusals too: the apology letter's
    download refused to another citizen and to another agency's officer, and asked for an
    unknown dossier, each leaves one row (the caller gets the same 404)."""
    client, code = issued["client"], issued["code"]
    for headers, role in ((citizen_headers(app, "079199054321"), "citizen"),
                          (_officer(app), "officer")):
        before = [e.id for e in _entries(app, outcome="denied")]
        assert client.get(f"/api/v1/dossiers/{code}/apology-letter",
                          headers=headers).status_code == 404
        new = [e for e in _entries(app, outcome="denied") if e.id not in before]
        assert [(e.role, e.action) for e in new] == [(role, "download")]
        assert new[0].reason and f"apology_letter of dossier {code}" in new[0].reason
    unknown = _unknown_code(code)
    assert client.get(f"/api/v1/dossiers/{unknown}/apology-letter",
                      headers=issued["father"]).status_code == 404
    assert [e.action for e in _entries(app, outcome="not_found")
            if f"apology_letter of unknown dossier {unknown}" in (e.reason or "")] == ["download"]


def test_verification_by_id_is_logged_anonymous_callers_included(app, issued) -> None:
    client, doc = issued["client"], issued["doc"]
    checked = client.get(f"/api/v1/documents/{doc['document_id']}/verification")
    assert checked.status_code == 200 and checked.get_json()["matches_original"]
    last = _entries(app, document_id=doc["document_id"])[-1]
    assert (last.role, last.actor, last.action, last.outcome) == \
        ("anonymous", "anonymous:public", "verification", "allowed")
    unknown = str(uuid.uuid4())
    assert client.get(f"/api/v1/documents/{unknown}/verification").status_code == 404
    assert [(e.action, e.outcome) for e in _entries(app, document_id=unknown)] == \
        [("verification", "not_found")]


def _dossier_calls(code: str) -> list[tuple[str, str, str, dict[str, Any] | None]]:
    """Every route under /dossiers/{code}: (who may call it, method, path, body)."""
    base = f"/api/v1/dossiers/{code}"
    return [
        ("citizen", "GET", base, None), ("officer", "GET", base, None),
        ("citizen", "GET", f"{base}/history", None), ("officer", "GET", f"{base}/history", None),
        ("citizen", "GET", f"{base}/result", None), ("officer", "GET", f"{base}/result", None),
        ("citizen", "GET", f"{base}/apology-letter", None),
        ("officer", "GET", f"{base}/apology-letter", None),
        ("officer", "GET", f"{base}/prefill", None),
        ("citizen", "POST", f"{base}/actions", {"action": "withdraw"}),
        ("officer", "POST", f"{base}/actions", {"action": "accept"}),
        ("citizen", "POST", f"{base}/supplement", {"data": {}}),
        ("officer", "POST", f"{base}/explanation",
         {"reason": "Chờ xác minh", "promised_at": "2027-01-04T10:00:00+07:00"}),
        ("officer", "POST", f"{base}/result", {}),
    ]


def test_every_dossier_route_answers_one_404_for_hidden_and_unknown(app, issued) -> None:
    """Issue #12: GET /dossiers/{code}… answered 403 for another citizen's dossier and 404
    for an unknown code, and codes are sequential. Every route under /dossiers/{code}, with
    another citizen's token and another agency's: the same status and the same body (but
    for the code) as for a code that does not exist."""
    client, code = issued["client"], issued["code"]
    unknown = _unknown_code(code)
    callers = {"citizen": citizen_headers(app, "079199054321"), "officer": _officer(app)}
    for (role, method, path, body), (_, _, unknown_path, _) in zip(
            _dossier_calls(code), _dossier_calls(unknown), strict=True):
        headers = {**callers[role], "If-Match": '"v1"'}

        def ask(url: str, headers: dict[str, str] = headers, method: str = method,
                body: dict[str, Any] | None = body):
            return client.open(url, method=method, json=body, headers=headers)

        hidden, missing = ask(path), ask(unknown_path)
        assert hidden.status_code == 404, (role, method, path, hidden.get_json())
        shown = _shown(hidden)[1]
        expected = _shown(missing)[1]
        assert missing.status_code == 404
        assert json.loads(json.dumps(shown).replace(code, "<code>")) == \
            json.loads(json.dumps(expected).replace(unknown, "<code>")), (role, method, path)

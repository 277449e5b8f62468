"""Issue #10, repository findings: 12 (a refused document answers like an unknown one, and is
still logged), 15 (a consent's purpose must be one the agency can have, checked when the
consent is made and when it is used) and 19 (consents answer what their schema promises).
On SQLite and PostgreSQL."""

from __future__ import annotations

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

"""Digitised documents are scoped to the agency that uploaded them and named by random ids;
confirming writes only what the document evidences, and every change is in the append-only
record-change trail with the document (issue #10, finding 4)."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DBAPIError

from storage import db
from storage.models import DigitisedDocument, Record, RecordChange
from tests.conftest import BACKENDS, _token
from tests.service.records.test_digitised import (
    CHILD,
    birth_certificate,
    household_business_certificate,
    pdf_of,
    upload,
)

VICTIM = "001085099999"  # an unrelated citizen, with a civil-status record
BUSINESS = "0109876543"  # the household business of the certificate
OTHER_BUSINESS = "0101234567"
URL = "/api/v1/digitised-documents"


@pytest.fixture
def other_officer(app) -> dict[str, str]:
    """An officer of another agency than the ``officer`` fixture's (UBND-XA-00004)."""
    return {"Authorization": f"Bearer {_token(app, 'officer', agency_code='UBND-XA-00007')}"}


def _sessions(app):
    return app.extensions["tokhai"].sessions()


def _records(app, register: str, subject: str) -> dict | None:
    with _sessions(app) as session:
        row = session.scalar(select(Record).where(Record.register == register,
                                                  Record.subject == subject))
        return None if row is None else {"data": row.data, "provenance": row.provenance}


def _changes(app, document_id: str) -> list[RecordChange]:
    with _sessions(app) as session:
        return list(session.scalars(select(RecordChange)
                                    .where(RecordChange.document_id == document_id)))


def _shape(resp) -> tuple[int, dict]:
    """An error answer without its request id."""
    return resp.status_code, {k: v for k, v in resp.get_json().items() if k != "request_id"}


def _status(app, document_id: str) -> str:
    with _sessions(app) as session:
        return session.scalar(select(DigitisedDocument.status)
                              .where(DigitisedDocument.public_id == document_id))


@pytest.fixture
def victim(app):
    """A civil-status record of an unrelated citizen, as an import would have left it."""
    from storage import records as store

    with _sessions(app) as session:
        store.upsert_many(session, "civil_status", [(VICTIM, {"marriage_count": 0})], "demo")
        store.upsert_many(session, "business", [(OTHER_BUSINESS, {
            "name": "CÔNG TY KHÁC", "legal_representative_personal_id": VICTIM})], "demo")
        session.commit()
    return _records(app, "civil_status", VICTIM), _records(app, "business", OTHER_BUSINESS)


def test_another_agency_cannot_confirm_or_see(client, app, officer, other_officer,
                                              victim) -> None:
    """The finding: an officer of UBND-00007 confirmed a document uploaded at UBND-00004 and
    registered the death of an unrelated citizen."""
    child = _records(app, "civil_status", CHILD)
    doc = upload(client, officer, pdf_of(birth_certificate())).get_json()
    assert doc["agency_code"] == "UBND-XA-00004"
    attack = client.post(f"{URL}/{doc['id']}/confirm", headers=other_officer, json={
        "subject": VICTIM, "values": {"death_date": "2024-01-01",
                                      "death_registration_number": "99"}})
    unknown = client.post(f"{URL}/{uuid.uuid4()}/confirm", headers=other_officer, json={})
    assert attack.status_code == unknown.status_code == 404
    # the same answer as for an unknown id, but for the id itself
    unknown_id = str(uuid.uuid4())
    seen = client.get(f"{URL}/{doc['id']}", headers=other_officer)
    never = client.get(f"{URL}/{unknown_id}", headers=other_officer)
    assert seen.status_code == never.status_code == 404
    malformed = client.get(f"{URL}/1", headers=other_officer)
    assert _shape(seen) == _shape(never) == _shape(malformed)
    assert _records(app, "civil_status", VICTIM) == victim[0]
    assert _records(app, "civil_status", CHILD) == child
    assert _status(app, doc["id"]) == "pending" and _changes(app, doc["id"]) == []
    # the uploading agency still sees and confirms it
    assert client.get(f"{URL}/{doc['id']}", headers=officer).status_code == 200
    assert client.post(f"{URL}/{doc['id']}/confirm", headers=officer,
                       json={}).status_code == 200


def test_ids_are_random_not_sequential(client, officer) -> None:
    ids = [upload(client, officer, pdf_of(birth_certificate())).get_json()["id"]
           for _ in range(3)]
    assert len(set(ids)) == 3
    assert all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in ids)
    # the internal integer key names nothing over HTTP
    for guess in ("1", "2", "3", "0"):
        assert client.get(f"{URL}/{guess}", headers=officer).status_code == 404
        assert client.post(f"{URL}/{guess}/confirm", headers=officer,
                           json={}).status_code == 404


def test_the_subject_read_cannot_be_changed(client, app, officer, victim) -> None:
    child = _records(app, "civil_status", CHILD)
    doc = upload(client, officer, pdf_of(birth_certificate())).get_json()
    resp = client.post(f"{URL}/{doc['id']}/confirm", headers=officer,
                       json={"subject": VICTIM, "values": {}})
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["code"] == "subject_mismatch" and body["field"] == "subject"
    assert body["message"] and body["message_en"]
    assert _records(app, "civil_status", VICTIM) == victim[0]
    assert _records(app, "civil_status", CHILD) == child
    assert _status(app, doc["id"]) == "pending" and _changes(app, doc["id"]) == []
    # repeating the subject read is fine
    same = client.post(f"{URL}/{doc['id']}/confirm", headers=officer,
                       json={"subject": f" {CHILD} "})
    assert same.status_code == 200 and same.get_json()["subject"] == CHILD


@pytest.mark.parametrize("field", ["death_date", "marriage_count", "marital_status",
                                   "birth_date", "personal_id"])
def test_a_birth_certificate_sets_only_its_own_fields(client, app, officer, field) -> None:
    child = _records(app, "civil_status", CHILD)
    doc = upload(client, officer, pdf_of(birth_certificate())).get_json()
    resp = client.post(f"{URL}/{doc['id']}/confirm", headers=officer, json={
        "values": {"birth_registration_number": "7", field: "2024-01-01"}})
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["code"] == "field_not_evidenced" and body["field"] == f"values.{field}"
    assert [e["field"] for e in body["errors"]] == [f"values.{field}"]
    assert _records(app, "civil_status", CHILD) == child
    assert _status(app, doc["id"]) == "pending" and _changes(app, doc["id"]) == []


def test_a_business_certificate_cannot_reach_another_business(client, app, officer,
                                                              victim) -> None:
    business = _records(app, "business", BUSINESS)
    doc = upload(client, officer, pdf_of(household_business_certificate()),
                 "household_business_certificate").get_json()
    other = client.post(f"{URL}/{doc['id']}/confirm", headers=officer, json={
        "subject": OTHER_BUSINESS,
        "values": {"legal_representative_personal_id": "001078005555"}})
    assert other.status_code == 422 and other.get_json()["field"] == "subject"
    by_value = client.post(f"{URL}/{doc['id']}/confirm", headers=officer, json={
        "values": {"enterprise_code": OTHER_BUSINESS}})
    assert by_value.status_code == 422
    assert by_value.get_json()["field"] == "values.enterprise_code"
    assert _records(app, "business", OTHER_BUSINESS) == victim[1]
    assert _records(app, "business", BUSINESS) == business
    assert _changes(app, doc["id"]) == []


def test_a_field_not_on_the_document_cannot_be_added(client, app, officer) -> None:
    child = _records(app, "civil_status", CHILD)
    lines = [line for line in birth_certificate() if not line.startswith("Số: ")]
    doc = upload(client, officer, pdf_of(lines)).get_json()
    assert "birth_registration_number" not in doc["values"]
    resp = client.post(f"{URL}/{doc['id']}/confirm", headers=officer, json={
        "values": {"birth_registration_number": "125"}})
    assert resp.status_code == 422
    assert resp.get_json()["code"] == "field_not_on_document"
    assert resp.get_json()["field"] == "values.birth_registration_number"
    assert _records(app, "civil_status", CHILD) == child


def test_every_change_is_in_the_trail_with_the_document(client, app, officer) -> None:
    from storage import records as store

    with _sessions(app) as session:  # an earlier record of the business, to be changed
        store.upsert_many(session, "business", [(BUSINESS, {
            "head_office": "Hà Nội"})], "import:cu.csv")
        session.commit()
    doc = upload(client, officer, pdf_of(household_business_certificate()),
                 "household_business_certificate").get_json()
    resp = client.post(f"{URL}/{doc['id']}/confirm", headers=officer, json={
        "values": {"charter_capital": "120000000"}})
    assert resp.status_code == 200, resp.get_json()
    record = _records(app, "business", BUSINESS)
    assert record is not None
    assert record["provenance"] == f"digitised:{doc['id']}"
    assert record["data"]["head_office"] == "Hà Nội"  # merged, not replaced
    assert record["data"]["charter_capital"] == 120_000_000
    [change] = _changes(app, doc["id"])
    assert change.actor == "officer:test officer" and change.role == "officer"
    assert change.agency_code == "UBND-XA-00004"
    assert (change.register, change.subject) == ("business", BUSINESS)
    assert change.provenance == f"digitised:{doc['id']}"
    assert change.before == {"name": None, "registration_date": None,
                             "business_lines": None, "charter_capital": None,
                             "legal_representative_name": None,
                             "legal_representative_personal_id": None}
    assert change.after["name"] == "HỘ KINH DOANH BÚN CHẢ HÀNG MÀNH"
    assert change.after["legal_representative_personal_id"] == "001078005555"
    assert "enterprise_code" not in change.after
    assert change.corrections == {"charter_capital": {
        "read": 100_000_000, "text": "100.000.000 đồng", "confirmed": 120_000_000}}


def test_a_subject_not_read_is_typed_and_recorded(client, app, officer) -> None:
    lines = [line for line in birth_certificate() if "định danh" not in line]
    doc = upload(client, officer, pdf_of(lines)).get_json()
    assert doc["subject"] is None
    missing = client.post(f"{URL}/{doc['id']}/confirm", headers=officer, json={})
    assert missing.status_code == 422 and missing.get_json()["code"] == "subject_required"
    bad = client.post(f"{URL}/{doc['id']}/confirm", headers=officer, json={"subject": "12"})
    assert bad.status_code == 422 and bad.get_json()["field"] == "subject"
    typed = "001221000888"  # as the paper shows it
    ok = client.post(f"{URL}/{doc['id']}/confirm", headers=officer, json={"subject": typed})
    assert ok.status_code == 200 and ok.get_json()["subject"] == typed
    [change] = _changes(app, doc["id"])
    assert change.before is None  # the record did not exist
    assert change.corrections == {"personal_id": {"read": None, "text": None,
                                                  "confirmed": typed}}


def test_the_trail_is_append_only(client, app, officer) -> None:
    doc = upload(client, officer, pdf_of(birth_certificate())).get_json()
    assert client.post(f"{URL}/{doc['id']}/confirm", headers=officer, json={}).status_code == 200
    for statement in ("UPDATE record_changes SET actor = 'someone else'",
                      "DELETE FROM record_changes"):
        with _sessions(app) as session, pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement))
    assert len(_changes(app, doc["id"])) == 1


def test_concurrent_confirmations_change_the_record_once(client, app, officer) -> None:
    doc = upload(client, officer, pdf_of(birth_certificate())).get_json()
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def confirm() -> None:
        local = app.test_client()
        barrier.wait()
        statuses.append(local.post(f"{URL}/{doc['id']}/confirm", headers=officer,
                                   json={}).status_code)

    threads = [threading.Thread(target=confirm) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 409, 409, 409]
    assert len(_changes(app, doc["id"])) == 1


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_the_migration_keeps_documents_already_stored(database_url) -> None:
    engine = db.make_engine(database_url)
    db.upgrade(engine, "0005")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for label, agency in (("clerk", "UBND-A"), ("shared", "UBND-A"), ("shared", "UBND-B")):
            conn.execute(text(
                "INSERT INTO api_tokens (token_hash, role, label, agency_code, created_at) "
                "VALUES (:h, 'officer', :l, :a, :t)"),
                {"h": uuid.uuid4().hex, "l": label, "a": agency, "t": now})
        for uploader in ("officer:clerk", "officer:shared", "officer:gone"):
            conn.execute(text(
                "INSERT INTO digitised_documents (kind, register, subject, sha256, \"values\", "
                "status, uploaded_by, created_at) VALUES ('birth_certificate', 'civil_status', "
                ":s, 'x', '{}', 'pending', :u, :t)"), {"s": CHILD, "u": uploader, "t": now})
    db.upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT uploaded_by, public_id, agency_code "
                                 "FROM digitised_documents ORDER BY id")).all()
    assert [(r.uploaded_by, r.agency_code) for r in rows] == [
        ("officer:clerk", "UBND-A"), ("officer:shared", None), ("officer:gone", None)]
    assert len({r.public_id for r in rows}) == 3
    assert all(uuid.UUID(r.public_id).version == 4 for r in rows)
    assert "record_changes" in inspect(engine).get_table_names()
    from alembic import command

    command.downgrade(db.alembic_config(engine), "0005")
    assert "record_changes" not in inspect(engine).get_table_names()
    engine.dispose()


def test_a_document_fills_in_but_never_changes_registered_values(client, app, officer) -> None:
    """Anyone can print a convincing certificate: one made for the purpose, confirmed by its
    own agency, must not replace a business's legal representative (who reaches the
    business's documents). The register's values stand; nothing is written."""
    from storage import records as store

    held = {"name": "HỘ KINH DOANH BÚN CHẢ HÀNG MÀNH", "legal_representative_personal_id":
            "079199054321", "legal_representative_name": "Lê Thị Thu Hà"}
    with _sessions(app) as session:
        store.upsert_many(session, "business", [(BUSINESS, held)], "import:dkkd.csv")
        session.commit()
    doc = upload(client, officer, pdf_of(household_business_certificate()),
                 "household_business_certificate").get_json()
    resp = client.post(f"{URL}/{doc['id']}/confirm", headers=officer, json={"values": {}})
    assert resp.status_code == 409, resp.get_json()
    body = resp.get_json()
    assert body["code"] == "record_conflict"
    assert {e["field"] for e in body["errors"]} == {
        "values.legal_representative_personal_id", "values.legal_representative_name"}
    record = _records(app, "business", BUSINESS)
    assert record is not None
    assert record["provenance"] == "import:dkkd.csv"
    assert {k: record["data"][k] for k in held} == held
    assert _changes(app, doc["id"]) == []
    again = client.get(f"{URL}/{doc['id']}", headers=officer).get_json()
    assert again["status"] == "pending"  # not claimed: nothing happened

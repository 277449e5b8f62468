"""Records keyed and traced right (issue #13, point 5): each register looked up by its own key
(a business by its code, reached from the person through their role: owner, then legal
representative), provenance kept per field, and the catalogue binding the business register.
Digitised documents: tests/service/records/test_digitised_checks.py."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, text

from forms import registers
from service.records import demo
from service.records.sources import HttpSource
from storage import db
from storage import records as store
from storage.models import Record
from tests.conftest import BACKENDS, prefill

FATHER = demo.DEMO_FATHER
DAUGHTER = demo.DEMO_DAUGHTER
DNTN = "giay-de-nghi-dang-ky-doanh-nghiep-tu-nhan"

#: people of these tests, unknown to the demo data
HOLDER = "001080000411"  # holds roles in businesses made up below
GROOM = "001090000422"  # married (a result recorded it), then his birth certificate digitised
SHOPKEEPER = "001075000433"  # no business in the register until her certificate is digitised


def fresh_id(century_sex: str = "0") -> str:
    """A personal ID number no other test uses (the tests of a module share a database)."""
    return f"001{century_sex}90{uuid.uuid4().int % 10**6:06d}"


def _sessions(app):
    return app.extensions["tokhai"].sessions()


def _put(app, register: str, items: list[tuple[str, dict]], provenance: str) -> None:
    with _sessions(app) as session:
        store.upsert_many(session, register, items, provenance)
        session.commit()


def _record(app, register: str, subject: str) -> Record:
    with _sessions(app) as session:
        row = session.scalar(select(Record).where(Record.register == register,
                                                  Record.subject == subject))
        assert row is not None
        session.expunge(row)
        return row


def _person(personal_id: str, name: str, born: str, sex: str) -> dict:
    surname, _, given = name.partition(" ")
    return {"personal_id": personal_id, "full_name": name, "surname": surname,
            "given_names": given, "birth_date": born, "birth_year": born[:4], "sex": sex,
            "nationality": "VN", "ethnicity": "01"}


# -- each register by its own key --------------------------------------------------------------

def test_the_roles_are_those_the_register_declares() -> None:
    assert {name: r.roles for name, r in registers.REGISTERS.items() if r.roles} == store.ROLES


def test_a_business_is_reached_through_the_declarants_role(client, app, people) -> None:
    """The business register is keyed by the enterprise code: the demo father's household
    business prefills the conversion block of the private-enterprise form, found through his
    role as its owner (it answered no_record when looked up by his personal ID number)."""
    code, business = next((c, d) for c, d in demo.generate(30).records["business"]
                          if d["owner_personal_id"] == FATHER)
    body = prefill(client, app, DNTN)
    block = body["data"]["ho_kinh_doanh"]
    assert block == {"ten": business["name"], "ngay_cap": business["registration_date"],
                     "ma_so_thue": code, "dia_chi": business["head_office"],
                     "chu_ho": "Nguyễn Văn An"}
    origin = body["provenance"]["/ho_kinh_doanh/ma_so_thue"]
    assert origin["register"] == "business" and origin["record_id"].startswith("business:")
    assert origin["provenance"] == "demo" and origin["mode"] == "suggested"
    assert origin["retrieved_at"].endswith("+07:00")  # as every moment the API answers with
    assert not [m for m in body["missing"] if m["register"] == "business"]
    # someone who holds no business: the block is to type, and says why
    hers = prefill(client, app, DNTN, DAUGHTER)
    assert hers["data"]["ho_kinh_doanh"] == {}
    assert {(m["register"], m["reason"]) for m in hers["missing"]
            if m["pointer"].startswith("/ho_kinh_doanh/")} == {("business", "no_record")}


def test_an_owner_comes_before_a_representative_and_several_are_not_guessed(
        client, app, people) -> None:
    _put(app, "business", [
        ("0100000411", {"enterprise_code": "0100000411", "name": "CÔNG TY ĐẠI DIỆN",
                        "legal_representative_personal_id": HOLDER}),
        ("0100000412", {"enterprise_code": "0100000412", "name": "HỘ KINH DOANH CỦA TÔI",
                        "owner_personal_id": HOLDER, "legal_representative_personal_id": HOLDER}),
    ], "import:dn.csv")
    body = prefill(client, app, DNTN, HOLDER)
    assert body["data"]["ho_kinh_doanh"]["ten"] == "HỘ KINH DOANH CỦA TÔI"
    _put(app, "business", [("0100000413", {"enterprise_code": "0100000413",
                                           "name": "HỘ KINH DOANH THỨ HAI",
                                           "owner_personal_id": HOLDER})], "import:dn2.csv")
    body = prefill(client, app, DNTN, HOLDER)
    assert body["data"]["ho_kinh_doanh"] == {}
    assert {m["reason"] for m in body["missing"]
            if m["register"] == "business"} == {"several_records"}
    # a role given up is a role no longer held: the register's rows follow the records
    _put(app, "business", [("0100000413", {"enterprise_code": "0100000413",
                                           "name": "HỘ KINH DOANH THỨ HAI"})], "import:dn3.csv")
    assert prefill(client, app, DNTN, HOLDER)["data"]["ho_kinh_doanh"]["ten"] == \
        "HỘ KINH DOANH CỦA TÔI"


def test_an_external_business_register_is_asked_by_person() -> None:
    asked: list[httpx.Request] = []
    mine = {"enterprise_code": "0100000499", "name": "HỘ KINH DOANH NGOÀI",
            "owner_personal_id": HOLDER}
    theirs = {"enterprise_code": "0100000498", "name": "KHÔNG PHẢI CỦA NGƯỜI NÀY",
              "owner_personal_id": GROOM}

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        if request.url.params.get("personal_id") == HOLDER:
            return httpx.Response(200, json={"records": [
                {"record_id": "DN-499", "data": mine}, {"record_id": "DN-498", "data": theirs}]})
        return httpx.Response(404, json={})

    source = HttpSource("business", "https://dkkd.example/api/records",
                        transport=httpx.MockTransport(answer))
    found = source.lookup_held([HOLDER, GROOM])
    assert list(found) == [HOLDER]  # a record naming someone else is not believed
    [record] = found[HOLDER]
    assert (record.subject, record.record_id, record.roles_of(HOLDER)) == (
        "0100000499", "DN-499", ["owner"])
    assert [str(r.url) for r in asked] == [
        f"https://dkkd.example/api/records?personal_id={HOLDER}",
        f"https://dkkd.example/api/records?personal_id={GROOM}"]


def test_the_catalogue_binds_the_business_register(client, app) -> None:
    forms = {f["id"]: f["latest_published_version"]
             for f in client.get("/api/v1/forms").get_json()}
    bound = set()
    for form, version in forms.items():
        report = client.get(f"/api/v1/forms/{form}/versions/{version}/trimming-report"
                            ).get_json()
        bound |= {f["record"].split(".")[0] for f in report["fields"] if f.get("record")}
    assert {"business", "civil_status"} <= bound


def test_birth_registration_fields_prefill_by_the_persons_own_key(client, app, people,
                                                                   designer) -> None:
    """The civil-status register is keyed by the personal ID number: a form binding the birth
    registration's fields fills them for the declarant and for a linked child."""
    definition = """
id: dang-ky-khai-sinh-da-co
version: 1
title: Đơn thử điền số đăng ký khai sinh
legal_basis: Thử nghiệm
procedure_code: local.thu.khai-sinh
agency_level: commune
sections:
  - id: ban_than
    title: Người kê khai
    fields:
      - {id: so, type: text, label: Số, prefill: civil_status.birth_registration_number}
      - {id: ngay, type: date, label: Ngày đăng ký, prefill: civil_status.birth_registration_date}
  - id: con
    title: Con
    person: child
    fields:
      - {id: so, type: text, label: Số, prefill: civil_status.birth_registration_number}
"""
    created = client.post("/api/v1/forms", data=definition.encode(),
                          headers={**designer, "Content-Type": "application/yaml"})
    assert created.status_code in (201, 409), created.get_json()
    client.post("/api/v1/forms/dang-ky-khai-sinh-da-co/versions/1/publish", headers=designer)
    body = prefill(client, app, "dang-ky-khai-sinh-da-co")
    civil = dict(demo.generate(30).records["civil_status"])
    child = sorted(p for p, d in people.items() if d.get("father_personal_id") == FATHER)[0]
    assert body["data"]["ban_than"] == {
        "so": civil[FATHER]["birth_registration_number"],
        "ngay": civil[FATHER]["birth_registration_date"]}
    assert body["data"]["con"]["so"] == civil[child]["birth_registration_number"]
    assert body["provenance"]["/con/so"]["register"] == "civil_status"


# -- provenance per field ----------------------------------------------------------------------

def test_a_value_written_again_keeps_its_provenance(app) -> None:
    subject = "001080000455"
    _put(app, "civil_status", [(subject, {"marriage_count": 0,
                                          "birth_registration_number": "7"})], "demo")
    _put(app, "civil_status", [(subject, {"marriage_count": 1,
                                          "birth_registration_number": "7"})], "import:ht.csv")
    record = _record(app, "civil_status", subject)
    assert record.provenance == "import:ht.csv"  # the last write, as before
    assert record.field_provenance == {"marriage_count": "import:ht.csv",
                                       "birth_registration_number": "demo"}


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_the_migration_traces_fields_already_stored(database_url) -> None:
    engine = db.make_engine(database_url)
    db.upgrade(engine, "0007")
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    rows: list[tuple[str, str, dict[str, object], str, datetime]] = [
        # (register, subject, data, provenance, updated_at)
        ("civil_status", "001080000461", {"marriage_count": 1, "birth_registration_number": "3"},
         "result:R1", t0),
        ("civil_status", "001080000462", {"marriage_count": 0}, "import:a.csv", t0),
        ("business", "0100000461", {"name": "HỘ A", "owner_personal_id": "001080000461",
                                    "legal_representative_personal_id": "001080000462"},
         "import:a.csv", t0 + timedelta(days=2)),
    ]
    with engine.begin() as conn:
        for register, subject, data, provenance, at in rows:
            conn.execute(text(
                "INSERT INTO records (register, subject, data, provenance, created_at, "
                "updated_at) VALUES (:r, :s, :d, :p, :t, :t)"),
                {"r": register, "s": subject, "d": json.dumps(data), "p": provenance, "t": at})
        # the first record was imported, then a result changed its marriage count
        conn.execute(text(
            "INSERT INTO record_changes (at, actor, role, register, subject, provenance, "
            "document_id, \"after\") VALUES (:t, 'officer:x', 'officer', 'civil_status', "
            "'001080000461', 'result:R1', 'R1', :a)"),
            {"t": t0 + timedelta(seconds=1), "a": json.dumps({"marriage_count": 1})})
    db.upgrade(engine)
    with engine.connect() as conn:
        traced = {r.subject: json.loads(r.fp) if isinstance(r.fp, str) else r.fp
                  for r in conn.execute(text(
                      "SELECT subject, field_provenance AS fp FROM records"))}
        roles = sorted(tuple(r) for r in conn.execute(text(
            "SELECT subject, role, personal_id FROM record_roles")))
    # what the result set is the result's; what was there before is not known any more
    assert traced["001080000461"] == {"marriage_count": "result:R1"}
    assert traced["001080000462"] == {"marriage_count": "import:a.csv"}
    assert traced["0100000461"] == dict.fromkeys(rows[2][2], "import:a.csv")
    assert roles == [("0100000461", "legal_representative", "001080000462"),
                     ("0100000461", "owner", "001080000461")]
    from alembic import command

    command.downgrade(db.alembic_config(engine), "0007")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM records")).scalar_one() == 3
    engine.dispose()

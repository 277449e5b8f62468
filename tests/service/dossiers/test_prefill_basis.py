"""A dossier records on what basis the records of people other than its citizen were read
(issue #16, "What must hold" 2), recomputed by the service from the answers filed: the demo
father's dossier about his ward records the relation ward; a dossier naming someone the
registers do not link to its citizen records nobody. The officer's prefill of a dossier is
read with its answers, as its citizen's was."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from service.records import demo
from storage.models import Dossier
from tests.conftest import _token, citizen_headers

FATHER = demo.DEMO_FATHER
DAUGHTER = demo.DEMO_DAUGHTER
WARD = demo.DEMO_WARD
NOBODY = "001099000777"  # a number no register holds
AGENCY = "UBND-XA-00004"

FORM = "can-cu-dien-san-thu"
DEFINITION = f"""
id: {FORM}
version: 1
title: Tờ khai thử căn cứ điền sẵn
legal_basis: Thử nghiệm
procedure_code: local.thu.can-cu
agency_level: commune
sections:
  - id: nguoi_duoc_giam_ho
    title: Người được giám hộ
    person: {{named_by: so_dinh_danh, allowed: [ward]}}
    fields:
      - {{id: so_dinh_danh, type: personal_id, label: Số định danh cá nhân}}
      - {{id: ho_ten, type: text, label: "Họ, chữ đệm, tên", prefill: population.full_name,
         check_typed: true}}
      - {{id: ngay_sinh, type: date, label: Ngày sinh,
         prefill: {{record: population.birth_date, mode: verified}}}}
  - id: nguoi_lien_quan
    title: Người liên quan
    person: {{relation_by: quan_he}}
    fields:
      - {{id: quan_he, type: choice, codes: relationship, label: Quan hệ với người kê khai,
         required: false}}
      - {{id: ho_ten, type: text, label: "Họ, chữ đệm, tên", prefill: population.full_name,
         required: false}}
"""

WARD_BASIS = {"pointer": "/nguoi_duoc_giam_ho", "relation": "ward",
              "named_by": "/nguoi_duoc_giam_ho/so_dinh_danh", "register": "population"}


def officer(app) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'officer', agency_code=AGENCY)}"}


@pytest.fixture(scope="module")
def form(app, people) -> None:
    client = app.test_client()
    designer = {"Authorization": f"Bearer {_token(app, 'designer')}"}
    created = client.post("/api/v1/forms", data=DEFINITION.encode(),
                          headers={**designer, "Content-Type": "application/yaml"})
    assert created.status_code == 201, created.get_json()
    published = client.post(f"/api/v1/forms/{FORM}/versions/1/publish", headers=designer)
    assert published.status_code == 200, published.get_json()


def data(number: str, name: str, born: str, relation: str | None = None) -> dict[str, Any]:
    return {"nguoi_duoc_giam_ho": {"so_dinh_danh": number, "ho_ten": name, "ngay_sinh": born},
            "nguoi_lien_quan": {"quan_he": relation} if relation else {}}


def file(client, app, who: str, body: dict[str, Any]):
    return client.post("/api/v1/dossiers", headers=citizen_headers(app, who), json={
        "form_id": FORM, "version": 1, "agency_code": AGENCY, "data": body})


def stored(app, code: str) -> Any:
    with app.extensions["tokhai"].sessions() as session:
        return session.scalar(select(Dossier.prefill_basis).where(Dossier.code == code))


def without_record_ids(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for entry in entries:
        assert isinstance(entry.pop("record_id"), str)
    return entries


def test_a_guardians_dossier_about_his_ward_records_the_relation(client, app, people,
                                                                 form) -> None:
    ward = people[WARD]
    filed = file(client, app, FATHER, data(WARD, ward["full_name"], ward["birth_date"], "vo"))
    assert filed.status_code == 201, filed.get_json()
    body = filed.get_json()
    saved = stored(app, body["code"])
    assert body["prefill_basis"] == saved
    assert without_record_ids(saved) == [
        WARD_BASIS,
        {"pointer": "/nguoi_lien_quan", "relation": "spouse",
         "relation_by": "/nguoi_lien_quan/quan_he", "register": "population"}]
    # the dossier's representation shows it, to its citizen and to the officer
    for headers in (citizen_headers(app, FATHER), officer(app)):
        read = client.get(f"/api/v1/dossiers/{body['code']}", headers=headers).get_json()
        assert read["prefill_basis"] == body["prefill_basis"]


def test_a_dossier_naming_an_unlinked_person_records_none(client, app, people, form) -> None:
    ward = people[WARD]
    # a real ward, but not hers; and a number nobody has
    for number in (WARD, NOBODY):
        filed = file(client, app, DAUGHTER, data(number, ward["full_name"], "2013-04-09",
                                                 "khac"))
        assert filed.status_code == 201, filed.get_json()
        assert filed.get_json()["prefill_basis"] == []
        assert stored(app, filed.get_json()["code"]) == []


def test_the_officers_prefill_reads_the_dossiers_answers(client, app, people, form) -> None:
    ward = people[WARD]
    his = file(client, app, FATHER, data(WARD, ward["full_name"], ward["birth_date"], "vo"))
    got = client.get(f"/api/v1/dossiers/{his.get_json()['code']}/prefill",
                     headers=officer(app))
    assert got.status_code == 200, got.get_json()
    body = got.get_json()
    assert body["data"]["nguoi_duoc_giam_ho"]["ho_ten"] == ward["full_name"]
    assert body["provenance"]["/nguoi_duoc_giam_ho/ho_ten"]["basis"] == {
        "relation": "ward", "named_by": "/nguoi_duoc_giam_ho/so_dinh_danh"}
    assert body["data"]["nguoi_lien_quan"]["ho_ten"] == people[
        people[FATHER]["spouse_personal_id"]]["full_name"]

    # the daughter named the same ward: nothing of the ward's is read for her dossier
    hers = file(client, app, DAUGHTER, data(WARD, ward["full_name"], "2013-04-09"))
    body = client.get(f"/api/v1/dossiers/{hers.get_json()['code']}/prefill",
                      headers=officer(app)).get_json()
    assert body["data"]["nguoi_duoc_giam_ho"] == {}
    assert {m["reason"] for m in body["missing"]
            if m["pointer"].startswith("/nguoi_duoc_giam_ho/")} == {"no_linked_person"}


def test_a_supplement_naming_someone_else_records_their_basis(client, app, people,
                                                              form) -> None:
    ward = people[WARD]
    filed = file(client, app, FATHER, data(WARD, ward["full_name"], ward["birth_date"]))
    code = filed.get_json()["code"]
    assert without_record_ids(filed.get_json()["prefill_basis"]) == [WARD_BASIS]
    moved = client.post(f"/api/v1/dossiers/{code}/actions",
                        json={"action": "request_supplement", "reason": "Sai người"},
                        headers={**officer(app), "If-Match": filed.headers["ETag"]})
    assert moved.status_code == 200, moved.get_json()
    sent = client.post(f"/api/v1/dossiers/{code}/supplement",
                       json={"data": data(NOBODY, "Lê Văn Khác", "2012-01-01")},
                       headers=citizen_headers(app, FATHER))
    assert sent.status_code == 200, sent.get_json()
    assert sent.get_json()["prefill_basis"] == [] == stored(app, code)


def test_the_openapi_schema_documents_the_basis(client) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    dossier = schemas["Dossier"]["properties"]["prefill_basis"]
    assert "description" in dossier
    basis = schemas["PrefillBasis"]["properties"]
    assert {"pointer", "relation", "named_by", "relation_by", "register", "record_id"} <= set(
        basis)

"""One submission check: ``POST …/validate``, filing a dossier, a supplement and a direct call
of the operation give the same answer for the same data (issue #11, point 5)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from service import catalogue as form_ops
from service.dossiers import lifecycle
from tests.conftest import DEMO_FATHER, _token, citizen_headers

FORM = "de-nghi-kiem-tra-chung"
AGENCY = "CA-HN"
DEFINITION = f"""
id: {FORM}
version: 1
title: Đơn thử kiểm tra dữ liệu
legal_basis: Thử nghiệm
procedure_code: local.thu.kiem-tra
agency_level: commune
sections:
  - id: nguoi_de_nghi
    title: Người đề nghị
    fields:
      - id: ho_ten
        type: text
        label: Họ và tên
        prefill: {{record: population.full_name, mode: verified}}
      - {{id: ghi_chu, type: text, label: Ghi chú, required: false}}
      - {{id: so_ban, type: integer, label: Số bản, required: false}}
  - id: giay_to
    title: Giấy tờ kèm theo
    fields:
      - {{id: trich_luc, type: attachment, label: Trích lục, media_types: [application/pdf],
         required: false}}
      - id: ban_sao
        type: group
        label: Bản sao
        repeat: {{min: 0, max: 5}}
        fields:
          - {{id: tep, type: attachment, label: Tệp, media_types: [application/pdf],
             required: false}}
"""


@pytest.fixture(scope="module")
def form(app, people) -> str:
    client = app.test_client()
    designer = {"Authorization": f"Bearer {_token(app, 'designer')}"}
    created = client.post("/api/v1/forms", data=DEFINITION.encode(),
                          headers={**designer, "Content-Type": "application/yaml"})
    assert created.status_code in (201, 409), created.get_json()
    published = client.post(f"/api/v1/forms/{FORM}/versions/1/publish", headers=designer)
    assert published.status_code in (200, 409), published.get_json()
    return FORM


def _base(client, app) -> dict[str, Any]:
    name = client.get(f"/api/v1/forms/{FORM}/versions/1/prefill",
                      headers=citizen_headers(app, DEMO_FATHER)).get_json()
    return {"nguoi_de_nghi": {"ho_ten": name["data"]["nguoi_de_nghi"]["ho_ten"]},
            "giay_to": {"trich_luc": [], "ban_sao": []}}


def _case(name: str, base: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(base)
    if name == "schema":
        data["nguoi_de_nghi"]["so_ban"] = "hai"
        data["nguoi_de_nghi"]["thua"] = 1
    elif name == "verified":
        data["nguoi_de_nghi"]["ho_ten"] = "Người Khác"
    elif name == "unknown_document":
        data["giay_to"]["trich_luc"] = [{"document_id": str(uuid.uuid4())}]
    elif name == "unknown_document_in_a_repeated_group":
        data["giay_to"]["ban_sao"] = [{"tep": []}, {"tep": [{"document_id": str(uuid.uuid4())}]}]
    elif name == "control_character":
        data["nguoi_de_nghi"]["ghi_chu"] = "a\x07b"
    elif name == "everything_at_once":  # issue #13, point 7: unknown_document with the rest
        for part in ("schema", "verified", "unknown_document",
                     "unknown_document_in_a_repeated_group"):
            changed = _case(part, base)
            for section in ("nguoi_de_nghi", "giay_to"):
                data[section].update({k: v for k, v in changed[section].items()
                                      if v != base[section].get(k)})
    return data


CASES = ["valid", "schema", "verified", "unknown_document",
         "unknown_document_in_a_repeated_group", "control_character", "everything_at_once"]
EXPECTED = {
    "valid": set(),
    "schema": {("/nguoi_de_nghi/so_ban", "wrong_type"), ("/nguoi_de_nghi/thua", "unknown_field")},
    "verified": {("/nguoi_de_nghi/ho_ten", "verified_mismatch")},
    "unknown_document": {("/giay_to/trich_luc/0/document_id", "unknown_document")},
    "unknown_document_in_a_repeated_group": {
        ("/giay_to/ban_sao/1/tep/0/document_id", "unknown_document")},
    "control_character": {("/nguoi_de_nghi/ghi_chu", "control_character")},
    "everything_at_once": {
        ("/nguoi_de_nghi/so_ban", "wrong_type"), ("/nguoi_de_nghi/thua", "unknown_field"),
        ("/nguoi_de_nghi/ho_ten", "verified_mismatch"),
        ("/giay_to/trich_luc/0/document_id", "unknown_document"),
        ("/giay_to/ban_sao/1/tep/0/document_id", "unknown_document")},
}


def _direct(app, data: dict[str, Any]) -> list[dict[str, str]]:
    rt = app.extensions["tokhai"]
    with rt.sessions() as session:
        compiled = form_ops.published_form(session, FORM, 1)
        return lifecycle.check(session, compiled, data, DEMO_FATHER, rt.sources(session))


@pytest.mark.parametrize("case", CASES)
def test_validate_submission_and_the_operation_agree(client, app, form, case) -> None:
    data = _case(case, _base(client, app))
    direct = _direct(app, data)
    assert {(e["field"], e["code"]) for e in direct} == EXPECTED[case]
    father = citizen_headers(app, DEMO_FATHER)
    validated = client.post(f"/api/v1/forms/{FORM}/versions/1/validate", json={"data": data},
                            headers=father)
    filed = client.post("/api/v1/dossiers", headers=father, json={
        "form_id": FORM, "version": 1, "agency_code": AGENCY, "data": data})
    if case == "control_character":  # the door refuses it before either view, the same way
        assert validated.status_code == filed.status_code == 422
        door = {k: v for k, v in validated.get_json().items() if k != "request_id"}
        assert door == {k: v for k, v in filed.get_json().items() if k != "request_id"}
        return
    assert validated.status_code == 200, validated.get_json()
    answer = validated.get_json()
    assert answer["errors"] == direct and answer["valid"] is (not direct)
    if direct:
        assert filed.status_code == 422 and filed.get_json()["errors"] == direct
    else:
        assert filed.status_code == 201, filed.get_json()


def test_a_supplement_gets_the_same_answer(client, app, form) -> None:
    father = citizen_headers(app, DEMO_FATHER)
    clerk = {"Authorization": f"Bearer {_token(app, 'officer', agency_code=AGENCY)}"}
    base = _base(client, app)
    filed = client.post("/api/v1/dossiers", headers=father, json={
        "form_id": FORM, "version": 1, "agency_code": AGENCY, "data": base})
    code = filed.get_json()["code"]
    asked = client.post(f"/api/v1/dossiers/{code}/actions", headers={
        **clerk, "If-Match": filed.headers["ETag"]},
        json={"action": "request_supplement", "reason": "Thiếu bản sao"})
    assert asked.status_code == 200, asked.get_json()
    for case in ("schema", "verified", "unknown_document_in_a_repeated_group",
                 "everything_at_once"):
        data = _case(case, base)
        refused = client.post(f"/api/v1/dossiers/{code}/supplement", json={"data": data},
                              headers=father)
        assert refused.status_code == 422
        assert refused.get_json()["errors"] == _direct(app, data)

"""Prefill from the registers: the declarant's records and those of people linked to them,
with provenance; nobody else's data; verified values enforced."""

from __future__ import annotations

import json
import logging

from service.cli import load_demo
from service.records import demo
from storage.models import Record
from tests.conftest import citizen_headers, prefill, valid_submission

FATHER = demo.DEMO_FATHER
DAUGHTER = demo.DEMO_DAUGHTER


def test_own_records_fill_with_provenance(client, app, people) -> None:
    body = prefill(client, app, "don-de-nghi-doi-cap-lai-gplx")
    me = people[FATHER]
    assert body["data"]["nguoi_de_nghi"]["ho_ten"] == me["full_name"] == "Nguyễn Văn An"
    assert body["data"]["nguoi_de_nghi"]["so_dinh_danh"] == FATHER
    prov = body["provenance"]["/nguoi_de_nghi/ho_ten"]
    assert prov["mode"] == "verified" and prov["register"] == "population"
    assert prov["source"] == "population" and prov["record_id"].startswith("population:")
    assert prov["retrieved_at"] and prov["provenance"] == "demo"
    assert body["provenance"]["/gplx_hien_co/hang"]["register"] == "driving_licence"
    assert body["provenance"]["/gplx_hien_co/hang"]["mode"] == "suggested"
    assert set(body["to_type"]) == {"/de_nghi/ly_do", "/de_nghi/tich_hop", "/cam_doan/cam_doan"}
    assert body["failed_sources"] == [] and body["missing"] == []


def test_linked_people_fill_their_sections(client, app, people) -> None:
    me = people[FATHER]
    spouse = people[me["spouse_personal_id"]]
    body = prefill(client, app, "to-khai-dang-ky-khai-sinh")
    data = body["data"]
    assert data["nguoi_cha"]["ho_ten"] == me["full_name"]  # the declarant is the father
    assert data["nguoi_me"]["ho_ten"] == spouse["full_name"] == "Trần Thị Bình"
    assert data["nguoi_me"]["giay_to"] == me["spouse_personal_id"]
    assert body["provenance"]["/nguoi_me/ho_ten"]["person"].startswith("Người kê khai hoặc")
    assert data["ket_hon_cha_me"]["so"]  # the parents' marriage, from civil status
    assert "/nguoi_duoc_khai_sinh/ho_ten" in body["to_type"]  # the newborn has no record

    u14 = prefill(client, app, "to-khai-cap-ho-chieu-nguoi-chua-du-14-tuoi")["data"]
    first_child = sorted(p for p, d in people.items() if d.get("father_personal_id") == FATHER)[0]
    assert u14["tre_em"]["so_dinh_danh"] == first_child
    assert u14["tre_em"]["cha"]["ho_ten"] == me["full_name"]
    assert u14["tre_em"]["me"]["ho_ten"] == spouse["full_name"]


def test_household_members_fill_a_repeated_group(client, app, people) -> None:
    body = prefill(client, app, "ct01-thay-doi-thong-tin-cu-tru")
    household = {p for p, d in people.items()
                 if d["household_head_personal_id"] == FATHER} - {FATHER}
    members = body["data"]["thanh_vien"]["thanh_vien"]
    assert {m["so_dinh_danh"] for m in members} == household and len(household) == 4
    assert body["provenance"]["/thanh_vien/thanh_vien/0/ho_ten"]["mode"] == "suggested"


def test_nobody_unlinked_is_disclosed(client, app, people) -> None:
    me = people[FATHER]
    linked = {FATHER, me.get("spouse_personal_id"), me.get("father_personal_id"),
              me.get("mother_personal_id")}
    linked |= {p for p, d in people.items()
               if FATHER in (d.get("father_personal_id"), d.get("household_head_personal_id"))}
    strangers = [d for p, d in people.items() if p not in linked]
    assert strangers
    latest = {f["id"]: f["latest_published_version"]
              for f in client.get("/api/v1/forms").get_json()}
    for form in ("to-khai-dang-ky-khai-sinh", "to-khai-dang-ky-ket-hon",
                 "ct01-thay-doi-thong-tin-cu-tru", "to-khai-cap-ho-chieu-nguoi-chua-du-14-tuoi",
                 "to-khai-dang-ky-giam-ho"):
        resp = client.get(f"/api/v1/forms/{form}/versions/{latest[form]}/prefill",
                          headers=citizen_headers(app, FATHER))
        assert resp.status_code == 200, resp.get_json()
        text = json.dumps(resp.get_json(), ensure_ascii=False)
        for stranger in strangers:
            assert stranger["personal_id"] not in text
            assert stranger["full_name"] not in text or any(
                people[p]["full_name"] == stranger["full_name"] for p in linked if p)


def test_sex_decides_which_party_is_the_declarant(client, app) -> None:
    him = prefill(client, app, "to-khai-dang-ky-ket-hon", FATHER)
    her = prefill(client, app, "to-khai-dang-ky-ket-hon", DAUGHTER)
    assert him["data"]["ben_nam"]["ho_ten"] == "Nguyễn Văn An" and him["data"]["ben_nu"] == {}
    assert her["data"]["ben_nu"]["ho_ten"] == "Lê Thị Thu Hà" and her["data"]["ben_nam"] == {}
    assert {m["reason"] for m in her["missing"]} == {"no_linked_person"}


def test_missing_records_are_not_errors(client, app) -> None:
    body = prefill(client, app, "to-khai-dang-ky-ket-hon", "001099999999")
    assert body["data"] == {"ben_nu": {}, "ben_nam": {}, "cam_doan": {}}
    assert body["provenance"] == {}
    assert "/ben_nam/ho_ten" in body["to_type"]


def test_a_form_with_no_bindings(client, app, designer) -> None:
    definition = """
id: khong-gan
version: 1
title: Đơn không gắn dữ liệu
legal_basis: Thử nghiệm
procedure_code: local.thu
agency_level: commune
sections:
  - id: noi_dung
    title: Nội dung
    fields:
      - {id: ly_do, type: long_text, label: Lý do}
"""
    client.post("/api/v1/forms", data=definition,
                headers={**designer, "Content-Type": "application/yaml"})
    client.post("/api/v1/forms/khong-gan/versions/1/publish", headers=designer)
    body = prefill(client, app, "khong-gan")
    assert body["data"] == {"noi_dung": {}} and body["to_type"] == ["/noi_dung/ly_do"]


def test_only_ones_own_records(client, app, caplog) -> None:
    headers = citizen_headers(app, FATHER)
    url = "/api/v1/forms/to-khai-dang-ky-ket-hon/versions/1/prefill"
    with caplog.at_level(logging.WARNING):
        other = client.get(url, query_string={"personal_id": DAUGHTER}, headers=headers)
    assert other.status_code == 403 and other.get_json()["code"] == "not_your_record"
    assert any("another person" in r.getMessage() for r in caplog.records)
    assert client.get(url, query_string={"personal_id": FATHER},
                      headers=headers).status_code == 200
    for bad in ("12345", "00108501234a", "0010850123456"):
        resp = client.get(url, query_string={"personal_id": bad}, headers=headers)
        assert resp.status_code == 422 and resp.get_json()["field"] == "query.personal_id"
    assert client.get(url).status_code == 401
    designer_like = {"Authorization": citizen_headers(app, FATHER)["Authorization"]}
    assert client.get("/api/v1/forms/khong-co/versions/1/prefill",
                      headers=designer_like).status_code == 404


def validate(client, app, form, data, who=FATHER):
    resp = client.post(f"/api/v1/forms/{form}/versions/1/validate", json={"data": data},
                       headers=citizen_headers(app, who))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_verified_values_are_enforced_suggested_may_change(client, app, people) -> None:
    form = "don-de-nghi-doi-cap-lai-gplx"
    data = valid_submission(client, app, form)
    assert validate(client, app, form, data) == {"valid": True, "errors": [], "checks": []}
    data["gplx_hien_co"]["co_so_dao_tao"] = "Trung tâm đào tạo khác"  # suggested: may change
    assert validate(client, app, form, data)["valid"] is True
    data["nguoi_de_nghi"]["ho_ten"] = "Nguyễn Văn Ân"  # verified: may not
    result = validate(client, app, form, data)
    assert result["valid"] is False
    assert [(e["field"], e["code"]) for e in result["errors"]] == [
        ("/nguoi_de_nghi/ho_ten", "verified_mismatch")]
    assert "Cơ sở dữ liệu quốc gia về dân cư" in result["errors"][0]["message"]


def test_validation_reports_every_error_in_vietnamese(client, app) -> None:
    form = "don-de-nghi-doi-cap-lai-gplx"
    data = valid_submission(client, app, form)
    del data["de_nghi"]["ly_do"]
    data["gplx_hien_co"]["ngay_cap"] = "31/02/1990"
    data["cam_doan"]["cam_doan"] = False
    data["de_nghi"]["thua"] = "x"
    result = validate(client, app, form, data)
    got = {(e["field"], e["code"]) for e in result["errors"]}
    assert got == {("/de_nghi/ly_do", "required"), ("/gplx_hien_co/ngay_cap", "bad_format"),
                   ("/cam_doan/cam_doan", "commitment"), ("/de_nghi/thua", "unknown_field")}
    by_field = {e["field"]: e["message"] for e in result["errors"]}
    assert by_field["/de_nghi/ly_do"] == "Chưa nhập 'Lý do'."
    assert by_field["/cam_doan/cam_doan"] == "Cần xác nhận lời cam đoan."


def test_typed_strangers_are_checked_without_disclosure(client, app, people) -> None:
    """The daughter types her fiancé's ID, name and birth date: the service answers one match
    or no_match for him as a whole, and reveals none of his data nor which field was wrong."""
    form = "to-khai-dang-ky-ket-hon"
    fiance = next(d for d in people.values()
                  if d["sex"] == "nam" and d["personal_id"] not in (FATHER,)
                  and d["household_head_personal_id"] != people[DAUGHTER][
                      "household_head_personal_id"] and d["birth_date"] < "2000")
    data = valid_submission(client, app, form, DAUGHTER)
    data["ben_nam"] = {"giay_to": fiance["personal_id"], "ho_ten": fiance["full_name"],
                       "ngay_sinh": "1901-01-01", "lan_ket_hon": 1}
    result = validate(client, app, form, data, DAUGHTER)
    assert result["checks"] == [{"person": "/ben_nam", "result": "no_match"}]
    text = json.dumps(result, ensure_ascii=False)
    assert fiance["birth_date"] not in text
    assert fiance["residence"]["commune"] not in text
    data["ben_nam"]["ngay_sinh"] = fiance["birth_date"]
    assert validate(client, app, form, data, DAUGHTER)["checks"] == [
        {"person": "/ben_nam", "result": "match"}]
    unknown = dict(data, ben_nam={**data["ben_nam"], "giay_to": "001099999999"})
    assert validate(client, app, form, unknown, DAUGHTER)["checks"] == [
        {"person": "/ben_nam", "result": "no_match"}]  # an unknown number: the same answer


def test_records_are_stored_once_per_register_and_subject(app, people) -> None:
    from sqlalchemy import func, select

    with app.app_context():
        load_demo(demo.generate(30))  # loading again updates nothing and adds nothing
    with app.extensions["tokhai"].sessions() as session:
        total = session.scalar(select(func.count()).select_from(Record).where(
            Record.register == "population"))
    assert total == len(people)


def test_every_catalogue_form_meets_the_target_for_the_demo_citizens(
        client, app, people, designer) -> None:
    forms = {f["id"]: f["latest_published_version"] for f in client.get("/api/v1/forms")
             .get_json() if f["id"].startswith(("ct0", "don-", "giay-", "tk1-", "to-khai-"))}
    assert len(forms) >= 13
    for form, version in forms.items():
        for who in (FATHER, DAUGHTER):
            report = client.get(f"/api/v1/forms/{form}/versions/{version}/trimming-report",
                                query_string={"personal_id": who}, headers=designer).get_json()
            actual = report["actual"]
            # (no comparison with the designer's figure: one citizen's counts only the fields
            # shown for their answers, on both sides, so it may be the higher)
            assert actual["meets_target"], (form, who, actual["verdict"])


def test_actual_figures_say_which_register_is_missing(client, app, people, designer) -> None:
    url = "/api/v1/forms/to-khai-dang-ky-ket-hon/versions/1/trimming-report"
    report = client.get(url, query_string={"personal_id": "001099999999",
                                           "purpose": "Kiểm tra tờ khai"},
                        headers=designer).get_json()["actual"]
    assert report["meets_target"] is False
    assert {(m["register"], m["reason"]) for m in report["missing"]} >= {
        ("population", "no_record")}
    assert "Cơ sở dữ liệu quốc gia về dân cư" in report["verdict"]
    assert client.get(url, query_string={"personal_id": FATHER}).status_code == 401
    own = client.get(url, query_string={"personal_id": FATHER},
                     headers=citizen_headers(app, FATHER))
    assert own.status_code == 200 and "actual" in own.get_json()
    other = client.get(url, query_string={"personal_id": DAUGHTER},
                       headers=citizen_headers(app, FATHER))
    assert other.status_code == 403
    assert "actual" not in client.get(url).get_json()


def test_text_is_compared_after_nfc_normalisation(client, app, people) -> None:
    import unicodedata

    form = "don-de-nghi-doi-cap-lai-gplx"
    data = valid_submission(client, app, form)
    decomposed = unicodedata.normalize("NFD", data["nguoi_de_nghi"]["ho_ten"])
    assert decomposed != data["nguoi_de_nghi"]["ho_ten"]
    data["nguoi_de_nghi"]["ho_ten"] = decomposed  # the same name, typed on another keyboard
    assert validate(client, app, form, data)["valid"] is True

"""People a citizen names, relations chosen by an answer, records picked by an answer, and
hidden means absent (issue #16, "What must hold" 2, 3 and 8), with the demo families: the
demo father's ward and his late mother, and a mother who is not married and her son.

A named person's records are read only when the registers link them to the declarant by a
relation the form allows, and each value filled for them says on what basis; anyone else's are
never read or shown: what is typed about them is only checked (match / no_match, rate
limited)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from forms.records import RecordInvalid, normalise_place, normalise_record
from service.cli import load_demo
from service.records import demo
from storage.models import Dossier
from tests.conftest import _token, citizen_headers, make_app

FATHER = demo.DEMO_FATHER
DAUGHTER = demo.DEMO_DAUGHTER
WARD = demo.DEMO_WARD
DECEASED = demo.DEMO_DECEASED
MOTHER = demo.DEMO_MOTHER
SON = demo.DEMO_CHILD_OUT_OF_WEDLOCK
#: a number no register holds
NOBODY = "001099000777"

NAMED = "nguoi-duoc-neu-thu"
NAMED_FORM = f"""
id: {NAMED}
version: 1
title: Tờ khai thử người được nêu tên
legal_basis: Thử nghiệm
procedure_code: local.thu.nguoi-duoc-neu
agency_level: commune
sections:
  - id: nguoi_duoc_giam_ho
    title: Người được giám hộ
    person: {{named_by: so_dinh_danh, allowed: [ward]}}
    fields:
      - {{id: so_dinh_danh, type: personal_id, label: Số định danh cá nhân}}
      - {{id: ho_ten, type: text, label: "Họ, chữ đệm, tên", prefill: population.full_name,
         check_typed: true}}
      - {{id: ngay_sinh, type: date, label: Ngày sinh, prefill: population.birth_date}}
      - {{id: noi_sinh, type: place, label: Nơi sinh, prefill: population.birth_place}}
  - id: nguoi_than
    title: Người thân
    person: {{named_by: so_dinh_danh, allowed: [parent, child]}}
    fields:
      - {{id: so_dinh_danh, type: personal_id, label: Số định danh cá nhân, required: false}}
      - {{id: ho_ten, type: text, label: "Họ, chữ đệm, tên", prefill: population.full_name,
         required: false}}
      - {{id: ngay_chet, type: date, label: Ngày chết, prefill: population.death_date,
         required: false}}
"""

CHOSEN = "quan-he-va-su-kien-thu"
CHOSEN_FORM = f"""
id: {CHOSEN}
version: 1
title: Tờ khai thử quan hệ và sự kiện
legal_basis: Thử nghiệm
procedure_code: local.thu.quan-he
agency_level: commune
code_lists:
  loai_su_kien:
    - {{code: khai_sinh, label: Khai sinh}}
    - {{code: ket_hon, label: Kết hôn}}
sections:
  - id: nguoi_lien_quan
    title: Người liên quan
    person: {{relation_by: quan_he}}
    fields:
      - {{id: quan_he, type: choice, codes: relationship, label: Quan hệ với người kê khai,
         required: false}}
      - {{id: ho_ten, type: text, label: "Họ, chữ đệm, tên", prefill: population.full_name,
         required: false}}
  - id: su_kien
    title: Sự kiện
    fields:
      - {{id: loai, type: choice, codes: loai_su_kien, label: Loại sự kiện}}
      - id: noi_dang_ky
        type: text
        label: Nơi đăng ký
        required: false
        prefill:
          by: loai
          records:
            khai_sinh: civil_status.birth_registration_authority
            ket_hon: civil_status.marriage_registration_authority
      - {{id: so_ket_hon, type: text, label: Số giấy chứng nhận kết hôn, required: false,
         when: {{field: loai, equals: ket_hon}},
         prefill: civil_status.marriage_certificate_number}}
      - {{id: quyen_so, type: text, label: Quyển số đăng ký khai sinh, required: false,
         when: {{field: loai, equals: khai_sinh}},
         prefill: civil_status.birth_registration_book}}
      - {{id: ngay, type: date, label: Ngày xảy ra sự kiện, required: false}}
      - {{id: loi_khai, type: computed, label: Lời khai, template: "Tôi khai việc {{loai}}."}}
rules:
  - {{not_future: su_kien.ngay}}
"""


def publish(client, designer: dict[str, str], definition: str, form_id: str) -> None:
    created = client.post("/api/v1/forms", data=definition.encode(),
                          headers={**designer, "Content-Type": "application/yaml"})
    assert created.status_code in (201, 409), created.get_json()
    published = client.post(f"/api/v1/forms/{form_id}/versions/1/publish", headers=designer)
    assert published.status_code in (200, 409), published.get_json()


@pytest.fixture(scope="module")
def forms(app, people) -> None:
    client = app.test_client()
    designer = {"Authorization": f"Bearer {_token(app, 'designer')}"}
    publish(client, designer, NAMED_FORM, NAMED)
    publish(client, designer, CHOSEN_FORM, CHOSEN)


def answered(client, app, form: str, who: str, answers: dict[str, Any]) -> dict[str, Any]:
    resp = client.post(f"/api/v1/forms/{form}/versions/1/prefill", json={"answers": answers},
                       headers=citizen_headers(app, who))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def validate(client, app, form: str, who: str, data: dict[str, Any]):
    return client.post(f"/api/v1/forms/{form}/versions/1/validate", json={"data": data},
                       headers=citizen_headers(app, who))


def ward(number: str, name: str | None = None) -> dict[str, Any]:
    return {"nguoi_duoc_giam_ho": {"so_dinh_danh": number,
                                   **({"ho_ten": name} if name else {})}}


# -- the registers' new vocabulary and the demo families -------------------------------------

def test_places_are_current_units_abroad_or_former_names() -> None:
    assert normalise_place({"province": "1", "commune": "4"}) == {
        "kind": "current", "province": "01", "commune": "00004"}
    assert normalise_place({"kind": "abroad", "country": "jp", "detail": " Osaka "}) == {
        "kind": "abroad", "country": "JP", "detail": "Osaka"}
    assert normalise_place({"kind": "former", "text": "Xã Đông Mỹ, huyện Thanh Trì"}) == {
        "kind": "former", "text": "Xã Đông Mỹ, huyện Thanh Trì"}
    for bad in ({"kind": "abroad", "country": "VN"}, {"kind": "abroad", "country": "XX"},
                {"kind": "former"}, {"kind": "former", "text": "x" * 201},
                {"kind": "moon", "text": "x"}, {"kind": "abroad", "country": "JP", "text": "x"},
                {"province": "01", "commune": "99999"}, "Hà Nội"):
        with pytest.raises(ValueError):
            normalise_place(bad)
    with pytest.raises(RecordInvalid) as caught:
        normalise_record("population", {"ward_personal_ids": [WARD]})
    assert caught.value.problems[0].code == "derived_field"  # computed, never imported


def test_demo_families_of_the_harder_cases() -> None:
    generated = demo.generate(3)
    people = dict(generated.records["population"])
    civil = dict(generated.records["civil_status"])
    assert people[FATHER]["mother_personal_id"] == DECEASED
    late = people[DECEASED]
    assert late["death_date"] == civil[DECEASED]["death_date"] == "2024-03-10"
    assert civil[DECEASED]["death_registration_number"]
    assert late["birth_place"]["kind"] == "former"
    assert people[WARD]["guardian_personal_id"] == FATHER
    assert people[WARD]["household_head_personal_id"] != FATHER  # linked only as a ward
    assert people[WARD]["birth_place"] == {"kind": "abroad", "country": "JP",
                                           "detail": "Thành phố Osaka"}
    son = people[SON]
    assert son["mother_personal_id"] == MOTHER and "father_personal_id" not in son
    assert people[MOTHER]["marital_status"] == "chua_ket_hon"
    assert dict(generated.records["passport"])[FATHER]["previous_number"]
    assert dict(generated.records["driving_licence"])[FATHER]["issue_place"] == \
        "Thành phố Hà Nội"
    assert civil[FATHER]["birth_registration_book"]
    for register, items in generated.records.items():
        for _, data in items:
            assert normalise_record(register, data, allow_derived=True) == data
    # the random households are the same people whatever the fixed families add
    assert [p for p, _ in demo.generate(30).records["population"]][:len(people) - 4] == \
        [p for p, _ in generated.records["population"]][:len(people) - 4]


def test_import_of_places_and_guardianship(app, tmp_path: Path) -> None:
    rows = ("personal_id,full_name,birth_place.kind,birth_place.province,birth_place.commune,"
            "birth_place.country,birth_place.detail,birth_place.text,guardian_personal_id,"
            "death_date\n"
            "001290000201,Trần Thu Vân,,01,00004,,,,001090000202,\n"
            "001090000202,Trần Văn Giám,abroad,,,FR,Paris,,,\n"
            "001190000203,Lê Thị Cũ,former,,,,,\"Xã Yên Sở, huyện Thanh Trì\",,03/02/2024\n"
            "001190000204,Sai Nơi,abroad,,,VN,,,,\n")
    path = tmp_path / "dan-cu.csv"
    path.write_text(rows, encoding="utf-8")
    out = app.test_cli_runner().invoke(args=["records", "import", str(path),
                                             "--register", "population"])
    assert "001190000204" not in out.output  # rows are reported by line, not by number
    assert out.exit_code == 2, out.output  # the place abroad in Việt Nam is rejected
    runtime = app.extensions["tokhai"]
    with runtime.sessions() as session:
        population = runtime.sources(session).by_register["population"]
        guardian = population.lookup("001090000202")
        ward_ = population.lookup("001290000201")
        late = population.lookup("001190000203")
        assert guardian is not None and ward_ is not None and late is not None
        assert guardian.data["ward_personal_ids"] == ["001290000201"]
        assert guardian.data["birth_place"] == {"kind": "abroad", "country": "FR",
                                                "detail": "Paris"}
        assert ward_.data["birth_place"] == {"kind": "current", "province": "01",
                                             "commune": "00004"}
        assert late.data["death_date"] == "2024-02-03"
        assert population.neighbourhood("001090000202")["ward"] == ["001290000201"]
        assert population.neighbourhood("001290000201")["guardian"] == ["001090000202"]


# -- a person named by a typed number ---------------------------------------------------------

def test_a_ward_named_by_the_guardian_is_prefilled_with_the_basis(client, app, people,
                                                                  forms) -> None:
    before = client.get(f"/api/v1/forms/{NAMED}/versions/1/prefill",
                        headers=citizen_headers(app, FATHER)).get_json()
    assert before["data"]["nguoi_duoc_giam_ho"] == {}
    assert {m["reason"] for m in before["missing"]
            if m["pointer"].startswith("/nguoi_duoc_giam_ho/")} == {"no_answer"}

    body = answered(client, app, NAMED, FATHER, ward(WARD))
    section = body["data"]["nguoi_duoc_giam_ho"]
    assert section["ho_ten"] == people[WARD]["full_name"] == "Nguyễn Minh Tâm"
    assert section["ngay_sinh"] == "2013-04-09"
    assert section["noi_sinh"] == {"kind": "abroad", "country": "JP",
                                   "detail": "Thành phố Osaka"}
    prov = body["provenance"]["/nguoi_duoc_giam_ho/ho_ten"]
    assert prov["basis"] == {"relation": "ward", "named_by": "/nguoi_duoc_giam_ho/so_dinh_danh"}
    assert prov["person"] == "Người được người kê khai giám hộ"
    assert "/nguoi_duoc_giam_ho/so_dinh_danh" not in body["provenance"]  # typed, not filled
    # the declarant's own sections carry no basis
    assert all("basis" not in p for ptr, p in body["provenance"].items()
               if not ptr.startswith("/nguoi_duoc_giam_ho/"))


def test_a_deceased_parent_and_a_child_born_out_of_wedlock(client, app, forms) -> None:
    body = answered(client, app, NAMED, FATHER, {"nguoi_than": {"so_dinh_danh": DECEASED}})
    assert body["data"]["nguoi_than"] == {"ho_ten": "Phạm Thị Lụa", "ngay_chet": "2024-03-10"}
    assert body["provenance"]["/nguoi_than/ngay_chet"]["basis"]["relation"] == "parent"

    body = answered(client, app, NAMED, MOTHER, {"nguoi_than": {"so_dinh_danh": SON}})
    assert body["data"]["nguoi_than"] == {"ho_ten": "Đỗ Gia Bảo"}
    assert body["provenance"]["/nguoi_than/ho_ten"]["basis"] == {
        "relation": "child", "named_by": "/nguoi_than/so_dinh_danh"}

    # the son's father is not in the registers: nobody else reaches him as a child
    body = answered(client, app, NAMED, FATHER, {"nguoi_than": {"so_dinh_danh": SON}})
    assert body["data"]["nguoi_than"] == {}
    assert "Đỗ Gia Bảo" not in json.dumps(body, ensure_ascii=False)


def test_a_person_not_linked_is_neither_read_nor_shown(client, app, people, forms) -> None:
    her = answered(client, app, NAMED, DAUGHTER, ward(WARD))
    unknown = answered(client, app, NAMED, DAUGHTER, ward(NOBODY))
    # a ward of someone else, or a relation the section does not allow (the father's child
    # named as a ward)
    child = sorted(p for p, d in people.items() if d.get("father_personal_id") == FATHER)[0]
    not_allowed = answered(client, app, NAMED, FATHER, ward(child))
    for body in (her, unknown, not_allowed):
        assert body["data"]["nguoi_duoc_giam_ho"] == {}
        assert not any(p.startswith("/nguoi_duoc_giam_ho/") for p in body["provenance"])
        assert {m["reason"] for m in body["missing"]
                if m["pointer"].startswith("/nguoi_duoc_giam_ho/")} == {"no_linked_person"}
    text = json.dumps(her, ensure_ascii=False)
    assert "Nguyễn Minh Tâm" not in text and "Osaka" not in text and "2013-04-09" not in text
    # a real number answers exactly as an unknown one
    assert her["missing"] == unknown["missing"] and her["data"] == unknown["data"]
    assert people[child]["full_name"] not in json.dumps(not_allowed["data"], ensure_ascii=False)


def test_what_is_typed_about_an_unlinked_person_is_only_checked(client, app, forms) -> None:
    wrong = validate(client, app, NAMED, DAUGHTER, ward(WARD, "Nguyễn Minh Tú"))
    assert wrong.status_code == 200, wrong.get_json()
    assert wrong.get_json()["checks"] == [{"person": "/nguoi_duoc_giam_ho", "result": "no_match"}]
    assert "Nguyễn Minh Tâm" not in wrong.get_data(as_text=True)
    right = validate(client, app, NAMED, DAUGHTER, ward(WARD, "nguyễn  minh tâm"))
    assert right.get_json()["checks"] == [{"person": "/nguoi_duoc_giam_ho", "result": "match"}]
    unknown = validate(client, app, NAMED, DAUGHTER, ward(NOBODY, "Nguyễn Minh Tâm"))
    assert unknown.get_json()["checks"] == [
        {"person": "/nguoi_duoc_giam_ho", "result": "no_match"}]
    # the guardian typing a wrong name for his own ward is told too
    his = validate(client, app, NAMED, FATHER, ward(WARD, "Nguyễn Minh Tú"))
    assert his.get_json()["checks"] == [{"person": "/nguoi_duoc_giam_ho", "result": "no_match"}]


def test_checks_of_a_named_person_are_rate_limited(tmp_path: Path) -> None:
    application = make_app(f"sqlite:///{tmp_path / 'limited.db'}", tmp_path,
                           person_checks_per_person="2/hour", person_checks_per_caller="5/hour")
    with application.app_context():
        load_demo(demo.generate(3))
    client = application.test_client()
    publish(client, {"Authorization": f"Bearer {_token(application, 'designer')}"},
            NAMED_FORM, NAMED)
    for _ in range(2):
        resp = validate(client, application, NAMED, DAUGHTER, ward(WARD, "Nguyễn Minh Tú"))
        assert resp.get_json()["checks"][0]["result"] == "no_match"
    resp = validate(client, application, NAMED, DAUGHTER, ward(WARD, "Nguyễn Minh Tâm"))
    assert resp.status_code == 429
    body = resp.get_json()
    assert (body["code"], body["field"]) == ("too_many_checks",
                                             "/nguoi_duoc_giam_ho/so_dinh_danh")
    assert "checks" not in body and "Nguyễn Minh Tâm" not in resp.get_data(as_text=True)


# -- a relation chosen by an answer, a record picked by an answer, hidden means absent ---------

def test_a_relation_chosen_by_an_answer(client, app, people, forms) -> None:
    me = people[FATHER]
    body = answered(client, app, CHOSEN, FATHER, {"nguoi_lien_quan": {"quan_he": "vo"}})
    assert body["data"]["nguoi_lien_quan"]["ho_ten"] == "Trần Thị Bình"
    assert body["provenance"]["/nguoi_lien_quan/ho_ten"]["basis"] == {
        "relation": "spouse", "relation_by": "/nguoi_lien_quan/quan_he"}
    body = answered(client, app, CHOSEN, FATHER, {"nguoi_lien_quan": {"quan_he": "me"}})
    assert body["data"]["nguoi_lien_quan"]["ho_ten"] == people[me["mother_personal_id"]][
        "full_name"] == "Phạm Thị Lụa"
    body = answered(client, app, CHOSEN, FATHER, {"nguoi_lien_quan": {"quan_he": "ban_than"}})
    assert body["data"]["nguoi_lien_quan"]["ho_ten"] == "Nguyễn Văn An"
    # an answer naming nobody the registers know: typed, and not missing
    body = answered(client, app, CHOSEN, FATHER, {"nguoi_lien_quan": {"quan_he": "khac"}})
    assert body["data"]["nguoi_lien_quan"] == {"quan_he": "khac"} or \
        "ho_ten" not in body["data"]["nguoi_lien_quan"]
    assert not [m for m in body["missing"] if m["pointer"].startswith("/nguoi_lien_quan/")]
    body = answered(client, app, CHOSEN, FATHER, {})
    assert {m["reason"] for m in body["missing"]
            if m["pointer"].startswith("/nguoi_lien_quan/")} == {"no_answer"}


def test_a_record_picked_by_an_answer_fills_only_the_chosen_branch(client, app, forms) -> None:
    civil = dict(demo.generate(3).records["civil_status"])[FATHER]
    birth = answered(client, app, CHOSEN, FATHER, {"su_kien": {"loai": "khai_sinh"}})
    event = birth["data"]["su_kien"]
    assert event["noi_dang_ky"] == civil["birth_registration_authority"]
    assert event["quyen_so"] == civil["birth_registration_book"]
    assert "so_ket_hon" not in event and "/su_kien/so_ket_hon" not in birth["provenance"]
    assert birth["provenance"]["/su_kien/noi_dang_ky"]["record"] == \
        "civil_status.birth_registration_authority"

    marriage = answered(client, app, CHOSEN, FATHER, {"su_kien": {"loai": "ket_hon"}})
    event = marriage["data"]["su_kien"]
    assert event["noi_dang_ky"] == civil["marriage_registration_authority"]
    assert event["so_ket_hon"] == civil["marriage_certificate_number"]
    assert "quyen_so" not in event

    nothing = answered(client, app, CHOSEN, FATHER, {})
    assert nothing["data"]["su_kien"] == {}
    assert {m["pointer"]: m["reason"] for m in nothing["missing"]
            if m["pointer"].startswith("/su_kien/")} == {"/su_kien/noi_dang_ky": "no_answer"}


def test_a_hidden_branch_is_neither_validated_nor_stored(client, app, forms) -> None:
    data = {"nguoi_lien_quan": {},
            "su_kien": {"loai": "khai_sinh", "quyen_so": "01/1985",
                        # the other branch's stale value, too long to be valid
                        "so_ket_hon": "9" * 500,
                        "loi_khai": "Tôi khai bất cứ điều gì."}}
    checked = validate(client, app, CHOSEN, FATHER, data)
    assert checked.get_json()["errors"] == [], checked.get_json()
    headers = citizen_headers(app, FATHER)
    filed = client.post("/api/v1/dossiers", headers=headers, json={
        "form_id": CHOSEN, "version": 1, "agency_code": "CA-HN", "data": data})
    assert filed.status_code == 201, filed.get_json()
    with app.extensions["tokhai"].sessions() as session:
        stored = session.scalar(select(Dossier.data).where(
            Dossier.code == filed.get_json()["code"]))
    assert "so_ket_hon" not in stored["su_kien"]
    assert stored["su_kien"]["quyen_so"] == "01/1985"
    assert stored["su_kien"]["loi_khai"] == "Tôi khai việc Khai sinh."  # the service's text

    # shown, the same value is checked; and the form's rules are part of the check
    shown = {"nguoi_lien_quan": {},
             "su_kien": {"loai": "ket_hon", "so_ket_hon": "9" * 500, "ngay": "2999-01-01"}}
    errors = validate(client, app, CHOSEN, FATHER, shown).get_json()["errors"]
    assert {(e["field"], e["code"]) for e in errors} >= {
        ("/su_kien/so_ket_hon", "too_long"), ("/su_kien/ngay", "not_future")}


# -- the catalogue's guardianship form --------------------------------------------------------

def test_the_catalogue_guardianship_form_reads_a_ward_or_only_checks(client, app,
                                                                     people) -> None:
    """The form names the ward by the number typed: the guardian's own ward is prefilled
    with the basis; for anyone else a real ward's number with a wrong name is a mismatch."""
    form = next(f for f in client.get("/api/v1/forms").get_json()
                if f["id"] == "to-khai-dang-ky-giam-ho")
    url = f"/api/v1/forms/to-khai-dang-ky-giam-ho/versions/{form['latest_published_version']}"
    typed = {"nguoi_duoc_giam_ho": {"giay_to": WARD}}
    body = client.post(f"{url}/prefill", json={"answers": typed},
                       headers=citizen_headers(app, FATHER)).get_json()
    assert body["data"]["nguoi_duoc_giam_ho"]["ho_ten"] == "Nguyễn Minh Tâm"
    assert body["provenance"]["/nguoi_duoc_giam_ho/ngay_sinh"]["basis"] == {
        "relation": "ward", "named_by": "/nguoi_duoc_giam_ho/giay_to"}
    stranger = client.post(f"{url}/prefill", json={"answers": typed},
                           headers=citizen_headers(app, DAUGHTER)).get_json()
    assert stranger["data"]["nguoi_duoc_giam_ho"] == {}
    assert "Nguyễn Minh Tâm" not in json.dumps(stranger, ensure_ascii=False)

    wrong = {"nguoi_duoc_giam_ho": {"giay_to": WARD, "ho_ten": "Nguyễn Minh Tú",
                                    "ngay_sinh": people[WARD]["birth_date"]}}
    resp = client.post(f"{url}/validate", json={"data": wrong},
                       headers=citizen_headers(app, DAUGHTER))
    assert resp.get_json()["checks"] == [{"person": "/nguoi_duoc_giam_ho",
                                          "result": "no_match"}]
    right = {"nguoi_duoc_giam_ho": {**wrong["nguoi_duoc_giam_ho"], "ho_ten": "Nguyễn Minh Tâm"}}
    resp = client.post(f"{url}/validate", json={"data": right},
                       headers=citizen_headers(app, DAUGHTER))
    assert resp.get_json()["checks"] == [{"person": "/nguoi_duoc_giam_ho", "result": "match"}]


def test_to_type_lists_only_shown_fields_a_citizen_types(client, app, forms) -> None:
    """Computed text and fields hidden for the answers and what prefill found are nobody's
    to type."""
    birth = answered(client, app, CHOSEN, FATHER, {"su_kien": {"loai": "khai_sinh"}})
    assert "/su_kien/quyen_so" in birth["provenance"]
    assert set(birth["to_type"]) == {"/nguoi_lien_quan/quan_he", "/nguoi_lien_quan/ho_ten",
                                     "/su_kien/loai", "/su_kien/ngay"}
    marriage = answered(client, app, CHOSEN, FATHER, {"su_kien": {"loai": "ket_hon"}})
    assert "/su_kien/quyen_so" not in marriage["to_type"]
    assert "/su_kien/loi_khai" not in marriage["to_type"]
    # nothing answered: both branches hidden, the binding chosen by the answer to type
    nothing = answered(client, app, CHOSEN, FATHER, {})
    assert set(nothing["to_type"]) == {"/nguoi_lien_quan/quan_he", "/nguoi_lien_quan/ho_ten",
                                       "/su_kien/loai", "/su_kien/noi_dang_ky", "/su_kien/ngay"}


def test_an_old_identity_card_number_is_said_so_and_reveals_nothing(client, app) -> None:
    """Khai tử takes the deceased's old 9-digit CMND number: the registers are keyed by
    12-digit personal ID numbers, so it cannot be looked up. The reason says so (not
    'no_answer': an answer was given), from the number's shape alone."""
    url = "/api/v1/forms/to-khai-dang-ky-khai-tu/versions/1/prefill"

    def missing(who: str, number: str) -> tuple[dict[str, Any], dict[str, Any]]:
        body = client.post(url, json={"answers": {"nguoi_chet": {"so_dinh_danh": number}}},
                           headers=citizen_headers(app, who)).get_json()
        return body, {m["pointer"]: m["reason"] for m in body["missing"]
                      if m["pointer"].startswith("/nguoi_chet/")}

    body, reasons = missing(FATHER, "012345678")
    assert reasons and set(reasons.values()) == {"old_id_card"}
    assert body["data"]["nguoi_chet"] == {}
    assert not any(p.startswith("/nguoi_chet/") for p in body["provenance"])
    # any other 9 digits, and any citizen, get the very same answer
    other, other_reasons = missing(DAUGHTER, DECEASED[-9:])
    assert other_reasons == reasons and other["data"]["nguoi_chet"] == {}
    assert "Phạm Thị Lụa" not in json.dumps(other, ensure_ascii=False)
    # nothing typed is still no answer
    _, none = missing(FATHER, "")
    assert set(none.values()) == {"no_answer"}

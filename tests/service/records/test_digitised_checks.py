"""Digitised documents checked (issue #13, point 5): a document is refused when it is not the
declared kind or its dates are impossible; the person it prints is compared with the
population register and, where the register does not bear it out, confirmed only with the
officer's reason; confirming relabels only the fields the document supplied; and a confirmed
certificate changes what a citizen types."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from storage import records as store
from storage.models import Record, RecordChange
from tests.conftest import _token, prefill
from tests.service.records.test_digitised import pdf_of, upload
from tests.service.records.test_keys_and_provenance import (
    DNTN,
    GROOM,
    SHOPKEEPER,
    _person,
    _put,
    _record,
    _sessions,
    fresh_id,
)

URL = "/api/v1/digitised-documents"


def birth_certificate(personal_id: str, name: str, born: str, sex: str, number: str = "88",
                      registered: str = "20/03/1990") -> list[str]:
    """A birth certificate (Thông tư 04/2020) printing this person."""
    return [
        "ỦY BAN NHÂN DÂN XÃ ĐÔNG ANH        CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        f"Số: {number}",
        "GIẤY KHAI SINH",
        f"Họ, chữ đệm, tên: {name.upper()}",
        f"Ngày, tháng, năm sinh: {born}    ghi bằng chữ: (như trên)",
        f"Giới tính: {sex}    Dân tộc: Kinh    Quốc tịch: Việt Nam",
        f"Số định danh cá nhân: {personal_id}",
        "Nơi đăng ký: Ủy ban nhân dân xã Đông Anh, Thành phố Hà Nội",
        f"Ngày, tháng, năm đăng ký: {registered}",
    ]


def confirm(client, officer, doc_id: str, **body):
    return client.post(f"{URL}/{doc_id}/confirm", json=body, headers=officer)


# -- provenance per field, as a confirmed document leaves it -----------------------------------

def test_confirming_a_document_relabels_only_the_fields_it_supplied(client, app, people,
                                                                    officer) -> None:
    """The groom's marriage was recorded from a result; his birth certificate, digitised later,
    supplies his birth registration and must not relabel the marriage as its own."""
    _put(app, "population", [(GROOM, _person(GROOM, "Trần Văn Tùng", "1990-03-05", "nam"))],
         "import:dan-cu.csv")
    with _sessions(app) as session:
        store.change(session, "civil_status", GROOM, {
            "marriage_certificate_number": "15", "marriage_book_number": "01/2024",
            "marriage_registration_date": "2024-05-20",
            "marriage_registration_authority": "Ủy ban nhân dân xã Đông Anh"},
            "result:KQ-15", document_id="KQ-15", actor="officer:test", role="officer",
            agency_code="UBND-XA-00004")
        session.commit()
    doc = upload(client, officer, pdf_of(birth_certificate(
        GROOM, "Trần Văn Tùng", "05/03/1990", "Nam"))).get_json()
    assert doc["identity"] == {"personal_id": GROOM, "result": "match", "fields": []}
    assert confirm(client, officer, doc["id"]).status_code == 200
    record = _record(app, "civil_status", GROOM)
    assert record.field_provenance == {
        "marriage_certificate_number": "result:KQ-15", "marriage_book_number": "result:KQ-15",
        "marriage_registration_date": "result:KQ-15",
        "marriage_registration_authority": "result:KQ-15",
        "birth_registration_number": f"digitised:{doc['id']}",
        "birth_registration_authority": f"digitised:{doc['id']}",
        "birth_registration_date": f"digitised:{doc['id']}"}
    body = prefill(client, app, "to-khai-dang-ky-khai-sinh", GROOM)
    assert body["data"]["ket_hon_cha_me"]["so"] == "15"
    assert {body["provenance"][f"/ket_hon_cha_me/{f}"]["provenance"]
            for f in ("so", "quyen_so", "ngay_dang_ky", "noi_dang_ky")} == {"result:KQ-15"}


# -- a digitised document checked against the person it names ---------------------------------

@pytest.fixture
def groom(app, people) -> str:
    """A man of the population register, with no civil-status record yet."""
    someone = fresh_id()
    _put(app, "population", [(someone, _person(someone, "Trần Văn Tùng", "1990-03-05",
                                                "nam"))], "import:dan-cu.csv")
    return someone


@pytest.mark.parametrize(("printed", "differs"), [
    (("Trần Văn Tùn", "05/03/1990", "Nam"), ["full_name"]),
    (("Trần Văn Tùng", "06/03/1990", "Nam"), ["birth_date"]),
    (("Trần Văn Tùng", "05/03/1990", "Nữ"), ["sex"]),
    (("Lê Thị Hoa", "01/01/1991", "Nữ"), ["birth_date", "full_name", "sex"]),
])
def test_a_document_naming_someone_else_needs_a_reason(client, app, officer, groom, printed,
                                                       differs) -> None:
    name, born, sex = printed
    doc = upload(client, officer, pdf_of(birth_certificate(groom, name, born, sex,
                                                           registered="20/03/1991")))
    assert doc.status_code == 201, doc.get_json()
    doc = doc.get_json()
    assert doc["identity"] == {"personal_id": groom, "result": "mismatch", "fields": differs}
    assert [(p["field"], p["code"]) for p in doc["problems"]] == [
        (f, "identity_mismatch") for f in differs]
    refused = confirm(client, officer, doc["id"])
    assert refused.status_code == 422
    assert refused.get_json()["code"] == "identity_mismatch"
    assert refused.get_json()["field"] == "reason"
    assert [e["field"] for e in refused.get_json()["errors"]] == differs
    with _sessions(app) as session:
        assert session.scalar(select(Record).where(Record.register == "civil_status",
                                                   Record.subject == groom)) is None
    reason = "Giấy khai sinh cấp năm 1990 ghi sai, đã đối chiếu sổ gốc tại UBND xã."
    done = confirm(client, officer, doc["id"], reason=reason)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["reason"] == reason
    with _sessions(app) as session:
        change = session.scalar(select(RecordChange).where(
            RecordChange.document_id == doc["id"]))
        assert change is not None and change.reason == reason


def test_a_matching_document_needs_no_reason(client, app, officer, groom) -> None:
    doc = upload(client, officer, pdf_of(birth_certificate(
        groom, "TRẦN  VĂN TÙNG", "05/03/1990", "Nam"))).get_json()  # case and spaces aside
    assert doc["identity"]["result"] == "match" and doc["problems"] == []
    done = confirm(client, officer, doc["id"])
    assert done.status_code == 200 and done.get_json()["reason"] is None


def test_a_register_that_cannot_be_read_leaves_the_person_unverified(
        client, app, officer, groom, monkeypatch) -> None:
    from service.records import prefill as pf

    real = pf.Sources.fetch

    def down(self, wanted, deadline_at, *, links=False):
        out = real(self, {k: v for k, v in wanted.items() if k != "population"}, deadline_at,
                   links=links)
        if "population" in wanted:
            out.failed[self.by_register["population"].name] = "timeout"
        return out

    monkeypatch.setattr(pf.Sources, "fetch", down)
    doc = upload(client, officer, pdf_of(birth_certificate(
        groom, "Trần Văn Tùng", "05/03/1990", "Nam"))).get_json()
    assert doc["identity"]["result"] == "unavailable"
    refused = confirm(client, officer, doc["id"])
    assert refused.status_code == 422 and refused.get_json()["code"] == "identity_unverified"
    assert confirm(client, officer, doc["id"],
                   reason="Sổ dân cư gián đoạn; đã xem căn cước bản gốc.").status_code == 200


def test_every_identity_check_is_in_the_access_log(client, app, officer, groom) -> None:
    doc = upload(client, officer, pdf_of(birth_certificate(
        groom, "Trần Văn Tùng", "05/03/1990", "Nam"))).get_json()
    confirm(client, officer, doc["id"])
    with _sessions(app) as session:
        logged = session.execute(text(
            "SELECT action, outcome, owner_id FROM access_log WHERE action = 'identity_check' "
            "AND owner_id = :o ORDER BY id"), {"o": groom}).all()
    assert [tuple(r) for r in logged][-2:] == [("identity_check", "match", groom)] * 2


# -- not the declared kind, impossible dates ---------------------------------------------------

def test_a_letter_is_not_a_certificate(client, officer) -> None:
    letter = [
        "ỦY BAN NHÂN DÂN XÃ ĐÔNG ANH        CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Số: 12/UBND-TP",
        "V/v cấp lại GIẤY KHAI SINH cho công dân",
        "Kính gửi: Ông Trần Văn Tùng",
        f"Số định danh cá nhân: {GROOM}",
        "Ngày đăng ký: 01/01/2030",
    ]
    resp = upload(client, officer, pdf_of(letter))
    assert resp.status_code == 422
    assert resp.get_json()["code"] == "wrong_template" and resp.get_json()["field"] == "body"
    assert "GIẤY KHAI SINH" in resp.get_json()["message"]


@pytest.mark.parametrize(("registered", "code"), [
    ((date.today() + timedelta(days=400)).strftime("%d/%m/%Y"), "date_in_future"),
    ("01/03/1990", "date_before_birth"),
])
def test_impossible_dates_are_refused_naming_the_field(client, app, officer, registered,
                                                       code) -> None:
    lines = birth_certificate(fresh_id(), "Trần Văn Tùng", "05/03/1990", "Nam",
                              registered=registered)
    resp = upload(client, officer, pdf_of(lines))
    assert resp.status_code == 422, resp.get_json()
    body = resp.get_json()
    assert body["code"] == "impossible_date"
    assert body["field"] == "body.birth_registration_date"
    assert [(e["field"], e["code"]) for e in body["errors"]] == [
        ("body.birth_registration_date", code)]


def test_a_business_registered_in_the_future_is_refused(client, officer) -> None:
    lines = ["GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH", "Mã số hộ kinh doanh: 0100000477",
             "Đăng ký lần đầu: ngày 10 tháng 5 năm 2099", "Tên hộ kinh doanh: HỘ TƯƠNG LAI"]
    resp = upload(client, officer, pdf_of(lines), "household_business_certificate")
    assert resp.status_code == 422
    assert resp.get_json()["field"] == "body.registration_date"


def test_a_correction_cannot_make_a_date_impossible(client, app, officer) -> None:
    child = fresh_id("2")
    doc = upload(client, officer, pdf_of(birth_certificate(
        child, "Nguyễn Gia Huy", "05/02/2022", "Nam", registered="12/02/2022"))).get_json()
    resp = confirm(client, officer, doc["id"], values={"birth_registration_date": "01/02/2022"})
    assert resp.status_code == 422
    assert resp.get_json()["field"] == "values.birth_registration_date"
    assert resp.get_json()["errors"][0]["code"] == "date_before_birth"


# -- the catalogue binds what the registers hold; a digitised certificate shows ---------------

def test_a_digitised_certificate_changes_what_a_citizen_types(client, app, people, designer,
                                                              officer) -> None:
    """The shopkeeper's household business was registered on paper: until its certificate is
    digitised she types the conversion block of the private-enterprise form; after, the
    register fills it from the business she represents."""
    _put(app, "population", [(SHOPKEEPER, {
        **_person(SHOPKEEPER, "Phạm Thị Hòa", "1975-08-09", "nu"),
        "id_document_type": "the_can_cuoc", "id_card_issue_date": "2021-06-01",
        "id_card_issue_place": "Cục Cảnh sát quản lý hành chính về trật tự xã hội",
        "permanent_residence": {"province": "01", "commune": "00004", "detail": "Số 3"},
        "current_residence": {"province": "01", "commune": "00004", "detail": "Số 3"}})],
        "import:dan-cu.csv")
    url = f"/api/v1/forms/{DNTN}/versions/1/trimming-report"
    query = {"personal_id": SHOPKEEPER, "purpose": "Kiểm tra số hóa"}

    def typed() -> int:
        report = client.get(url, query_string=query, headers=designer).get_json()
        return report["actual"]["counts"]["typed"]

    before = typed()
    assert "/ho_kinh_doanh/ten" in prefill(client, app, DNTN, SHOPKEEPER)["to_type"]
    certificate = ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH",
                   "Mã số hộ kinh doanh: 0100000433", "Đăng ký lần đầu: ngày 02 tháng 4 năm 2019",
                   "Tên hộ kinh doanh: HỘ KINH DOANH TẠP HÓA HÒA",
                   "Ngành, nghề kinh doanh: Bán lẻ thực phẩm",
                   "Họ, chữ đệm và tên: Phạm Thị Hòa", f"Số định danh cá nhân: {SHOPKEEPER}"]
    doc = upload(client, officer, pdf_of(certificate), "household_business_certificate")
    assert doc.status_code == 201, doc.get_json()
    doc = doc.get_json()
    assert doc["identity"] == {"personal_id": SHOPKEEPER, "result": "match", "fields": []}
    assert confirm(client, officer, doc["id"]).status_code == 200
    body = prefill(client, app, DNTN, SHOPKEEPER)
    assert body["data"]["ho_kinh_doanh"]["ten"] == "HỘ KINH DOANH TẠP HÓA HÒA"
    assert body["data"]["ho_kinh_doanh"]["ma_so_thue"] == "0100000433"
    assert body["provenance"]["/ho_kinh_doanh/ten"]["provenance"] == f"digitised:{doc['id']}"
    after = typed()
    assert after == before - 3  # name, issue date, tax code; no head office or owner printed
    token = {"Authorization": f"Bearer {_token(app, 'citizen', personal_id=SHOPKEEPER)}"}
    assert client.get(url, query_string={"personal_id": SHOPKEEPER},
                      headers=token).get_json()["actual"]["counts"]["typed"] == after

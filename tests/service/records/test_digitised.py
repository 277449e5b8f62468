"""Digitised paper: born-digital PDFs laid out as the official templates are read into values,
confirmed by an officer into records; scans, encrypted files and long files are refused."""

from __future__ import annotations

import fontpkg_noto_sans
import pytest
from fpdf import FPDF

from storage.models import Record

FONT = fontpkg_noto_sans.ROOT / "files" / "NotoSans[wdth,wght].ttf"
CHILD = "001221000777"


def pdf_of(lines: list[str], pages: int = 1, encrypt: bool = False, text: bool = True) -> bytes:
    pdf = FPDF(format="A4")
    pdf.add_font("Noto", "", str(FONT))
    if encrypt:
        pdf.set_encryption(owner_password="chu-so-huu", user_password="")
    for _ in range(pages):
        pdf.add_page()
        if not text:
            pdf.rect(20, 20, 170, 250, style="F")  # what a scan looks like: no text at all
            continue
        pdf.set_font("Noto", size=11)
        for line in lines:
            pdf.cell(text=line, new_x="LMARGIN", new_y="NEXT", align="L")
    return bytes(pdf.output())


def birth_certificate(number: str = "125", day: str = "12/02/2022") -> list[str]:
    """The layout of the birth certificate (Giấy khai sinh, bản chính) of Thông tư 04/2020."""
    return [
        "ỦY BAN NHÂN DÂN PHƯỜNG HOÀN KIẾM        CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        f"Số: {number}",
        "GIẤY KHAI SINH",
        "Họ, chữ đệm, tên: NGUYỄN GIA HUY",
        "Ngày, tháng, năm sinh: 05/02/2022    ghi bằng chữ: Ngày năm tháng hai năm hai nghìn",
        "Giới tính: Nam    Dân tộc: Kinh    Quốc tịch: Việt Nam",
        "Nơi sinh: Bệnh viện Phụ sản Hà Nội",
        "Quê quán: Xã Đông Anh, Thành phố Hà Nội",
        f"Số định danh cá nhân: {CHILD}",
        "Họ, chữ đệm, tên người mẹ: TRẦN THỊ NGỌC",
        "Họ, chữ đệm, tên người cha: NGUYỄN VĂN TÙNG",
        "Nơi đăng ký: Ủy ban nhân dân phường Hoàn Kiếm, Thành phố Hà Nội",
        f"Ngày, tháng, năm đăng ký: {day}",
    ]


def household_business_certificate() -> list[str]:
    return [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH",
        "Mã số hộ kinh doanh: 0109876543",
        "Đăng ký lần đầu: ngày 10 tháng 5 năm 2018",
        "Tên hộ kinh doanh: HỘ KINH DOANH BÚN CHẢ HÀNG MÀNH",
        "Ngành, nghề kinh doanh: Dịch vụ ăn uống",
        "Vốn kinh doanh: 100.000.000 đồng",
        "Họ, chữ đệm và tên: Phạm Văn Hòa",
        "Số định danh cá nhân: 001078005555",
    ]


def upload(client, officer, body: bytes, kind: str = "birth_certificate"):
    return client.post("/api/v1/digitised-documents", query_string={"kind": kind}, data=body,
                       headers={**officer, "Content-Type": "application/pdf"})


def test_birth_certificate_is_read_and_confirmed(client, officer, app) -> None:
    resp = upload(client, officer, pdf_of(birth_certificate()))
    assert resp.status_code == 201, resp.get_json()
    doc = resp.get_json()
    assert doc["status"] == "pending" and doc["provenance"] == "digitised document"
    assert doc["subject"] == CHILD and doc["problems"] == []
    values = {k: v["value"] for k, v in doc["values"].items()}
    assert values == {
        "personal_id": CHILD, "birth_registration_number": "125",
        "birth_registration_authority": "Ủy ban nhân dân phường Hoàn Kiếm, Thành phố Hà Nội",
        "birth_registration_date": "2022-02-12",
        # the person it prints, compared with the population register (which lacks them)
        "full_name": "NGUYỄN GIA HUY", "birth_date": "2022-02-05", "sex": "nam"}
    assert doc["identity"] == {"personal_id": CHILD, "result": "not_in_register",
                               "fields": []}
    assert doc["values"]["birth_registration_number"]["page"] == 1
    with app.extensions["tokhai"].sessions() as session:  # nothing is a record before
        assert session.query(Record).filter_by(register="civil_status",
                                               subject=CHILD).first() is None
    confirmed = client.post(f"/api/v1/digitised-documents/{doc['id']}/confirm",
                            json={"values": {"birth_registration_number": "125/2022"}},
                            headers=officer)
    assert confirmed.status_code == 200 and confirmed.get_json()["status"] == "confirmed"
    with app.extensions["tokhai"].sessions() as session:
        record = session.query(Record).filter_by(register="civil_status", subject=CHILD).one()
        assert record.data["birth_registration_number"] == "125/2022"
        assert record.provenance == f"digitised:{doc['id']}"
    again = client.post(f"/api/v1/digitised-documents/{doc['id']}/confirm", json={},
                        headers=officer)
    assert again.status_code == 409


def test_household_business_certificate(client, officer) -> None:
    resp = upload(client, officer, pdf_of(household_business_certificate()),
                  "household_business_certificate")
    doc = resp.get_json()
    assert resp.status_code == 201 and doc["subject"] == "0109876543"
    values = {k: v["value"] for k, v in doc["values"].items()}
    assert values["registration_date"] == "2018-05-10"
    assert values["charter_capital"] == 100_000_000
    assert values["legal_representative_name"] == "Phạm Văn Hòa"
    assert values["legal_representative_personal_id"] == "001078005555"


def test_misread_values_are_flagged_not_stored(client, officer) -> None:
    doc = upload(client, officer, pdf_of(birth_certificate(day="31/02/2022"))).get_json()
    assert doc["values"]["birth_registration_date"]["value"] is None
    assert [p["field"] for p in doc["problems"]] == ["birth_registration_date"]
    confirm = client.post(f"/api/v1/digitised-documents/{doc['id']}/confirm",
                          json={"values": {"birth_registration_date": "31/02/2022"}},
                          headers=officer)
    assert confirm.status_code == 422
    assert confirm.get_json()["errors"][0]["field"] == "birth_registration_date"


@pytest.mark.parametrize(("body", "code"), [
    (lambda: pdf_of([], text=False), "no_text_layer"),
    (lambda: pdf_of(birth_certificate(), encrypt=True), "encrypted_pdf"),
    (lambda: pdf_of(birth_certificate(), pages=11), "too_many_pages"),
    (lambda: b"GIF89a not a pdf", "not_pdf"),
    (lambda: b"%PDF-1.7\n garbage", "unreadable_pdf"),
    # a name where a string belongs in the document information: pdfminer's PSSyntaxError,
    # which is not a PDFSyntaxError (found by the fuzz run: a 500)
    (lambda: pdf_of(birth_certificate()).replace(b"/CreationDate (", b"/CreationDate /", 1),
     "unreadable_pdf"),
    (lambda: pdf_of(household_business_certificate()), "wrong_template"),
])
def test_unusable_pdfs_are_refused(client, officer, body, code) -> None:
    resp = upload(client, officer, body())
    assert resp.status_code == 422
    payload = resp.get_json()
    assert payload["code"] == code and payload["message"] and payload["field"] == "body"


def test_only_officers_digitise(client, designer, citizen) -> None:
    for who in (designer, citizen):
        assert upload(client, who, pdf_of(birth_certificate())).status_code == 403
    assert upload(client, {}, pdf_of(birth_certificate())).status_code == 401


def test_upload_limits(client, officer, app) -> None:
    unknown = client.post("/api/v1/digitised-documents", query_string={"kind": "passport"},
                          data=pdf_of(birth_certificate()),
                          headers={**officer, "Content-Type": "application/pdf"})
    assert unknown.status_code == 422 and unknown.get_json()["field"] == "query.kind"
    wrong_type = client.post("/api/v1/digitised-documents",
                             query_string={"kind": "birth_certificate"}, data=b"%PDF-",
                             headers={**officer, "Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    limit = app.extensions["tokhai"].settings.max_upload_bytes
    big = upload(client, officer, b"%PDF-" + b"0" * limit)
    assert big.status_code == 413


def test_nothing_read_is_nothing_to_confirm(client, officer, app) -> None:
    lines = ["GIẤY KHAI SINH", "Số định danh cá nhân: 001221000999"]
    doc = upload(client, officer, pdf_of(lines)).get_json()
    resp = client.post(f"/api/v1/digitised-documents/{doc['id']}/confirm", json={},
                       headers=officer)
    assert resp.status_code == 422
    assert resp.get_json()["code"] == "nothing_to_confirm"
    assert resp.get_json()["field"] == "values"
    with app.extensions["tokhai"].sessions() as session:  # no empty record
        assert session.query(Record).filter_by(subject="001221000999").first() is None

# ruff: noqa: E501 - test signatures carry their fixtures on one line
"""Real templates (issue #12): a decision that is a decision, certificates that print their
model's rows (the residence confirmation its place of residence), named values a template
needs, checked when a form is published and when a result is issued, and the number format
wherever the number goes."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pdfplumber
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select, text

from forms.language import parse_text
from forms.results import TEMPLATES, unreachable
from service import catalogue
from service.catalogue import CATALOGUE_DIR
from service.errors import InvalidData
from service.pki import validation as verification
from service.results.issuance import paper_text
from service.worktime import VIETNAM
from storage import records as store
from storage.models import Dossier, DossierDocument
from tests import conftest
from tests.conftest import DEMO_FATHER, _token, valid_submission
from tests.service.results.test_results import AGENCY, issue, text_of

#: a form for the judicial record procedure; ``{extra}`` adds its "result" section
LLTP_FORM = """
id: {form_id}
version: 1
title: Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp (thử nghiệm)
legal_basis: Thử nghiệm
procedure_code: local.ltp.phieu-1
agency_level: commune
sections:
  - id: nguoi_yeu_cau
    title: Người yêu cầu
    fields:
      - {{id: ho_ten, type: text, label: Họ và tên, prefill: {{record: population.full_name, mode: verified}}}}
      - {{id: so_dinh_danh, type: personal_id, label: Số định danh cá nhân, prefill: {{record: population.personal_id, mode: verified}}}}
{extra}"""
RESULT_SECTION = """  - id: ket_qua
    title: Kết quả tra cứu
    fields:
      - {id: tinh_trang_an_tich, type: text, label: Tình trạng án tích, required: false}
"""


@pytest.fixture
def clerk(app) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'officer', agency_code=AGENCY)}"}


@pytest.fixture
def designer(app) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'designer')}"}


def file_and_process(client, father, clerk, form: str, data: dict) -> tuple[str, str]:
    return conftest.file_and_process(client, father, clerk, form, data, AGENCY)


def definition_of(form_file: str):
    return parse_text((CATALOGUE_DIR / form_file).read_bytes(), form_file, "yaml")


# -- the decision ---------------------------------------------------------------------------

def test_the_decision_is_a_decision_not_the_form_copied(client, app, father, clerk) -> None:
    form = "to-khai-dang-ky-giam-ho"
    data = valid_submission(client, app, form)
    code, etag = file_and_process(client, father, clerk, form, data)
    issued = issue(client, clerk, code, etag)
    assert issued.status_code == 201, issued.get_json()
    doc = issued.get_json()
    assert doc["template"] == "decision" and re.fullmatch(r"\d{2,}/QĐ-UBND", doc["number"])
    pdf = client.get(f"/api/v1/dossiers/{code}/result", headers=father).data
    words = " ".join(text_of(pdf).split())
    definition = definition_of("to-khai-dang-ky-giam-ho.yaml")
    name = data["nguoi_yeu_cau"]["ho_ten"]
    for part in (f"Số: {doc['number']}", "QUYẾT ĐỊNH", "Về việc giải quyết hồ sơ đề nghị đăng ký "
                 "giám hộ của", "ỦY BAN NHÂN DÂN XÃ THỬ NGHIỆM SỐ 4",
                 "Căn cứ Luật Tổ chức chính quyền địa phương ngày 16 tháng 6 năm 2025;",
                 f"Căn cứ {definition.legal_basis};", "Xét đề nghị của", f"tại hồ sơ số {code}.",
                 "QUYẾT ĐỊNH:", "Điều 1. Chấp thuận đề nghị về việc đăng ký giám hộ của",
                 name, "Nội dung đề nghị được chấp thuận:",
                 "Điều 2. Quyết định này có hiệu lực kể từ ngày ký.",
                 "Điều 3. Các cơ quan, đơn vị có liên quan và", "thi hành Quyết định này./.",
                 "TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Nguyễn Văn Thử",
                 "Nơi nhận:", "- Như Điều 3;", "- Lưu: VT."):
        assert part in words, part
    # the form's rows are not copied: none of its labels, no "Tôi là", no footnote marks
    for _, field in definition.leaves():
        assert f"{field.label.rstrip(':')}:" not in words, field.label
    assert "Tôi là" not in words and "(1)" not in words
    with pdfplumber.open(io.BytesIO(pdf)) as opened:
        page = opened.pages[0]
        grounds = [w for w in page.extract_words(extra_attrs=["fontname"]) if w["text"] == "Căn"]
        assert grounds and all("Italic" in w["fontname"] for w in grounds)
        articles = [w for w in page.extract_words(extra_attrs=["fontname"]) if w["text"] == "Điều"]
        assert len(articles) == 3 and all("Bold" in w["fontname"] for w in articles)


# -- certificates ---------------------------------------------------------------------------

def test_the_residence_confirmation_shows_the_place_of_residence(client, app, father, clerk) -> None:
    form = "ct01-thay-doi-thong-tin-cu-tru"
    code, etag = file_and_process(client, father, clerk, form,
                                  valid_submission(client, app, form))
    issued = issue(client, clerk, code, etag)
    assert issued.status_code == 201, issued.get_json()
    doc = issued.get_json()
    assert doc["template"] == "residence_confirmation"
    assert re.fullmatch(r"\d{2,}/XNCT-UBND", doc["number"])
    pdf = client.get(f"/api/v1/dossiers/{code}/result", headers=father).data
    with app.extensions["tokhai"].sessions() as session:
        record = store.fetch(session, "population", [DEMO_FATHER])[DEMO_FATHER].data
    residence = paper_text(record["current_residence"], None, None, "address")
    words = " ".join(text_of(pdf).split())
    assert f"Nơi ở hiện tại: {residence}" in words
    assert f"Nơi thường trú: {paper_text(record['permanent_residence'], None, None, 'address')}" in words
    assert f"Theo đề nghị của Ông/Bà: {record['full_name']}" in words
    assert "Giấy này có giá trị sử dụng đến hết ngày" in words
    assert "THỦ TRƯỞNG CƠ QUAN ĐĂNG KÝ CƯ TRÚ" in words
    assert "Nội dung đề nghị" not in words  # a row of the application (CT01), not of CT07
    embedded = verification.embedded_data(PdfFileReader(io.BytesIO(pdf)))
    assert embedded is not None and embedded["number"] == doc["number"]
    assert embedded["data"]["noi_o_hien_tai"] == record["current_residence"]


def test_certificates_follow_their_models_wording() -> None:
    birth = TEMPLATES["birth_extract"]
    labels = [v.label for v in birth.values]
    assert "Người đi đăng ký khai sinh" not in labels and birth.closing == ""
    assert birth.signer_heading == "NGƯỜI KÝ TRÍCH LỤC" and "04/2020/TT-BTP" in birth.legal_basis
    residence = TEMPLATES["residence_confirmation"]
    assert [v.label for v in residence.values][8:11] == ["Nơi thường trú", "Nơi tạm trú",
                                                          "Nơi ở hiện tại"]
    assert "CT07" in residence.legal_basis and "66/2023/TT-BCA" in residence.legal_basis
    record = TEMPLATES["criminal_record"]
    assert record.heading == "XÁC NHẬN:" and record.grounds[0].startswith("Căn cứ Luật Lý lịch")
    assert "Phiếu này có giá trị" not in record.closing
    business = TEMPLATES["household_business_certificate"]
    assert "Thông tư số 68/2025/TT-BTC" in business.legal_basis
    assert "III-5" not in business.legal_basis and "Hộ kinh doanh có trách nhiệm" not in business.closing


# -- values a template needs ----------------------------------------------------------------

def test_publishing_a_form_whose_result_lacks_a_required_value_is_refused(client, designer) -> None:
    source = LLTP_FORM.format(form_id="lltp-thieu-ket-qua", extra="")
    created = client.post("/api/v1/forms", data=source.encode(),
                          headers={**designer, "Content-Type": "application/yaml"})
    assert created.status_code == 201, created.get_json()
    refused = client.post("/api/v1/forms/lltp-thieu-ket-qua/versions/1/publish", headers=designer)
    assert refused.status_code == 422, refused.get_json()
    body = refused.get_json()
    assert body["code"] == "result_values_missing" and body["field"] == "tinh_trang_an_tich"
    assert "Tình trạng án tích" in body["message"] and "tinh_trang_an_tich" in body["message_en"]
    assert [e["field"] for e in body["errors"]] == ["tinh_trang_an_tich"]
    draft = client.get("/api/v1/forms/lltp-thieu-ket-qua/versions/1", headers=designer)
    assert draft.get_json()["status"] == "draft"  # not published


def test_a_birth_form_without_the_childs_birth_date_is_refused() -> None:
    definition = definition_of("to-khai-dang-ky-khai-sinh.yaml")
    assert unreachable(TEMPLATES["birth_extract"], definition) == []
    source = (CATALOGUE_DIR / "to-khai-dang-ky-khai-sinh.yaml").read_text()
    child = '      - {id: ngay_sinh, type: date, label: "Ngày, tháng, năm sinh"}\n'
    assert source.count(child) == 1
    without = parse_text(source.replace(child, ""), "x.yaml", "yaml")
    assert without.find(("nguoi_duoc_khai_sinh", "ngay_sinh")) is None
    with pytest.raises(InvalidData) as refused:
        catalogue.check_result_values(without)
    assert refused.value.code == "result_values_missing"
    assert [e["field"] for e in refused.value.errors] == ["ngay_sinh"]
    assert "Ngày, tháng, năm sinh" in refused.value.message
    for form in CATALOGUE_DIR.glob("*.yaml"):  # every catalogue form can be issued
        catalogue.check_result_values(definition_of(form.name))


def test_a_result_missing_a_required_value_is_not_issued(client, app, father, clerk, designer) -> None:
    source = LLTP_FORM.format(form_id="lltp-ket-qua-tuy-chon", extra=RESULT_SECTION)
    created = client.post("/api/v1/forms", data=source.encode(),
                          headers={**designer, "Content-Type": "application/yaml"})
    assert created.status_code in (201, 409), created.get_json()
    published = client.post("/api/v1/forms/lltp-ket-qua-tuy-chon/versions/1/publish",
                            headers=designer)
    assert published.status_code in (200, 409), published.get_json()
    data = valid_submission(client, app, "lltp-ket-qua-tuy-chon")
    data["ket_qua"] = {}
    code, etag = file_and_process(client, father, clerk, "lltp-ket-qua-tuy-chon", data)
    series = f"result:{AGENCY}:{datetime.now(VIETNAM).year}"

    def counter() -> int | None:
        with app.extensions["tokhai"].sessions() as session:
            return session.scalar(text("SELECT last FROM counters WHERE name = :n"), {"n": series})

    before = counter()
    refused = issue(client, clerk, code, etag)
    assert refused.status_code == 409, refused.get_json()
    body = refused.get_json()
    assert body["code"] == "result_value_missing"
    assert [e["field"] for e in body["errors"]] == ["tinh_trang_an_tich"]
    assert "Tình trạng án tích" in body["message"]
    after = client.get(f"/api/v1/dossiers/{code}", headers=clerk)
    assert after.get_json()["status"] == "in_processing" and after.headers["ETag"] == etag
    assert counter() == before  # no number taken
    with app.extensions["tokhai"].sessions() as session:
        dossier = session.scalar(select(Dossier).where(Dossier.code == code))
        assert dossier is not None
        assert session.scalar(select(DossierDocument).where(
            DossierDocument.dossier_id == dossier.id)) is None
    # with the finding, it is issued
    data["ket_qua"] = {"tinh_trang_an_tich": "Không có án tích"}
    code, etag = file_and_process(client, father, clerk, "lltp-ket-qua-tuy-chon", data)
    issued = issue(client, clerk, code, etag)
    assert issued.status_code == 201, issued.get_json()
    pdf = client.get(f"/api/v1/dossiers/{code}/result", headers=father).data
    assert "Tình trạng án tích: Không có án tích" in text_of(pdf)


# -- the number, everywhere; the signature field ----------------------------------------------

def test_the_number_flows_into_the_data_metadata_and_file_name(client, app, father, clerk) -> None:
    form = "to-khai-dang-ky-khai-sinh"
    code, etag = file_and_process(client, father, clerk, form, valid_submission(client, app, form))
    doc = issue(client, clerk, code, etag).get_json()
    number = doc["number"]
    assert re.fullmatch(r"\d{2,}/TLKS-UBND", number) and str(datetime.now().year) not in number
    pdf = client.get(f"/api/v1/dossiers/{code}/result", headers=father).data
    reader = PdfFileReader(io.BytesIO(pdf))
    embedded = verification.embedded_data(reader)
    assert embedded is not None and embedded["number"] == number
    assert f"<tokhai:Number>{number}</tokhai:Number>".encode() in pdf  # the issued XMP
    assert f"Số: {number}" in text_of(pdf)
    with app.extensions["tokhai"].sessions() as session:
        row = session.scalar(select(DossierDocument).where(
            DossierDocument.document_id == doc["document_id"]))
        assert row is not None and row.number == number
        assert row.file_name == f"Trích lục khai sinh {number.replace('/', '-')}.pdf"
    # the signature field of the signed document covers no character of the page
    with pdfplumber.open(io.BytesIO(pdf)) as opened:
        page = opened.pages[0]
        widgets = [a for a in page.annots if "Widget" in str(a["data"].get("Subtype"))]
        assert len(widgets) == 1
        (w,) = widgets
        for c in page.chars:
            assert not (c["x0"] < w["x1"] and w["x0"] < c["x1"] and c["top"] < w["bottom"]
                        and w["top"] < c["bottom"]), c["text"]


def test_apology_letters_are_numbered_in_their_own_series(client, app, father, clerk) -> None:
    from tests.service.dossiers.test_dossiers import make_late, promise_after

    form = "to-khai-dang-ky-khai-sinh"
    filed = client.post("/api/v1/dossiers", headers=father, json={
        "form_id": form, "version": 1, "agency_code": AGENCY,
        "data": valid_submission(client, app, form)})
    code = filed.get_json()["code"]
    make_late(app, code)
    promised = promise_after(app, AGENCY, datetime.now(UTC))
    explained = client.post(f"/api/v1/dossiers/{code}/explanation", headers=clerk, json={
        "reason": "Mất điện", "promised_at": promised.isoformat()})
    assert explained.status_code == 200, explained.get_json()
    letter = client.get(f"/api/v1/dossiers/{code}/apology-letter", headers=father).data
    words = " ".join(text_of(letter).split())
    assert re.search(r"Số: \d{2,}/PXL-UBND Thử Nghiệm, ngày \d{2} tháng \d{1,2} năm \d{4}", words)
    for part in ("PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ", "Kính gửi:",
                 f"ngày {promised:%d} tháng {promised:%m} năm {promised:%Y}", "Nơi nhận:", "- Như trên;", "PHÓ CHỦ TỊCH"):
        assert part in words, part


def test_the_parents_year_of_birth_is_a_year_even_from_a_date_of_birth() -> None:
    """The birth extract's model prints "Năm sinh" of each parent: a form that asks for the
    parent's date of birth gave "Năm sinh: 02/09/1988" on the page."""
    from service.results.issuance import result_values

    data = {"nguoi_duoc_khai_sinh": {"ho_ten": "Nguyễn Minh Khôi", "ngay_sinh": "2026-11-20"},
            "nguoi_me": {"ho_ten": "Trần Thị Bình", "ngay_sinh": "1988-09-02"},
            "nguoi_cha": {"ho_ten": "Nguyễn Văn An", "nam_sinh": 1985}}
    values = result_values(TEMPLATES["birth_extract"], None, data)
    assert values.printed["me_nam_sinh"] == "1988" and values.structured["me_nam_sinh"] == 1988
    assert values.printed["cha_nam_sinh"] == "1985"
    assert values.printed["ngay_sinh"] == "20/11/2026"  # a whole date stays a whole date

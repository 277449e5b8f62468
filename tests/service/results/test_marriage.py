"""A result serves everyone it concerns (#13, point 6, and finding 11): the marriage
registration (1.000894) issues a marriage certificate (GIẤY CHỨNG NHẬN KẾT HÔN) with both
parties' blocks, numbered by the agency's marriage register (Số, Quyển số); the certificate
goes into the civil-status records of both spouses and each one's spouse into the population
register, so that either spouse's birth registration form prefills the parents' marriage
certificate and the other parent.

The bride is the demo daughter (unmarried); the groom is added to the population register
here, as an import would."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select, text

from forms.results import PROCEDURE_RESULTS, TEMPLATES, template_for
from service.records.demo import DEMO_DAUGHTER
from service.worktime import VIETNAM
from storage import records as store
from storage.models import Record, RecordChange
from tests.conftest import (
    _token,
    citizen_headers,
    file_and_process,
    prefill,
    valid_submission,
)
from tests.service.results.test_results import AGENCY, issue, text_of

MARRIAGE = "to-khai-dang-ky-ket-hon"
BIRTH = "to-khai-dang-ky-khai-sinh"
GROOM = "001095012468"
GROOM_RECORD: dict[str, Any] = {
    "personal_id": GROOM, "full_name": "Phạm Quốc Bảo", "surname": "Phạm",
    "given_names": "Quốc Bảo", "birth_date": "1995-04-12", "birth_year": "1995", "sex": "nam",
    "ethnicity": "01", "nationality": "VN", "marital_status": "chua_ket_hon",
    "residence": {"province": "01", "commune": "00004", "detail": "Số 3, phố Hàng Gai"},
    "permanent_residence": {"province": "01", "commune": "00004",
                            "detail": "Số 3, phố Hàng Gai"},
}
#: a second groom, whose bride's number is typed with another person's name
OTHER_GROOM = "001096024680"


@pytest.fixture(scope="module")
def couple(app, people) -> dict[str, Any]:
    """The groom in the population register (and his birth in civil status)."""
    with app.extensions["tokhai"].sessions() as session:
        store.upsert_many(session, "population", [
            (GROOM, GROOM_RECORD),
            (OTHER_GROOM, {**GROOM_RECORD, "personal_id": OTHER_GROOM,
                           "full_name": "Đỗ Minh Khôi", "given_names": "Minh Khôi",
                           "surname": "Đỗ", "birth_date": "1996-02-03"})], "import:test")
        store.upsert_many(session, "civil_status", [(GROOM, {
            "birth_registration_number": "88/1995", "birth_registration_date": "1995-04-20",
            "marriage_count": 0})], "import:test")
        session.commit()
    return {"bride": people[DEMO_DAUGHTER]}


@pytest.fixture
def clerk(app) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'officer', agency_code=AGENCY)}"}


def marry(client, app, clerk, groom: str, bride: dict[str, Any]) -> dict[str, Any]:
    """The groom files the registration with the bride's block typed; the officer accepts,
    processes and issues. The issued document."""
    data = valid_submission(client, app, MARRIAGE, groom)
    data["ben_nu"] = {**bride, "lan_ket_hon": 1}
    data["ben_nam"]["lan_ket_hon"] = 1
    code, etag = file_and_process(client, citizen_headers(app, groom), clerk, MARRIAGE, data,
                                  AGENCY)
    issued = issue(client, clerk, code, etag)
    assert issued.status_code == 201, issued.get_json()
    return {**issued.get_json(), "code": code}


def record(app, register: str, subject: str) -> Record | None:
    with app.extensions["tokhai"].sessions() as session:
        return session.scalar(select(Record).where(Record.register == register,
                                                   Record.subject == subject))


def test_the_marriage_registration_issues_a_marriage_certificate() -> None:
    """Finding 11: the marriage had no template and ended with a generic decision."""
    assert PROCEDURE_RESULTS["1.000894"] == "marriage_certificate"
    t = template_for("1.000894")
    assert t.title == "GIẤY CHỨNG NHẬN KẾT HÔN" and t.kind == "certificate"
    assert t.register_book == "KH" and "04/2020/TT-BTP" in t.legal_basis
    assert {v.key for v in t.required()} == {"vo_ho_ten", "vo_ngay_sinh", "chong_ho_ten",
                                             "chong_ngay_sinh"}
    assert TEMPLATES["decision"] is not t


def test_both_spouses_records_and_forms(client, app, clerk, couple) -> None:
    """Finding 10: only the spouse who filed got the marriage record, and the spouse link was
    not made: the wife's birth form stayed empty (the certificate and the father)."""
    bride_block = prefill(client, app, MARRIAGE, DEMO_DAUGHTER)["data"]["ben_nu"]
    with app.extensions["tokhai"].sessions() as session:
        generic_before = session.execute(text("SELECT last FROM counters WHERE name = :n"), {
            "n": f"result:{AGENCY}:{datetime.now(VIETNAM).year}"}).scalar()
    doc = marry(client, app, clerk, GROOM, bride_block)
    year = datetime.fromisoformat(doc["signed_at"]).astimezone(VIETNAM).year
    number, book = doc["number"], f"01/{year}"
    # the register's number: no document symbol, no generic result number
    assert re.fullmatch(r"[1-9]\d*", number), number
    with app.extensions["tokhai"].sessions() as session:
        generic_after = session.execute(text("SELECT last FROM counters WHERE name = :n"), {
            "n": f"result:{AGENCY}:{year}"}).scalar()
    assert generic_after == generic_before  # the agency's result series is not used
    # the certificate: both parties' blocks, the register's number and book
    pdf = client.get(f"/api/v1/dossiers/{doc['code']}/result",
                     headers=citizen_headers(app, GROOM)).data
    words = " ".join(text_of(pdf).split())
    for part in ("GIẤY CHỨNG NHẬN KẾT HÔN", f"Số: {number}", f"Quyển số: {book}",
                 "Bên nữ Họ, chữ đệm, tên vợ: Lê Thị Thu Hà", "Ngày, tháng, năm sinh: 23/08/1999",
                 "Bên nam Họ, chữ đệm, tên chồng: Phạm Quốc Bảo",
                 "Ngày, tháng, năm sinh: 12/04/1995", f"Giấy tờ tùy thân: {GROOM}",
                 "Nơi đăng ký: Ủy ban nhân dân xã thử nghiệm số 4"):
        assert part in words, part
    assert "QUYẾT ĐỊNH" not in words and "/QĐ" not in words
    assert words.index("Bên nữ") < words.index("Lê Thị Thu Hà") < words.index("Bên nam") \
        < words.index("Phạm Quốc Bảo")
    # both spouses' civil status: the certificate's number and book, the date, the place
    for person in (GROOM, DEMO_DAUGHTER):
        held = record(app, "civil_status", person)
        assert held is not None
        assert held.data["marriage_certificate_number"] == number
        assert held.data["marriage_book_number"] == book
        assert held.data["marriage_registration_authority"] == \
            "Ủy ban nhân dân xã thử nghiệm số 4"
        assert held.data["marriage_count"] == 1
        assert (held.field_provenance or {}).get("marriage_certificate_number") == \
            f"result:{doc['document_id']}"
        assert held.data.get("birth_registration_number")  # what it held before stays
    # each one's spouse in the population register
    husband, wife = record(app, "population", GROOM), record(app, "population", DEMO_DAUGHTER)
    assert husband is not None and wife is not None
    assert husband.data["spouse_personal_id"] == DEMO_DAUGHTER
    assert wife.data["spouse_personal_id"] == GROOM
    assert husband.data["marital_status"] == wife.data["marital_status"] == "dang_co_vo_chong"
    assert wife.data["full_name"] == "Lê Thị Thu Hà"  # the rest of the record kept
    # every change in the trail, with the certificate as its evidence
    with app.extensions["tokhai"].sessions() as session:
        trail = session.scalars(select(RecordChange).where(
            RecordChange.document_id == doc["document_id"])).all()
    assert sorted((t.register, t.subject) for t in trail) == sorted(
        [("civil_status", GROOM), ("civil_status", DEMO_DAUGHTER), ("population", GROOM),
         ("population", DEMO_DAUGHTER)])
    # either spouse's birth registration form: the marriage certificate and the other parent
    for person in (DEMO_DAUGHTER, GROOM):
        body = prefill(client, app, BIRTH, person)
        marriage = body["data"]["ket_hon_cha_me"]
        assert marriage["so"] == number and marriage["quyen_so"] == book, (person, marriage)
        assert marriage["noi_dang_ky"] == "Ủy ban nhân dân xã thử nghiệm số 4"
        assert body["data"]["nguoi_cha"]["ho_ten"] == "Phạm Quốc Bảo", person
        assert body["data"]["nguoi_me"]["ho_ten"] == "Lê Thị Thu Hà", person
        assert body["provenance"]["/ket_hon_cha_me/so"]["provenance"] == \
            f"result:{doc['document_id']}"


def test_a_party_not_identified_gets_no_records(client, app, clerk, couple) -> None:
    """A bride's number typed with another name (a typing mistake, or someone else's
    number): the certificate is issued and the groom's civil status records it, but the
    person of that number is not married off, and nobody is linked."""
    bride_block = prefill(client, app, MARRIAGE, DEMO_DAUGHTER)["data"]["ben_nu"]
    before = record(app, "population", DEMO_DAUGHTER)
    before_civil = record(app, "civil_status", DEMO_DAUGHTER)
    assert before is not None and before_civil is not None
    doc = marry(client, app, clerk, OTHER_GROOM, {**bride_block, "ho_ten": "Lê Thị Khác"})
    groom = record(app, "civil_status", OTHER_GROOM)
    assert groom is not None and groom.data["marriage_certificate_number"] == doc["number"]
    after, after_civil = record(app, "population", DEMO_DAUGHTER), \
        record(app, "civil_status", DEMO_DAUGHTER)
    assert after is not None and after.data == before.data
    assert after_civil is not None and after_civil.data == before_civil.data
    other = record(app, "population", OTHER_GROOM)
    assert other is not None and "spouse_personal_id" not in other.data
    with app.extensions["tokhai"].sessions() as session:
        trail = session.scalars(select(RecordChange).where(
            RecordChange.document_id == doc["document_id"])).all()
    assert [(t.register, t.subject) for t in trail] == [("civil_status", OTHER_GROOM)]


def test_marriage_certificates_are_numbered_in_the_register_book(client, app, clerk,
                                                                 couple) -> None:
    """Each marriage takes the next entry of the agency's marriage book of the year (gapless,
    from 1), apart from the agency's other results."""
    with app.extensions["tokhai"].sessions() as session:
        numbers = sorted(int(n) for n in session.scalars(text(
            "SELECT number FROM dossier_documents WHERE template = 'marriage_certificate'")))
        book = session.execute(text("SELECT last FROM counters WHERE name LIKE 'register:KH:%'"
                                    )).scalars().all()
    assert numbers == list(range(1, len(numbers) + 1)) and numbers
    assert book == [len(numbers)]

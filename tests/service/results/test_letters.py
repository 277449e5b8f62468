"""The apology letter people can read (#13, point 3): the procedure by its name, the signer from
the agency's configuration, wording that fits the stage the dossier was late at, and the
verification link whole.

Rendered directly (a dossier as the database holds it at each stage), then through the API
with the dossiers' clock (tests/service/dossiers/clock.py): late at acceptance, late at
processing, a promised date missed."""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Any

import pdfplumber
import pytest

from service.dossiers import lateness, lifecycle
from service.pki.seals import development_seal
from service.results import letters, rendering
from storage.models import Dossier
from tests.conftest import _token, valid_submission
from tests.service.dossiers.clock import Clock, vn
from tests.service.results.test_rendering import ISSUER

CODE = "CA-HN-260104-0001"
DOCUMENT_ID = "6f1c2b9e-3d4a-4e8b-9c1d-2a3b4c5d6e7f"
#: the shape of a real verification link (public_url + the document's verification path)
URL = f"https://dichvucong.ubnd-thu-nghiem.gov.vn/api/v1/documents/{DOCUMENT_ID}/verification"
ACTOR = "officer:DEVELOPMENT officer_UBND-00004"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The dossiers' clock at Monday 4 January 2027, 09:00 Vietnam time."""
    held = Clock(vn(2027, 1, 4, 9))
    monkeypatch.setattr(lifecycle, "clock", held)
    return held


def dossier(**changes: Any) -> Dossier:
    """A driving-licence dossier filed online on Monday 4 January 2027 at 09:00, due for
    acceptance 8 working hours later, explained late with a new date, as the database holds
    it; ``changes`` move it along."""
    values: dict[str, Any] = dict(
        code=CODE, procedure_code="local.gplx.doi-cap-lai",
        procedure_name="Đổi, cấp lại giấy phép lái xe", channel="online",
        citizen_id="001085012345", data={"nguoi_de_nghi": {"ho_ten": "Nguyễn Văn An"}},
        status="submitted", submitted_at=vn(2027, 1, 4, 9), accept_deadline=vn(2027, 1, 5, 9),
        accepted_at=None, process_deadline=None, finished_at=None, paused_at=None,
        late_at=None, broken_promise_at=None, promised_at=vn(2027, 1, 8, 10),
        late_explanation="Hệ thống mạng gián đoạn", late_explained_by=ACTOR,
        late_explained_at=vn(2027, 1, 5, 10))
    values.update(changes)
    return Dossier(**values)


def render(d: Dossier, url: str = URL) -> bytes:
    stamp = rendering.Stamp(ISSUER.name, d.late_explained_at or vn(2027, 1, 5, 10),
                            development_seal(ISSUER.name))
    return letters.apology_letter(d, ISSUER.name, ISSUER.locality, DOCUMENT_ID, url, stamp,
                                  issuer=ISSUER, number="01/PXL-UBND").pdf


def words(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return " ".join(" ".join((p.extract_text() or "").split()) for p in doc.pages)


def lines(pdf: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return [line for p in doc.pages for line in (p.extract_text() or "").splitlines()]


# -- rendered ---------------------------------------------------------------------------------

def test_late_at_acceptance_says_it_was_not_received_in_time() -> None:
    """The issue's finding: a dossier late at acceptance was said to be "received" on its
    submission date and "not resolved on time"."""
    text = words(render(dossier()))
    assert ("Ngày 04 tháng 01 năm 2027, Ông/Bà nộp trực tuyến hồ sơ mã số "
            f"{CODE} về thủ tục đổi, cấp lại giấy phép lái xe đến {ISSUER.name}.") in text
    assert ("hồ sơ phải được kiểm tra, tiếp nhận chậm nhất vào 09 giờ 00 ngày 05 tháng 01 "
            f"năm 2027; {ISSUER.name} đã không tiếp nhận hồ sơ trong thời hạn này.") in text
    assert "tiếp nhận giải quyết" not in text and "chưa trả kết quả" not in text
    assert "không được giải quyết đúng hạn" not in text
    assert "Lý do: Hệ thống mạng gián đoạn." in text
    assert "hẹn lại ngày trả kết quả vào ngày 08 tháng 01 năm 2027" in text


def test_late_at_processing_was_received_on_the_day_it_was_accepted() -> None:
    """Received on the acceptance date, not the submission date; the processing deadline is
    the one missed."""
    d = dossier(status="in_processing", accepted_at=vn(2027, 1, 5, 8),
                process_deadline=vn(2027, 1, 12, 8), promised_at=vn(2027, 1, 15, 10),
                late_explained_at=vn(2027, 1, 12, 9))
    assert letters.late_stage(d, vn(2027, 1, 12, 9)) == lateness.PROCESSING
    text = words(render(d))
    assert (f"Ngày 05 tháng 01 năm 2027, {ISSUER.name} tiếp nhận giải quyết hồ sơ mã số {CODE} "
            "của Ông/Bà về thủ tục đổi, cấp lại giấy phép lái xe (hồ sơ nộp trực tuyến ngày 04 "
            "tháng 01 năm 2027).") in text
    assert ("Thời hạn trả kết quả giải quyết hồ sơ: ngày 12 tháng 01 năm 2027. Tuy nhiên, đến "
            f"nay {ISSUER.name} chưa trả kết quả giải quyết hồ sơ của Ông/Bà.") in text
    assert "Ngày 04 tháng 01 năm 2027, " + ISSUER.name not in text  # not "received" when filed
    assert "chậm nhất vào" not in text


def test_a_missed_promise_says_the_date_promised_before() -> None:
    d = dossier(status="in_processing", accepted_at=vn(2027, 1, 5, 8),
                process_deadline=vn(2027, 1, 12, 8), broken_promise_at=vn(2027, 1, 8, 10),
                promised_at=vn(2027, 1, 20, 10), late_explained_at=vn(2027, 1, 11, 9))
    assert letters.late_stage(d, vn(2027, 1, 11, 9)) == lateness.PROMISE
    text = words(render(d))
    assert (f"{ISSUER.name} đã xin lỗi Ông/Bà và hẹn trả kết quả vào ngày 08 tháng 01 năm 2027. "
            f"Tuy nhiên, đến nay {ISSUER.name} vẫn chưa trả kết quả giải quyết hồ sơ của "
            "Ông/Bà.") in text
    assert "hẹn lại ngày trả kết quả vào ngày 20 tháng 01 năm 2027" in text


def test_the_procedure_by_name_and_the_signer_from_the_configuration() -> None:
    """The issue's finding: the catalogue's code (local.gplx.doi-cap-lai) and the account
    that explained (officer:DEVELOPMENT officer_UBND-00004) were printed."""
    pdf = render(dossier())
    text = words(pdf)
    assert "local.gplx" not in text and "officer" not in text and "DEVELOPMENT" not in text
    assert "Người giải trình" not in text
    assert "đổi, cấp lại giấy phép lái xe" in text
    for line in ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Nguyễn Văn Thử"):
        assert line in text
    assert text.index("PHÓ CHỦ TỊCH") < text.index("Nguyễn Văn Thử")


@pytest.mark.parametrize("url", [
    URL, "http://tokhai.test/api/v1/documents/" + DOCUMENT_ID + "/verification",
    "https://dichvucong.so-tu-phap.thanh-pho-ho-chi-minh.gov.vn/cong-dich-vu/xac-thuc/api/v1/"
    f"documents/{DOCUMENT_ID}/verification",
])
def test_the_verification_link_is_never_cut_inside_a_word(url: str) -> None:
    """The issue's finding: the link was wrapped in the 58 mm column and cut mid-word. Now it
    has a line of its own across the page (smaller if it must be), and a link longer than
    the line even at the smallest size is cut only after a "/"."""
    pdf = render(dossier(), url)
    printed = lines(pdf)
    whole = [line for line in printed if url in line]
    if whole:
        assert whole == [f"Xác thực tại: {url}"]
    else:  # cut only at its slashes, every piece a line of its own
        at = next(i for i, line in enumerate(printed) if line == "Xác thực tại:")
        pieces = []
        for line in printed[at + 1:]:
            pieces.append(line)
            if "".join(pieces) == url:
                break
        assert "".join(pieces) == url and all(p.endswith("/") for p in pieces[:-1])
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        page = doc.pages[0]
        for c in page.chars:  # within the margins
            assert c["x1"] <= page.width - 20 * 72 / 25.4 + 0.5
        link = [w for w in page.extract_words(extra_attrs=["size"]) if url.startswith(w["text"])
                and len(w["text"]) > 20]
        assert link and all(w["size"] >= 6 for w in link)


def test_a_long_link_on_a_result_is_whole_too() -> None:
    from tests.service.results.test_rendering import render_issued

    printed = lines(render_issued(DOCUMENT_ID).pdf)
    assert f"Xác thực tại: http://tokhai.test/v/{DOCUMENT_ID}" in printed
    assert DOCUMENT_ID in printed or f"Mã tài liệu: {DOCUMENT_ID}" in printed


# -- through the API, with the clock ------------------------------------------------------------

FORM = "don-de-nghi-doi-cap-lai-gplx"
AGENCY = "CA-HN"


@pytest.fixture
def police(app) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'officer', agency_code=AGENCY)}"}


class Filed:
    def __init__(self, client, app, father, clerk) -> None:
        self.client, self.father, self.clerk = client, father, clerk
        resp = client.post("/api/v1/dossiers", headers=father, json={
            "form_id": FORM, "version": 1, "agency_code": AGENCY,
            "data": valid_submission(client, app, FORM)})
        assert resp.status_code == 201, resp.get_json()
        self.code = resp.get_json()["code"]

    def act(self, action: str) -> None:
        etag = self.client.get(f"/api/v1/dossiers/{self.code}", headers=self.clerk).headers["ETag"]
        resp = self.client.post(f"/api/v1/dossiers/{self.code}/actions", json={"action": action},
                                headers={**self.clerk, "If-Match": etag})
        assert resp.status_code == 200, resp.get_json()

    def explain(self, promised: datetime) -> bytes:
        resp = self.client.post(f"/api/v1/dossiers/{self.code}/explanation", headers=self.clerk,
                                json={"reason": "Chờ kết quả xác minh",
                                      "promised_at": promised.isoformat()})
        assert resp.status_code == 200, resp.get_json()
        letter = self.client.get(f"/api/v1/dossiers/{self.code}/apology-letter",
                                 headers=self.father)
        assert letter.status_code == 200
        return letter.data


def _common(pdf: bytes, code: str) -> str:
    text = words(pdf)
    assert "local.gplx" not in text and "officer" not in text
    assert "thủ tục đổi, cấp lại giấy phép lái xe" in text
    assert "GIÁM ĐỐC" in text and "Trần Thị Kiểm" in text  # the agency's configured signer
    (link,) = [line for line in lines(pdf) if line.startswith("Xác thực tại:")]
    assert re.fullmatch(r"Xác thực tại: http://tokhai\.test/api/v1/documents/[0-9a-f-]{36}/"
                        r"verification", link)
    assert code in text
    return text


def test_letters_through_the_api_at_each_stage(client, app, father, police,
                                               clock: Clock) -> None:
    # late at acceptance: filed Monday 09:00, due Tuesday 09:00, explained Tuesday 10:00
    early = Filed(client, app, father, police)
    clock.set(vn(2027, 1, 5, 10))
    text = _common(early.explain(vn(2027, 1, 8, 10)), early.code)
    assert "Ngày 04 tháng 01 năm 2027, Ông/Bà nộp trực tuyến hồ sơ" in text
    assert "chậm nhất vào 09 giờ 00 ngày 05 tháng 01 năm 2027" in text
    assert "tiếp nhận giải quyết" not in text and "chưa trả kết quả" not in text
    # late at processing: filed Monday, accepted Tuesday 08:00, 5 working days to process
    clock.set(vn(2027, 1, 11, 9))
    later = Filed(client, app, father, police)
    clock.set(vn(2027, 1, 12, 8))
    later.act("accept")
    later.act("start_processing")
    due = datetime.fromisoformat(client.get(f"/api/v1/dossiers/{later.code}", headers=police)
                                 .get_json()["deadlines"]["process_by"])
    clock.set(vn(2027, 1, 25, 9))
    assert due < clock.moment
    text = _common(later.explain(vn(2027, 1, 27, 10)), later.code)
    assert (f"Ngày 12 tháng 01 năm 2027, Công an thành phố Hà Nội (thử nghiệm) tiếp nhận giải "
            f"quyết hồ sơ mã số {later.code}") in text
    assert "(hồ sơ nộp trực tuyến ngày 11 tháng 01 năm 2027)" in text
    assert f"Thời hạn trả kết quả giải quyết hồ sơ: {letters.paper_date(due)}." in text
    # the promised date missed too: a second letter, about the promise
    clock.set(vn(2027, 1, 28, 9))
    text = _common(later.explain(vn(2027, 2, 1, 10)), later.code)
    assert ("đã xin lỗi Ông/Bà và hẹn trả kết quả vào ngày 27 tháng 01 năm 2027. Tuy nhiên, "
            "đến nay Công an thành phố Hà Nội (thử nghiệm) vẫn chưa trả kết quả") in text
    assert "hẹn lại ngày trả kết quả vào ngày 01 tháng 02 năm 2027" in text

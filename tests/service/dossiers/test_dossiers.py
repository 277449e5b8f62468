"""Dossiers: intake, the status machine, deadlines, lateness, tracking and the event log."""

from __future__ import annotations

import io
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pdfplumber
import pytest
from sqlalchemy import select

from service.cli import load_demo
from service.records import demo
from storage.models import Dossier
from tests.conftest import DEMO_FATHER, _token, citizen_headers, valid_submission
from tests.service.dossiers.clock import Clock, vn

FORM = "don-de-nghi-doi-cap-lai-gplx"
AGENCY = "CA-HN"


@pytest.fixture
def clerk(app) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'officer', agency_code=AGENCY)}"}


def submit(client, app, headers, data=None, key=None, form=FORM):
    body = {"form_id": form, "version": 1, "agency_code": AGENCY,
            "data": data if data is not None else valid_submission(client, app, form)}
    extra = {"Idempotency-Key": key} if key else {}
    return client.post("/api/v1/dossiers", json=body, headers={**headers, **extra})


def act(client, headers, code, action, etag=None, reason=None):
    body = {"action": action, **({"reason": reason} if reason else {})}
    extra = {"If-Match": etag} if etag else {}
    return client.post(f"/api/v1/dossiers/{code}/actions", json=body,
                       headers={**headers, **extra})


def test_submission_gets_a_code_a_receipt_and_deadlines(client, app, father) -> None:
    resp = submit(client, app, father)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    today = datetime.now(UTC).astimezone(demo_tz()).strftime("%y%m%d")
    assert body["code"].startswith(f"{AGENCY}-{today}-") and len(body["code"].split("-")[-1]) == 4
    assert body["status"] == "submitted" and body["status_label"] == "Đã nộp, chờ tiếp nhận"
    assert len(body["receipt_secret"]) >= 16
    assert resp.headers["ETag"] == '"v1"'
    submitted = datetime.fromisoformat(body["submitted_at"])
    expected = app.extensions["tokhai"].calendar.add_working_hours(submitted, 8)
    assert datetime.fromisoformat(body["deadlines"]["accept_by"]) == expected
    assert body["lateness"] == {"late": False, "acceptance_late": False,
                                "processing_late": False, "promise_late": False,
                                "explanation_required": False, "late_since": None,
                                "stage": None, "missed": []}
    # read back from the database (SQLite keeps no offset): the same moments, with their zone
    stored = client.get(f"/api/v1/dossiers/{body['code']}", headers=father).get_json()
    assert datetime.fromisoformat(stored["deadlines"]["accept_by"]) == expected
    assert datetime.fromisoformat(stored["submitted_at"]) == submitted
    receipt = client.get(f"/api/v1/receipts/{body['code']}",
                         query_string={"secret": body["receipt_secret"]}).get_json()
    assert receipt == {"code": body["code"], "status": "submitted",
                       "status_label": "Đã nộp, chờ tiếp nhận",
                       "deadlines": receipt["deadlines"]}
    wrong = client.get(f"/api/v1/receipts/{body['code']}",
                       query_string={"secret": "x" * 16})
    assert wrong.status_code == 404
    assert client.get(f"/api/v1/dossiers/{body['code']}").status_code == 401


def demo_tz():
    from service.worktime import VIETNAM

    return VIETNAM


def test_bad_submissions_get_every_error_and_store_nothing(client, app, father) -> None:
    def count() -> int:
        with app.extensions["tokhai"].sessions() as s:
            return len(s.scalars(select(Dossier)).all())

    before = count()
    data = valid_submission(client, app, FORM)
    data["nguoi_de_nghi"]["ho_ten"] = "Người Khác"  # verified
    data["de_nghi"]["thua"] = 1  # not on the form
    data["gplx_hien_co"]["nam_hoc"] = "hai nghìn"  # wrong type
    resp = submit(client, app, father, data)
    assert resp.status_code == 422
    got = {(e["field"], e["code"]) for e in resp.get_json()["errors"]}
    assert got == {("/nguoi_de_nghi/ho_ten", "verified_mismatch"),
                   ("/de_nghi/thua", "unknown_field"),
                   ("/gplx_hien_co/nam_hoc", "wrong_type")}
    assert all(e["message"] for e in resp.get_json()["errors"])
    unknown = client.post("/api/v1/dossiers", json={"form_id": "khong-co", "version": 1,
                                                    "agency_code": AGENCY, "data": {}},
                          headers=father)
    assert unknown.status_code == 404
    bad_agency = client.post("/api/v1/dossiers", json={"form_id": FORM, "version": 1,
                                                       "agency_code": "../x", "data": {}},
                             headers=father)
    assert bad_agency.status_code == 422 and bad_agency.get_json()["field"] == "json.agency_code"
    huge = client.post("/api/v1/dossiers", data=b"{" + b" " * (5 * 1024 * 1024) + b"}",
                       headers={**father, "Content-Type": "application/json"})
    assert huge.status_code == 413
    assert count() == before


def test_text_is_stored_in_nfc(client, app, father) -> None:
    data = valid_submission(client, app, FORM)
    data["de_nghi"]["ly_do"] = unicodedata.normalize("NFD", "Mất giấy phép lái xe")
    body = submit(client, app, father, data).get_json()
    assert body["data"]["de_nghi"]["ly_do"] == unicodedata.normalize("NFC",
                                                                     "Mất giấy phép lái xe")


def test_idempotency_key(client, app, father) -> None:
    data = valid_submission(client, app, FORM)
    first = submit(client, app, father, data, key="retry-abc-1")
    again = submit(client, app, father, data, key="retry-abc-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["code"] == again.get_json()["code"]
    assert again.get_json()["receipt_secret"] == first.get_json()["receipt_secret"]
    data["de_nghi"]["ly_do"] = "Lý do khác"
    other = submit(client, app, father, data, key="retry-abc-1")
    assert other.status_code == 422 and other.get_json()["code"] == "idempotency_key_reused"


def counts_agree(app) -> dict[str, int]:
    """The queue's counts per state (kept by every status change, service.dossiers.counts)
    are what counting the dossiers gives, for every agency; the agency's counts."""
    from sqlalchemy import func

    from service.dossiers import counts

    with app.extensions["tokhai"].sessions() as session:
        counted: dict[str, dict[str, int]] = {}
        for agency, status, n in session.execute(select(
                Dossier.agency_code, Dossier.status, func.count()).group_by(
                Dossier.agency_code, Dossier.status)):
            counted.setdefault(agency, {})[status] = n
        for agency, per_state in counted.items():
            assert counts.of_agency(session, agency) == per_state
        return counts.of_agency(session, AGENCY)


def plus(counts: dict[str, int], state: str) -> dict[str, int]:
    return {**counts, state: counts.get(state, 0) + 1}


def test_status_machine_with_optimistic_locking(client, app, father, clerk) -> None:
    before = counts_agree(app)
    code = submit(client, app, father).get_json()["code"]
    seen = client.get(f"/api/v1/dossiers/{code}", headers=clerk)
    etag = seen.headers["ETag"]
    assert act(client, clerk, code, "accept").status_code == 428  # no If-Match
    out_of_order = act(client, clerk, code, "deliver", etag)
    assert out_of_order.status_code == 409
    assert out_of_order.get_json()["code"] == "transition_not_allowed"
    accepted = act(client, clerk, code, "accept", etag)
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "accepted"
    assert accepted.get_json()["deadlines"]["process_by"]
    stale = act(client, clerk, code, "start_processing", etag)  # a colleague's old copy
    assert stale.status_code == 412 and stale.get_json()["code"] == "stale_version"
    etag = accepted.headers["ETag"]
    assert act(client, clerk, code, "reject", etag).get_json()["code"] == "reason_required"
    processing = act(client, clerk, code, "start_processing", etag)
    assert processing.get_json()["status"] == "in_processing"
    done = client.post(f"/api/v1/dossiers/{code}/result", json={},
                       headers={**clerk, "If-Match": processing.headers["ETag"]})
    assert done.status_code == 201, done.get_json()
    done = client.get(f"/api/v1/dossiers/{code}", headers=clerk)
    delivered = act(client, clerk, code, "deliver", done.headers["ETag"])
    assert delivered.get_json()["status"] == "delivered"
    history = client.get(f"/api/v1/dossiers/{code}/history", headers=father).get_json()
    assert [(h["action"], h["to_status"]) for h in history] == [
        ("submit", "submitted"), ("accept", "accepted"), ("start_processing", "in_processing"),
        ("issue_result", "result_ready"), ("deliver", "delivered")]
    assert all(h["actor"] and h["at"] for h in history)
    assert act(client, father, code, "withdraw", reason="Không cần nữa").status_code == 409
    assert counts_agree(app) == plus(before, "delivered")  # refused moves counted nothing


def test_supplement_round_trip_and_withdrawal(client, app, father, clerk) -> None:
    before = counts_agree(app)
    code = submit(client, app, father).get_json()["code"]
    etag = client.get(f"/api/v1/dossiers/{code}", headers=clerk).headers["ETag"]
    asked = act(client, clerk, code, "request_supplement", etag, reason="Bổ sung lý do")
    assert asked.get_json()["status"] == "supplement_requested"
    data = valid_submission(client, app, FORM)
    data["de_nghi"]["ly_do"] = "Giấy phép bị hỏng"
    again = client.post(f"/api/v1/dossiers/{code}/supplement", json={"data": data},
                        headers=father)
    assert again.status_code == 200 and again.get_json()["status"] == "submitted"
    withdrawn = act(client, father, code, "withdraw", reason="Tôi nộp nhầm")
    assert withdrawn.get_json()["status"] == "withdrawn"
    assert counts_agree(app) == plus(before, "withdrawn")


def test_others_are_refused(client, app, father, clerk) -> None:
    code = submit(client, app, father).get_json()["code"]
    stranger = citizen_headers(app, "079199054321")
    # not theirs: as if it did not exist
    assert client.get(f"/api/v1/dossiers/{code}", headers=stranger).status_code == 404
    assert act(client, stranger, code, "withdraw", reason="x").status_code == 404
    elsewhere = {"Authorization": f"Bearer {_token(app, 'officer', agency_code='UBND-XA')}"}
    assert client.get(f"/api/v1/dossiers/{code}", headers=elsewhere).status_code == 404
    etag = client.get(f"/api/v1/dossiers/{code}", headers=clerk).headers["ETag"]
    assert act(client, elsewhere, code, "accept", etag).status_code == 404
    assert act(client, father, code, "accept", etag).status_code == 403  # not a citizen's act


def make_late(app, code: str, hours: int = 30) -> None:
    """Rewrite a dossier's acceptance deadline in the database (kept for tests of other parts
    that only need some late dossier; lateness itself is tested through the clock)."""
    with app.extensions["tokhai"].sessions() as session:
        d = session.scalar(select(Dossier).where(Dossier.code == code))
        past = datetime.now(UTC) - timedelta(hours=hours)
        d.submitted_at = past - timedelta(hours=1)
        d.accept_deadline = past
        d.due_at = past
        session.commit()


def test_late_dossiers_need_an_explanation_and_an_apology(client, app, father, clerk,
                                                           clock: Clock) -> None:
    code = submit(client, app, father).get_json()["code"]  # Monday 4 January 2027, 09:00
    clock.set(vn(2027, 1, 5, 10))  # an hour past the 8 working hours
    late = client.get(f"/api/v1/dossiers/{code}", headers=clerk)
    assert late.get_json()["lateness"]["acceptance_late"] is True
    refused = act(client, clerk, code, "accept", late.headers["ETag"])
    assert refused.status_code == 409 and refused.get_json()["code"] == "explanation_required"
    promised = vn(2027, 1, 8, 10).isoformat()
    explained = client.post(f"/api/v1/dossiers/{code}/explanation",
                            json={"reason": "Hệ thống mạng gián đoạn", "promised_at": promised},
                            headers=clerk)
    assert explained.status_code == 200, explained.get_json()
    letter = client.get(f"/api/v1/dossiers/{code}/apology-letter", headers=father)
    assert letter.status_code == 200 and letter.mimetype == "application/pdf"
    with pdfplumber.open(io.BytesIO(letter.data)) as pdf:
        text = " ".join(pdf.pages[0].extract_text().split())
    assert "XIN LỖI" in text and code in text and "Nguyễn Văn An" in text
    assert "Hệ thống mạng gián đoạn" in text
    accepted = act(client, clerk, code, "accept", explained.headers["ETag"])
    assert accepted.status_code == 200
    queue = client.get("/api/v1/dossiers", query_string={"late": "true", "per_page": 200},
                       headers=clerk).get_json()
    assert code in {d["code"] for d in queue["items"]}  # accepted late: a late dossier still
    auditor = {"Authorization": f"Bearer {_token(app, 'auditor')}"}
    report = client.get("/api/v1/reports/late-dossiers", query_string={"month": "2027-01"},
                        headers=auditor).get_json()
    listed = {d["code"]: (o["officer"], d) for a in report["agencies"]
              for o in a["officers"] for d in o["dossiers"]}
    assert code in listed and listed[code][1]["acceptance_late"] is True
    assert listed[code][0].startswith("officer:")
    assert client.get("/api/v1/reports/late-dossiers", query_string={"month": "2027-01"},
                      headers=clerk).status_code == 403


def promise_after(app, agency: str, moment: datetime, days: int = 3) -> datetime:
    """10:00 Vietnam time on the first working day of ``agency`` at least ``days`` days after
    ``moment``: a date an explanation may promise (in the future, a working day, within a
    year)."""
    from service.worktime import VIETNAM

    calendar = app.extensions["tokhai"].calendar_for(agency)
    day = moment.astimezone(VIETNAM).date() + timedelta(days=days)
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 10, tzinfo=VIETNAM)


def test_an_explanation_is_owed_once_for_a_working_day_within_a_year(client, app, father,
                                                                     clerk, clock: Clock):
    """An explanation could be given again and again, for any date (a Sunday, the year 9998):
    it is refused when none is owed, and the promised date is a working day of the agency
    within a year; refused ones record nothing. A missed promise owes a new one."""
    code = submit(client, app, father).get_json()["code"]  # Monday 4 January 2027, 09:00
    clock.set(vn(2027, 1, 5, 10))  # late at acceptance

    def explain(promised: datetime | str, reason: str = "Hệ thống mạng gián đoạn"):
        when = promised if isinstance(promised, str) else promised.isoformat()
        return client.post(f"/api/v1/dossiers/{code}/explanation", headers=clerk,
                           json={"reason": reason, "promised_at": when})

    def recorded() -> tuple[int, int]:
        history = client.get(f"/api/v1/dossiers/{code}/history", headers=clerk).get_json()
        version = client.get(f"/api/v1/dossiers/{code}", headers=clerk).headers["ETag"]
        return sum(e["action"] == "explain" for e in history), int(version.strip('"v'))

    before = recorded()
    for promised, error in ((vn(2027, 1, 10, 10), "promised_date_not_working_day"),  # Sunday
                            (vn(2027, 1, 9, 10), "promised_date_not_working_day"),  # Saturday
                            (vn(2028, 1, 6, 10), "promised_date_too_far"),  # a Thursday
                            (vn(2027, 1, 5, 9), "promised_date_past"),
                            ("9998-12-30T10:00:00+07:00", "promised_date_too_far")):
        refused = explain(promised)
        assert refused.status_code == 422, (promised, refused.get_json())
        assert refused.get_json()["code"] == error
        assert refused.get_json()["field"] == "promised_at"
    beyond = explain("9999-12-31T10:00:00+07:00")  # beyond what any date may be
    assert beyond.status_code == 422 and "promised_at" in beyond.get_json()["field"]
    assert recorded() == before
    assert client.get(f"/api/v1/dossiers/{code}/apology-letter",
                      headers=clerk).status_code == 404

    assert explain(vn(2027, 1, 8, 10)).status_code == 200  # Friday
    again = explain(vn(2027, 1, 11, 10), "Lý do khác")
    assert again.status_code == 409, again.get_json()
    assert again.get_json()["code"] == "explanation_not_required"
    explained = client.get(f"/api/v1/dossiers/{code}", headers=clerk).get_json()
    assert explained["deadlines"]["promised_at"] == "2027-01-08T10:00:00+07:00"
    assert recorded()[0] == 1

    clock.set(vn(2027, 1, 8, 11))  # the promise missed: a new explanation is owed
    assert explain(vn(2027, 1, 12, 10), "Chờ xác minh thêm").status_code == 200
    assert explain(vn(2027, 1, 13, 10)).status_code == 409
    assert recorded()[0] == 2


def test_queue_and_tracking(client, app, father, clerk, clock: Clock) -> None:
    codes = []
    for hour in (9, 10, 11):  # Monday 4 January 2027: due Tuesday at 9, 10 and 11
        clock.set(vn(2027, 1, 4, hour))
        codes.append(submit(client, app, father).get_json()["code"])
    clock.set(vn(2027, 1, 5, 10, 30))  # the first two are late, the third not yet
    late = client.get("/api/v1/dossiers", query_string={"late": "true", "status": "submitted",
                                                        "per_page": 200},
                      headers=clerk).get_json()
    assert {codes[0], codes[1]} <= {d["code"] for d in late["items"]}
    assert codes[2] not in {d["code"] for d in late["items"]}
    queue = client.get("/api/v1/dossiers", query_string={"per_page": 200},
                       headers=clerk).get_json()
    due = [d["deadlines"]["process_by"] or d["deadlines"]["accept_by"]
           for d in queue["items"] if d["status"] == "submitted"]
    assert due == sorted(due, key=datetime.fromisoformat)
    page = client.get("/api/v1/dossiers", query_string={"per_page": 2, "page": 2},
                      headers=clerk).get_json()
    assert page["per_page"] == 2 and page["total"] == queue["total"] and len(page["items"]) <= 2
    mine = client.get("/api/v1/dossiers", headers=father).get_json()
    assert set(codes) <= {d["code"] for d in mine["items"]}
    other = client.get("/api/v1/dossiers", headers=citizen_headers(app, "079199054321"))
    assert not set(codes) & {d["code"] for d in other.get_json()["items"]}
    assert client.get("/api/v1/dossiers", query_string={"per_page": 1000},
                      headers=clerk).status_code == 422


def test_event_log_is_ordered_and_gapless(client, app, father) -> None:
    auditor = {"Authorization": f"Bearer {_token(app, 'auditor')}"}
    for _ in range(3):
        submit(client, app, father)
    seen: list[dict] = []
    cursor = 0
    while True:
        page = client.get("/api/v1/events", query_string={"after": cursor, "limit": 2},
                          headers=auditor).get_json()
        if not page["events"]:
            break
        seen += page["events"]
        cursor = page["next_cursor"]
    positions = [e["position"] for e in seen]
    assert positions == list(range(1, len(positions) + 1))
    assert len({e["event_id"] for e in seen}) == len(seen)
    assert client.get("/api/v1/events", headers=father).status_code == 403


def test_concurrent_submissions_get_gapless_unique_codes(client, app, father) -> None:
    data = valid_submission(client, app, FORM)
    agency = f"CA-{datetime.now(UTC).microsecond}"

    def one(_: int) -> str:
        with app.test_client() as c:
            resp = c.post("/api/v1/dossiers", json={"form_id": FORM, "version": 1,
                                                    "agency_code": agency, "data": data},
                          headers=father)
            assert resp.status_code == 201, resp.get_json()
            return resp.get_json()["code"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(one, range(40)))
    numbers = sorted(int(c.rsplit("-", 1)[1]) for c in codes)
    assert numbers == list(range(1, 41))


def test_huge_repeated_groups_are_refused_quickly(client, app, father) -> None:
    import time

    form = "ct01-thay-doi-thong-tin-cu-tru"
    data = valid_submission(client, app, form)
    data["thanh_vien"]["thanh_vien"] = [{}] * 10_000
    started = time.monotonic()
    resp = submit(client, app, father, data, form=form)
    assert time.monotonic() - started < 2
    assert resp.status_code == 422
    assert [(e["field"], e["code"]) for e in resp.get_json()["errors"]] == [
        ("/thanh_vien/thanh_vien", "too_many")]
    data["thanh_vien"]["thanh_vien"] = [{}] * 25  # allowed count, every item incomplete
    errors = submit(client, app, father, data, form=form).get_json()["errors"]
    assert len(errors) == 101 and errors[-1]["code"] == "more_errors"


def test_agency_office_hours_set_the_deadline(tmp_path) -> None:
    from tests.conftest import make_app

    app = make_app(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path,
                   agency_office_hours={"CA-DEM": "19:00-23:00"})
    rt = app.extensions["tokhai"]
    assert rt.calendar_for("CA-DEM").periods != rt.calendar_for(AGENCY).periods
    with app.app_context():
        load_demo(demo.generate(3))
    client = app.test_client()
    father = citizen_headers(app, DEMO_FATHER)
    data = valid_submission(client, app, FORM)
    resp = client.post("/api/v1/dossiers", json={"form_id": FORM, "version": 1,
                                                 "agency_code": "CA-DEM", "data": data},
                       headers=father).get_json()
    submitted = datetime.fromisoformat(resp["submitted_at"])
    assert datetime.fromisoformat(resp["deadlines"]["accept_by"]) == \
        rt.calendar_for("CA-DEM").add_working_hours(submitted, 8)
    assert datetime.fromisoformat(resp["deadlines"]["accept_by"]).astimezone(demo_tz()).hour \
        in range(19, 24)


def test_drafts_take_no_dossiers(client, app, father, designer) -> None:
    from tests.conftest import sample_definition

    client.post("/api/v1/forms", data=sample_definition("ban-nhap-hs"),
                headers={**designer, "Content-Type": "application/yaml"})
    resp = client.post("/api/v1/dossiers", json={"form_id": "ban-nhap-hs", "version": 1,
                                                 "agency_code": AGENCY, "data": {}},
                       headers=father)
    assert resp.status_code == 404


def test_an_officer_prefills_on_a_dossier_of_the_agency(client, app, father, clerk, caplog) -> None:
    import logging

    code = submit(client, app, father).get_json()["code"]
    with caplog.at_level(logging.INFO):
        resp = client.get(f"/api/v1/dossiers/{code}/prefill", headers=clerk)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["data"]["nguoi_de_nghi"]["so_dinh_danh"] == DEMO_FATHER
    assert body["provenance"]["/nguoi_de_nghi/ho_ten"]["mode"] == "verified"
    assert any("officer prefill" in r.getMessage() for r in caplog.records)
    elsewhere = {"Authorization": f"Bearer {_token(app, 'officer', agency_code='UBND-KHAC')}"}
    assert client.get(f"/api/v1/dossiers/{code}/prefill", headers=elsewhere).status_code == 404
    assert client.get(f"/api/v1/dossiers/{code}/prefill", headers=father).status_code == 403


def test_line_breaks_are_not_control_characters(client, app, father) -> None:
    data = valid_submission(client, app, FORM)
    data["de_nghi"]["ly_do"] = "Dòng một\r\nDòng hai\tcó tab"
    assert submit(client, app, father, data).status_code == 201
    data["de_nghi"]["ly_do"] = "Chuông\x07"  # refused at the door, naming the field
    refused = submit(client, app, father, data)
    assert refused.status_code == 422
    assert (refused.get_json()["code"], refused.get_json()["field"]) == \
        ("invalid_character", "json.data.de_nghi.ly_do")


def test_huge_numbers_are_refused_not_crashed(client, app, father) -> None:
    resp = client.post("/api/v1/dossiers", json={"form_id": FORM, "version": 10**21,
                                                 "agency_code": AGENCY, "data": {}},
                       headers=father)
    assert resp.status_code == 422 and resp.get_json()["field"] == "json.version"
    auditor = {"Authorization": f"Bearer {_token(app, 'auditor')}"}
    events = client.get("/api/v1/events", query_string={"after": 10**21}, headers=auditor)
    assert events.status_code == 422


@pytest.mark.parametrize("month", ["0000-01", "9999-12", "2026-13", "2026-1"])
def test_late_report_months_are_checked(client, app, month) -> None:
    auditor = {"Authorization": f"Bearer {_token(app, 'auditor')}"}
    resp = client.get("/api/v1/reports/late-dossiers", query_string={"month": month},
                      headers=auditor)
    assert resp.status_code == 422 and resp.get_json()["field"] == "query.month"

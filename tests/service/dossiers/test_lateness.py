"""Lateness as Decree 61/2018 (amended by Decree 107/2021) counts it, driven through the API by
the dossiers' clock (tests/service/dossiers/clock.py), never by rewriting the database: on time,
late at acceptance, late at processing, the supplement pausing each stage, a promised date kept
and one missed, a dossier across a month boundary and Tết 2027; the queue, the dossier and the
monthly report agreeing; the event feed; times written the same way computed or read back.

The working calendar is the default one (07:30-11:30, 13:30-17:30, Monday to Friday, the
holidays of the ``holidays`` package: Tết 2027 is Thursday 4 to Wednesday 10 February). The
procedure has 5 processing days."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from service.dossiers import lateness, queries
from service.worktime import VIETNAM
from storage.models import Dossier
from tests.conftest import _token, valid_submission
from tests.service.dossiers.clock import Clock, vn

FORM = "don-de-nghi-doi-cap-lai-gplx"
AGENCY = "CA-HN"


@pytest.fixture
def clerk(app) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'officer', agency_code=AGENCY)}"}


@pytest.fixture
def auditor(app) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'auditor')}"}


class Desk:
    """One dossier followed through the API: the citizen files, the officer acts."""

    def __init__(self, client, app, father, clerk) -> None:
        self.client, self.app, self.father, self.clerk = client, app, father, clerk
        self.data = valid_submission(client, app, FORM)
        resp = client.post("/api/v1/dossiers", headers=father, json={
            "form_id": FORM, "version": 1, "agency_code": AGENCY, "data": self.data})
        assert resp.status_code == 201, resp.get_json()
        self.body: dict[str, Any] = resp.get_json()
        self.code: str = self.body["code"]

    def read(self) -> dict[str, Any]:
        resp = self.client.get(f"/api/v1/dossiers/{self.code}", headers=self.clerk)
        assert resp.status_code == 200
        self.etag = resp.headers["ETag"]
        self.body = resp.get_json()
        return self.body

    def act(self, action: str, reason: str | None = None, status: int = 200):
        self.read()
        resp = self.client.post(f"/api/v1/dossiers/{self.code}/actions", headers={
            **self.clerk, "If-Match": self.etag},
            json={"action": action, **({"reason": reason} if reason else {})})
        assert resp.status_code == status, resp.get_json()
        return resp.get_json()

    def supply(self) -> dict[str, Any]:
        resp = self.client.post(f"/api/v1/dossiers/{self.code}/supplement",
                                json={"data": self.data}, headers=self.father)
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    def explain(self, promised: datetime, reason: str = "Chờ kết quả xác minh",
                status: int = 200):
        resp = self.client.post(f"/api/v1/dossiers/{self.code}/explanation", headers=self.clerk,
                                json={"reason": reason, "promised_at": promised.isoformat()})
        assert resp.status_code == status, resp.get_json()
        return resp.get_json()

    def issue(self, status: int = 201):
        self.read()
        resp = self.client.post(f"/api/v1/dossiers/{self.code}/result", json={},
                                headers={**self.clerk, "If-Match": self.etag})
        assert resp.status_code == status, resp.get_json()
        return resp.get_json()

    def lateness(self) -> dict[str, Any]:
        return self.read()["lateness"]

    def deadline(self, name: str) -> datetime:
        return datetime.fromisoformat(self.read()["deadlines"][name])

    def in_late_queue(self) -> bool:
        page = self.client.get("/api/v1/dossiers", headers=self.clerk, query_string={
            "late": "true", "per_page": 200}).get_json()
        later = self.client.get("/api/v1/dossiers", headers=self.clerk, query_string={
            "late": "false", "per_page": 200}).get_json()
        listed = self.code in {d["code"] for d in page["items"]}
        assert listed != (self.code in {d["code"] for d in later["items"]})
        return listed

    def agree(self) -> bool:
        """The dossier's own ``late`` and the queue's filter, which must agree."""
        late = self.lateness()["late"]
        assert self.in_late_queue() is late, (self.code, self.body["lateness"])
        return late


@pytest.fixture
def desk(client, app, father, clerk, clock):
    return lambda: Desk(client, app, father, clerk)


def report(app, month: str, at: datetime | None = None) -> dict[str, dict[str, Any]]:
    with app.extensions["tokhai"].sessions() as session:
        found = queries.late_report(session, month, AGENCY, at=at)
    return {d["code"]: {**d, "officer": o["officer"]} for a in found["agencies"]
            for o in a["officers"] for d in o["dossiers"]}


def test_on_time_is_never_late(desk, clock: Clock, app) -> None:
    d = desk()  # Monday 4 January 2027, 09:00
    # 8 working hours: 09:00-11:30 and 13:30-17:30 on Monday, 07:30-09:00 on Tuesday
    assert d.deadline("accept_by") == vn(2027, 1, 5, 9)
    assert d.agree() is False
    clock.set(vn(2027, 1, 5, 8, 59))
    d.act("accept")
    assert d.deadline("process_by") == vn(2027, 1, 12, 8, 59)  # 5 working days
    d.act("start_processing")
    clock.set(vn(2027, 1, 12, 8))
    d.issue()
    clock.set(vn(2027, 3, 1, 9))  # long after: still on time
    d.act("deliver")
    assert d.lateness() == {"late": False, "acceptance_late": False, "processing_late": False,
                            "promise_late": False, "explanation_required": False,
                            "late_since": None, "stage": None, "missed": []}
    assert d.agree() is False
    assert d.code not in report(app, "2027-01") and d.code not in report(app, "2027-03")


def test_late_at_acceptance(desk, clock: Clock, app, client, clerk) -> None:
    d = desk()
    clock.set(vn(2027, 1, 5, 9, 1))  # one minute past the 8 working hours
    late = d.lateness()
    assert late["late"] and late["acceptance_late"] and not late["processing_late"]
    assert late["explanation_required"] and late["stage"] == "acceptance"
    assert late["late_since"] == "2027-01-05T09:00:00+07:00"
    assert d.agree() is True
    refused = d.act("accept", status=409)
    assert refused["code"] == "explanation_required"
    d.explain(vn(2027, 1, 8, 16))
    assert d.lateness()["explanation_required"] is False
    d.act("accept")
    assert d.agree() is True  # accepted late: still a late dossier
    listed = report(app, "2027-01")[d.code]
    assert listed["stages"] == ["acceptance"] and listed["officer"].startswith("officer:")
    assert listed["late_since"] == "2027-01-05T09:00:00+07:00"


def test_late_at_processing(desk, clock: Clock, app) -> None:
    d = desk()
    clock.set(vn(2027, 1, 4, 14))
    d.act("accept")
    d.act("start_processing")
    assert d.deadline("process_by") == vn(2027, 1, 11, 14)
    clock.set(vn(2027, 1, 11, 13, 59))
    assert d.agree() is False
    clock.set(vn(2027, 1, 11, 14, 1))
    late = d.lateness()
    assert late["processing_late"] and not late["acceptance_late"]
    assert late["late_since"] == "2027-01-11T14:00:00+07:00" and late["stage"] == "processing"
    assert d.agree() is True
    assert d.issue(status=409)["code"] == "explanation_required"
    d.explain(vn(2027, 1, 13, 10))
    d.issue()
    assert report(app, "2027-01")[d.code]["stages"] == ["processing"]


def test_a_supplement_at_acceptance_pauses_the_clock(desk, clock: Clock, app) -> None:
    """The issue's finding: a supplement requested right after submission and supplied weeks
    later made the dossier ``acceptance_late`` and put it in the late report."""
    d = desk()  # Monday 09:00: acceptance due Tuesday 09:00
    clock.set(vn(2027, 1, 4, 10))  # one working hour used
    d.act("request_supplement", reason="Ảnh chân dung không rõ")
    assert d.read()["waiting_since"] == "2027-01-04T10:00:00+07:00"
    clock.set(vn(2027, 1, 20, 10))  # waiting for the citizen: nobody is late
    assert d.agree() is False
    assert d.explain(vn(2027, 1, 22, 10), status=409)["code"] == "not_late"
    clock.set(vn(2027, 1, 25, 10))  # supplied three weeks later
    supplied = d.supply()
    assert supplied["status"] == "submitted" and supplied["waiting_since"] is None
    # the 7 working hours left when it was asked for: to Tuesday 26 January, 09:00
    assert datetime.fromisoformat(supplied["deadlines"]["accept_by"]) == vn(2027, 1, 26, 9)
    clock.set(vn(2027, 1, 26, 8))
    d.act("accept")
    assert d.agree() is False
    clock.set(vn(2027, 2, 2, 7))  # processing is due Tuesday 2 February, 08:00
    assert d.code not in report(app, "2027-01") and d.code not in report(app, "2027-02")


def test_a_supplement_in_processing_pauses_the_clock(desk, clock: Clock, app) -> None:
    d = desk()
    clock.set(vn(2027, 1, 4, 10))
    d.act("accept")  # processing due Monday 11 January, 10:00
    d.act("start_processing")
    clock.set(vn(2027, 1, 6, 10))
    d.act("request_supplement", reason="Thiếu bản sao giấy khám sức khỏe")
    clock.set(vn(2027, 1, 12, 10))  # past the deadline, but the dossier waits for the citizen
    assert d.agree() is False
    clock.set(vn(2027, 1, 20, 10))  # 10 working days later
    supplied = d.supply()
    # back to processing (not to acceptance), the deadline moved by the 80 working hours waited
    assert supplied["status"] == "in_processing"
    assert datetime.fromisoformat(supplied["deadlines"]["process_by"]) == vn(2027, 1, 25, 10)
    assert datetime.fromisoformat(supplied["deadlines"]["accept_by"]) == vn(2027, 1, 5, 9)
    clock.set(vn(2027, 1, 25, 9, 59))
    assert d.agree() is False
    clock.set(vn(2027, 1, 25, 10, 1))
    assert d.agree() is True and d.lateness()["stage"] == "processing"


def test_a_supplement_asked_for_after_the_deadline_does_not_erase_lateness(
        desk, clock: Clock, app) -> None:
    """The issue's finding: a dossier vanished from an earlier month's report once the
    citizen supplied it. Late in January it stays in January's report, whatever follows."""
    d = desk()
    clock.set(vn(2027, 1, 29, 10))  # acceptance was due on 5 January
    january = report(app, "2027-01")
    assert d.code in january and january[d.code]["stages"] == ["acceptance"]
    d.explain(vn(2027, 2, 3, 10))
    clock.set(vn(2027, 2, 1, 10))
    d.act("request_supplement", reason="Bổ sung ảnh")
    clock.set(vn(2027, 2, 22, 10))
    d.supply()
    assert datetime.fromisoformat(d.read()["deadlines"]["accept_by"]) == vn(2027, 1, 5, 9)
    d.act("accept")
    assert d.agree() is True
    assert d.code in report(app, "2027-01") and d.code not in report(app, "2027-02")
    # read as it was on 1 February: the same month, the same row
    assert report(app, "2027-01", at=vn(2027, 2, 1, 12))[d.code]["late_since"] == \
        january[d.code]["late_since"]


def test_a_promised_date_kept(desk, clock: Clock, app) -> None:
    d = desk()
    clock.set(vn(2027, 1, 6, 9))
    d.explain(vn(2027, 1, 8, 16))
    d.act("accept")
    d.act("start_processing")
    clock.set(vn(2027, 1, 8, 15))
    d.issue()
    clock.set(vn(2027, 1, 20, 9))
    late = d.lateness()
    assert late["acceptance_late"] and not late["promise_late"]
    assert not late["explanation_required"]
    d.act("deliver")


def test_a_promised_date_missed_needs_a_new_explanation(desk, clock: Clock, app, client,
                                                       auditor) -> None:
    """The issue's finding: explained with a new promised date and still not done long after
    it, ``start_processing`` answered 200 with no new explanation or letter."""
    d = desk()
    clock.set(vn(2027, 1, 6, 9))
    d.explain(vn(2027, 1, 7, 16))
    d.act("accept")
    clock.set(vn(2027, 1, 7, 16, 1))  # the promised date has passed, nothing done
    late = d.lateness()
    assert late["promise_late"] and late["explanation_required"]
    assert [m["stage"] for m in late["missed"]] == ["acceptance", "promise"]
    refused = d.act("start_processing", status=409)
    assert refused["code"] == "explanation_required" and "hẹn" in refused["message"]
    d.explain(vn(2027, 1, 11, 16), reason="Cán bộ thụ lý nghỉ ốm")
    d.act("start_processing")
    late = d.lateness()
    assert late["promise_late"] and not late["explanation_required"]  # the fact is kept
    assert d.read()["deadlines"]["promised_at"] == "2027-01-11T16:00:00+07:00"
    letters = client.get(f"/api/v1/dossiers/{d.code}/apology-letter", headers=d.father)
    assert letters.status_code == 200
    explained = [e for e in feed(client, auditor, d.code) if e["action"] == "explain"]
    assert [e["reason"] for e in explained] == ["Chờ kết quả xác minh", "Cán bộ thụ lý nghỉ ốm"]
    assert [e["promised_at"] for e in explained] == ["2027-01-07T16:00:00+07:00",
                                                     "2027-01-11T16:00:00+07:00"]
    assert report(app, "2027-01")[d.code]["stages"] == ["acceptance", "promise"]


def test_across_a_month_boundary_and_tet(desk, clock: Clock, app) -> None:
    """The issue's finding: a dossier accepted on time whose processing deadline was missed
    was listed in both months. Listed once, in the month of the first deadline missed."""
    clock.set(vn(2027, 1, 28, 16))
    on_time = desk()
    late_twice = desk()
    clock.set(vn(2027, 1, 29, 10))
    on_time.act("accept")
    on_time.act("start_processing")
    # 5 working days from Friday 29 January: 1, 2, 3 February, Tết (4 to 10), 11 and 12
    assert on_time.deadline("process_by") == vn(2027, 2, 12, 10)
    assert late_twice.deadline("accept_by") == vn(2027, 1, 29, 16)
    clock.set(vn(2027, 1, 29, 16, 30))  # acceptance missed, in January
    assert late_twice.lateness()["stage"] == "acceptance"
    late_twice.explain(vn(2027, 2, 1, 10))
    late_twice.act("accept")
    assert late_twice.deadline("process_by") == vn(2027, 2, 12, 16, 30)
    clock.set(vn(2027, 2, 15, 9))  # both processing deadlines missed, in February
    assert on_time.agree() is True and late_twice.agree() is True
    january, february = report(app, "2027-01"), report(app, "2027-02")
    assert on_time.code not in january and on_time.code in february
    assert february[on_time.code]["stages"] == ["processing"]
    assert february[on_time.code]["late_since"] == "2027-02-12T10:00:00+07:00"
    assert late_twice.code in january and late_twice.code not in february
    assert january[late_twice.code]["stages"] == ["acceptance", "processing", "promise"]


def feed(client, auditor, code: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = 0
    while True:
        page = client.get("/api/v1/events", query_string={"after": cursor, "limit": 500},
                          headers=auditor).get_json()
        if not page["events"]:
            return [e for e in seen if e["dossier_code"] == code]
        seen += page["events"]
        cursor = page["next_cursor"]


def test_the_feed_carries_what_a_portal_needs(desk, clock: Clock, app, client,
                                              auditor) -> None:
    """The issue's finding: events had no procedure, no deadlines, no submission time, and an
    explanation emitted no event."""
    d = desk()
    clock.set(vn(2027, 1, 4, 10))
    d.act("request_supplement", reason="Bổ sung ảnh")
    clock.set(vn(2027, 1, 5, 10))
    d.supply()
    clock.set(vn(2027, 1, 6, 10))
    d.explain(vn(2027, 1, 8, 10))
    d.act("accept")
    d.act("start_processing")
    d.issue()
    events = feed(client, auditor, d.code)
    assert [e["action"] for e in events] == [
        "submit", "request_supplement", "supplement", "explain", "accept", "start_processing",
        "issue_result"]
    for e in events:
        assert e["procedure_code"] == "local.gplx.doi-cap-lai"
        assert e["procedure_name"] == "Đổi, cấp lại giấy phép lái xe"
        assert e["agency_code"] == AGENCY and e["channel"] == "online"
        assert e["submitted_at"] == "2027-01-04T09:00:00+07:00"
        assert e["accept_by"] and e["at"].endswith("+07:00")
    by_action = {e["action"]: e for e in events}
    assert by_action["submit"]["accept_by"] == "2027-01-05T09:00:00+07:00"
    assert by_action["request_supplement"]["reason"] == "Bổ sung ảnh"
    # 1 working hour used before the request, 7 left after the supply: Wednesday 09:00
    assert by_action["supplement"]["accept_by"] == "2027-01-06T09:00:00+07:00"
    assert by_action["explain"]["promised_at"] == "2027-01-08T10:00:00+07:00"
    assert by_action["explain"]["reason"] == "Chờ kết quả xác minh"
    assert by_action["accept"]["process_by"] == "2027-01-13T10:00:00+07:00"
    assert by_action["issue_result"]["to_status"] == "result_ready"
    history = client.get(f"/api/v1/dossiers/{d.code}/history", headers=d.father).get_json()
    assert [h["event_id"] for h in history] == [e["event_id"] for e in events]


def test_times_carry_the_same_zone_computed_or_read_back(desk, clock: Clock, client,
                                                         auditor) -> None:
    """The issue's finding: deadlines came back +07:00 when computed and +00:00 when read."""
    d = desk()
    computed = d.body
    read = d.read()
    for name in ("accept_by", "process_by", "promised_at"):
        assert computed["deadlines"][name] == read["deadlines"][name]
    for name in ("submitted_at",):
        assert computed[name] == read[name]
    assert computed["deadlines"]["accept_by"] == "2027-01-05T09:00:00+07:00"
    accepted = d.act("accept")
    assert accepted["accepted_at"] == d.read()["accepted_at"]
    assert accepted["accepted_at"].endswith("+07:00")
    assert accepted["deadlines"]["process_by"] == d.read()["deadlines"]["process_by"]
    receipt = client.get(f"/api/v1/receipts/{d.code}",
                         query_string={"secret": computed["receipt_secret"]}).get_json()
    assert receipt["deadlines"] == d.read()["deadlines"]
    d.act("start_processing")
    issued = d.issue()  # the document as just signed, then as read back
    again = d.issue(status=200)
    assert issued["signed_at"] == again["signed_at"] and issued["signed_at"].endswith("+07:00")
    assert issued["stored_at"] is None or issued["stored_at"].endswith("+07:00")
    assert all(e["at"].endswith("+07:00") for e in feed(client, auditor, d.code))


def test_the_definition_is_one_function(app, clock: Clock, desk) -> None:
    """The queue's SQL filter is ``assess`` over what writes record: for every dossier of the
    agency, at several moments, the two agree."""
    made = [desk() for _ in range(3)]
    made[1].act("request_supplement", reason="Bổ sung")
    clock.set(vn(2027, 1, 4, 16))
    made[2].act("accept")
    for moment in (vn(2027, 1, 5, 8), vn(2027, 1, 5, 10), vn(2027, 1, 12, 17), vn(2027, 2, 1)):
        clock.set(moment)
        with app.extensions["tokhai"].sessions() as session:
            rows = session.query(Dossier).filter(Dossier.agency_code == AGENCY).all()
            by_sql = {d.code for d in session.query(Dossier).filter(
                Dossier.agency_code == AGENCY, lateness.late_clause(moment))}
            by_python = {d.code for d in rows if lateness.assess(d, moment).late}
        assert by_sql == by_python
        assert {m.code for m in made if m.lateness()["late"]} == \
            {m.code for m in made} & by_python
    assert moment.astimezone(VIETNAM).month == 2


def test_answers_write_vietnam_time_as_the_calendar_counts_it() -> None:
    from schemas.common import VIETNAM as WRITTEN

    assert WRITTEN.utcoffset(None) == VIETNAM.utcoffset(None)

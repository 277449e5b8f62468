"""Races on one dossier, run with real threads against each database backend.

Optimistic concurrency must hold in the database, not only in Python: of several conflicting
changes sent at the same moment with the same ETag exactly one succeeds, the others are
refused (412 or 409, never 500), no signed result exists for a dossier that was rejected, the
event log for the national portal carries only the winner, and result numbers stay gapless.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from service.worktime import VIETNAM
from storage.models import Dossier, DossierDocument, DossierEvent
from tests.conftest import DEMO_FATHER, _token, valid_submission

FORM = "to-khai-dang-ky-khai-sinh"
AGENCY = "UBND-XA-00004"  # has a signing key in the test configuration
TRIALS = 4
LOSING = {409, 412}


@pytest.fixture
def clerk(app) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'officer', agency_code=AGENCY)}"}


@pytest.fixture
def colleague(app) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'officer', agency_code=AGENCY)}"}


def at_once(*calls: Callable[[Any], Any], app: Any) -> list[Any]:
    """Run each call in its own thread with its own test client, released together."""
    barrier = threading.Barrier(len(calls))
    answers: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        answers[i] = calls[i](client)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(a is not None for a in answers), "a request did not finish"
    return answers


def filed(client, app, father) -> tuple[str, str]:
    body = {"form_id": FORM, "version": 1, "agency_code": AGENCY,
            "data": valid_submission(client, app, FORM)}
    resp = client.post("/api/v1/dossiers", json=body, headers=father)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["code"], resp.headers["ETag"]


def moved(client, headers, code, etag, *actions: str) -> str:
    for action in actions:
        resp = client.post(f"/api/v1/dossiers/{code}/actions", json={"action": action},
                           headers={**headers, "If-Match": etag})
        assert resp.status_code == 200, resp.get_json()
        etag = resp.headers["ETag"]
    return etag


def post(path: str, body: dict[str, Any], headers: dict[str, str]) -> Callable[[Any], Any]:
    return lambda c: c.post(path, json=body, headers=headers)


def action(code: str, headers: dict[str, str], name: str, etag: str | None,
           reason: str | None = None) -> Callable[[Any], Any]:
    body = {"action": name, **({"reason": reason} if reason else {})}
    extra = {"If-Match": etag} if etag else {}
    return post(f"/api/v1/dossiers/{code}/actions", body, {**headers, **extra})


def events_after_submit(app, code: str) -> list[str]:
    with app.extensions["tokhai"].sessions() as session:
        return list(session.scalars(select(DossierEvent.action).where(
            DossierEvent.dossier_code == code, DossierEvent.action != "submit")
            .order_by(DossierEvent.position)))


def one_winner(answers: list[Any]) -> Any:
    statuses = sorted(a.status_code for a in answers)
    assert all(s == 200 or s in LOSING for s in statuses), [a.get_json() for a in answers]
    winners = [a for a in answers if a.status_code == 200]
    assert len(winners) == 1, [a.get_json() for a in answers]
    for loser in answers:
        if loser.status_code != 200:
            assert loser.get_json()["code"] in ("stale_version", "transition_not_allowed",
                                                "concurrent_change"), loser.get_json()
    return winners[0]


def test_accept_reject_and_withdraw_at_once_one_wins(client, app, father, clerk,
                                                     colleague) -> None:
    for _ in range(TRIALS):
        code, etag = filed(client, app, father)
        answers = at_once(
            action(code, clerk, "accept", etag),
            action(code, colleague, "reject", etag, reason="Thiếu giấy tờ"),
            action(code, father, "withdraw", etag, reason="Tôi nộp nhầm"),
            app=app)
        winner = one_winner(answers)
        stored = client.get(f"/api/v1/dossiers/{code}", headers=clerk).get_json()
        assert stored["status"] == winner.get_json()["status"]
        assert stored["version"] == 2
        assert len(events_after_submit(app, code)) == 1


def test_rejecting_while_another_issues_the_result(client, app, father, clerk,
                                                   colleague) -> None:
    for _ in range(TRIALS):
        code, etag = filed(client, app, father)
        etag = moved(client, clerk, code, etag, "accept", "start_processing")
        issue, reject = at_once(
            post(f"/api/v1/dossiers/{code}/result", {}, {**clerk, "If-Match": etag}),
            action(code, colleague, "reject", etag, reason="Hồ sơ giả mạo"),
            app=app)
        statuses = (issue.status_code, reject.status_code)
        assert statuses in ((201, 412), (201, 409), (412, 200), (409, 200)), \
            (issue.get_json(), reject.get_json())
        with app.extensions["tokhai"].sessions() as session:
            dossier = session.scalar(select(Dossier).where(Dossier.code == code))
            results = session.scalar(select(func.count()).select_from(DossierDocument).where(
                DossierDocument.dossier_id == dossier.id, DossierDocument.kind == "result"))
        if reject.status_code == 200:
            assert dossier.status == "rejected" and results == 0
        else:
            assert dossier.status == "result_ready" and results == 1
        assert events_after_submit(app, code) == [
            "accept", "start_processing", "reject" if reject.status_code == 200
            else "issue_result"]
    assert_result_numbers_gapless(app)


def assert_result_numbers_gapless(app) -> None:
    """Every number the agency's counter handed out this year belongs to an issued result."""
    year = datetime.now(VIETNAM).year  # the year as the agency counts it
    with app.extensions["tokhai"].sessions() as session:
        numbers = sorted(int(n.split("/")[0]) for n in session.scalars(
            select(DossierDocument.number).where(DossierDocument.kind == "result",
                                                 DossierDocument.agency_code == AGENCY)))
        last = session.scalar(text("SELECT last FROM counters WHERE name = :n"),
                              {"n": f"result:{AGENCY}:{year}"})
    assert numbers == list(range(1, (last or 0) + 1))  # no row: no number taken yet


def test_two_officers_issue_at_once_one_document(client, app, father, clerk,
                                                 colleague) -> None:
    code, etag = filed(client, app, father)
    etag = moved(client, clerk, code, etag, "accept", "start_processing")
    press = [post(f"/api/v1/dossiers/{code}/result", {}, {**h, "If-Match": etag})
             for h in (clerk, colleague)]
    answers = at_once(*press, app=app)
    assert sorted(a.status_code for a in answers) == [200, 201], [a.get_json() for a in answers]
    assert len({a.get_json()["document_id"] for a in answers}) == 1
    assert events_after_submit(app, code) == ["accept", "start_processing", "issue_result"]
    assert_result_numbers_gapless(app)


def test_supplement_and_withdrawal_at_once_one_wins(client, app, father, clerk) -> None:
    for _ in range(TRIALS):
        code, etag = filed(client, app, father)
        asked = action(code, clerk, "request_supplement", etag, reason="Bổ sung ảnh")(client)
        assert asked.status_code == 200
        etag = asked.headers["ETag"]
        data = valid_submission(client, app, FORM)
        answers = at_once(
            post(f"/api/v1/dossiers/{code}/supplement", {"data": data},
                 {**father, "If-Match": etag}),
            action(code, father, "withdraw", etag, reason="Không cần nữa"),
            app=app)
        one_winner(answers)
        assert len(events_after_submit(app, code)) == 2


def test_a_change_written_meanwhile_is_found_by_the_database(client, app, father,
                                                             clerk) -> None:
    """The moment between reading a dossier and writing it, made wide: another request
    accepts it in between. The write must see that (412 with If-Match, 409 without), not
    trust the copy it read."""
    from service.dossiers import lifecycle as ops
    from service.errors import Conflict, VersionMismatch
    from service.tokens import Principal

    citizen = Principal(0, "citizen", "test", None, DEMO_FATHER)
    for expected, kind in ((1, VersionMismatch), (None, Conflict)):
        code, etag = filed(client, app, father)
        with app.extensions["tokhai"].sessions() as session:
            stale = session.scalar(select(Dossier).where(Dossier.code == code))
            moved(client, clerk, code, etag, "accept")  # committed meanwhile
            with pytest.raises((VersionMismatch, Conflict)) as refused:
                ops.act(session, stale, "withdraw", citizen, "Tôi nộp nhầm", expected,
                        app.extensions["tokhai"].calendar)
            session.rollback()
        assert type(refused.value) is kind  # 412 / 409 in the web's table
        assert client.get(f"/api/v1/dossiers/{code}", headers=clerk).get_json()["status"] \
            == "accepted"
        assert events_after_submit(app, code) == ["accept"]


def _late(app, code: str) -> None:
    with app.extensions["tokhai"].sessions() as session:
        d = session.scalar(select(Dossier).where(Dossier.code == code))
        past = datetime.now(UTC) - timedelta(hours=30)
        d.submitted_at = past - timedelta(hours=1)
        d.accept_deadline = d.due_at = past
        session.commit()


def test_two_explanations_at_once_one_letter(client, app, father, clerk, colleague) -> None:
    from tests.service.dossiers.test_dossiers import promise_after

    promised = promise_after(app, AGENCY, datetime.now(UTC)).isoformat()
    for _ in range(2):
        code, _etag = filed(client, app, father)
        _late(app, code)
        etag = client.get(f"/api/v1/dossiers/{code}", headers=clerk).headers["ETag"]
        explain = [post(f"/api/v1/dossiers/{code}/explanation",
                        {"reason": why, "promised_at": promised}, {**h, "If-Match": etag})
                   for h, why in ((clerk, "Mất điện"), (colleague, "Mạng gián đoạn"))]
        answers = at_once(*explain, app=app)
        one_winner(answers)
        with app.extensions["tokhai"].sessions() as session:
            dossier = session.scalar(select(Dossier).where(Dossier.code == code))
            letters = session.scalar(select(func.count()).select_from(DossierDocument).where(
                DossierDocument.dossier_id == dossier.id,
                DossierDocument.kind == "apology_letter"))
        assert letters == 1 and dossier.row_version == 2


def test_the_same_idempotency_key_with_two_bodies_at_once(client, app, father) -> None:
    data = valid_submission(client, app, FORM)
    other = copy.deepcopy(data)
    other["nguoi_duoc_khai_sinh"]["noi_sinh"]["detail"] = "Bệnh viện Phụ sản Hà Nội"
    for trial in range(TRIALS):
        key = f"race-{trial}-{datetime.now(UTC).timestamp()}"

        send = [post("/api/v1/dossiers", {"form_id": FORM, "version": 1, "agency_code": AGENCY,
                                          "data": body}, {**father, "Idempotency-Key": key})
                for body in (data, other)]
        first, second = at_once(*send, app=app)
        statuses = sorted((first.status_code, second.status_code))
        assert statuses == [201, 422], (first.get_json(), second.get_json())
        refused = first if first.status_code == 422 else second
        assert refused.get_json()["code"] == "idempotency_key_reused"
        assert refused.get_json()["field"] == "header.Idempotency-Key"


def test_the_same_request_twice_at_once_gets_one_dossier_and_its_secret(client, app,
                                                                       father) -> None:
    data = valid_submission(client, app, FORM)
    key = f"twice-{datetime.now(UTC).timestamp()}"
    send = [post("/api/v1/dossiers", {"form_id": FORM, "version": 1, "agency_code": AGENCY,
                                      "data": data}, {**father, "Idempotency-Key": key})] * 2
    answers = at_once(*send, app=app)
    assert sorted(a.status_code for a in answers) == [200, 201]
    assert len({a.get_json()["code"] for a in answers}) == 1
    secrets = {a.get_json().get("receipt_secret") for a in answers}
    assert len(secrets) == 1 and None not in secrets

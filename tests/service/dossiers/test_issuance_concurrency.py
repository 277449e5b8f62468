"""Issuing a result does not block the service (issue #11, point 8).

Rendering and the time-stamping authority's round trip happen with no transaction open: while
a result waits on a slow TSA, another citizen files a dossier, an officer accepts it, and the
same agency and another agency issue results, each at once. Numbers stay gapless per agency
and year across a failed and a successful issuance. Run against each database backend.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select, text

from service.pki.timestamps import KeptAliveTimeStamper, TimestampUnavailable
from service.worktime import VIETNAM
from storage.models import DossierDocument
from tests.conftest import (
    DEMO_FATHER,
    _token,
    citizen_headers,
    file_and_process,
    valid_submission,
)

FORM = "to-khai-dang-ky-khai-sinh"
AGENCY = "UBND-XA-00004"
OTHER_AGENCY = "UBND-XA-00005"  # both have a signing key in the test configuration
QUICK = 15.0  # seconds: "at once", generously, on a busy machine; the held TSA waits 60


def sequence(number: str) -> int:
    """The sequence of a document number ``Số: 01/TLKS-UBND`` (written with or without the
    leading zero of Decree 30/2020)."""
    return int(number.split("/", 1)[0])


def officer(app, agency: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'officer', agency_code=agency)}"}


def in_processing(client, app, father, agency: str) -> tuple[str, str]:
    clerk = officer(app, agency)
    return file_and_process(client, father, clerk, FORM, valid_submission(client, app, FORM),
                            agency)


def issue(app, agency: str, code: str, etag: str) -> Any:
    return app.test_client().post(f"/api/v1/dossiers/{code}/result", json={},
                                  headers={**officer(app, agency), "If-Match": etag})


class SlowTsa:
    """The TSA round trip of one thread waits until released (or 60 s), then is answered by
    the test TSA, or fails as a TSA that is down."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered = threading.Event()
        self.released = threading.Event()
        self.fail = False
        self.thread: threading.Thread | None = None
        original = KeptAliveTimeStamper.async_request_tsa_response
        slow = self

        async def request(stamper, req):
            if threading.current_thread() is slow.thread:
                slow.entered.set()
                slow.released.wait(60)
                if slow.fail:
                    raise TimestampUnavailable("the test TSA is down")
            return await original(stamper, req)

        monkeypatch.setattr(KeptAliveTimeStamper, "async_request_tsa_response", request)

    def start(self, call: Any) -> dict[str, Any]:
        box: dict[str, Any] = {}

        def run() -> None:
            box["answer"] = call()
            box["done"] = time.monotonic()

        self.thread = threading.Thread(target=run)
        self.thread.start()
        assert self.entered.wait(60), "the issuance never reached the TSA"
        return box

    def finish(self) -> None:
        self.released.set()
        assert self.thread is not None
        self.thread.join(90)
        assert not self.thread.is_alive()


def timed(call: Any) -> tuple[Any, float]:
    """Run ``call`` in a thread; its answer and how long it took (inf if not within QUICK)."""
    box: dict[str, Any] = {}
    started = time.monotonic()

    def run() -> None:
        box["answer"] = call()
        box["took"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(QUICK)
    return box.get("answer"), box.get("took", float("inf"))


@pytest.fixture
def slow_tsa(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowTsa]:
    slow = SlowTsa(monkeypatch)
    yield slow
    slow.released.set()
    if slow.thread is not None:
        slow.thread.join(90)


def numbers(app, agency: str) -> tuple[list[int], int, list[str]]:
    """The issued result numbers of ``agency`` this year, its counter, and the reservations
    and numbers given back still pending."""
    year = datetime.now(VIETNAM).year
    series = f"result:{agency}:{year}"
    with app.extensions["tokhai"].sessions() as session:
        issued = sorted(int(n.split("/")[0]) for n in session.scalars(
            select(DossierDocument.number).where(DossierDocument.kind == "result",
                                                 DossierDocument.agency_code == agency)))
        last = session.scalar(text("SELECT last FROM counters WHERE name = :n"),
                              {"n": series}) or 0
        pending = list(session.scalars(text("SELECT name FROM counters WHERE name LIKE :p"),
                                       {"p": f"{series}:%"}))
    return issued, last, pending


def other_citizen(people: dict[str, Any]) -> str:
    return next(pid for pid in sorted(people) if pid != DEMO_FATHER and len(pid) == 12)


def test_the_service_writes_while_a_result_waits_on_the_tsa(app, client, father, people,
                                                            slow_tsa) -> None:
    slow_code, slow_etag = in_processing(client, app, father, AGENCY)
    same_code, same_etag = in_processing(client, app, father, AGENCY)
    other_code, other_etag = in_processing(client, app, father, OTHER_AGENCY)
    citizen = other_citizen(people)
    body = {"form_id": FORM, "version": 1, "agency_code": AGENCY,
            "data": valid_submission(client, app, FORM, who=citizen)}
    box = slow_tsa.start(lambda: issue(app, AGENCY, slow_code, slow_etag))

    # while the result is signing: another citizen files, an officer accepts that dossier
    filed, took = timed(lambda: app.test_client().post(
        "/api/v1/dossiers", json=body, headers=citizen_headers(app, citizen)))
    assert filed is not None and took < QUICK, "filing waited for the issuance"
    assert filed.status_code == 201, filed.get_json()
    accepted, took = timed(lambda: app.test_client().post(
        f"/api/v1/dossiers/{filed.get_json()['code']}/actions", json={"action": "accept"},
        headers={**officer(app, AGENCY), "If-Match": filed.headers["ETag"]}))
    assert accepted is not None and accepted.status_code == 200 and took < QUICK
    # ... another agency's result is issued, and so is another of the same agency
    for agency, code, etag in ((OTHER_AGENCY, other_code, other_etag),
                               (AGENCY, same_code, same_etag)):
        issued, took = timed(lambda a=agency, c=code, e=etag: issue(app, a, c, e))
        assert issued is not None and took < QUICK, f"issuing for {agency} waited"
        assert issued.status_code == 201, issued.get_json()
    assert "answer" not in box  # all that while the first issuance was still signing
    slow_tsa.finish()
    assert box["answer"].status_code == 201, box["answer"].get_json()
    first = box["answer"].get_json()["number"]
    assert sequence(first) == 1  # reserved first, issued last: its number is the first
    for agency in (AGENCY, OTHER_AGENCY):
        issued_numbers, last, pending = numbers(app, agency)
        assert issued_numbers == list(range(1, last + 1)) and not pending


def test_numbers_stay_gapless_across_a_failed_and_a_successful_issuance(app, client, father,
                                                                         slow_tsa) -> None:
    before, last_before, _ = numbers(app, AGENCY)
    failing_code, failing_etag = in_processing(client, app, father, AGENCY)
    meanwhile_code, meanwhile_etag = in_processing(client, app, father, AGENCY)
    next_code, next_etag = in_processing(client, app, father, AGENCY)
    slow_tsa.fail = True
    box = slow_tsa.start(lambda: issue(app, AGENCY, failing_code, failing_etag))
    meanwhile, took = timed(lambda: issue(app, AGENCY, meanwhile_code, meanwhile_etag))
    assert meanwhile is not None and meanwhile.status_code == 201 and took < QUICK
    assert sequence(meanwhile.get_json()["number"]) == last_before + 2
    slow_tsa.finish()
    refused = box["answer"]
    assert refused.status_code == 503 and refused.get_json()["code"] == "timestamp_unavailable"
    after = client.get(f"/api/v1/dossiers/{failing_code}", headers=father)
    assert after.get_json()["status"] == "in_processing" and after.headers["ETag"] == failing_etag
    issued_numbers, last, pending = numbers(app, AGENCY)
    assert last == last_before + 2 and pending == [f"result:{AGENCY}:{datetime.now(VIETNAM).year}"
                                                   f":free:{last_before + 1}"]
    # the number the failed issuance gave back is the next one's
    taken = issue(app, AGENCY, next_code, next_etag)
    assert taken.status_code == 201 and sequence(taken.get_json()["number"]) == last_before + 1
    # and the failed one, retried, gets the next number
    retried = issue(app, AGENCY, failing_code, failing_etag)
    assert retried.status_code == 201
    assert sequence(retried.get_json()["number"]) == last_before + 3
    issued_numbers, last, pending = numbers(app, AGENCY)
    assert issued_numbers == list(range(1, last + 1)) and not pending
    assert len(issued_numbers) == len(before) + 3


def test_a_failed_issuance_gives_its_number_back(app, client, father, monkeypatch) -> None:
    """The highest number handed out goes back to the counter when its issuance fails."""
    from pyhanko.sign.general import SigningError

    code, etag = in_processing(client, app, father, AGENCY)
    _, last_before, _ = numbers(app, AGENCY)
    signing = app.extensions["tokhai"].signing

    def fail(*args, **kwargs):
        raise SigningError("the token is unplugged")

    monkeypatch.setattr(signing, "sign", fail)
    assert issue(app, AGENCY, code, etag).status_code == 503
    assert numbers(app, AGENCY)[1:] == (last_before, [])
    monkeypatch.undo()
    issued = issue(app, AGENCY, code, etag)
    assert issued.status_code == 201 and sequence(issued.get_json()["number"]) == last_before + 1


def test_a_reservation_left_by_a_crash_is_reused_or_given_back(app, client, father) -> None:
    """The service stopped while a result was signing: the dossier's retry takes the number
    it reserved; a dossier rejected since gives its number to the next issuance."""
    from storage import records as store
    from storage.models import Dossier

    year = datetime.now(VIETNAM).year
    series = f"result:{AGENCY}:{year}"
    crashed, crashed_etag = in_processing(client, app, father, AGENCY)
    rejected, rejected_etag = in_processing(client, app, father, AGENCY)
    fresh, fresh_etag = in_processing(client, app, father, AGENCY)
    with app.extensions["tokhai"].sessions() as session:
        ids = {d.code: d.id for d in session.scalars(select(Dossier).where(
            Dossier.code.in_([crashed, rejected])))}
        kept = store.reserve_number(session, series, str(ids[crashed]))
        lost = store.reserve_number(session, series, str(ids[rejected]))
        session.commit()
    refused = app.test_client().post(
        f"/api/v1/dossiers/{rejected}/actions",
        json={"action": "reject", "reason": "Hồ sơ giả mạo"},
        headers={**officer(app, AGENCY), "If-Match": rejected_etag})
    assert refused.status_code == 200, refused.get_json()
    retried = issue(app, AGENCY, crashed, crashed_etag)
    assert sequence(retried.get_json()["number"]) == kept
    taken = issue(app, AGENCY, fresh, fresh_etag)
    assert sequence(taken.get_json()["number"]) == lost
    issued_numbers, last, pending = numbers(app, AGENCY)
    assert issued_numbers == list(range(1, last + 1)) and not pending


def test_a_rejection_while_the_result_signs_wins_and_the_number_goes_back(
        app, client, father, slow_tsa) -> None:
    """The dossier is not locked while its result signs: a rejection then is applied, and the
    signed result is not recorded (the conditional UPDATE on the version read before signing
    refuses it); its number goes back to the counter."""
    from storage.models import Dossier

    code, etag = in_processing(client, app, father, AGENCY)
    _, last_before, _ = numbers(app, AGENCY)
    box = slow_tsa.start(lambda: issue(app, AGENCY, code, etag))
    rejected, took = timed(lambda: app.test_client().post(
        f"/api/v1/dossiers/{code}/actions", json={"action": "reject", "reason": "Giả mạo"},
        headers={**officer(app, AGENCY), "If-Match": etag}))
    assert rejected is not None and rejected.status_code == 200 and took < QUICK
    slow_tsa.finish()
    assert box["answer"].status_code == 412, box["answer"].get_json()
    with app.extensions["tokhai"].sessions() as session:
        dossier = session.scalar(select(Dossier).where(Dossier.code == code))
        assert dossier is not None and dossier.status == "rejected"
        assert session.scalar(select(DossierDocument).where(
            DossierDocument.dossier_id == dossier.id)) is None
    issued_numbers, last, pending = numbers(app, AGENCY)
    assert last == last_before and not pending
    assert issued_numbers == list(range(1, last + 1))

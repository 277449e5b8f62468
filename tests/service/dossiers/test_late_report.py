"""The monthly list of late dossiers, a public legal list, called as an operation: no HTTP.

The month is the agency's (Vietnam time), not UTC's: an agency working at night
(00:00-06:00) has acceptance deadlines in the first hours of a month, still the last day of
the month before in UTC. The dossiers go through their deadlines by the dossiers' clock
(tests/service/dossiers/clock.py); nothing is rewritten in the database."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from service.cli import load_demo
from service.dossiers import lifecycle, queries
from service.records import demo
from tests.conftest import DEMO_FATHER, _token, citizen_headers, make_app, valid_submission
from tests.service.dossiers.clock import Clock, vn

FORM = "don-de-nghi-doi-cap-lai-gplx"
AGENCY = "CA-DEM"
#: 02:00 on 1 April 2026 in Vietnam (UTC+7), still 31 March in UTC
APRIL_FIRST_VN = vn(2026, 4, 1, 2)


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """An application whose agency CA-DEM works 00:00-06:00, with the demo records."""
    data_dir = tmp_path_factory.mktemp("night")
    app = make_app(f"sqlite:///{data_dir / 'night.db'}", data_dir,
                   agency_office_hours={AGENCY: "00:00-06:00"})
    with app.app_context():
        load_demo(demo.generate(3))
    return app


@pytest.fixture(scope="module")
def codes(night) -> list[str]:
    """Three dossiers: one misses its acceptance deadline in the first hours of April
    (Vietnam time), one at the end of March, one is accepted on time."""
    client = night.test_client()
    father = citizen_headers(night, DEMO_FATHER)
    clerk = {"Authorization": f"Bearer {_token(night, 'officer', agency_code=AGENCY)}"}
    data = valid_submission(client, night, FORM)
    made = []
    # 8 working hours of 00:00-06:00: Tuesday 31 March 00:00 -> Wednesday 1 April 02:00;
    # Monday 30 March 00:00 -> Tuesday 31 March 02:00; Wednesday 1 April -> Thursday 2 April
    held = Clock(vn(2026, 3, 31))
    original, lifecycle.clock = lifecycle.clock, held
    try:
        for moment in (vn(2026, 3, 31), vn(2026, 3, 30), vn(2026, 4, 1)):
            held.set(moment)
            resp = client.post("/api/v1/dossiers", headers=father, json={
                "form_id": FORM, "version": 1, "agency_code": AGENCY, "data": data})
            assert resp.status_code == 201, resp.get_json()
            made.append(resp.get_json()["code"])
        held.set(vn(2026, 4, 1, 3))
        seen = client.get(f"/api/v1/dossiers/{made[2]}", headers=clerk)
        accepted = client.post(f"/api/v1/dossiers/{made[2]}/actions",
                               json={"action": "accept"},
                               headers={**clerk, "If-Match": seen.headers["ETag"]})
        assert accepted.status_code == 200, accepted.get_json()
    finally:
        lifecycle.clock = original
    return made


def _listed(report: dict) -> dict[str, tuple[str, dict]]:
    return {d["code"]: (o["officer"], d) for a in report["agencies"]
            for o in a["officers"] for d in o["dossiers"]}


def test_a_dossier_counts_in_the_month_its_deadline_fell_in_vietnam_time(night, codes) -> None:
    april_first, march_last, _ = codes
    at = APRIL_FIRST_VN + timedelta(days=2)
    with night.extensions["tokhai"].sessions() as session:
        april = queries.late_report(session, "2026-04", at=at)
        march = queries.late_report(session, "2026-03", at=at)
    assert april_first in _listed(april) and april_first not in _listed(march)
    assert march_last in _listed(march) and march_last not in _listed(april)
    officer, row = _listed(april)[april_first]
    assert officer == queries.UNEXPLAINED
    assert row["acceptance_late"] is True and row["processing_late"] is False
    assert row["stages"] == ["acceptance"] and row["stage"] == "acceptance"
    assert row["status"] == "submitted" and row["explanation"] is None
    assert row["late_since"] == row["accept_by"] == "2026-04-01T02:00:00+07:00"
    assert datetime.fromisoformat(row["accept_by"]) == APRIL_FIRST_VN
    assert row["explanation_required"] is True
    assert april["month"] == "2026-04"
    agency = next(a for a in april["agencies"] if a["agency_code"] == AGENCY)
    assert agency["count"] == sum(len(o["dossiers"]) for o in agency["officers"])


def test_lateness_is_as_of_the_moment_asked(night, codes) -> None:
    april_first = codes[0]
    with night.extensions["tokhai"].sessions() as session:
        before = queries.late_report(session, "2026-04", at=APRIL_FIRST_VN - timedelta(hours=1))
        after = queries.late_report(session, "2026-04", at=APRIL_FIRST_VN + timedelta(hours=1))
    assert april_first not in _listed(before) and april_first in _listed(after)


def test_the_agency_filter_and_a_dossier_not_late(night, codes) -> None:
    at = APRIL_FIRST_VN + timedelta(days=2)
    with night.extensions["tokhai"].sessions() as session:
        other = queries.late_report(session, "2026-04", agency_code="UBND-XA-00004", at=at)
        mine = queries.late_report(session, "2026-04", agency_code=AGENCY, at=at)
    assert codes[0] not in _listed(other) and codes[0] in _listed(mine)
    assert codes[2] not in _listed(mine)  # accepted on time; processing not due yet

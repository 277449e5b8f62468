"""The monthly list of late dossiers, a public legal list, called as an operation: no HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from service.dossiers import queries
from storage.models import Dossier
from tests.conftest import DEMO_FATHER, citizen_headers, valid_submission

FORM = "don-de-nghi-doi-cap-lai-gplx"
AGENCY = "CA-HN"
#: 00:30 on 1 April 2026 in Vietnam (UTC+7), still 31 March in UTC
APRIL_FIRST_VN = datetime(2026, 3, 31, 17, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def codes(app, people) -> list[str]:
    """Three dossiers: one missed its acceptance deadline in the first minutes of April
    (Vietnam time), one missed it at the end of March, one is not late."""
    client = app.test_client()
    father = citizen_headers(app, DEMO_FATHER)
    made = []
    for _ in range(3):
        resp = client.post("/api/v1/dossiers", headers=father, json={
            "form_id": FORM, "version": 1, "agency_code": AGENCY,
            "data": valid_submission(client, app, FORM)})
        assert resp.status_code == 201, resp.get_json()
        made.append(resp.get_json()["code"])
    deadlines = [APRIL_FIRST_VN, APRIL_FIRST_VN - timedelta(hours=2),
                 APRIL_FIRST_VN + timedelta(days=400)]
    with app.extensions["tokhai"].sessions() as session:
        for code, deadline in zip(made, deadlines, strict=True):
            d = session.scalar(select(Dossier).where(Dossier.code == code))
            d.submitted_at = deadline - timedelta(hours=9)
            d.accept_deadline = d.due_at = deadline
        session.commit()
    return made


def _listed(report: dict) -> dict[str, tuple[str, dict]]:
    return {d["code"]: (o["officer"], d) for a in report["agencies"]
            for o in a["officers"] for d in o["dossiers"]}


def test_a_dossier_counts_in_the_month_its_deadline_fell_in_vietnam_time(app, codes) -> None:
    april_first, march_last, _ = codes
    at = APRIL_FIRST_VN + timedelta(days=2)
    with app.extensions["tokhai"].sessions() as session:
        april = queries.late_report(session, "2026-04", at=at)
        march = queries.late_report(session, "2026-03", at=at)
    assert april_first in _listed(april) and april_first not in _listed(march)
    assert march_last in _listed(march) and march_last not in _listed(april)
    officer, row = _listed(april)[april_first]
    assert officer == queries.UNEXPLAINED
    assert row["acceptance_late"] is True and row["processing_late"] is False
    assert row["status"] == "submitted" and row["explanation"] is None
    assert datetime.fromisoformat(row["accept_by"]) == APRIL_FIRST_VN
    assert april["month"] == "2026-04"
    agency = next(a for a in april["agencies"] if a["agency_code"] == AGENCY)
    assert agency["count"] == sum(len(o["dossiers"]) for o in agency["officers"])


def test_lateness_is_as_of_the_moment_asked(app, codes) -> None:
    april_first = codes[0]
    with app.extensions["tokhai"].sessions() as session:
        before = queries.late_report(session, "2026-04", at=APRIL_FIRST_VN - timedelta(hours=1))
        after = queries.late_report(session, "2026-04", at=APRIL_FIRST_VN + timedelta(hours=1))
    assert april_first not in _listed(before) and april_first in _listed(after)


def test_the_agency_filter_and_a_dossier_not_late(app, codes) -> None:
    at = APRIL_FIRST_VN + timedelta(days=2)
    with app.extensions["tokhai"].sessions() as session:
        other = queries.late_report(session, "2026-04", agency_code="UBND-XA-00004", at=at)
        later = queries.late_report(session, (APRIL_FIRST_VN + timedelta(days=400))
                                    .strftime("%Y-%m"), at=at)
    assert codes[0] not in _listed(other)
    assert codes[2] not in _listed(later)  # its deadline has not passed at ``at``

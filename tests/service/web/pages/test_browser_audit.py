"""The auditor in a real browser (issue #15, points 6 and 7): signs in, filters the access log
by citizen and by time, reads a bad date named at its field, downloads the CSV (the same
entries as the page), opens the month's late list and a dossier from it; axe at 1280 and
360 px in each state (all entries, filtered, errors, the late list)."""

from __future__ import annotations

import csv
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from service.dossiers import lifecycle
from service.worktime import VIETNAM
from storage.models import AccessLog
from tests.conftest import DEMO_FATHER, _token, citizen_headers, valid_submission
from tests.service.dossiers.clock import Clock
from tests.service.web.pages.browser import check_page, sign_in_page

FORM = "to-khai-dang-ky-khai-sinh"
AGENCY = "UBND-XA-00004"
#: a citizen whose data was read only in March 2019 (written straight to the log)
OLD_OWNER = "001190001234"


@pytest.fixture(scope="module")
def seeded(live_app: Any) -> dict[str, Any]:
    """A dossier the officer checked against the registers (an access-log entry naming the
    demo father and the dossier), one filed last month and never accepted (late), and entries
    of March 2019 (in a thread: Playwright's event loop holds this one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_seed, live_app).result()


def _seed(live_app: Any) -> dict[str, Any]:
    client = live_app.test_client()
    father = citizen_headers(live_app, DEMO_FATHER)
    clerk = {"Authorization": f"Bearer {_token(live_app, 'officer', agency_code=AGENCY)}"}
    data = valid_submission(client, live_app, FORM)
    today = lifecycle.now().astimezone(VIETNAM)
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=5, hour=9)
    real = lifecycle.clock
    lifecycle.clock = Clock(last_month)
    try:
        late = client.post("/api/v1/dossiers", headers=father, json={
            "form_id": FORM, "version": 1, "agency_code": AGENCY, "data": data})
    finally:
        lifecycle.clock = real
    assert late.status_code == 201, late.get_json()
    filed = client.post("/api/v1/dossiers", headers=father, json={
        "form_id": FORM, "version": 1, "agency_code": AGENCY, "data": data})
    assert filed.status_code == 201
    code = filed.get_json()["code"]
    assert client.get(f"/api/v1/dossiers/{code}/prefill", headers=clerk).status_code == 200
    old = []
    with live_app.extensions["tokhai"].sessions() as session:
        for day in (3, 17, 30):
            old.append(int(session.execute(insert(AccessLog).values(
                at=datetime(2019, 3, day, 14, tzinfo=VIETNAM), actor="officer:Cán bộ B",
                role="officer", agency_code=AGENCY, purpose=None, document_id=None,
                owner_id=OLD_OWNER, action="person_check",
                outcome="denied" if day == 17 else "allowed",
                reason="=1+1" if day == 30 else "").returning(AccessLog.id)).scalar_one()))
        session.commit()
    return {"code": code, "late": late.get_json()["code"], "old": old,
            "month": f"{last_month:%Y-%m}", "month_label": f"{last_month:%m/%Y}"}


def entry_ids(page: Any) -> list[int]:
    return [int(i.removeprefix("entry-"))
            for i in page.locator("ol.audit-log > li").evaluate_all(
                "items => items.map(i => i.id)")]


def test_an_auditor_filters_the_access_log_downloads_it_and_reads_the_late_list(
        page: Any, live: Any, seeded: dict[str, Any], tmp_path: Path) -> None:
    sign_in_page(page, "auditor", next_path="/audit/access")
    assert page.url.endswith("/audit/access")
    assert page.get_by_role("heading", level=1).inner_text() == "Nhật ký truy cập"
    check_page(page, "audit-access")

    # by citizen: the officer's check of the demo father's dossier, linked to the dossier
    page.get_by_label("Người dân (số định danh cá nhân)").fill(DEMO_FATHER)
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_load_state()
    facts = page.locator("ol.audit-log").inner_text()
    assert "Đọc dữ liệu trong cơ sở dữ liệu để đối chiếu hồ sơ" in facts
    assert seeded["code"] in facts and DEMO_FATHER in facts
    assert OLD_OWNER not in facts
    check_page(page, "audit-access-citizen")

    # by time: March 2019 only, dates as people type them
    page.get_by_role("link", name="Bỏ lọc").click()
    page.get_by_label("Từ ngày").fill("01/03/2019")
    page.get_by_label("Đến ngày").fill("31/03/2019")
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_load_state()
    shown = entry_ids(page)
    assert shown == sorted(seeded["old"], reverse=True)
    assert "Bị từ chối" in page.locator("ol.audit-log").inner_text()
    check_page(page, "audit-access-time")

    # the CSV: the same entries, in the same order, the formula neutralised
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải về CSV").click()
    saved = tmp_path / "log.csv"
    download.value.save_as(saved)
    assert re.fullmatch(r"nhat-ky-truy-cap-\d{8}-\d{4}\.csv", download.value.suggested_filename)
    raw = saved.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert [int(r[0]) for r in rows[1:]] == shown
    assert "'=1+1" in rows[1]

    # a date that does not exist: named at its field, linked from the summary
    page.get_by_label("Từ ngày").fill("31/02/2019")
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_load_state()
    summary = page.locator(".error-summary")
    assert "Từ ngày phải là một ngày có thật" in summary.inner_text()
    assert "Từ ngày phải là một ngày có thật" in page.locator("#from-error").inner_text()
    check_page(page, "audit-access-errors")

    # the late list of last month, from the header
    page.get_by_role("navigation", name="Điều hướng chính").get_by_role(
        "link", name="Hồ sơ trễ hạn").click()
    page.wait_for_load_state()
    page.get_by_label("Tháng").select_option(seeded["month"])
    page.get_by_role("button", name="Xem").click()
    page.wait_for_load_state()
    assert f"Hồ sơ trễ hạn tháng {seeded['month_label']}" in page.locator("h1").inner_text()
    late = page.locator("main").inner_text()
    assert seeded["late"] in late and "Chưa giải trình" in late
    check_page(page, "audit-late")
    link = page.get_by_role("link", name=f"Hồ sơ {seeded['late']}")
    if link.count():  # the officers' dossier page is installed: read-only for the auditor
        link.click()
        page.wait_for_load_state()
        assert page.url.endswith(f"/office/dossiers/{seeded['late']}")
        assert seeded["late"] in page.locator("main").inner_text()
        check_page(page, "audit-dossier")

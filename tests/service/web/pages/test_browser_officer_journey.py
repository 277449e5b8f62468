"""The officer's journey in Chromium (issue #15, point 7): an officer signs in on the
development sign-in page, finds the newest dossier in the queue, accepts it, starts processing,
previews the result (the unsigned rendering as page images), signs and issues it, and reads
the verification report; the citizen then downloads it through the API and it verifies. axe
at 1280 and 360 px on the preview and result pages, screenshots of both."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from service.records.demo import DEMO_AGENCY
from tests.conftest import DEMO_FATHER, _token, citizen_headers, valid_submission
from tests.pki import demo_agency_config
from tests.service.web.pages.browser import (
    check_page,
    sign_in_page,
)
from tests.service.web.pages.test_issuing import FORM


@pytest.fixture(scope="module")
def signing_config(test_pki: Any) -> str:
    """The browser's application (browser.live_app) with a key for the development
    officer's agency, so that the officer of the sign-in page can issue."""
    return demo_agency_config(test_pki, name="journey.yaml")


def test_an_officer_accepts_processes_previews_and_issues(page, live) -> None:
    api = live.app.test_client()
    father = citizen_headers(live.app, DEMO_FATHER)
    filed = api.post("/api/v1/dossiers", headers=father, json={
        "form_id": FORM, "version": 1, "agency_code": DEMO_AGENCY,
        "data": valid_submission(api, live.app, FORM)})
    assert filed.status_code == 201, filed.get_json()
    code = filed.get_json()["code"]

    # the queue: the newest dossier found by its code
    sign_in_page(page, "officer", next_path="/office")
    assert "/office" in page.url
    page.locator("#q").fill(code)
    page.locator("form#queue-filters").get_by_role("button", name="Lọc").click()
    page.wait_for_load_state()
    row = page.locator(f"tr.queue__row[data-code='{code}']")
    assert row.count() == 1
    row.locator("a.queue__code").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/office/dossiers/{code}"), page.url

    # accept, then start processing, from the dossier page's buttons
    page.get_by_role("button", name="Tiếp nhận hồ sơ").click()
    page.wait_for_load_state()
    assert "done=accept" in page.url, page.url
    page.get_by_role("button", name="Bắt đầu xử lý").click()
    page.wait_for_load_state()
    assert "done=start_processing" in page.url, page.url

    # the preview: the unsigned rendering, drawn, with its values as text
    page.locator("a#issue-link").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/office/dossiers/{code}/result/preview"), page.url
    assert page.get_by_role("heading", level=1, name="Xem trước kết quả").is_visible()
    image = page.locator(".issuing-page img").first
    image.wait_for()
    assert page.evaluate("() => { const i = document.querySelector('.issuing-page img');"
                         " return i.complete && i.naturalWidth > 500; }")
    assert "Nguyễn Văn An" in page.locator("[data-preview-values]").inner_text()
    check_page(page, "issuing-preview")

    # sign and issue: the result page with the public verification report
    page.get_by_role("button", name="Ký số và ban hành").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/office/dossiers/{code}/result"), page.url
    assert page.get_by_role("heading", name="Đã ban hành kết quả").is_visible()
    assert page.locator("[data-verdict='valid']").count() == 1
    assert page.locator("[data-level]").inner_text().startswith("B-LT")
    number = page.locator("[data-number]").inner_text().strip()
    assert number and number != "–"
    check_page(page, "issuing-result")

    # back on the dossier page: result ready, the link to the result
    page.get_by_role("link", name=f"‹ Hồ sơ {code}").click()
    page.wait_for_load_state()
    assert page.locator("a#result-link").count() == 1

    # the citizen downloads it through the API, and it verifies as what tokhai issued
    citizen = {"Authorization": f"Bearer {_token(live.app, 'citizen', personal_id=DEMO_FATHER)}"}
    pdf = requests.get(live(f"/api/v1/dossiers/{code}/result"), headers=citizen, timeout=30)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    report = requests.post(live("/api/v1/verifications"), data=pdf.content, timeout=60,
                           headers={"Content-Type": "application/pdf"}).json()
    assert report["valid"] and report["issued_by_tokhai"] and report["matches_original"], \
        report["problems"]
    assert report["signatures"][0]["level"] == "B-LT"

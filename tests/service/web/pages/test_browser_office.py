"""The officers' pages in Chromium (#15): the queue and the dossier page in every state (axe
at 1280 and 360 px, screenshots), the actions by keyboard alone, two officers at once (the
conflict message), and a late dossier's explanation first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from service.dossiers import lifecycle
from tests.conftest import _token, citizen_headers, valid_submission
from tests.service.dossiers.test_dossiers import promise_after
from tests.service.web.pages.browser import NARROW, WIDE, check_page, sign_in_page, tab_to
from tests.service.web.pages.test_office import (  # noqa: F401 (the demo agency's key)
    AGENCY,
    FORM,
    signing_config,
)


def file(app: Any, who: str = "001085012345") -> str:
    api = app.test_client()
    data = valid_submission(api, app, FORM, who)
    filed = api.post("/api/v1/dossiers", headers=citizen_headers(app, who), json={
        "form_id": FORM, "version": 1, "agency_code": AGENCY, "data": data})
    assert filed.status_code == 201, filed.get_json()
    return str(filed.get_json()["code"])


def api_accept(app: Any, code: str) -> None:
    api = app.test_client()
    headers = {"Authorization": f"Bearer {_token(app, 'officer', agency_code=AGENCY)}"}
    current = api.get(f"/api/v1/dossiers/{code}", headers=headers)
    moved = api.post(f"/api/v1/dossiers/{code}/actions", json={"action": "accept"},
                     headers={**headers, "If-Match": current.headers["ETag"]})
    assert moved.status_code == 200, moved.get_json()


def assert_queue_readable_at_360(page: Any) -> None:
    """At 360 px each row of the queue is a card: no cell wider than the viewport nor cut
    (nothing scrolls inside the table's wrapper), each cell labelled by its column's name, a
    dossier's code on at most 2 lines (broken at its hyphens, never every character or two);
    the filter's button and the late-only box on the fields' row at 1280 px."""
    page.set_viewport_size({"width": NARROW, "height": 900})
    try:
        found = page.evaluate("""() => {
          const table = document.querySelector('table.queue');
          const cells = [...table.querySelectorAll('tbody td')].map(td => {
            const box = td.getBoundingClientRect();
            const label = td.querySelector('.queue__label');
            return {left: box.left, right: box.right, cut: td.scrollWidth > td.clientWidth,
                    label: label && getComputedStyle(label).display !== 'none'
                      ? label.innerText.trim() : null};
          });
          const codes = [...table.querySelectorAll('a.queue__code')].map(a => {
            const lines = new Set([...a.getClientRects()].map(r => Math.round(r.top)));
            return {text: a.innerText, lines: lines.size};
          });
          const wrap = table.parentElement;
          return {width: document.documentElement.clientWidth, cells, codes,
                  wrapScrolls: wrap.scrollWidth > wrap.clientWidth};
        }""")
    finally:
        page.set_viewport_size({"width": WIDE, "height": 900})
    assert found["cells"] and found["codes"]
    assert not found["wrapScrolls"], "the queue scrolls sideways inside its wrapper at 360 px"
    for cell in found["cells"]:
        assert cell["left"] >= 0 and cell["right"] <= found["width"], cell
        assert not cell["cut"], cell
        assert cell["label"], cell  # each cell says which column it is
    for code in found["codes"]:
        assert code["lines"] <= 2, code
    late_box = page.locator("#late").bounding_box()
    button = page.locator("#queue-filters button").bounding_box()
    state = page.locator("#state").bounding_box()
    assert late_box and button and state
    for box in (late_box, button):  # on the fields' row, not floating below it
        assert abs((box["y"] + box["height"] / 2) - (state["y"] + state["height"] / 2)) < 16, box


def test_queue_and_dossier_by_keyboard(page, live, live_app):
    code = file(live_app)
    file(live_app, "079199054321")
    sign_in_page(page, "officer", next_path="/office")
    assert page.locator(f'tr.queue__row[data-code="{code}"]').count() == 1
    check_page(page, "office-queue")
    assert_queue_readable_at_360(page)
    page.fill("#q", "nguyen van")
    page.get_by_role("button", name="Lọc").click()
    check_page(page, "office-queue-search")
    page.goto(f"/office/dossiers/{code}")
    check_page(page, "office-dossier")
    # accept by keyboard alone
    tab_to(page, 'form[data-action="accept"] button')
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/office/dossiers/{code}?done=accept")
    assert page.locator("#dossier-status").inner_text() == "Đã tiếp nhận"
    check_page(page, "office-dossier-accepted")
    # a refusal without its reason: the error at its field
    tab_to(page, 'form[data-action="reject"] button')
    page.keyboard.press("Enter")
    page.wait_for_selector(".error-summary")
    check_page(page, "office-dossier-errors")
    # a supplement request, typed and sent by keyboard
    tab_to(page, "#missing")
    page.keyboard.type("Giấy chứng sinh do bệnh viện cấp")
    tab_to(page, 'form[data-action="request_supplement"] button')
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/office/dossiers/{code}?done=request_supplement")
    assert page.locator("#dossier-status").inner_text() == "Yêu cầu bổ sung"


def test_two_officers_at_once(page, live, live_app):
    code = file(live_app)
    sign_in_page(page, "officer", next_path=f"/office/dossiers/{code}")
    api_accept(live_app, code)  # another officer, while this page is open
    page.get_by_role("button", name="Tiếp nhận hồ sơ").click()
    page.wait_for_selector("#conflict")
    assert "không có gì bị ghi đè" in page.locator("#conflict").inner_text()
    assert page.locator("#dossier-status").inner_text() == "Đã tiếp nhận"
    check_page(page, "office-conflict")


def test_a_late_dossier_is_explained_first(page, live, live_app, monkeypatch):
    code = file(live_app)
    later = datetime.now(UTC) + timedelta(days=30)
    monkeypatch.setattr(lifecycle, "clock", lambda: later)
    sign_in_page(page, "officer", next_path=f"/office/dossiers/{code}")
    assert page.locator("#explain-form").count() == 1
    assert page.locator("form.action-form").count() == 0
    check_page(page, "office-late-explanation")
    page.fill("#explain-reason", "Cán bộ tiếp nhận nghỉ ốm đột xuất.")
    page.fill("#promised-on", promise_after(live_app, AGENCY, later, 7).date().isoformat())
    page.get_by_role("button", name="Ghi giải trình và gửi thư xin lỗi").click()
    page.wait_for_url(f"**/office/dossiers/{code}?done=explain")
    assert page.locator('form[data-action="accept"]').count() == 1
    check_page(page, "office-explained")

"""A form designer in a real browser (issue #15, point 7): opens a draft, introduces an error
and sees it at its line, fixes it, previews the form for a demo citizen, reads the trimming
report and publishes; axe at 1280 and 360 px on every page and state."""

from __future__ import annotations

import re
from typing import Any

import pytest

from service.web.pages import design
from tests.conftest import _token
from tests.service.web.pages.browser import check_page, sign_in_page
from tests.service.web.pages.test_design import BROKEN, DEFINITION, FORM


@pytest.fixture(scope="module")
def draft(live_app: Any) -> str:
    """A draft of the test form, made through the API as a designer's program would."""
    client = live_app.test_client()
    headers = {"Authorization": f"Bearer {_token(live_app, 'designer')}",
               "Content-Type": "application/yaml"}
    made = client.post("/api/v1/forms", data=DEFINITION.encode(), headers=headers)
    assert made.status_code == 201, made.get_json()
    return f"/design/forms/{FORM}/1"


def test_a_designer_edits_previews_reads_the_report_and_publishes(page: Any, draft: str) -> None:
    sign_in_page(page, "designer", next_path="/design")
    assert page.url.endswith("/design")
    check_page(page, "design-forms")

    # the draft, from the list
    page.get_by_role("link", name=re.compile("Phiên bản 1 – Tờ khai thử nghiệm thiết kế")).click()
    assert page.url.endswith(draft)
    check_page(page, "design-version")

    # the editor: line numbers beside the text, then an error shown at its line
    page.get_by_role("link", name="Sửa định nghĩa").click()
    area = page.locator("#definition")
    assert area.input_value() == DEFINITION
    page.locator(".design-editor__gutter").wait_for()  # design.js numbers the lines
    check_page(page, "design-edit")
    area.fill(BROKEN)
    page.get_by_role("button", name="Lưu", exact=True).click()
    summary = page.locator("[data-error-summary]")
    assert summary.is_visible()
    links = summary.get_by_role("link")
    assert links.count() == 2
    texts = [links.nth(i).inner_text() for i in range(2)]
    assert any(t.startswith("Dòng 18, sections[0].fields[1].type:") for t in texts), texts
    assert any(t.startswith("Dòng 19, sections[0].fields[2].mau:") for t in texts), texts
    assert area.input_value() == BROKEN  # nothing typed is lost
    check_page(page, "design-edit-errors")
    # the summary's link puts the caret on the problem's line
    first = next(i for i, t in enumerate(texts) if t.startswith("Dòng 18"))
    links.nth(first).click()
    assert page.evaluate("() => document.activeElement.id") == "definition"
    selected = page.evaluate(
        "() => { const a = document.getElementById('definition');"
        " return a.value.slice(a.selectionStart, a.selectionEnd); }")
    assert selected == BROKEN.splitlines()[17]

    # fixed and saved
    area.fill(DEFINITION.replace("label: Ngày sinh", "label: Ngày sinh của người yêu cầu"))
    page.get_by_role("button", name="Lưu", exact=True).click()
    assert "saved=1" in page.url and page.get_by_text("Đã lưu", exact=True).is_visible()
    check_page(page, "design-edit-saved")

    # the preview, empty then for a demo citizen
    page.goto(f"{draft}/preview")
    assert page.locator("button[disabled]").count() == 1
    check_page(page, "design-preview-empty")
    page.locator("#citizen").select_option("citizen_father")
    page.get_by_role("button", name="Xem", exact=True).click()
    assert "citizen=citizen_father" in page.url
    assert page.locator(".eform__value", has_text="Nguyễn Văn An").is_visible()
    assert page.get_by_text("Đã xác thực").first.is_visible()
    check_page(page, "design-preview-father")

    # the trimming report, then one citizen's fate of each field
    page.goto(draft)
    page.get_by_role("link", name="Báo cáo cắt giảm trường").click()
    # the paper form, the e-form, and each demo citizen a designer may preview for
    assert page.locator("svg.design-chart__svg").count() == 2 + len(design.DEMO_CITIZENS)
    assert page.get_by_role("cell", name="Với Nguyễn Văn An").count() == 0  # a row header
    assert page.get_by_role("rowheader", name="Với Nguyễn Văn An").is_visible()
    check_page(page, "design-report")
    page.locator("#citizen").select_option("citizen_daughter")
    page.get_by_role("button", name="Xem", exact=True).click()
    assert page.get_by_role("columnheader", name="Với Lê Thị Thu Hà").is_visible()
    check_page(page, "design-report-daughter")

    # publishing: said to be final, then done
    page.goto(draft)
    page.get_by_role("link", name="Công bố phiên bản này").click()
    assert page.get_by_text("Công bố là vĩnh viễn").is_visible()
    check_page(page, "design-publish")
    page.get_by_role("button", name="Công bố vĩnh viễn phiên bản 1").click()
    assert page.url.endswith(f"{draft}?published=1")
    assert page.get_by_role("status").filter(has_text="Đã công bố").is_visible()
    check_page(page, "design-published")

    # frozen: read-only, a new draft from it, and the two compared
    page.get_by_role("link", name="Xem định nghĩa (chỉ đọc)").click()
    assert page.locator("#definition[readonly]").count() == 1
    check_page(page, "design-edit-published")
    page.get_by_role("button", name="Tạo bản nháp mới từ phiên bản này").click()
    assert page.url.endswith(f"/design/forms/{FORM}/2/edit")
    text = page.locator("#definition").input_value()
    page.locator("#definition").fill(text.replace("label: Số điện thoại",
                                                  "label: Điện thoại di động"))
    page.get_by_role("button", name="Lưu", exact=True).click()
    page.goto(f"/design/forms/{FORM}/compare?a=1&b=2")
    assert page.get_by_text("nguoi_yeu_cau/dien_thoai").is_visible()
    check_page(page, "design-compare")

"""The citizen's e-form in a real browser (issue #14, points 4, 7 and 8): consent, the
prefilled form with locked verified values, field errors and their summary, check your
answers, the confirmation, a dispute; axe at 1280 and 360 px in each state (the consent, the
form empty, prefilled and with errors, the check, the confirmation, the dispute), with
JavaScript and without."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import delete

from storage.models import Dispute, FormDraft, PrefillChoice
from tests.conftest import DEMO_FATHER
from tests.service.web.pages.browser import check_page, sign_in_page

FORM = "to-khai-dang-ky-khai-sinh"
APPLY = f"/procedures/{FORM}/apply"
AGENCY = "UBND-XA-00004"
CHILD = "Nguyễn Bảo Ngọc"


@pytest.fixture(autouse=True)
def afresh(live_app: Any) -> None:
    """The demo father without a choice, a draft or a dispute of his own."""
    with live_app.extensions["tokhai"].sessions() as s:
        for model in (Dispute, FormDraft, PrefillChoice):
            s.execute(delete(model).where(model.citizen_id == DEMO_FATHER))
        s.commit()


def pick(page: Any, name: str, value: str) -> None:
    """Choose ``value`` for the field ``name``, a list or radios, as a person would."""
    control = page.locator(f"[name='{name}']").first
    if control.evaluate("e => e.tagName") == "SELECT":
        control.select_option(value)
    else:
        page.locator(f"[name='{name}'][value='{value}']").check()


def address(page: Any, field_id: str, province: str, commune: str, javascript: bool) -> None:
    page.select_option(f"#{field_id}", province)
    if not javascript:  # the commune list comes from the server
        page.locator(f"button[value='refresh:{'/' + field_id[2:].replace('-', '/')}']").click()
        page.wait_for_load_state("networkidle")
    page.wait_for_selector(f"#{field_id}--commune option[value='{commune}']", state="attached")
    page.select_option(f"#{field_id}--commune", commune)


def the_child(page: Any, javascript: bool = True) -> None:
    pick(page, "/nguoi_yeu_cau/quan_he", "cha")
    page.fill("#f-nguoi_duoc_khai_sinh-ho_ten", CHILD)
    page.fill("#f-nguoi_duoc_khai_sinh-ngay_sinh", "3")
    page.fill("#f-nguoi_duoc_khai_sinh-ngay_sinh--month", "11")
    page.fill("#f-nguoi_duoc_khai_sinh-ngay_sinh--year", "2026")
    pick(page, "/nguoi_duoc_khai_sinh/gioi_tinh", "nu")
    pick(page, "/nguoi_duoc_khai_sinh/dan_toc", "01")
    pick(page, "/nguoi_duoc_khai_sinh/quoc_tich", "VN")
    address(page, "f-nguoi_duoc_khai_sinh-noi_sinh", "01", "00004", javascript)
    address(page, "f-nguoi_duoc_khai_sinh-que_quan", "01", "00004", javascript)
    page.fill("#f-cam_doan-lam_tai", "Hà Nội")
    page.check("#f-cam_doan-cam_doan")


def consent(page: Any, choice: str) -> None:
    page.goto(APPLY)
    if page.locator(f"input[name=agency][value='{AGENCY}']").count():
        page.locator(f"input[name=agency][value='{AGENCY}']").check()
    page.get_by_role("button", name=choice, exact=True).click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/procedures/{FORM}/v1/form"), page.url


def test_the_citizens_path_prefilled(page: Any) -> None:
    sign_in_page(page, "citizen_father", APPLY)
    assert "Cơ sở dữ liệu quốc gia về dân cư" in page.inner_text("main")
    check_page(page, "eform-consent")
    consent(page, "Dùng dữ liệu của tôi")
    main = page.inner_text("main")
    assert "Đã xác thực" in main and "Trần Thị Bình" in page.content()
    check_page(page, "eform-prefilled")

    # nothing typed: the errors, at the fields and in the summary that links to them
    page.get_by_role("button", name="Tiếp tục", exact=True).click()
    page.wait_for_load_state()
    summary = page.locator(".error-summary")
    assert summary.count() == 1 and page.title().startswith("Lỗi:")
    check_page(page, "eform-errors")
    summary.locator("a[href='#f-nguoi_duoc_khai_sinh-ho_ten']").click()
    assert page.evaluate("() => document.activeElement.id") == "f-nguoi_duoc_khai_sinh-ho_ten"

    # fixed: check your answers, then filed
    the_child(page)
    page.get_by_role("button", name="Tiếp tục", exact=True).click()
    page.wait_for_load_state()
    assert page.url.endswith("/check"), (page.url, page.locator(".error-summary").all_inner_texts())
    assert CHILD in page.inner_text("main")
    check_page(page, "eform-check")
    page.get_by_role("button", name="Nộp hồ sơ", exact=True).click()
    page.wait_for_load_state()
    assert re.search(r"/dossiers/[A-Z0-9-]+/confirmation$", page.url), page.url
    assert page.locator("#receipt-secret").inner_text().strip()
    check_page(page, "eform-confirmation")


def test_the_form_empty_and_a_dispute(page_360: Any) -> None:
    page = page_360
    sign_in_page(page, "citizen_father", APPLY)
    consent(page, "Tôi sẽ tự nhập tất cả")
    assert page.input_value("#f-nguoi_me-ho_ten") == ""
    check_page(page, "eform-empty")
    # changing the choice, then reporting a prefilled value wrong
    page.get_by_role("link", name="Thay đổi lựa chọn dùng dữ liệu").click()
    page.wait_for_load_state()
    if page.locator(f"input[name=agency][value='{AGENCY}']").count():
        page.locator(f"input[name=agency][value='{AGENCY}']").check()
    page.get_by_role("button", name="Dùng dữ liệu của tôi", exact=True).click()
    page.wait_for_load_state()
    page.locator("a[href*='dispute?field=/nguoi_me/nam_sinh']").click()
    page.wait_for_load_state()
    check_page(page, "eform-dispute")
    page.get_by_role("button", name="Gửi", exact=True).click()
    page.wait_for_load_state()
    check_page(page, "eform-dispute-errors")
    page.fill("#statement", "Vợ tôi sinh năm 1989.")
    page.get_by_role("button", name="Gửi", exact=True).click()
    page.wait_for_load_state()
    assert "Bạn đã báo sai thông tin này" in page.inner_text("main")
    check_page(page, "eform-disputed")


def test_the_path_without_javascript(page_no_js: Any) -> None:
    page = page_no_js
    sign_in_page(page, "citizen_father", APPLY)
    consent(page, "Dùng dữ liệu của tôi")
    # the fonts loaded before leaving the page (a request cut by a navigation is reported)
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Tiếp tục", exact=True).click()
    page.wait_for_load_state("networkidle")
    check_page(page, "eform-errors-no-js")
    the_child(page, javascript=False)
    page.get_by_role("button", name="Tiếp tục", exact=True).click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/check"), (page.url, page.locator(".error-summary").all_inner_texts())
    page.get_by_role("button", name="Nộp hồ sơ", exact=True).click()
    page.wait_for_load_state()
    assert "/confirmation" in page.url and page.locator("#receipt-secret").count() == 1

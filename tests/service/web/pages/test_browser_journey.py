"""The citizen's whole path in a real browser (#14, points 7 and 8): signing in through the
OpenID Connect provider (the real code path), "use my data", the birth-registration form
prefilled with locked verified values, the child typed, field errors, fixed, check your
answers, submitted; the officer's part through the API; the result downloaded from the
citizen's space; the QR code on it read by zbarimg and opened in the browser: the verification
page says valid. The main path again with JavaScript off, and by keyboard alone. axe on every
page in each state at 1280 and 360 px; screenshots as artefacts."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import delete

from storage.models import Dispute, FormDraft, PrefillChoice
from tests.conftest import _token
from tests.service.web.pages.browser import (
    LiveServer,
    check_page,
    tab_to,
)

FATHER = "001085012345"
FORM = "to-khai-dang-ky-khai-sinh"
APPLY = f"/procedures/{FORM}/apply"
FILL = f"/procedures/{FORM}/v1/form"
CHECK = f"/procedures/{FORM}/v1/check"
CHILD = "Nguyễn Bảo Ngọc"
FALLBACK_AGENCY = "UBND-XA-00004"


@pytest.fixture
def afresh(live_app: Any) -> Any:
    """The demo father with no choice, draft or dispute of the form yet."""
    with live_app.extensions["tokhai"].sessions() as s:
        for model in (Dispute, FormDraft, PrefillChoice):
            s.execute(delete(model).where(model.citizen_id == FATHER))
        s.commit()
    return live_app


# -- steps ------------------------------------------------------------------------------------


def choose_use_my_data(page: Any) -> str:
    """On the page before the form: the agency (the first offered, or typed), then "use my
    data". The agency chosen."""
    assert urlsplit(page.url).path == APPLY, page.url
    radios = page.locator("input[type=radio][name=agency]")
    typed = page.locator("input[type=text][name=agency]")
    if radios.count():
        radios.first.check()
        agency = radios.first.get_attribute("value")
    elif typed.count():
        typed.fill(FALLBACK_AGENCY)
        agency = FALLBACK_AGENCY
    else:
        agency = page.locator("input[type=hidden][name=agency]").get_attribute("value")
    page.get_by_role("button", name="Dùng dữ liệu của tôi").click()
    page.wait_for_url(f"**{FILL}")
    return str(agency)


def pick_place(page: Any, field: str, province: str, commune: str, javascript: bool) -> None:
    """A commune within its province: with JavaScript the list follows the province; without,
    the button "Cập nhật danh sách xã" brings it."""
    page.locator(f"#{field}").select_option(province)
    if not javascript:
        page.locator(f"button[value='refresh:{field_pointer(field)}']").click()
        page.wait_for_load_state()
    page.locator(f"#{field}--commune option[value='{commune}']").wait_for(state="attached")
    page.locator(f"#{field}--commune").select_option(commune)


def field_pointer(field: str) -> str:
    """``f-nguoi_duoc_khai_sinh-noi_sinh`` -> ``/nguoi_duoc_khai_sinh/noi_sinh``."""
    return "/" + field.removeprefix("f-").replace("-", "/")


def type_the_child(page: Any, javascript: bool, *, day: str, month: str) -> None:
    """The child and the last section, with the date given; the sex and the commitment
    left for later."""
    page.locator("#f-nguoi_yeu_cau-quan_he").select_option("cha")
    page.locator("#f-nguoi_duoc_khai_sinh-ho_ten").fill(CHILD)
    page.locator("#f-nguoi_duoc_khai_sinh-ngay_sinh").fill(day)
    page.locator("#f-nguoi_duoc_khai_sinh-ngay_sinh--month").fill(month)
    page.locator("#f-nguoi_duoc_khai_sinh-ngay_sinh--year").fill("2026")
    page.locator("#f-nguoi_duoc_khai_sinh-dan_toc").select_option("01")
    page.locator("#f-nguoi_duoc_khai_sinh-quoc_tich").select_option("VN")
    pick_place(page, "f-nguoi_duoc_khai_sinh-noi_sinh", "01", "00004", javascript)
    page.locator("#f-nguoi_duoc_khai_sinh-noi_sinh--detail").fill("Bệnh viện Phụ sản Hà Nội")
    pick_place(page, "f-nguoi_duoc_khai_sinh-que_quan", "01", "00004", javascript)
    page.locator("#f-cam_doan-lam_tai").fill("Hà Nội")


def assert_prefilled_and_locked(page: Any) -> None:
    main = page.locator("main")
    # verified values: shown, no input to change them, their source named
    assert page.locator("input[name='/nguoi_yeu_cau/ho_ten']").count() == 0
    assert page.locator("#f-nguoi_yeu_cau-ho_ten").inner_text().strip() == "Nguyễn Văn An"
    assert "Lấy từ Cơ sở dữ liệu quốc gia về dân cư" in main.inner_text()
    # suggested values: prefilled and editable
    mother = page.locator("#f-nguoi_me-ho_ten")
    assert mother.input_value() == "Trần Thị Bình"
    assert mother.is_editable()
    assert page.locator("#f-nguoi_cha-giay_to").input_value() == FATHER


def errors_shown(page: Any) -> list[str]:
    summary = page.locator("[data-error-summary]")
    assert summary.is_visible()
    return [str(a.get_attribute("href")) for a in summary.locator("a").all()]


def submit_from_check(page: Any) -> str:
    """Check your answers, then submit: the dossier's code from the confirmation."""
    page.wait_for_url(f"**{CHECK}")
    text = page.locator("main").inner_text()
    assert CHILD in text and "03/11/2026" in text and "Nguyễn Văn An" in text
    page.get_by_role("button", name="Nộp hồ sơ").click()
    page.wait_for_url("**/confirmation")
    code = page.locator("#dossier-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9-]{6,40}", code), code
    assert page.locator("#receipt-secret").inner_text().strip()
    return code


def officer_issues(live: LiveServer, code: str, agency: str) -> dict[str, Any]:
    """The officer's part, through the API over HTTP: accept, start processing, issue the
    signed result (with the ETag of each step in If-Match)."""
    officer = {"Authorization": f"Bearer {_token(live.app, 'officer', agency_code=agency)}"}
    current = requests.get(live(f"/api/v1/dossiers/{code}"), headers=officer, timeout=30)
    assert current.status_code == 200, current.text
    etag = current.headers["ETag"]
    for action in ("accept", "start_processing"):
        moved = requests.post(live(f"/api/v1/dossiers/{code}/actions"),
                              json={"action": action}, headers={**officer, "If-Match": etag},
                              timeout=30)
        assert moved.status_code == 200, moved.text
        etag = moved.headers["ETag"]
    stale = requests.post(live(f"/api/v1/dossiers/{code}/result"), json={},
                          headers={**officer, "If-Match": current.headers["ETag"]}, timeout=30)
    assert stale.status_code == 412, stale.text  # an old ETag: refused
    issued = requests.post(live(f"/api/v1/dossiers/{code}/result"), json={},
                           headers={**officer, "If-Match": etag}, timeout=120)
    assert issued.status_code == 201, issued.text
    return dict(issued.json())


def qr_of(pdf: Path) -> str:
    """The URL in the QR code of the PDF's first page, read by zbarimg."""
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", str(pdf),
                    str(pdf.with_suffix(""))], check=True, timeout=60)
    [image] = sorted(pdf.parent.glob(pdf.stem + "*.png"))
    return subprocess.run(["zbarimg", "-q", "--raw", str(image)], capture_output=True,
                          text=True, timeout=60).stdout.strip()


# -- the path ---------------------------------------------------------------------------------


def test_a_citizen_files_gets_and_verifies_a_birth_registration(
        page: Any, live: LiveServer, afresh: Any, tmp_path: Path) -> None:
    app = afresh
    # the procedure's public page, then "start": signing in first, through the provider
    page.goto(f"/procedures/{FORM}")
    check_page(page, "journey-00-procedure")
    page.get_by_role("button", name="Bắt đầu nộp hồ sơ").first.click()
    page.wait_for_url("**/sign-in?**")
    check_page(page, "journey-01-sign-in")
    page.get_by_role("button", name="Đăng nhập bằng tài khoản định danh điện tử").click()
    page.locator("button[name=sub][value='father']").click()
    page.wait_for_url(f"**{APPLY}")
    # before any register is read: which registers, for which fields; "use my data"
    assert "Cơ sở dữ liệu quốc gia về dân cư" in page.locator("main").inner_text()
    check_page(page, "journey-02-use-my-data")
    agency = choose_use_my_data(page)
    # the form, prefilled: verified values locked with their source, suggestions editable
    assert_prefilled_and_locked(page)
    check_page(page, "journey-03-form-prefilled")
    # the child, with a day that does not exist, no sex, no commitment: errors
    type_the_child(page, True, day="31", month="2")
    page.get_by_role("button", name="Tiếp tục", exact=True).click()
    page.wait_for_load_state()
    links = errors_shown(page)
    for anchor in ("#f-nguoi_duoc_khai_sinh-ngay_sinh", "#f-nguoi_duoc_khai_sinh-gioi_tinh",
                   "#f-cam_doan-cam_doan"):
        assert anchor in links, links
    assert page.title().startswith("Lỗi:")
    # the summary has the focus (a screen reader reads it first), its links go to the fields
    assert page.evaluate("() => document.activeElement.matches('[data-error-summary]')")
    assert page.locator("#f-nguoi_duoc_khai_sinh-ho_ten").input_value() == CHILD  # kept
    check_page(page, "journey-04-form-errors")
    page.locator("[data-error-summary] a[href='#f-nguoi_duoc_khai_sinh-gioi_tinh']").click()
    assert page.evaluate("() => document.activeElement.id") == "f-nguoi_duoc_khai_sinh-gioi_tinh"
    # fixed; a copy asked for: its number appears (a condition), and is typed
    page.locator("#f-nguoi_duoc_khai_sinh-ngay_sinh").fill("3")
    page.locator("#f-nguoi_duoc_khai_sinh-ngay_sinh--month").fill("11")
    page.locator("#f-nguoi_duoc_khai_sinh-gioi_tinh--1").check()
    assert not page.locator("#f-cam_doan-so_luong").is_visible()
    page.locator("#f-cam_doan-ban_sao").check()
    page.locator("#f-cam_doan-so_luong").wait_for(state="visible")
    page.locator("#f-cam_doan-so_luong").fill("2")
    page.locator("#f-cam_doan-cam_doan").check()
    check_page(page, "journey-05-form-filled")
    page.get_by_role("button", name="Tiếp tục", exact=True).click()
    check_page(page, "journey-06-check-answers")
    code = submit_from_check(page)
    check_page(page, "journey-07-confirmation")

    # the officer's part, through the API
    issued = officer_issues(live, code, agency)

    # the citizen's space: the dossier done, the result downloaded
    page.goto("/my/dossiers")
    assert code in page.locator("main").inner_text()
    check_page(page, "journey-08-my-dossiers")
    page.goto(f"/my/dossiers/{code}")
    check_page(page, "journey-09-dossier-done")
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải kết quả (PDF)").click()
    pdf = tmp_path / "result.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    citizen = {"Authorization": f"Bearer {_token(app, 'citizen', personal_id=FATHER)}"}
    assert requests.get(live(f"/api/v1/dossiers/{code}/result"), headers=citizen,
                        timeout=30).content == pdf.read_bytes()  # the bytes issued
    page.goto("/my/documents")
    check_page(page, "journey-10-my-documents")

    # the QR code printed on the result, opened in the browser: the verification page, valid
    url = qr_of(pdf)
    path = urlsplit(url).path
    assert path == f"/api/v1/documents/{issued['document_id']}/verification", url
    page.goto(live(path))
    page.wait_for_url(f"**/verify/{issued['document_id']}")
    assert page.locator("[data-verdict]").get_attribute("data-verdict") == "valid"
    assert "Văn bản hợp lệ" in page.locator("main").inner_text()
    check_page(page, "journey-11-verified")


def test_the_main_path_without_javascript(page_no_js: Any, afresh: Any) -> None:
    page = page_no_js
    page.goto(APPLY)
    page.wait_for_url("**/sign-in?**")
    page.get_by_role("button", name="Đăng nhập bằng tài khoản định danh điện tử").click()
    page.locator("button[name=sub][value='father']").click()
    page.wait_for_url(f"**{APPLY}")
    check_page(page, "nojs-01-use-my-data")
    choose_use_my_data(page)
    assert_prefilled_and_locked(page)
    check_page(page, "nojs-02-form-prefilled")
    type_the_child(page, False, day="31", month="2")
    page.get_by_role("button", name="Tiếp tục", exact=True).click()
    page.wait_for_load_state()
    assert "#f-nguoi_duoc_khai_sinh-ngay_sinh" in errors_shown(page)
    check_page(page, "nojs-03-form-errors")
    page.locator("#f-nguoi_duoc_khai_sinh-ngay_sinh").fill("3")
    page.locator("#f-nguoi_duoc_khai_sinh-ngay_sinh--month").fill("11")
    page.locator("#f-nguoi_duoc_khai_sinh-gioi_tinh--1").check()
    page.locator("#f-cam_doan-ban_sao--false").check()
    page.locator("#f-cam_doan-cam_doan").check()
    page.get_by_role("button", name="Tiếp tục", exact=True).click()
    check_page(page, "nojs-04-check-answers")
    submit_from_check(page)
    check_page(page, "nojs-05-confirmation")


def test_the_form_by_keyboard_alone(page: Any, afresh: Any) -> None:
    """Sign in, choose, fill and send the form with Tab, arrows, Space, typing and Enter."""
    page.goto(APPLY)
    page.wait_for_url("**/sign-in?**")
    tab_to(page, "a[href^='/sign-in/start']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    for _ in range(30):  # the provider's page
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.value") == "father":
            break
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(f"**{APPLY}")
    if page.locator("input[type=radio][name=agency]").count():
        tab_to(page, "input[type=radio][name=agency]")
        page.keyboard.press("Space")
    elif page.locator("input[type=text][name=agency]").count():
        tab_to(page, "input[type=text][name=agency]")
        page.keyboard.type(FALLBACK_AGENCY)
    tab_to(page, "button[name=choice][value=use]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(f"**{FILL}")

    def to(selector: str) -> None:
        tab_to(page, selector, most=200)

    def choose(selector: str, value: str) -> None:
        """A list by keyboard: focused, then arrow keys until the option is selected."""
        to(selector)
        for _ in range(80):
            if page.locator(selector).input_value() == value:
                return
            page.keyboard.press("ArrowDown")
        raise AssertionError(f"{value} never selected in {selector}")

    choose("#f-nguoi_yeu_cau-quan_he", "cha")
    to("#f-nguoi_duoc_khai_sinh-ho_ten")
    page.keyboard.type(CHILD)
    for selector, value in (("#f-nguoi_duoc_khai_sinh-ngay_sinh", "3"),
                            ("#f-nguoi_duoc_khai_sinh-ngay_sinh--month", "11"),
                            ("#f-nguoi_duoc_khai_sinh-ngay_sinh--year", "2026")):
        to(selector)
        page.keyboard.type(value)
    to("#f-nguoi_duoc_khai_sinh-gioi_tinh")
    page.keyboard.press("ArrowDown")  # the second choice: nữ
    assert page.locator("#f-nguoi_duoc_khai_sinh-gioi_tinh--1").is_checked()
    choose("#f-nguoi_duoc_khai_sinh-dan_toc", "01")
    choose("#f-nguoi_duoc_khai_sinh-quoc_tich", "VN")
    for field in ("f-nguoi_duoc_khai_sinh-noi_sinh", "f-nguoi_duoc_khai_sinh-que_quan"):
        choose(f"#{field}", "01")
        page.locator(f"#{field}--commune option[value='00004']").wait_for(state="attached")
        choose(f"#{field}--commune", "00004")
        if field.endswith("noi_sinh"):
            to(f"#{field}--detail")
            page.keyboard.type("Bệnh viện Phụ sản Hà Nội")
    to("#f-cam_doan-lam_tai")
    page.keyboard.type("Hà Nội")
    to("#f-cam_doan-ban_sao")  # a group of radios is one stop of Tab; arrows choose
    page.keyboard.press("ArrowDown")
    assert page.locator("#f-cam_doan-ban_sao--false").is_checked()
    to("#f-cam_doan-cam_doan")
    page.keyboard.press("Space")
    assert page.locator("#f-cam_doan-cam_doan").is_checked()
    # Enter in a text box sends the form's main action (continue), not another button
    to("#f-cam_doan-lam_tai")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(f"**{CHECK}")
    tab_to(page, "button[type=submit]:not(.header__signout button)")
    assert "Nộp hồ sơ" in page.evaluate("() => document.activeElement.innerText")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url("**/confirmation")
    assert page.locator("#dossier-code").inner_text().strip()


def test_typing_everything_starts_from_an_empty_form(page: Any, afresh: Any) -> None:
    from tests.service.web.pages.browser import sign_in_page

    sign_in_page(page, "citizen_father", APPLY)
    page.wait_for_url(f"**{APPLY}")
    radios = page.locator("input[type=radio][name=agency]")
    if radios.count():
        radios.first.check()
    page.get_by_role("button", name="Tôi sẽ tự nhập tất cả").click()
    page.wait_for_url(f"**{FILL}")
    # nothing read from a register: the declarant's name is a box to type in, empty
    assert page.locator("input[name='/nguoi_yeu_cau/ho_ten']").input_value() == ""
    assert page.locator("#f-nguoi_me-ho_ten").input_value() == ""
    check_page(page, "journey-form-empty")
    page.get_by_role("button", name="Tiếp tục", exact=True).click()
    page.wait_for_load_state()
    assert len(errors_shown(page)) >= 5
    check_page(page, "journey-form-empty-errors")


"""The public pages in a real browser (issue #14, points 3 and 7): the catalogue, a procedure,
verification (an upload, and the QR code's link opened as a phone opens it), receipt lookup
and the late list; axe at 1280 and 360 px in each state (empty, with errors, with a report),
by keyboard, JavaScript off."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from service.dossiers import lifecycle
from tests.conftest import (
    DEMO_FATHER,
    _token,
    citizen_headers,
    file_and_process,
    valid_submission,
)
from tests.service.dossiers.clock import Clock, vn
from tests.service.web.pages.browser import check_page

FORM = "to-khai-dang-ky-khai-sinh"
AGENCY = "UBND-XA-00004"


@pytest.fixture(scope="module")
def issued(live_app: Any) -> dict[str, Any]:
    """A result issued through the API of the live application, and a receipt: in a thread
    of its own (signing runs an event loop, which Playwright's holds in this one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_issue, live_app).result()


def _issue(live_app: Any) -> dict[str, Any]:
    client = live_app.test_client()
    father = citizen_headers(live_app, DEMO_FATHER)
    clerk = {"Authorization": f"Bearer {_token(live_app, 'officer', agency_code=AGENCY)}"}
    code, etag = file_and_process(client, father, clerk, FORM,
                                  valid_submission(client, live_app, FORM), AGENCY)
    made = client.post(f"/api/v1/dossiers/{code}/result", json={},
                       headers={**clerk, "If-Match": etag})
    assert made.status_code == 201, made.get_json()
    pdf = client.get(f"/api/v1/dossiers/{code}/result", headers=father).data
    filed = client.post("/api/v1/dossiers", headers=father, json={
        "form_id": FORM, "version": 1, "agency_code": AGENCY,
        "data": valid_submission(client, live_app, FORM)})
    assert filed.status_code == 201
    return {"document_id": made.get_json()["document_id"], "pdf": pdf,
            "receipt": (filed.get_json()["code"], filed.get_json()["receipt_secret"])}


def submit(page: Any, button: str) -> None:
    """Press a form's button and wait for the page it answers with."""
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()


def test_the_catalogue_and_a_procedure(page: Any) -> None:
    page.goto("/procedures")
    check_page(page, "public-catalogue")
    page.get_by_label("Tên hoặc mã thủ tục").fill("khai sinh")
    submit(page, "Tìm")
    assert "q=khai+sinh" in page.url
    check_page(page, "public-catalogue-search")
    page.goto("/procedures?level=khong-co")
    check_page(page, "public-catalogue-errors")
    page.goto(f"/procedures/{FORM}")
    assert "Giảm" in page.inner_text(".trimming")
    check_page(page, "public-procedure")


def test_verification_by_upload(page: Any, issued: dict[str, Any], tmp_path: Path) -> None:
    page.goto("/verify")
    check_page(page, "public-verify")
    submit(page, "Xác thực")  # no file chosen
    assert "Chọn tệp PDF cần xác thực." in page.inner_text(".error-summary")
    check_page(page, "public-verify-errors")
    page.get_by_role("link", name="Chọn tệp PDF cần xác thực.").click()
    assert page.evaluate("() => document.activeElement.id") == "document"
    not_pdf = tmp_path / "anh.pdf"
    not_pdf.write_bytes(b"GIF89a not a pdf")
    page.set_input_files("#document", str(not_pdf))
    submit(page, "Xác thực")
    assert "không phải là tệp PDF" in page.inner_text("#document-error")
    result = tmp_path / "ket-qua.pdf"
    result.write_bytes(issued["pdf"])
    page.set_input_files("#document", str(result))
    submit(page, "Xác thực")
    assert page.inner_text("h1").strip() == "Văn bản hợp lệ"
    check_page(page, "public-verify-report")


def test_the_qr_link_opens_the_report_on_a_phone(page_360: Any, issued: dict[str, Any]) -> None:
    page_360.goto(f"/api/v1/documents/{issued['document_id']}/verification")
    assert page_360.url.endswith(f"/verify/{issued['document_id']}")
    assert page_360.inner_text("h1").strip() == "Văn bản hợp lệ"
    check_page(page_360, "public-verify-qr")
    page_360.goto("/verify/00000000-0000-4000-8000-000000000000")
    check_page(page_360, "public-verify-unknown")


def test_receipt_lookup_by_keyboard_without_javascript(page_no_js: Any,
                                                       issued: dict[str, Any]) -> None:
    code, secret = issued["receipt"]
    page = page_no_js
    page.goto("/receipt")
    check_page(page, "public-receipt")
    submit(page, "Tra cứu")
    assert "Nhập mã hồ sơ" in page.inner_text(".error-summary")
    check_page(page, "public-receipt-errors")
    page.get_by_label("Mã hồ sơ").fill(code)
    page.get_by_label("Mã bí mật").fill(secret[::-1] + "x")
    with page.expect_navigation():
        page.get_by_label("Mã bí mật").press("Enter")
    assert "Không tìm thấy hồ sơ" in page.inner_text(".error-summary")
    check_page(page, "public-receipt-wrong")
    page.get_by_label("Mã bí mật").focus()
    page.keyboard.type(secret)
    assert (page.input_value("#code"), page.input_value("#secret")) == (code, secret)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Đã nộp, chờ tiếp nhận" in page.inner_text("main")
    check_page(page, "public-receipt-found")


def test_the_late_list(page: Any, live_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    page.goto("/late?month=2026-13")
    check_page(page, "public-late-errors")
    clock = Clock(vn(2027, 2, 1, 9))  # a Monday; the server's threads read the same clock
    monkeypatch.setattr(lifecycle, "clock", clock)

    def late_dossier() -> str:
        client = live_app.test_client()
        father = citizen_headers(live_app, DEMO_FATHER)
        filed = client.post("/api/v1/dossiers", headers=father, json={
            "form_id": FORM, "version": 1, "agency_code": AGENCY,
            "data": valid_submission(client, live_app, FORM)})
        assert filed.status_code == 201
        clock.set(vn(2027, 2, 2, 10))  # not received within its working hours
        # promised for a working day (4 February 2027 is a Lunar New Year holiday)
        clerk = {"Authorization": f"Bearer {_token(live_app, 'officer', agency_code=AGENCY)}"}
        explained = client.post(f"/api/v1/dossiers/{filed.get_json()['code']}/explanation",
                                headers=clerk, json={"reason": "Mất điện cả buổi sáng",
                                                     "promised_at": vn(2027, 2, 3, 9).isoformat()})
        assert explained.status_code == 200, explained.get_json()
        return str(filed.get_json()["code"])

    with ThreadPoolExecutor(1) as pool:  # the apology letter is signed: not in this thread
        code = pool.submit(late_dossier).result()
    page.goto("/late")
    assert "02/2027" in page.inner_text("h1")
    main = page.inner_text("main")
    assert code in main and "Mất điện cả buổi sáng" in main and "Nguyễn Văn An" not in main
    check_page(page, "public-late")

"""The citizen's space in a real browser (issue #14, points 5 and 7): my dossiers, a dossier
(with its result; waiting for a supplement), the supplement page, my documents and consents,
who accessed my documents, my address for notifications; axe at 1280 and 360 px in each state
(empty, filled, with errors), a consent given and revoked by keyboard with JavaScript off."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import (
    DEMO_FATHER,
    _token,
    citizen_headers,
    file_and_process,
    valid_submission,
)
from tests.service.web.pages.browser import check_page, oidc_sign_in_page, sign_in_page, tab_to

FORM = "to-khai-dang-ky-khai-sinh"
AGENCY = "UBND-XA-00004"
OTHER_AGENCY = "UBND-XA-00005"


@pytest.fixture(scope="module")
def filed(live_app: Any) -> dict[str, Any]:
    """The demo father's dossiers through the API: one with its signed result, one waiting
    for a supplement, one filed with another agency (in a thread: signing runs an event
    loop, which Playwright's holds in this one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_file, live_app).result()


def _file(live_app: Any) -> dict[str, Any]:
    client = live_app.test_client()
    father = citizen_headers(live_app, DEMO_FATHER)
    clerk = {"Authorization": f"Bearer {_token(live_app, 'officer', agency_code=AGENCY)}"}
    data = valid_submission(client, live_app, FORM)
    done, etag = file_and_process(client, father, clerk, FORM, data, AGENCY)
    made = client.post(f"/api/v1/dossiers/{done}/result", json={},
                       headers={**clerk, "If-Match": etag})
    assert made.status_code == 201, made.get_json()
    waiting, etag = file_and_process(client, father, clerk, FORM, data, AGENCY)
    asked = client.post(f"/api/v1/dossiers/{waiting}/actions", headers={
        **clerk, "If-Match": etag}, json={"action": "request_supplement",
                                          "reason": "Bổ sung bản chụp giấy chứng sinh\n"
                                                    "- Bản chụp căn cước của mẹ"})
    assert asked.status_code == 200, asked.get_json()
    other = client.post("/api/v1/dossiers", headers=father, json={
        "form_id": FORM, "version": 1, "agency_code": OTHER_AGENCY, "data": data})
    assert other.status_code == 201
    # someone verifies the result by its id (the access page tells it)
    assert client.get(f"/api/v1/documents/{made.get_json()['document_id']}/verification"
                      ).status_code == 200
    return {"done": done, "waiting": waiting, "other": other.get_json()["code"],
            "document_id": made.get_json()["document_id"]}


def test_the_space_empty(page: Any, live_app: Any) -> None:
    sign_in_page(page, "citizen_daughter", next_path="/my/dossiers")
    assert "Bạn chưa nộp hồ sơ nào." in page.inner_text("main")
    check_page(page, "space-dossiers-empty")
    page.goto("/my/documents")
    assert "Bạn chưa có giấy tờ nào." in page.inner_text("main")
    check_page(page, "space-documents-empty")
    page.goto("/my/access")
    check_page(page, "space-access-empty")
    page.goto("/my/contact")
    check_page(page, "space-contact-empty")


def test_the_space_filled(page: Any, filed: dict[str, Any]) -> None:
    sign_in_page(page, "citizen_father", next_path="/my/dossiers")
    assert filed["done"] in page.inner_text("main")
    check_page(page, "space-dossiers")
    page.get_by_role("link", name="Hồ sơ của tôi").first.focus()
    page.goto(f"/my/dossiers/{filed['done']}")
    assert "Tải kết quả (PDF)" in page.inner_text("main")
    check_page(page, "space-dossier-result")
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải kết quả (PDF)").click()
    assert download.value.suggested_filename == f"ket-qua-{filed['done']}.pdf"
    page.goto(f"/my/dossiers/{filed['waiting']}")
    assert "Bổ sung bản chụp giấy chứng sinh" in page.inner_text("main")
    # what is missing, one item a line, as the officer wrote it (not run into one line)
    assert "giấy chứng sinh\n- Bản chụp căn cước" in page.inner_text("blockquote.quote")
    check_page(page, "space-dossier-supplement-asked")
    page.get_by_role("link", name="Bổ sung hồ sơ").click()
    page.wait_for_url(f"**/my/dossiers/{filed['waiting']}/supplement")
    check_page(page, "space-supplement")
    page.goto("/my/documents")
    check_page(page, "space-documents")
    page.goto("/my/access")
    assert "Một người không đăng nhập đã xác thực" in page.inner_text("main")
    check_page(page, "space-access")


def test_the_space_with_errors(page: Any, filed: dict[str, Any]) -> None:
    sign_in_page(page, "citizen_father", next_path="/my/documents")
    page.get_by_label("Mã hồ sơ hoặc mã thủ tục").fill("")
    page.get_by_label("Hết hiệu lực sau ngày").fill("")
    page.get_by_role("button", name="Đồng ý cho cơ quan này xem").click()
    assert "Có lỗi cần sửa" in page.inner_text("main")
    check_page(page, "space-consent-errors")
    page.goto("/my/contact")
    page.get_by_label("Địa chỉ thư điện tử").fill("an@")
    page.get_by_role("button", name="Lưu").click()
    assert "Có lỗi cần sửa" in page.inner_text("main")
    check_page(page, "space-contact-errors")
    page.get_by_label("Địa chỉ thư điện tử").fill("an.nguyen@example.vn")
    page.get_by_role("button", name="Lưu").click()
    assert "Đã lưu." in page.inner_text("main")
    check_page(page, "space-contact-saved")


def test_a_consent_given_and_revoked_by_keyboard_without_javascript(
        page_no_js: Any, filed: dict[str, Any]) -> None:
    page = page_no_js
    sign_in_page(page, "citizen_father", next_path="/my/documents")
    page.get_by_label("Cơ quan được xem").select_option(OTHER_AGENCY)
    page.get_by_label("Mã hồ sơ hoặc mã thủ tục").fill(filed["other"])
    tab_to(page, "form[action='/my/consents'] button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Đã ghi nhận sự đồng ý của bạn." in page.inner_text("main")
    check_page(page, "space-consent-granted-nojs")
    page.goto("/my/documents")
    tab_to(page, "form[action^='/my/consents/'] button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Đã thu hồi sự đồng ý." in page.inner_text("main")
    check_page(page, "space-consent-revoked-nojs")


def test_the_address_comes_from_the_sign_in(page: Any, live_app: Any) -> None:
    """Signed in through the identity provider (its ``email`` claim), the address is offered,
    not saved until the citizen saves it."""
    from storage.models import Contact

    with live_app.extensions["tokhai"].sessions() as s:
        s.query(Contact).filter(Contact.personal_id == DEMO_FATHER).delete()
        s.commit()
    oidc_sign_in_page(page, "father", next_path="/my/contact")
    assert page.get_by_label("Địa chỉ thư điện tử").input_value() == "an.nguyen@example.test"
    assert "Lấy từ tài khoản định danh của bạn" in page.inner_text("main")
    with live_app.extensions["tokhai"].sessions() as s:
        assert s.get(Contact, DEMO_FATHER) is None
    page.get_by_role("button", name="Lưu").click()
    assert "an.nguyen@example.test" in page.inner_text("main")
    with live_app.extensions["tokhai"].sessions() as s:
        saved = s.get(Contact, DEMO_FATHER)
        assert saved is not None and saved.email == "an.nguyen@example.test" and saved.notify

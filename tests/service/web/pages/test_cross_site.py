"""A form another site makes a browser post is refused outright (found by trying it: the CSRF
failure page's fresh cookie signed the person out, and its "send again" button, one click away,
would have put the other site's data in the citizen's draft)."""

from __future__ import annotations

import pytest

from tests.service.web.pages.conftest import sign_in

FORM = "/procedures/to-khai-dang-ky-khai-sinh/v1/form"
FORGED = {"/nguoi_duoc_khai_sinh/ho_ten": "Kẻ Giả Mạo", "action": "save"}


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"},
    {"Origin": "http://evil.example"},  # a browser without Fetch Metadata
    {"Origin": "null"},
])
def test_a_cross_site_post_is_refused_without_a_cookie_or_a_resend(pages, headers) -> None:
    client = pages.test_client()
    sign_in(client)
    # what the hostile page's post looks like: no cookie (SameSite=Lax), no token
    stranger = pages.test_client()
    answer = stranger.post(FORM, data=FORGED, headers=headers)
    assert answer.status_code == 403 and answer.mimetype == "text/html"
    assert "đến từ một trang web khác" in answer.get_data(as_text=True)
    # it says what happened, not that the person's account may not see the page
    assert "Yêu cầu bị từ chối" in answer.get_data(as_text=True)
    assert "không có quyền" not in answer.get_data(as_text=True)
    assert "Kẻ Giả Mạo" not in answer.get_data(as_text=True)  # nothing offered to resend
    assert "Set-Cookie" not in answer.headers
    # with the person's cookie (a browser that sends it anyway): refused all the same
    answer = client.post(FORM, data=FORGED, headers=headers)
    assert answer.status_code == 403
    # the person is still signed in, and nothing was kept in a draft
    page = client.get(FORM)
    assert page.status_code in (200, 302)
    assert "Kẻ Giả Mạo" not in client.get(FORM, follow_redirects=True).get_data(as_text=True)


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"},
    {"Origin": "http://localhost"}, {}])
def test_a_post_from_this_site_without_a_token_still_keeps_the_data(pages, headers) -> None:
    """A stale page of this very site (the cookie expired): the 400 page keeps what was typed,
    shown before it is sent again."""
    client = pages.test_client()
    answer = client.post(FORM, data={"/nguoi_duoc_khai_sinh/ho_ten": "Nguyễn Minh Khôi"},
                         headers=headers)
    assert answer.status_code == 400
    body = answer.get_data(as_text=True)
    assert 'value="Nguyễn Minh Khôi"' in body and "Xem những gì sẽ được gửi lại" in body

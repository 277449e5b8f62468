"""The site's own pages in a real browser: home, sign-in (development and OpenID Connect),
errors; axe at 1280 and 360 px, keyboard, JavaScript off."""

from __future__ import annotations

from typing import Any

from tests.service.web.pages.browser import check_page, oidc_sign_in_page, sign_in_page


def test_home_and_sign_in_pages_are_accessible(page: Any) -> None:
    page.goto("/")
    check_page(page, "home")
    page.goto("/sign-in")
    check_page(page, "signin")


def test_oidc_sign_in_in_the_browser(page: Any) -> None:
    oidc_sign_in_page(page, "father")
    assert page.url.endswith("/")
    assert "Nguyễn Văn An" in page.inner_text("body")
    check_page(page, "home-signed-in")


def test_dev_sign_in_without_javascript(page_no_js: Any) -> None:
    sign_in_page(page_no_js, "citizen_father")
    assert "Nguyễn Văn An" in page_no_js.inner_text("body")
    check_page(page_no_js, "home-signed-in-nojs")


def test_the_checks_can_fail(page: Any) -> None:
    """The harness's checks see what they are for: an image without text, a page wider than a
    phone, a blocked inline script (the pages' CSP)."""
    import pytest

    from tests.service.web.pages.browser import assert_no_horizontal_scroll, check_accessible

    page.goto("/")
    page.evaluate("""() => { const i = document.createElement('img'); i.src = '/static/x.png';
                             document.querySelector('main').append(i); }""")
    page.wait_for_timeout(100)
    page.problems.clear()  # the missing image's 404: seen, but not what this checks
    with pytest.raises(AssertionError, match="image-alt"):
        check_accessible(page, "selftest-image-alt")
    page.goto("/")
    page.set_viewport_size({"width": 360, "height": 900})
    page.evaluate("""() => { const d = document.createElement('div'); d.textContent = 'x';
                             d.setAttribute('class', 'wide'); d.style.width = '900px';
                             document.querySelector('main').append(d); }""")
    with pytest.raises(AssertionError, match="sideways"):
        assert_no_horizontal_scroll(page, "selftest-wide")
    page.goto("/")
    page.evaluate("""() => { const s = document.createElement('script');
                             s.textContent = 'window.x = 1'; document.body.append(s); }""")
    with pytest.raises(AssertionError, match="Content Security Policy"):
        check_accessible(page, "selftest-csp")


def test_sign_in_by_keyboard_alone(page: Any) -> None:
    """The skip link first, then the development people by arrow keys, the button by Tab,
    Enter: signed in, without the mouse."""
    from tests.service.web.pages.browser import tab_to

    page.goto("/sign-in")
    assert tab_to(page, "a.skip-link") == 1
    assert page.locator("a.skip-link").is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    tab_to(page, "#person-citizen_father")
    page.keyboard.press("ArrowDown")  # the next person of the group
    assert page.locator("#person-citizen_daughter").is_checked()
    tab_to(page, "form[action$='/sign-in/development'] button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Lê Thị Thu Hà" in page.inner_text("body")
    # and out again: the sign-out button in the header
    page.goto("/")
    tab_to(page, ".header__signout button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Bạn đã đăng xuất" in page.inner_text("main")


def test_oidc_sign_in_by_keyboard_alone(page: Any) -> None:
    """Through the provider; the link that looks like a button answers Space too."""
    from tests.service.web.pages.browser import tab_to

    page.goto("/sign-in")
    tab_to(page, "a[href^='/sign-in/start']")
    assert page.locator("a[href^='/sign-in/start']").get_attribute("role") == "button"
    with page.expect_navigation():
        page.keyboard.press(" ")
    # the provider's page (not ours): its button for the user, by keyboard too
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.value") == "father":
            break
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url("**/")
    assert "Đã đăng nhập: Nguyễn Văn An" in page.inner_text("body")


def test_the_states_of_the_sign_in_page(page: Any, page_no_js: Any) -> None:
    page.goto("/sign-in?next=/&reason=expired")
    assert "Phiên làm việc đã hết hạn" in page.inner_text("main")
    check_page(page, "signin-expired")
    page.goto("/sign-in/callback?code=x&state=y")  # a bad state
    assert "Không đăng nhập được" in page.inner_text("main")
    assert page.evaluate("() => document.activeElement.matches('[data-error-summary]')")
    check_page(page, "signin-refused")
    oidc_sign_in_page(page, "no-id")
    assert "Chưa có quyền sử dụng" in page.inner_text("main")
    check_page(page, "no-role")
    page_no_js.goto("/sign-in?reason=expired")
    check_page(page_no_js, "signin-expired-nojs")


def test_error_pages_in_the_browser(page: Any) -> None:
    answer = page.goto("/khong-co-trang-nay")
    assert answer is not None and answer.status == 404
    assert "Không tìm thấy trang" in page.inner_text("main")
    check_page(page, "error-404")
    # a form whose token is stale: the 400 page keeps the data and sends it again
    sign_in_page(page, "citizen_father")
    page.evaluate("""() => { const f = document.querySelector('.header__signout');
                             f.querySelector('[name=csrf_token]').value = 'stale'; }""")
    page.locator(".header__signout button").click()
    page.wait_for_load_state()
    assert "Chưa gửi được" in page.inner_text("main")
    check_page(page, "error-csrf")
    page.get_by_role("button", name="Gửi lại").click()
    page.wait_for_load_state()
    assert "Bạn đã đăng xuất" in page.inner_text("main")


def test_english_in_the_browser(page_360: Any) -> None:
    page = page_360
    page.goto("/sign-in")
    page.get_by_role("link", name="English").click()
    page.wait_for_url("**/sign-in")
    assert page.evaluate("() => document.documentElement.lang") == "en"
    assert page.locator("h1").inner_text() == "Sign in"
    check_page(page, "signin-en")

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

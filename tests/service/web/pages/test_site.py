"""The site's own pages (#14, points 1 and 2): pages and not JSON, the language switch and the
English catalogues, error pages, and every asset served by the app from its own origin."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest

from service.web.pages import i18n
from service.web.pages.rendering import PAGE_BLUEPRINTS
from tests.service.web.pages.conftest import csrf_of, sign_in

STATIC = Path(i18n.__file__).resolve().parent / "static"


@pytest.fixture
def client(pages: Any) -> Any:
    return pages.test_client()


# -- translations -----------------------------------------------------------------------------


def test_every_string_of_the_pages_has_an_english_translation() -> None:
    assert i18n.catalogues(), "no catalogue"
    untranslated = [f"{f}:{n}: {text}" for text, f, n in i18n.missing()]
    assert not untranslated, "untranslated (make translations lists them):\n" + "\n".join(
        untranslated)


def test_the_strings_are_found() -> None:
    """(The check above can fail: it sees the pages' strings, Python and templates.)"""
    found = {text for text, _f, _n in i18n.source_strings()}
    assert "Dịch vụ công trực tuyến" in found  # home.html
    assert "Hãy chọn một người trong danh sách." in found  # signin.py
    assert len(found) > 50


@pytest.mark.parametrize("po", sorted(i18n.catalogues()), ids=lambda p: p.parts[-4])
def test_each_compiled_catalogue_is_its_po(po: Path) -> None:
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} missing: make translations"
    assert mo.read_bytes() == i18n.compiled(i18n.catalogues()[po]), (
        f"{mo} is not compiled from {po}: make translations")


def test_the_catalogues_translate_into_english_not_vietnamese() -> None:
    """A msgstr is English: not a copy of the Vietnamese (no Vietnamese-only letters)."""
    vietnamese = re.compile("[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.I)
    copied = []
    for po, catalogue in i18n.catalogues().items():
        for message in catalogue:
            if not message.id:
                continue
            strings = (message.string if isinstance(message.string, (tuple, list))
                       else (message.string,))
            for text in strings:
                # names of people and places stay as they are; a sentence must not
                words = text.split() if text else []
                if len(words) > 4 and sum(bool(vietnamese.search(w)) for w in words) \
                        > len(words) / 2:
                    copied.append(f"{po.parts[-4]}: {message.id!r} -> {text!r}")
    assert not copied, "\n".join(copied)


def test_the_language_switch(client: Any) -> None:
    home = client.get("/")
    assert home.headers["Content-Language"] == "vi"
    html = home.get_data(as_text=True)
    assert '<html lang="vi">' in html
    assert "Dịch vụ công trực tuyến" in html
    answer = client.get("/language/en", query_string={"next": "/sign-in"})
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/sign-in"
    page = client.get("/sign-in")
    assert page.headers["Content-Language"] == "en"
    html = page.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Đăng nhập" not in html.split("<main", 1)[1].split("</main>")[0]
    assert "Sign in" in html
    home = client.get("/").get_data(as_text=True)
    assert "Online public services" in home
    assert "Dịch vụ công trực tuyến" not in home
    # the way back is a link in Vietnamese, marked as such
    assert 'lang="vi" hreflang="vi">Tiếng Việt</a>' in home
    client.get("/language/vi")
    assert "Dịch vụ công trực tuyến" in client.get("/").get_data(as_text=True)
    # an unknown language changes nothing
    client.get("/language/xx")
    assert client.get("/").headers["Content-Language"] == "vi"


def test_the_language_outlives_signing_in_and_out(client: Any) -> None:
    client.get("/language/en")
    sign_in(client, "citizen_father")
    assert client.get("/").headers["Content-Language"] == "en"
    client.post("/sign-out", data={"csrf_token": csrf_of(client.get("/").get_data(as_text=True))})
    assert client.get("/").headers["Content-Language"] == "en"


def test_error_pages_are_translated(client: Any) -> None:
    client.get("/language/en")
    for url in ("/no-such-page", "/sign-out"):  # 404 outside the pages, 405 of a page
        answer = client.get(url)
        html = answer.get_data(as_text=True)
        assert "Không tìm thấy trang" not in html and "Yêu cầu không hợp lệ" not in html, url
        # and marked as English, for screen readers and translation tools
        assert '<html lang="en">' in html, url
        assert answer.headers["Content-Language"] == "en", url
    assert "Page not found" in client.get("/no-such-page").get_data(as_text=True)


# -- pages, not JSON --------------------------------------------------------------------------


def test_the_home_page_is_a_page(client: Any) -> None:
    answer = client.get("/")
    assert answer.status_code == 200
    assert answer.mimetype == "text/html"
    html = answer.get_data(as_text=True)
    assert html.startswith("<!DOCTYPE html>")
    assert "<h1>Dịch vụ công trực tuyến</h1>" in html
    csp = answer.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "no-store" in answer.headers["Cache-Control"]
    # a browser that asks for JSON first still gets the page at /
    assert client.get("/", headers={"Accept": "application/json"}).mimetype == "text/html"


def test_an_unknown_path_is_a_404_page(client: Any) -> None:
    answer = client.get("/khong-co-trang-nay", headers={"Accept": "text/html,*/*;q=0.8"})
    assert answer.status_code == 404
    assert answer.mimetype == "text/html"
    html = answer.get_data(as_text=True)
    assert "Không tìm thấy trang" in html
    assert 'href="/"' in html
    assert "Traceback" not in html


def test_the_api_still_answers_json(client: Any) -> None:
    answer = client.get("/api/v1/unknown", headers={"Accept": "text/html"})
    assert answer.status_code == 404
    assert answer.is_json
    # a program asking for JSON on another path gets JSON too
    answer = client.get("/khong-co-trang-nay", headers={"Accept": "application/json"})
    assert answer.status_code == 404
    assert answer.is_json


def test_a_wrong_method_is_a_page(client: Any) -> None:
    answer = client.get("/sign-out")
    assert answer.status_code == 405
    assert answer.mimetype == "text/html"
    assert "Yêu cầu không hợp lệ" in answer.get_data(as_text=True)


def test_a_page_for_a_signed_in_person_sends_a_stranger_to_sign_in(pages: Any,
                                                                   client: Any) -> None:
    """Every page without arguments answers a stranger with a page, or sends them to sign in
    and back (``@signed_in``); never JSON, never a server error."""
    sent = []
    for url in _get_pages(pages):
        answer = client.get(url)
        assert answer.status_code < 500, url
        if answer.status_code in (301, 302, 303):
            location = answer.headers["Location"]
            if location.startswith("/sign-in?"):
                assert parse_qs(urlsplit(location).query)["next"] == [url], url
                sent.append(url)
        else:
            assert answer.mimetype == "text/html", url
    if "space" in PAGE_BLUEPRINTS:
        assert "/my/dossiers" in sent


# -- assets: all from this site, with their licences ------------------------------------------


class _Assets(HTMLParser):
    """The URLs a page makes the browser fetch by itself (stylesheets, scripts, images,
    icons, fonts, frames, media), and the inline scripts and styles it has."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "link" and a.get("href"):
            self.urls.append(str(a["href"]))
        if tag in ("script", "img", "iframe", "source", "audio", "video", "embed", "input") \
                and a.get("src"):
            self.urls.append(str(a["src"]))
        if tag == "img" and a.get("srcset"):
            self.urls += [part.split()[0] for part in str(a["srcset"]).split(",")]
        if tag == "object" and a.get("data"):
            self.urls.append(str(a["data"]))
        if tag == "script" and not a.get("src"):
            self.inline.append("<script> without src")
        if tag == "style":
            self.inline.append("<style>")
        if "style" in a:
            self.inline.append(f"style attribute on <{tag}>")
        if any(name.startswith("on") for name in a):
            self.inline.append(f"event handler on <{tag}>")


def _get_pages(app: Any) -> list[str]:
    """The page routes without arguments that answer a GET."""
    urls = ["/"]
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rsplit(".", 1)[0] if "." in rule.endpoint else None
        if blueprint in PAGE_BLUEPRINTS and "GET" in (rule.methods or ()) and not rule.arguments:
            urls.append(rule.rule)
    return sorted(set(urls))


def _same_origin_assets(client: Any, url: str) -> list[str]:
    answer = client.get(url)
    if answer.mimetype != "text/html":
        return []
    parser = _Assets()
    parser.feed(answer.get_data(as_text=True))
    assert not parser.inline, f"{url}: inline script or style: {parser.inline}"
    for asset in parser.urls:
        parts = urlsplit(asset)
        assert not parts.scheme and not parts.netloc and asset.startswith("/"), (
            f"{url}: {asset} is not from this site")
    return parser.urls


def test_every_asset_of_the_pages_is_from_this_site(pages: Any, client: Any) -> None:
    urls = _get_pages(pages) + ["/khong-co-trang-nay"]
    assert "/sign-in" in urls
    assets: set[str] = set()
    for url in urls:
        assets.update(_same_origin_assets(client, url))
    sign_in(client, "citizen_father")
    for url in urls:
        assets.update(_same_origin_assets(client, url))
    assert any("/static/css/tokhai.css" in a for a in assets)
    assert any("/static/js/tokhai.js" in a for a in assets)
    for asset in sorted(assets):
        answer = client.get(asset)
        assert answer.status_code == 200, asset
        assert "public" in answer.headers.get("Cache-Control", ""), asset


def test_the_stylesheets_fetch_only_from_this_site(client: Any) -> None:
    fonts = set()
    for css in sorted(STATIC.rglob("*.css")):
        text = css.read_text(encoding="utf-8")
        assert "@import" not in text or "url(http" not in text, css
        for found in re.findall(r"url\(\s*['\"]?([^'\")]+)", text):
            assert not urlsplit(found).scheme and not found.startswith("//"), f"{css}: {found}"
            if found.startswith("data:"):
                continue
            target = urljoin("/static/" + css.relative_to(STATIC).as_posix(), found)
            assert client.get(target).status_code == 200, f"{css}: {found}"
            if target.endswith((".woff2", ".woff", ".ttf")):
                fonts.add(target)
    assert len(fonts) >= 2
    scripts = [p.read_text(encoding="utf-8") for p in STATIC.rglob("*.js")]
    for text in scripts:
        assert not re.search(r"https?://(?!www\.w3\.org)", text), "a script fetches elsewhere"


def test_the_vendored_files_carry_their_licences() -> None:
    fonts = sorted((STATIC / "fonts").glob("*.woff2"))
    assert fonts
    licence = (STATIC / "fonts" / "LICENSE-OFL.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE" in licence.upper()
    assert (STATIC / "fonts" / "SOURCE.txt").exists()
    for path in STATIC.rglob("*"):
        assert path.is_dir() or path.stat().st_size < 400_000, f"{path}: too big to serve"


def test_the_layout_offers_a_skip_link_and_a_language(client: Any) -> None:
    html = client.get("/").get_data(as_text=True)
    assert '<a href="#main" class="skip-link">' in html
    assert 'id="main"' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html


def test_the_harness_smtp_server_receives(smtp: Any) -> None:
    """The SMTP server of the browser harness (tests of notifications use it)."""
    import smtplib
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = ("a@example.test", "b@example.test",
                                                          "Hồ sơ đã được tiếp nhận")
    message.set_content("Nội dung thử.")
    with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as client:
        client.send_message(message)
    [received] = smtp.messages
    assert received["Subject"] == "Hồ sơ đã được tiếp nhận"
    assert received.get_content().strip() == "Nội dung thử."
    assert smtp.envelopes[0].rcpt_tos == ["b@example.test"]

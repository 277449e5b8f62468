"""Sign-in, sessions and forms' protection (#14, point 2), through the real OpenID Connect code
path: the service as a relying party (Authlib) against a real provider on loopback
(``oidc-provider-mock``), the Flask test client as the browser."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Blueprint, request
from sqlalchemy import select

from service.dossiers import lifecycle
from service.web.pages import sessions
from service.web.pages.rendering import PAGE_BLUEPRINTS, render
from storage.models import WebSession
from tests.conftest import make_app
from tests.service.dossiers.clock import Clock
from tests.service.web.pages.browser import (
    OIDC_CLIENT_ID,
    OIDC_CLIENT_SECRET,
    OidcProvider,
    oidc_authorize,
)
from tests.service.web.pages.conftest import csrf_of, sign_in

FATHER = "001085012345"
DAUGHTER = "079199054321"

probe = Blueprint("probe", __name__)
PAGE_BLUEPRINTS.add("probe")


@probe.route("/probe/form", methods=["GET", "POST"])
@sessions.signed_in("citizen")
def probe_form():
    """A test-only page of a signed-in citizen: its form shows what a POST kept across an
    expired session (``take_stash``)."""
    kept = sessions.take_stash() if request.method == "GET" else request.form
    typed = (kept or {}).get("ghi_chu", "")
    return render("error.html", title="Probe", text=f"typed={typed}")


@probe.get("/probe/boom")
def probe_boom():
    """A page that fails."""
    raise RuntimeError("a bug in a page")


@pytest.fixture(scope="module")
def app(live_app: Any) -> Any:
    """The pages with the OpenID Connect provider and the development sign-in (the browser
    harness's application) and the test-only page above."""
    live_app.register_blueprint(probe)
    return live_app


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


def signed_in_name(client: Any) -> str | None:
    html = client.get("/").get_data(as_text=True)
    if "Đã đăng nhập:" not in html:
        return None
    return html.split("Đã đăng nhập:", 1)[1].split("<", 1)[0].strip()


def open_sessions(app: Any) -> list[WebSession]:
    with app.extensions["tokhai"].sessions() as s:
        return list(s.scalars(select(WebSession).where(WebSession.ended_at.is_(None))))


def start(client: Any, next_path: str | None = None) -> str:
    """``/sign-in/start``: the provider's authorization URL it sends the browser to."""
    answer = client.get("/sign-in/start" + (f"?next={next_path}" if next_path else ""))
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    return str(answer.headers["Location"])


def callback_path(url: str) -> str:
    parts = urlsplit(url)
    assert parts.path == "/sign-in/callback", url
    return f"{parts.path}?{parts.query}"


def oidc_sign_in(client: Any, sub: str = "father", next_path: str | None = None) -> Any:
    """The whole code flow: start, the provider's consent as ``sub``, the callback."""
    return client.get(callback_path(oidc_authorize(start(client, next_path), sub)))


# -- the code flow ----------------------------------------------------------------------------


def test_sign_in_through_the_provider(app: Any, client: Any, oidc_provider: OidcProvider) -> None:
    authorize = start(client, "/probe/form")
    assert authorize.startswith(oidc_provider.url + "/oauth2/authorize?")
    query = parse_qs(urlsplit(authorize).query)
    assert query["client_id"] == [OIDC_CLIENT_ID]
    assert query["response_type"] == ["code"]
    assert "openid" in query["scope"][0].split()
    assert query["state"][0] and query["nonce"][0]
    answer = client.get(callback_path(oidc_authorize(authorize, "father")))
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/probe/form"  # back where the person was going
    assert signed_in_name(client) == "Nguyễn Văn An"
    assert client.get("/probe/form").status_code == 200
    [row] = [r for r in open_sessions(app) if r.subject == "father"]
    assert row.personal_id == FATHER  # from the personal_id claim
    assert row.role == "citizen"
    assert row.issuer.rstrip("/") == oidc_provider.url
    assert row.email == "an.nguyen@example.test"


def test_the_personal_id_is_the_claims_not_the_subject(app: Any, client: Any,
                                                       oidc_provider: OidcProvider) -> None:
    oidc_provider.set_user("ha", {"personal_id": DAUGHTER, "name": "Lê Thị Thu Hà"})
    assert oidc_sign_in(client, "ha").status_code == 302
    [row] = [r for r in open_sessions(app) if r.subject == "ha"]
    assert row.personal_id == DAUGHTER


def test_the_claim_is_configured(tmp_path: Any, oidc_provider: OidcProvider) -> None:
    """TOKHAI_OIDC_PERSONAL_ID_CLAIM names the claim: another claim name, the same flow."""
    oidc_provider.set_user("claimed", {"so_dinh_danh": DAUGHTER, "personal_id": FATHER})
    other = make_app(f"sqlite:///{tmp_path / 't.db'}", tmp_path, insecure_cookies=True,
                     oidc_issuer=oidc_provider.url, oidc_client_id=OIDC_CLIENT_ID,
                     oidc_client_secret=OIDC_CLIENT_SECRET,
                     oidc_personal_id_claim="so_dinh_danh", load_catalogue=False)
    client = other.test_client()
    assert oidc_sign_in(client, "claimed").status_code == 302
    [row] = open_sessions(other)
    assert row.personal_id == DAUGHTER


def test_a_bad_state_is_refused(app: Any, client: Any) -> None:
    before = len(open_sessions(app))
    callback = oidc_authorize(start(client), "father")
    query = parse_qs(urlsplit(callback).query)
    forged = urlencode({"code": query["code"][0], "state": "forged-" + query["state"][0]})
    answer = client.get(f"/sign-in/callback?{forged}")
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert "Không đăng nhập được" in html
    assert "<!DOCTYPE html>" in html
    assert signed_in_name(client) is None
    assert len(open_sessions(app)) == before
    # a callback with no state at all, and one from another browser (no state of its own)
    assert client.get(f"/sign-in/callback?code={query['code'][0]}").status_code == 400
    stranger = app.test_client()
    assert stranger.get(callback_path(callback)).status_code == 400
    assert signed_in_name(stranger) is None
    assert len(open_sessions(app)) == before


def test_a_replayed_code_is_refused(app: Any, client: Any) -> None:
    callback = oidc_authorize(start(client), "father")
    assert client.get(callback_path(callback)).status_code == 302
    client.post("/sign-out", data={"csrf_token": csrf_of(client.get("/").get_data(as_text=True))})
    before = len(open_sessions(app))
    # the same callback again: its state was used
    again = client.get(callback_path(callback))
    assert again.status_code == 400
    assert "Không đăng nhập được" in again.get_data(as_text=True)
    # the used code with a fresh state of this browser: the provider refuses the code
    fresh = parse_qs(urlsplit(start(client)).query)["state"][0]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    replayed = client.get("/sign-in/callback?" + urlencode({"code": code, "state": fresh}))
    assert replayed.status_code == 400
    assert signed_in_name(client) is None
    assert len(open_sessions(app)) == before


def test_a_denial_at_the_provider_signs_nobody_in(client: Any) -> None:
    authorize = start(client)
    import requests

    denied = requests.post(authorize, data={"action": "deny"}, allow_redirects=False, timeout=10)
    assert denied.status_code == 302
    answer = client.get(callback_path(denied.headers["Location"]))
    assert answer.status_code == 400
    assert signed_in_name(client) is None


def test_a_person_without_a_personal_id_gets_the_no_role_page(app: Any, client: Any) -> None:
    before = len(open_sessions(app))
    answer = oidc_sign_in(client, "no-id")
    assert answer.status_code == 403
    html = answer.get_data(as_text=True)
    assert "Chưa có quyền sử dụng" in html
    assert signed_in_name(client) is None
    assert len(open_sessions(app)) == before


def test_a_malformed_personal_id_is_no_role(client: Any, oidc_provider: OidcProvider) -> None:
    oidc_provider.set_user("bad-id", {"personal_id": "12345", "name": "Sai số"})
    assert oidc_sign_in(client, "bad-id").status_code == 403
    assert signed_in_name(client) is None


def test_the_provider_down_is_a_page(tmp_path: Any) -> None:
    """A provider that does not answer: a 503 page, not a traceback."""
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    other = make_app(f"sqlite:///{tmp_path / 't.db'}", tmp_path, insecure_cookies=True,
                     oidc_issuer=f"http://127.0.0.1:{port}", oidc_client_id="x",
                     oidc_client_secret="y", load_catalogue=False)
    answer = other.test_client().get("/sign-in/start")
    assert answer.status_code == 503
    assert "Hệ thống định danh tạm thời không phản hồi" in answer.get_data(as_text=True)


# -- sessions ---------------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    held = Clock(datetime.now(UTC))
    monkeypatch.setattr(lifecycle, "clock", held)
    yield held


def test_an_idle_session_expires(app: Any, client: Any, clock: Clock) -> None:
    assert oidc_sign_in(client, "father").status_code == 302
    assert client.get("/probe/form").status_code == 200
    idle = app.extensions["tokhai"].settings.session_idle_minutes
    clock.advance(minutes=idle - 1)
    assert client.get("/probe/form").status_code == 200  # still within the idle time
    clock.advance(minutes=idle - 1)  # active a minute before: the idle time starts again
    assert client.get("/probe/form").status_code == 200
    clock.advance(minutes=idle + 1)
    answer = client.get("/probe/form")
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith("/sign-in?")
    assert parse_qs(urlsplit(location).query) == {"next": ["/probe/form"], "reason": ["expired"]}
    page = client.get(location).get_data(as_text=True)
    assert "Phiên làm việc đã hết hạn" in page
    assert signed_in_name(client) is None
    # signing in again works, and goes back to the page
    answer = oidc_sign_in(client, "father", "/probe/form")
    assert answer.headers["Location"] == "/probe/form"


def test_a_session_ends_at_the_latest_after_its_hours(app: Any, client: Any,
                                                      clock: Clock) -> None:
    sign_in(client, "citizen_father")
    hours = app.extensions["tokhai"].settings.session_hours
    idle = app.extensions["tokhai"].settings.session_idle_minutes
    while clock.moment < datetime.now(UTC) + timedelta(hours=hours) - timedelta(minutes=idle):
        assert client.get("/probe/form").status_code == 200, clock.moment
        clock.advance(minutes=idle - 2)
    clock.advance(minutes=idle)
    assert client.get("/probe/form").status_code == 302


def test_sign_out_ends_the_session_on_the_server(app: Any, client: Any) -> None:
    assert oidc_sign_in(client, "father").status_code == 302
    cookie = client.get_cookie("tokhai")
    assert cookie is not None
    copied = cookie.value
    answer = client.post("/sign-out",
                         data={"csrf_token": csrf_of(client.get("/").get_data(as_text=True))})
    assert answer.status_code == 302
    assert "Bạn đã đăng xuất" in client.get(answer.headers["Location"]).get_data(as_text=True)
    assert signed_in_name(client) is None
    # the cookie as it was before signing out, replayed from another browser: not signed in
    thief = app.test_client()
    thief.set_cookie("tokhai", copied)
    assert signed_in_name(thief) is None
    assert thief.get("/probe/form").status_code == 302


def test_a_copied_cookie_of_a_live_session_is_the_same_session_until_sign_out(
        app: Any, client: Any) -> None:
    """(The check above can fail: the same copy works while the session lives.)"""
    sign_in(client, "citizen_father")
    other = app.test_client()
    other.set_cookie("tokhai", client.get_cookie("tokhai").value)
    assert signed_in_name(other) == "Nguyễn Văn An"


def test_signing_in_starts_a_new_session_id(client: Any) -> None:
    """A session fixed before sign-in (a cookie planted by someone else) is not reused."""
    sign_in(client, "citizen_father")
    first = client.get_cookie("tokhai").value
    sign_in(client, "citizen_daughter")
    assert client.get_cookie("tokhai").value != first
    assert signed_in_name(client) == "Lê Thị Thu Hà"


@pytest.fixture(scope="module")
def https_app(tmp_path_factory: pytest.TempPathFactory, oidc_provider: OidcProvider) -> Any:
    """As in production: Secure cookies, no development sign-in (not production mode only
    because of the development signing keys)."""
    data_dir = tmp_path_factory.mktemp("https")
    return make_app(f"sqlite:///{data_dir / 't.db'}", data_dir, oidc_issuer=oidc_provider.url,
                    oidc_client_id=OIDC_CLIENT_ID, oidc_client_secret=OIDC_CLIENT_SECRET,
                    load_catalogue=False)


HTTPS = "https://localhost"


def https_sign_in(https_app: Any) -> tuple[Any, Any]:
    """A browser signed in over https through the provider: the client and the callback's
    answer."""
    client = https_app.test_client()
    start_answer = client.get("/sign-in/start", base_url=HTTPS)
    callback = oidc_authorize(start_answer.headers["Location"], "father")
    assert callback.startswith(f"{HTTPS}/sign-in/callback?")
    return client, client.get(callback_path(callback), base_url=HTTPS)


def test_the_cookie_is_secure_httponly_and_lax(https_app: Any) -> None:
    client, answer = https_sign_in(https_app)
    assert answer.status_code == 302
    [set_cookie] = answer.headers.getlist("Set-Cookie")
    name, attributes = set_cookie.split("=", 1)
    assert name == "__Host-tokhai"  # the __Host- prefix: Secure, Path=/, no Domain
    flags = {a.strip().split("=")[0].lower(): a.strip() for a in attributes.split(";")[1:]}
    assert "secure" in flags
    assert "httponly" in flags
    assert flags["samesite"] == "SameSite=Lax"
    assert flags["path"] == "Path=/"
    assert "domain" not in flags
    assert "Nguyễn Văn An" in client.get("/", base_url=HTTPS).get_data(as_text=True)


def test_over_https_a_post_from_another_site_is_refused(https_app: Any) -> None:
    """Over TLS the CSRF check also wants the Referer of this site."""
    client, _answer = https_sign_in(https_app)
    token = csrf_of(client.get("/", base_url=HTTPS).get_data(as_text=True))
    answer = client.post("/sign-out", base_url=HTTPS, data={"csrf_token": token},
                         headers={"Referer": "https://evil.example/"})
    assert answer.status_code == 400
    answer = client.post("/sign-out", base_url=HTTPS, data={"csrf_token": token},
                         headers={"Referer": f"{HTTPS}/"})
    assert answer.status_code == 302


def test_the_development_sign_in_is_not_served_unless_enabled(https_app: Any) -> None:
    client = https_app.test_client()
    page = client.get("/sign-in", base_url=HTTPS).get_data(as_text=True)
    assert "/sign-in/development" not in page
    assert "PHÁT TRIỂN" not in page.split('<main', 1)[1]
    # with a valid token (the sign-out form of a signed-in citizen): 404, nobody else
    client, _answer = https_sign_in(https_app)
    token = csrf_of(client.get("/", base_url=HTTPS).get_data(as_text=True))
    answer = client.post("/sign-in/development", base_url=HTTPS,
                         data={"person": "officer", "csrf_token": token},
                         headers={"Referer": f"{HTTPS}/sign-in"})
    assert answer.status_code == 404
    assert "Không tìm thấy trang" in answer.get_data(as_text=True)
    assert "Nguyễn Văn An" in client.get("/", base_url=HTTPS).get_data(as_text=True)


@pytest.mark.parametrize("flag", ["dev_signin", "insecure_cookies"])
def test_production_refuses_the_development_conveniences(tmp_path: Any, flag: str) -> None:
    from service.web import DevelopmentOnly

    with pytest.raises(DevelopmentOnly, match="TOKHAI_PRODUCTION=1"):
        make_app(f"sqlite:///{tmp_path / 't.db'}", tmp_path, production=True,
                 **{flag: True})


@pytest.mark.parametrize("variable", ["TOKHAI_DEV_SIGNIN", "TOKHAI_INSECURE_COOKIES"])
def test_production_refuses_them_from_the_environment(tmp_path: Any, variable: str) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "TOKHAI_PRODUCTION": "1", variable: "1",
           "TOKHAI_DATA_DIR": str(tmp_path), "TOKHAI_SECRET_KEY": "x" * 40}
    run = subprocess.run([sys.executable, "-c", "from service.web import create_app; "
                          "create_app()"], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "TOKHAI_PRODUCTION=1" in run.stderr


# -- forms: CSRF, the stash, redirects ----------------------------------------------------------


def page_posts(app: Any) -> list[str]:
    """A URL of every page route that takes a POST (arguments filled with plain values)."""
    urls = []
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rsplit(".", 1)[0] if "." in rule.endpoint else None
        if "POST" not in (rule.methods or ()) or blueprint not in PAGE_BLUEPRINTS:
            continue
        values = {}
        for argument in rule.arguments:
            converter = rule._converters[argument]  # noqa: SLF001
            values[argument] = 1 if type(converter).__name__ in ("IntegerConverter",) else "x"
        urls.append(rule.build(values, append_unknown=False)[1])
    return urls


def test_every_page_post_without_its_token_is_a_400_page_keeping_the_data(
        app: Any, client: Any) -> None:
    urls = page_posts(app)
    assert {"/sign-in/development", "/sign-out", "/probe/form"} <= set(urls)
    sign_in(client, "citizen_father")
    for url in urls:
        answer = client.post(url, data={"ghi_chu": "Tôi đã nhập dòng này <b>", "lặp": "1"})
        assert answer.status_code == 400, url
        html = answer.get_data(as_text=True)
        assert answer.mimetype == "text/html", url
        assert "Chưa gửi được" in html, url
        # what was typed is in the page (escaped), ready to be sent again with a new token
        assert 'name="ghi_chu" value="Tôi đã nhập dòng này &lt;b&gt;"' in html, url
        assert f'action="{url}"' in html, url
        if url == "/probe/form":  # sent again from that page (its fresh token): taken
            resend = client.post(url, data={"ghi_chu": "lại", "csrf_token": csrf_of(html)})
            assert resend.status_code == 200
            assert "typed=lại" in resend.get_data(as_text=True)
    # a wrong token is the same as none
    answer = client.post("/probe/form", data={"ghi_chu": "a", "csrf_token": "forged"})
    assert answer.status_code == 400


def test_the_api_takes_no_csrf_token(app: Any, client: Any) -> None:
    """The API's POSTs (bearer tokens, no cookie) are not the pages': no 400 page there."""
    answer = client.post("/api/v1/dossiers", json={})
    assert answer.status_code in (401, 403)
    assert answer.is_json


def test_a_post_after_the_session_expired_is_kept_and_given_back(
        app: Any, client: Any, clock: Clock) -> None:
    oidc_sign_in(client, "father")
    form = client.get("/probe/form").get_data(as_text=True)
    token = csrf_of(form)
    clock.advance(minutes=app.extensions["tokhai"].settings.session_idle_minutes + 5)
    answer = client.post("/probe/form", data={"ghi_chu": "Đang nhập dở", "csrf_token": token})
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert parse_qs(urlsplit(location).query) == {"next": ["/probe/form"], "reason": ["expired"]}
    # another person signing in on this browser does not get it
    sign_in(client, "citizen_daughter", "/probe/form")
    assert "typed=" in client.get("/probe/form").get_data(as_text=True)
    assert "Đang nhập dở" not in client.get("/probe/form").get_data(as_text=True)
    # the same person signing in again: the page has the typed text back, once
    answer = oidc_sign_in(client, "father", "/probe/form")
    assert answer.headers["Location"] == "/probe/form"
    assert "typed=Đang nhập dở" in client.get("/probe/form").get_data(as_text=True)
    assert "typed=Đang nhập dở" not in client.get("/probe/form").get_data(as_text=True)


def test_the_stash_is_only_for_the_browser_that_posted(app: Any, client: Any,
                                                       clock: Clock) -> None:
    sign_in(client, "citizen_father", "/probe/form")
    token = csrf_of(client.get("/probe/form").get_data(as_text=True))
    clock.advance(minutes=app.extensions["tokhai"].settings.session_idle_minutes + 5)
    client.post("/probe/form", data={"ghi_chu": "Riêng tư", "csrf_token": token})
    other = app.test_client()
    sign_in(other, "citizen_father", "/probe/form")
    assert "typed=Riêng tư" not in other.get("/probe/form").get_data(as_text=True)


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example",
                                    "https://evil.example/sign-in", "/\\evil.example",
                                    "\\\\evil.example", "http:/evil.example",
                                    "javascript:alert(1)", " //evil.example"])
def test_no_open_redirect(app: Any, client: Any, target: str) -> None:
    answer = sign_in(client, "citizen_father", target)
    assert answer.headers["Location"] == "/", target
    answer = client.get("/language/en", query_string={"next": target})
    assert answer.headers["Location"] == "/", target
    page = client.get("/sign-in", query_string={"next": target}).get_data(as_text=True)
    assert 'name="next" value="/"' in page, target
    assert 'href="/sign-in/start?next=/"' in page or 'href="/sign-in/start?next=%2F"' in page
    client.post("/sign-out", data={"csrf_token": csrf_of(client.get("/").get_data(as_text=True))})
    authorize = client.get("/sign-in/start", query_string={"next": target}).headers["Location"]
    answer = client.get(callback_path(oidc_authorize(authorize, "father")))
    assert answer.headers["Location"] == "/", target


def test_a_path_on_the_site_is_a_fine_next(client: Any) -> None:
    answer = sign_in(client, "citizen_father", "/probe/form?a=1")
    assert answer.headers["Location"] == "/probe/form?a=1"


def test_a_failing_page_is_a_500_page_without_details(app: Any, client: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    answer = client.get("/probe/boom")
    assert answer.status_code == 500
    assert answer.mimetype == "text/html"
    html = answer.get_data(as_text=True)
    assert "Xin lỗi, hệ thống đang gặp sự cố" in html
    assert "Traceback" not in html and "a bug in a page" not in html


def test_the_development_page_offers_the_unmarried_mother(client: Any) -> None:
    """The demo families' adult who files for her son (born out of wedlock) can be signed in
    as without a token, like the two original demo citizens."""
    from service.records import demo
    from service.web.pages.signin import DEV_PEOPLE

    page = client.get("/sign-in").get_data(as_text=True)
    assert "Đỗ Thị Mai" in page and 'value="citizen_mother"' in page
    role, name, personal_id, _agency = DEV_PEOPLE["citizen_mother"]
    population = dict(demo.generate(3).records["population"])
    assert role == "citizen" and personal_id == demo.DEMO_MOTHER
    assert population[personal_id]["full_name"] == name
    sign_in(client, "citizen_mother")
    assert signed_in_name(client) == "Đỗ Thị Mai"

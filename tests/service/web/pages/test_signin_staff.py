"""Staff sign in through OpenID Connect (#15, point 1): their role and agency come from a
mapping of the provider's subject (``tokhai staff``, service.staff) or, only when configured, a
claim; a person with neither a role nor a personal ID gets the no-role page; a session from a
mapping ends at its next request once the mapping is revoked or changed. Through the real code
path: the service as a relying party against ``oidc-provider-mock`` on loopback, the Flask
test client as the browser, on both databases."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Blueprint

from service import staff
from service.web.pages import sessions
from service.web.pages.rendering import PAGE_BLUEPRINTS, render
from tests.conftest import BACKENDS, _fresh_postgres, make_app
from tests.service.web.pages.browser import (
    OIDC_CLIENT_ID,
    OIDC_CLIENT_SECRET,
    OidcProvider,
    check_page,
)
from tests.service.web.pages.conftest import csrf_of, sign_in
from tests.service.web.pages.test_signin import oidc_sign_in, open_sessions, signed_in_name

FATHER = "001085012345"
AGENCY = "UBND-XA-00004"

probe = Blueprint("staffprobe", __name__)
PAGE_BLUEPRINTS.add("staffprobe")


def _who() -> Any:
    person = sessions.current()
    assert person is not None
    p = person.principal
    return render("error.html", title="Probe",
                  text=f"role={p.role} agency={p.agency_code} pid={p.personal_id}")


@probe.get("/staff-probe/officer")
@sessions.signed_in("officer")
def officer_page() -> Any:
    """A test-only page for officers: the principal the pages call operations with."""
    return _who()


@probe.get("/staff-probe/any")
@sessions.signed_in()
def any_page() -> Any:
    """A test-only page for anyone signed in."""
    return _who()


def _oidc(provider: OidcProvider, **more: Any) -> dict[str, Any]:
    return {"oidc_issuer": provider.url, "oidc_client_id": OIDC_CLIENT_ID,
            "oidc_client_secret": OIDC_CLIENT_SECRET, "dev_signin": True,
            "insecure_cookies": True, "load_catalogue": False, **more}


@pytest.fixture(scope="module", params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        oidc_provider: OidcProvider) -> Iterator[Any]:
    """The pages with the provider and the development sign-in, no role claim configured;
    one per backend."""
    data_dir = tmp_path_factory.mktemp("staff")
    if request.param == "sqlite":
        application = make_app(f"sqlite:///{data_dir / 'tokhai.db'}", data_dir,
                               **_oidc(oidc_provider))
        application.register_blueprint(probe)
        yield application
        return
    for url in _fresh_postgres(request.getfixturevalue("postgres_server_url")):
        application = make_app(url, data_dir, **_oidc(oidc_provider))
        application.register_blueprint(probe)
        yield application
        application.extensions["tokhai"].engine.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


def grant(app: Any, subject: str, role: str, agency: str | None = None,
          name: str | None = None, issuer: str | None = None) -> None:
    provider = issuer or app.extensions["tokhai"].settings.oidc_issuer
    with app.extensions["tokhai"].sessions() as s:
        staff.grant(s, provider, subject, role, agency, name, "test")
        s.commit()


def revoke(app: Any, subject: str) -> None:
    with app.extensions["tokhai"].sessions() as s:
        staff.revoke(s, app.extensions["tokhai"].settings.oidc_issuer, subject)
        s.commit()


def probe_text(client: Any, path: str = "/staff-probe/any") -> str:
    answer = client.get(path)
    assert answer.status_code == 200, (answer.status_code, answer.headers.get("Location"))
    html = answer.get_data(as_text=True)
    return "role=" + html.split("role=", 1)[1].split("<", 1)[0]


def session_of(app: Any, subject: str) -> Any:
    [row] = [r for r in open_sessions(app) if r.subject == subject]
    return row


# -- roles from the mapping ---------------------------------------------------------------------


def test_a_mapped_officer_signs_in_with_role_and_agency(app: Any, client: Any,
                                                        oidc_provider: OidcProvider,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    oidc_provider.set_user("cb-officer", {"name": "Trần Văn Bình"})
    # the mapping written with a trailing slash: the same provider
    grant(app, "cb-officer", "officer", AGENCY, issuer=oidc_provider.url + "/")
    with caplog.at_level(logging.INFO):
        answer = oidc_sign_in(client, "cb-officer", "/staff-probe/officer")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/staff-probe/officer"
    assert probe_text(client, "/staff-probe/officer") == f"role=officer agency={AGENCY} pid=None"
    assert signed_in_name(client) == "Trần Văn Bình"
    row = session_of(app, "cb-officer")
    assert (row.role, row.agency_code, row.personal_id) == ("officer", AGENCY, None)
    if "office.queue" in app.view_functions:  # the header's link to the officer's queue
        assert 'href="/office"' in client.get("/").get_data(as_text=True)
    [record] = [r for r in caplog.records if r.getMessage() == "signed in"]
    assert (record.role, record.via, record.agency) == (  # type: ignore[attr-defined]
        "officer", "mapping", AGENCY)
    assert "cb-officer" not in caplog.text and "Trần Văn Bình" not in caplog.text


@pytest.mark.parametrize("role", ["designer", "auditor"])
def test_a_mapped_designer_and_auditor(app: Any, client: Any, oidc_provider: OidcProvider,
                                       role: str) -> None:
    subject = f"mapped-{role}"
    oidc_provider.set_user(subject, {})  # no name from the provider: the mapping's
    grant(app, subject, role, name=f"Tên {role}")
    assert oidc_sign_in(client, subject).status_code == 302
    assert probe_text(client) == f"role={role} agency=None pid=None"
    assert signed_in_name(client) == f"Tên {role}"
    assert client.get("/staff-probe/officer").status_code == 403  # not an officer's page
    row = session_of(app, subject)
    assert (row.role, row.agency_code) == (role, None)


def test_the_mapping_wins_over_a_personal_id(app: Any, client: Any,
                                             oidc_provider: OidcProvider) -> None:
    """A member of staff whose provider also gives a personal ID signs in as staff."""
    oidc_provider.set_user("staff-with-id", {"personal_id": "079199054321", "name": "Lê Hà"})
    grant(app, "staff-with-id", "auditor")
    assert oidc_sign_in(client, "staff-with-id").status_code == 302
    row = session_of(app, "staff-with-id")
    assert (row.role, row.personal_id) == ("auditor", None)


def test_a_mapping_of_another_provider_is_not_this_ones(app: Any, client: Any,
                                                        oidc_provider: OidcProvider) -> None:
    oidc_provider.set_user("elsewhere", {"name": "Người khác"})
    grant(app, "elsewhere", "auditor", issuer="https://another-idp.example")
    assert oidc_sign_in(client, "elsewhere").status_code == 403
    assert signed_in_name(client) is None


def test_a_citizen_still_signs_in_by_personal_id(app: Any, client: Any,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        assert oidc_sign_in(client, "father").status_code == 302
    assert probe_text(client) == f"role=citizen agency=None pid={FATHER}"
    [record] = [r for r in caplog.records if r.getMessage() == "signed in"]
    assert (record.role, record.via) == ("citizen", "personal_id")  # type: ignore[attr-defined]


# -- no role ------------------------------------------------------------------------------------


def test_no_role_is_a_clear_page_naming_the_subject(app: Any, client: Any,
                                                    oidc_provider: OidcProvider) -> None:
    oidc_provider.set_user("cb-nobody-7f3a", {"name": "Chưa được giao"})
    before = len(open_sessions(app))
    answer = oidc_sign_in(client, "cb-nobody-7f3a")
    assert answer.status_code == 403
    assert answer.mimetype == "text/html"
    html = answer.get_data(as_text=True)
    assert "Chưa có quyền sử dụng" in html
    assert "quản trị hệ thống" in html  # who to ask
    assert '<code class="hash">cb-nobody-7f3a</code>' in html  # what to give them
    assert signed_in_name(client) is None
    assert len(open_sessions(app)) == before
    assert client.get("/staff-probe/any").status_code == 302


def test_the_subject_on_the_no_role_page_is_escaped(client: Any,
                                                    oidc_provider: OidcProvider) -> None:
    oidc_provider.set_user("<i>x", {})
    html = oidc_sign_in(client, "<i>x").get_data(as_text=True)
    assert "&lt;i&gt;x" in html and "<i>x" not in html


def test_no_role_signs_out_whoever_was_signed_in(app: Any, client: Any) -> None:
    sign_in(client, "citizen_father")
    assert signed_in_name(client) == "Nguyễn Văn An"
    assert oidc_sign_in(client, "no-id").status_code == 403
    assert signed_in_name(client) is None


def test_role_claims_are_ignored_when_not_configured(app: Any, client: Any,
                                                     oidc_provider: OidcProvider) -> None:
    oidc_provider.set_user("claims-not-trusted", {"tokhai_role": "officer",
                                                  "tokhai_agency": AGENCY})
    assert oidc_sign_in(client, "claims-not-trusted").status_code == 403
    oidc_provider.set_user("claims-and-id", {"tokhai_role": "auditor", "personal_id": FATHER})
    assert oidc_sign_in(client, "claims-and-id").status_code == 302
    assert session_of(app, "claims-and-id").role == "citizen"


# -- revoked or changed: the session ends at its next request -----------------------------------


def test_revocation_ends_the_session_at_the_next_request(app: Any, client: Any,
                                                         oidc_provider: OidcProvider) -> None:
    oidc_provider.set_user("cb-revoked", {"name": "Sắp bị thu hồi"})
    grant(app, "cb-revoked", "officer", AGENCY)
    oidc_sign_in(client, "cb-revoked")
    assert client.get("/staff-probe/officer").status_code == 200
    revoke(app, "cb-revoked")
    answer = client.get("/staff-probe/officer")
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query == {"next": ["/staff-probe/officer"], "reason": ["role"]}
    assert "Vai trò của bạn đã thay đổi" in client.get(
        answer.headers["Location"]).get_data(as_text=True)
    assert signed_in_name(client) is None
    assert not [r for r in open_sessions(app) if r.subject == "cb-revoked"]  # ended
    # signing in again: no role any more
    assert oidc_sign_in(client, "cb-revoked").status_code == 403


@pytest.mark.parametrize(("role", "agency"), [("officer", "UBND-XA-00005"), ("auditor", None)])
def test_a_changed_role_or_agency_ends_the_session(app: Any, client: Any,
                                                   oidc_provider: OidcProvider, role: str,
                                                   agency: str | None) -> None:
    subject = f"cb-changed-{role}"
    oidc_provider.set_user(subject, {"name": "Đổi vai trò"})
    grant(app, subject, "officer", AGENCY)
    oidc_sign_in(client, subject)
    assert client.get("/staff-probe/any").status_code == 200
    grant(app, subject, "officer", AGENCY, name="Tên mới")  # a new name only: still signed in
    assert client.get("/staff-probe/any").status_code == 200
    grant(app, subject, role, agency)
    assert client.get("/staff-probe/any").status_code == 302
    assert signed_in_name(client) is None
    # signed in again: the new role
    oidc_sign_in(client, subject)
    assert probe_text(client) == f"role={role} agency={agency} pid=None"


@pytest.mark.parametrize(("person", "home"), [
    ("officer", "/office"), ("designer", "/design"), ("auditor", "/audit/access"),
    ("citizen_father", "/")])
def test_staff_signing_in_from_the_home_page_land_on_their_own_pages(
        client: Any, oidc_provider: OidcProvider, app: Any, person: str, home: str) -> None:
    """From the header's sign-in link (next: the home page), staff go to their own pages,
    not the citizens' home; elsewhere, back where they were going."""
    assert sign_in(client, person, "/").headers["Location"] == home
    assert sign_in(client, person, "/verify").headers["Location"] == "/verify"
    oidc_provider.set_user("cb-home", {"name": "Trần Văn Bình"})
    grant(app, "cb-home", "auditor", None)
    assert oidc_sign_in(client, "cb-home", "/").headers["Location"] == "/audit/access"


def test_the_development_sign_in_is_not_governed_by_mappings(app: Any, client: Any) -> None:
    sign_in(client, "officer")
    for _ in range(3):
        assert probe_text(client, "/staff-probe/officer").startswith("role=officer agency=UBND")
    assert client.post("/sign-out", data={"csrf_token": csrf_of(
        client.get("/").get_data(as_text=True))}).status_code == 302


# -- roles from claims, when configured ---------------------------------------------------------


@pytest.fixture(scope="module")
def claims_app(tmp_path_factory: pytest.TempPathFactory, oidc_provider: OidcProvider) -> Any:
    data_dir = tmp_path_factory.mktemp("claims")
    application = make_app(f"sqlite:///{data_dir / 'tokhai.db'}", data_dir,
                           **_oidc(oidc_provider, oidc_role_claim="tokhai_role",
                                   oidc_agency_claim="tokhai_agency"))
    application.register_blueprint(probe)
    return application


@pytest.mark.parametrize(("claims", "expected"), [
    ({"tokhai_role": "officer", "tokhai_agency": "UBND-XA-00005"},
     "role=officer agency=UBND-XA-00005 pid=None"),
    ({"tokhai_role": ["designer", "something-else"]}, "role=designer agency=None pid=None"),
    ({"tokhai_role": "auditor", "tokhai_agency": "UBND-XA-00005"},
     "role=auditor agency=None pid=None"),
    # an officer without a valid agency, an unknown role, two roles: not staff
    ({"tokhai_role": "officer", "personal_id": FATHER}, f"role=citizen agency=None pid={FATHER}"),
    ({"tokhai_role": "officer", "tokhai_agency": "UBND 5"}, None),
    ({"tokhai_role": "admin"}, None),
    ({"tokhai_role": ["auditor", "designer"]}, None),
    ({"tokhai_role": "citizen", "personal_id": FATHER}, f"role=citizen agency=None pid={FATHER}"),
])
def test_role_claims_when_configured(claims_app: Any, oidc_provider: OidcProvider,
                                     claims: dict[str, Any], expected: str | None,
                                     caplog: pytest.LogCaptureFixture) -> None:
    client = claims_app.test_client()
    subject = "claimed-" + str(abs(hash(repr(claims))))
    oidc_provider.set_user(subject, claims)
    with caplog.at_level(logging.INFO):
        answer = oidc_sign_in(client, subject)
    if expected is None:
        assert answer.status_code == 403
        assert signed_in_name(client) is None
        return
    assert answer.status_code == 302
    assert probe_text(client) == expected
    if "role=citizen" not in expected:
        [record] = [r for r in caplog.records if r.getMessage() == "signed in"]
        assert record.via == "claim"  # type: ignore[attr-defined]


def test_a_mapping_wins_over_the_claims(claims_app: Any, oidc_provider: OidcProvider) -> None:
    oidc_provider.set_user("claimed-and-mapped", {"tokhai_role": "officer",
                                                  "tokhai_agency": "UBND-XA-00005"})
    grant(claims_app, "claimed-and-mapped", "auditor")
    client = claims_app.test_client()
    oidc_sign_in(client, "claimed-and-mapped")
    assert probe_text(client) == "role=auditor agency=None pid=None"


def test_a_claimed_role_lasts_as_its_session(claims_app: Any,
                                             oidc_provider: OidcProvider) -> None:
    """No mapping to revoke: the session is not ended for want of one; a mapping granted
    since that gives another role ends it (the mapping wins at the next sign-in too)."""
    oidc_provider.set_user("claimed-lasting", {"tokhai_role": "designer"})
    client = claims_app.test_client()
    oidc_sign_in(client, "claimed-lasting")
    for _ in range(2):
        assert probe_text(client) == "role=designer agency=None pid=None"
    grant(claims_app, "claimed-lasting", "auditor")
    assert client.get("/staff-probe/any").status_code == 302


# -- in a browser -------------------------------------------------------------------------------


def provider_sign_in_page(page: Any, sub: str) -> None:
    """Sign in through the provider in the browser as ``sub``, typed at the provider (users
    added with ``set_user`` have no button of their own there)."""
    page.goto("/sign-in")
    page.get_by_role("button", name="Đăng nhập bằng tài khoản định danh điện tử").click()
    page.locator("input[name=sub]").fill(sub)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_load_state()


def test_browser_no_role_page_and_a_mapped_officer(page: Any, live: Any, live_app: Any,
                                                   oidc_provider: OidcProvider) -> None:
    """The no-role page, with a long subject, is accessible and fits at 360 px; the same person
    once mapped signs in as an officer."""
    subject = "cb-" + "0123456789abcdef" * 4
    oidc_provider.set_user(subject, {"name": "Cán bộ Nguyễn Thị Mai"})
    provider_sign_in_page(page, subject)
    assert page.get_by_role("heading", level=1).inner_text() == "Chưa có quyền sử dụng"
    assert subject in page.locator("code.hash").inner_text()
    check_page(page, "staff-no-role")
    grant(live_app, subject, "officer", AGENCY)
    provider_sign_in_page(page, subject)
    assert "Cán bộ Nguyễn Thị Mai" in page.content()
    if "office.queue" in live_app.view_functions:  # the officer's link in the header
        assert page.locator("header").get_by_role("link", name="Hồ sơ cần xử lý").count() == 1
    check_page(page, "staff-signed-in-officer")

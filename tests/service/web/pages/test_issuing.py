"""Issuing a result from the pages (issue #15, point 4): the preview is the unsigned rendering
shown as page images with its values as text; "sign and issue" is the API's operation on the
officer's session (a signed PDF that verifies, the dossier in result_ready); a stale page or a
second press issues nothing more; a failure of the key or of the time-stamping authority is
said in words and leaves the dossier, its events and its documents as they were; only an
officer of the dossier's agency gets any of it; every form needs its CSRF token."""

from __future__ import annotations

import io
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import SigningError
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from sqlalchemy import func, select

from service.records.demo import DEMO_AGENCY
from storage.db import normalise_url
from storage.models import AccessLog, Dossier, DossierDocument, DossierEvent
from tests import pki
from tests.conftest import (
    BACKENDS,
    DEMO_FATHER,
    _fresh_postgres,
    _token,
    citizen_headers,
    file_and_process,
    valid_submission,
)
from tests.service.web.pages.conftest import csrf_of, page_app, sign_in

FORM = "to-khai-dang-ky-khai-sinh"
OTHER_AGENCY = "UBND-XA-00005"


@pytest.fixture(scope="module", params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        test_pki: pki.TestPki) -> Iterator[Any]:
    """The pages with the demo records; the development officer's agency has a key."""
    data_dir = tmp_path_factory.mktemp("issuing")
    config = pki.demo_agency_config(test_pki, name="issuing.yaml")
    if request.param == "sqlite":
        yield page_app(f"sqlite:///{data_dir / 'tokhai.db'}", data_dir, signing_config=config)
        return
    for url in _fresh_postgres(normalise_url(os.environ["TOKHAI_TEST_DATABASE_URL"])):
        application = page_app(url, data_dir, signing_config=config)
        yield application
        application.extensions["tokhai"].engine.dispose()


def clerk(app: Any, agency: str = DEMO_AGENCY) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'officer', agency_code=agency)}"}


def in_processing(app: Any, agency: str = DEMO_AGENCY) -> str:
    """A dossier of the demo father, filed, accepted and in processing at ``agency``."""
    api = app.test_client()
    father = citizen_headers(app, DEMO_FATHER)
    code, _ = file_and_process(api, father, clerk(app, agency), FORM,
                               valid_submission(api, app, FORM), agency)
    return code


def officer_client(app: Any) -> Any:
    client = app.test_client()
    sign_in(client, "officer")
    return client


def state(app: Any, code: str) -> tuple[str, int, int, int]:
    """The dossier's status and version, its events and its documents (counted)."""
    with app.extensions["tokhai"].sessions() as session:
        d = session.scalar(select(Dossier).where(Dossier.code == code))
        assert d is not None
        events = session.scalar(select(func.count()).select_from(DossierEvent)
                                .where(DossierEvent.dossier_id == d.id))
        docs = session.scalar(select(func.count()).select_from(DossierDocument)
                              .where(DossierDocument.dossier_id == d.id))
        return d.status, d.row_version, int(events or 0), int(docs or 0)


def press_issue(client: Any, code: str, preview_html: str | None = None, **form: str) -> Any:
    """Press "Ký số và ban hành" on the preview page (read now unless given)."""
    html = preview_html or client.get(f"/office/dossiers/{code}/result/preview").get_data(
        as_text=True)
    version = form.pop("version", None)
    if version is None:
        found = html.split('name="version" value="', 1)
        assert len(found) == 2, html[:2000]
        version = found[1].split('"', 1)[0]
    return client.post(f"/office/dossiers/{code}/result", data={
        "csrf_token": csrf_of(html), "version": version, **form})


def trusted_context(test_pki: pki.TestPki) -> ValidationContext:
    from pyhanko.sign.general import load_cert_from_pemder

    root, interm = (load_cert_from_pemder(str(test_pki.cert_file(label)))
                    for label in ("root", "interm"))
    return ValidationContext(trust_roots=[root], other_certs=[interm], allow_fetching=False,
                             revocation_mode="soft-fail")


# -- the preview ------------------------------------------------------------------------------


def test_the_preview_shows_the_unsigned_rendering_as_pages_and_text(app) -> None:
    code = in_processing(app)
    client = officer_client(app)
    page = client.get(f"/office/dossiers/{code}/result/preview")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html[:3000]
    assert "Xem trước kết quả" in html and "Trích lục khai sinh".upper() in html.upper()
    assert "Nguyễn Văn An" in html  # the citizen's name, in the text alternative
    assert f'action="/office/dossiers/{code}/result"' in html
    assert "Ký số và ban hành" in html
    image_url = f"/office/dossiers/{code}/result/preview/1.png"
    assert image_url in html and 'alt="Trang 1/1' in html
    image = client.get(image_url)
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert "no-store" in image.headers["Cache-Control"]
    picture = Image.open(io.BytesIO(image.data)).convert("L")
    assert picture.size == (794, 1123)
    histogram = picture.histogram()
    assert sum(histogram[:60]) > 0 and sum(histogram[241:]) > 0  # ink on paper, not blank
    dark = sum(picture.histogram()[:128])
    assert dark > 2000
    assert client.get(f"/office/dossiers/{code}/result/preview/2.png").status_code == 404
    assert client.get(f"/office/dossiers/{code}/result/preview/99.png").status_code == 404
    # a preview writes nothing: no number reserved, no event, no document
    assert state(app, code)[0] == "in_processing" and state(app, code)[3] == 0


def test_a_dossier_not_in_processing_says_why_it_cannot_be_issued(app) -> None:
    api = app.test_client()
    father = citizen_headers(app, DEMO_FATHER)
    filed = api.post("/api/v1/dossiers", headers=father, json={
        "form_id": FORM, "version": 1, "agency_code": DEMO_AGENCY,
        "data": valid_submission(api, app, FORM)})
    code = filed.get_json()["code"]
    client = officer_client(app)
    page = client.get(f"/office/dossiers/{code}/result/preview")
    html = page.get_data(as_text=True)
    assert page.status_code == 409
    assert "Chưa thể ban hành kết quả" in html and "chỉ hồ sơ đang xử lý" in html
    assert client.get(f"/office/dossiers/{code}/result/preview/1.png").status_code == 409


# -- issuing ----------------------------------------------------------------------------------


def test_issuing_from_the_page_signs_a_result_that_verifies(app, test_pki) -> None:
    code = in_processing(app)
    client = officer_client(app)
    before = state(app, code)
    issued = press_issue(client, code)
    assert issued.status_code == 303, issued.get_data(as_text=True)[:3000]
    assert issued.headers["Location"].endswith(f"/office/dossiers/{code}/result")
    status, version, events, docs = state(app, code)
    assert status == "result_ready" and docs == 1 and events == before[2] + 1
    page = client.get(f"/office/dossiers/{code}/result")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Đã ban hành kết quả" in html
    assert 'data-verdict="valid"' in html  # the public report, for the bytes issued
    # one page, one h1: the report's headings sit under the page's own
    assert html.count("<h1") == 1 and '<h3 class="verdict__title">' in html
    assert "B-LT" in html and f"/office/dossiers/{code}/result.pdf" in html
    pdf = client.get(f"/office/dossiers/{code}/result.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "no-store" in pdf.headers["Cache-Control"]
    # the citizen's download through the API: the same bytes
    father = citizen_headers(app, DEMO_FATHER)
    api_pdf = app.test_client().get(f"/api/v1/dossiers/{code}/result", headers=father)
    assert api_pdf.data == pdf.data
    # pyHanko's own validation: intact, valid, trusted, timestamped
    reader = PdfFileReader(io.BytesIO(pdf.data))
    (sig,) = reader.embedded_regular_signatures
    checked = validate_pdf_signature(sig, trusted_context(test_pki))
    assert checked.intact and checked.valid and checked.trusted, checked.pretty_print_details()
    assert checked.timestamp_validity is not None
    # the officer's download is in the access log, as the API writes it
    with app.extensions["tokhai"].sessions() as session:
        rows = session.execute(select(AccessLog.role, AccessLog.outcome, AccessLog.reason)
                               .where(AccessLog.action == "download",
                                      AccessLog.reason == f"result of dossier {code}")).all()
    assert ("officer", "allowed", f"result of dossier {code}") in rows
    assert ("citizen", "allowed", f"result of dossier {code}") in rows


def test_a_second_press_and_a_stale_page_issue_nothing_more(app) -> None:
    code = in_processing(app)
    client = officer_client(app)
    preview_html = client.get(f"/office/dossiers/{code}/result/preview").get_data(as_text=True)
    assert press_issue(client, code, preview_html).status_code == 303
    issued = state(app, code)
    again = press_issue(client, code, preview_html)  # the same page, pressed again
    assert again.status_code == 303 and "already=1" in again.headers["Location"]
    shown = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "Kết quả đã được ban hành trước đó" in shown
    assert state(app, code) == issued  # one document, one event
    # the preview of an issued dossier leads to its result
    assert client.get(f"/office/dossiers/{code}/result/preview").status_code == 302

    # a page read before another officer changed the dossier
    other = in_processing(app)
    stale_html = client.get(f"/office/dossiers/{other}/result/preview").get_data(as_text=True)
    version = stale_html.split('name="version" value="', 1)[1].split('"', 1)[0]
    before = state(app, other)
    refused = press_issue(client, other, stale_html, version=str(int(version) - 1))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409, html[:2000]
    assert "Hồ sơ đã được người khác cập nhật sau khi bạn mở trang này" in html
    assert "hồ sơ giữ nguyên trạng thái" in html
    assert state(app, other) == before
    # the page shown again carries the current version: pressing it now issues
    assert press_issue(client, other, html).status_code == 303
    assert state(app, other)[0] == "result_ready"


def _closed_port() -> tuple[socket.socket, str]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    return server, f"http://127.0.0.1:{server.getsockname()[1]}/tsa"


def test_a_timestamp_authority_that_is_down_leaves_the_dossier_unchanged(
        test_pki, tmp_path) -> None:
    server, url = _closed_port()
    config = pki.demo_agency_config(test_pki, name="issuing-tsa-down.yaml", tsa_url=url)
    down = page_app(f"sqlite:///{tmp_path / 'down.db'}", tmp_path, signing_config=config)
    code = in_processing(down)
    client = officer_client(down)
    before = state(down, code)
    refused = press_issue(client, code)
    server.close()
    html = refused.get_data(as_text=True)
    assert refused.status_code == 503, html[:2000]
    assert 'data-failure="timestamp_unavailable"' in html
    assert "tổ chức cấp dấu thời gian không trả lời" in html
    assert "hồ sơ giữ nguyên trạng thái" in html and "Hãy thử lại sau ít phút" in html
    assert "Traceback" not in html and '"code"' not in html
    assert state(down, code) == before


def test_a_key_that_fails_leaves_the_dossier_unchanged(app, monkeypatch) -> None:
    """The agency's key fails when it signs (a token pulled out, a key the device refuses):
    said in words, nothing issued, and once the key works again the same page issues."""
    code = in_processing(app)
    client = officer_client(app)
    agency = app.extensions["tokhai"].signing.agency(DEMO_AGENCY)
    before = state(app, code)

    async def unplugged(*args: Any, **kwargs: Any) -> bytes:
        raise SigningError("the token is not present")

    monkeypatch.setattr(agency.signer, "async_sign_raw", unplugged)
    refused = press_issue(client, code)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 503, html[:2000]
    assert 'data-failure="signing_failed"' in html
    assert "thiết bị ký số" in html and "hồ sơ giữ nguyên trạng thái" in html
    assert state(app, code) == before
    monkeypatch.undo()
    assert press_issue(client, code, html).status_code == 303
    assert state(app, code)[0] == "result_ready"


def test_a_pkcs11_error_of_the_token_is_said_in_words(app, monkeypatch) -> None:
    """A PKCS#11 token's own error (python-pkcs11 raises it, not pyHanko's SigningError)."""
    from pkcs11.exceptions import TokenNotPresent

    code = in_processing(app)
    client = officer_client(app)
    agency = app.extensions["tokhai"].signing.agency(DEMO_AGENCY)
    before = state(app, code)

    async def pulled_out(*args: Any, **kwargs: Any) -> bytes:
        raise TokenNotPresent()

    monkeypatch.setattr(agency.signer, "async_sign_raw", pulled_out)
    refused = press_issue(client, code)
    assert refused.status_code == 503, refused.get_data(as_text=True)[:2000]
    assert 'data-failure="signing_failed"' in refused.get_data(as_text=True)
    assert state(app, code) == before


# -- who may --------------------------------------------------------------------------------


def test_only_an_officer_of_the_agency_previews_issues_and_downloads(app) -> None:
    code = in_processing(app)
    paths = [f"/office/dossiers/{code}/result/preview",
             f"/office/dossiers/{code}/result/preview/1.png",
             f"/office/dossiers/{code}/result", f"/office/dossiers/{code}/result.pdf"]
    stranger = app.test_client()
    for path in paths:
        assert stranger.get(path).status_code == 302  # to the sign-in page
    for person in ("citizen_father", "designer"):
        client = app.test_client()
        sign_in(client, person)
        for path in paths:
            assert client.get(path).status_code == 403, (person, path)
        form = client.get("/sign-in").get_data(as_text=True)
        posted = client.post(f"/office/dossiers/{code}/result",
                             data={"csrf_token": csrf_of(form), "version": "1"})
        assert posted.status_code == 403
    # an officer of another agency: the dossier does not exist for them
    other = in_processing(app, OTHER_AGENCY)
    client = officer_client(app)
    for path in (f"/office/dossiers/{other}/result/preview",
                 f"/office/dossiers/{other}/result/preview/1.png",
                 f"/office/dossiers/{other}/result.pdf"):
        assert client.get(path).status_code == 404, path
    form = client.get(f"/office/dossiers/{code}/result/preview").get_data(as_text=True)
    posted = client.post(f"/office/dossiers/{other}/result",
                         data={"csrf_token": csrf_of(form), "version": "3"})
    assert posted.status_code == 404
    assert state(app, other)[0] == "in_processing" and state(app, code)[3] == 0


def test_issuing_needs_the_csrf_token(app) -> None:
    code = in_processing(app)
    client = officer_client(app)
    html = client.get(f"/office/dossiers/{code}/result/preview").get_data(as_text=True)
    version = html.split('name="version" value="', 1)[1].split('"', 1)[0]
    refused = client.post(f"/office/dossiers/{code}/result", data={"version": version})
    assert refused.status_code == 400
    forged = client.post(f"/office/dossiers/{code}/result",
                         data={"version": version, "csrf_token": "forged"})
    assert forged.status_code == 400
    assert state(app, code)[0] == "in_processing" and state(app, code)[3] == 0

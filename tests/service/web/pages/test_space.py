"""The citizen's space (#14, point 5): my dossiers (status, deadlines, history in words, what
the officer asked for), my documents (download, the same bytes as issued; consents made and
revoked by the page, seen by the API and by the agency), who accessed my documents (the
access log in words), and my address for notifications. The dossiers are filed and processed
through the API, the pages are read as the signed-in citizen (the development sign-in)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from service.dossiers import lifecycle
from service.worktime import VIETNAM
from storage.models import Contact, DossierDocument
from tests.conftest import (
    DEMO_FATHER,
    _token,
    citizen_headers,
    file_and_process,
    valid_submission,
)
from tests.service.web.pages.conftest import csrf_of, sign_in

FORM = "to-khai-dang-ky-khai-sinh"
AGENCY = "UBND-XA-00004"
OTHER_AGENCY = "UBND-XA-00005"


def officer(app: Any, agency: str = AGENCY) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'officer', agency_code=agency)}"}


def text_of(answer: Any) -> str:
    """The page's text, tags removed and spaces collapsed."""
    html = answer.get_data(as_text=True)
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split()).replace(" :", ":")


def act(client: Any, app: Any, code: str, action: str, reason: str | None = None,
        agency: str = AGENCY) -> None:
    current = client.get(f"/api/v1/dossiers/{code}", headers=officer(app, agency))
    body: dict[str, Any] = {"action": action}
    if reason:
        body["reason"] = reason
    moved = client.post(f"/api/v1/dossiers/{code}/actions", json=body,
                        headers={**officer(app, agency), "If-Match": current.headers["ETag"]})
    assert moved.status_code == 200, moved.get_json()


def issue(client: Any, app: Any, code: str, etag: str) -> dict[str, Any]:
    issued = client.post(f"/api/v1/dossiers/{code}/result", json={},
                         headers={**officer(app), "If-Match": etag})
    assert issued.status_code == 201, issued.get_json()
    return issued.get_json()


@pytest.fixture(scope="module")
def filed(pages: Any) -> dict[str, Any]:
    """The demo father's dossiers: one with its signed result, one waiting for a supplement,
    one just filed (the newest)."""
    api = pages.test_client()
    father = citizen_headers(pages, DEMO_FATHER)
    data = valid_submission(api, pages, FORM)
    done, etag = file_and_process(api, father, officer(pages), FORM, data, AGENCY)
    document = issue(api, pages, done, etag)
    waiting, _ = file_and_process(api, father, officer(pages), FORM, data, AGENCY)
    act(api, pages, waiting, "request_supplement",
        "Bổ sung bản chụp giấy chứng sinh do bệnh viện cấp")
    fresh = api.post("/api/v1/dossiers", headers=father, json={
        "form_id": FORM, "version": 1, "agency_code": OTHER_AGENCY, "data": data})
    assert fresh.status_code == 201, fresh.get_json()
    return {"done": done, "waiting": waiting, "fresh": fresh.get_json()["code"],
            "document": document, "data": data}


@pytest.fixture
def father_client(pages: Any) -> Any:
    client = pages.test_client()
    sign_in(client, "citizen_father")
    return client


def test_my_dossiers_newest_first_with_status_and_deadline(father_client, filed):
    answer = father_client.get("/my/dossiers")
    assert answer.status_code == 200
    text = text_of(answer)
    assert "Hồ sơ của tôi" in text
    positions = [text.index(filed[k]) for k in ("fresh", "waiting", "done")]
    assert positions == sorted(positions)  # newest first
    assert "Đã nộp, chờ tiếp nhận" in text and "Hạn tiếp nhận" in text
    assert "Yêu cầu bổ sung" in text and "Đang chờ bạn bổ sung" in text
    assert "Đã có kết quả" in text
    assert "Trễ hạn" not in text
    # paged: a page past the last shows nothing of the first
    assert filed["done"] not in text_of(father_client.get("/my/dossiers?page=99"))


def test_a_late_dossier_is_marked(pages, filed, monkeypatch):
    later = datetime.now(UTC) + timedelta(days=30)
    monkeypatch.setattr(lifecycle, "clock", lambda: later)
    father_client = pages.test_client()
    sign_in(father_client, "citizen_father")
    text = text_of(father_client.get("/my/dossiers"))
    assert "Trễ hạn" in text
    detail = text_of(father_client.get(f"/my/dossiers/{filed['fresh']}"))
    assert "Trễ hạn" in detail and "tiếp nhận muộn hơn hạn" in detail


def test_a_dossier_its_history_in_words_and_the_supplement_asked_for(father_client, filed):
    answer = father_client.get(f"/my/dossiers/{filed['waiting']}")
    assert answer.status_code == 200
    text = text_of(answer)
    assert "Cơ quan yêu cầu bạn bổ sung hồ sơ" in text
    assert "Bổ sung bản chụp giấy chứng sinh do bệnh viện cấp" in text
    assert "Cán bộ tiếp nhận: Tiếp nhận hồ sơ" in text
    assert "Cán bộ xử lý: Bắt đầu xử lý hồ sơ" in text
    assert "Cán bộ xử lý: Yêu cầu bổ sung hồ sơ" in text
    assert "Bạn: Nộp hồ sơ trực tuyến" in text
    assert "officer:" not in text and "citizen:" not in text  # no internal actor strings
    # newest first: the request, then the start of processing, then the filing
    assert text.index("Yêu cầu bổ sung hồ sơ Lý do") < text.index("Bắt đầu xử lý") \
        < text.index("Nộp hồ sơ trực tuyến")
    assert "Hạn trả kết quả" in text


def test_another_citizens_dossier_is_a_404_page(pages, filed):
    daughter = pages.test_client()
    sign_in(daughter, "citizen_daughter")
    for code in (filed["waiting"], "KHONG-CO-HO-SO-NAY"):
        answer = daughter.get(f"/my/dossiers/{code}")
        assert answer.status_code == 404
        assert answer.mimetype == "text/html"
        assert "Không tìm thấy trang" in text_of(answer)
    assert daughter.get(f"/my/dossiers/{filed['done']}/result").status_code == 404
    assert filed["waiting"] not in text_of(daughter.get("/my/dossiers"))


def test_strangers_sign_in_first_and_officers_are_refused(pages):
    stranger = pages.test_client()
    for path in ("/my/dossiers", "/my/documents", "/my/access", "/my/contact"):
        answer = stranger.get(path)
        assert answer.status_code == 302 and "/sign-in" in answer.headers["Location"]
    clerk = pages.test_client()
    sign_in(clerk, "officer")
    assert clerk.get("/my/dossiers").status_code == 403


def test_the_result_downloads_as_issued_and_is_logged(pages, father_client, filed):
    code = filed["done"]
    detail = father_client.get(f"/my/dossiers/{code}")
    text = text_of(detail)
    assert "Tải kết quả (PDF)" in text and filed["document"]["number"] in text
    assert f'href="/my/dossiers/{code}/result"' in detail.get_data(as_text=True)
    answer = father_client.get(f"/my/dossiers/{code}/result")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert answer.headers["Cache-Control"] == "no-store"
    with pages.extensions["tokhai"].sessions() as s:
        issued = s.scalar(select(DossierDocument).where(
            DossierDocument.document_id == filed["document"]["document_id"]))
        assert issued is not None
        content = issued.content
    assert answer.data == content
    api = pages.test_client().get(f"/api/v1/dossiers/{code}/result",
                                  headers=citizen_headers(pages, DEMO_FATHER))
    assert api.data == answer.data


def test_my_documents_download_and_access_log_in_words(pages, father_client, filed):
    document_id = filed["document"]["document_id"]
    listing = father_client.get("/my/documents")
    assert listing.status_code == 200
    text = text_of(listing)
    assert document_id in text and filed["document"]["number"] in text
    html = listing.get_data(as_text=True)
    assert f"/my/documents/{document_id}/content" in html
    if "public.verify_document" in pages.view_functions:
        assert f"/verify/{document_id}" in html
    answer = father_client.get(f"/my/documents/{document_id}/content")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    with pages.extensions["tokhai"].sessions() as s:
        assert answer.data == s.scalar(select(DossierDocument.content).where(
            DossierDocument.document_id == document_id))
    # another citizen: the same 404 as an unknown id, both logged
    daughter = pages.test_client()
    sign_in(daughter, "citizen_daughter")
    assert daughter.get(f"/my/documents/{document_id}/content").status_code == 404
    assert father_client.get("/my/documents/not-a-document/content").status_code == 404

    # others' accesses: an agency refused without consent, anyone verifying by id
    api = pages.test_client()
    refused = api.get(f"/api/v1/repository/documents/{document_id}/content",
                      headers=officer(pages, OTHER_AGENCY))
    assert refused.status_code == 404
    assert api.get(f"/api/v1/documents/{document_id}/verification").status_code == 200

    access = father_client.get("/my/access")
    assert access.status_code == 200
    words = text_of(access)
    agency_name = pages.extensions["tokhai"].signing.config.agencies[OTHER_AGENCY].name
    assert "Bạn đã tải về" in words
    assert f"Cán bộ của {agency_name} đã đề nghị tải về" in words and "Bị từ chối" in words
    assert "Một người không đăng nhập đã xác thực" in words
    assert "Bạn đã xem danh sách giấy tờ của bạn" in words
    assert DEMO_FATHER not in words and "officer:" not in words
    # the daughter's access page names nothing of the father's
    assert document_id not in text_of(daughter.get("/my/access"))


def test_consent_by_the_page_seen_by_the_api_and_revoked(pages, father_client, filed):
    document_id = filed["document"]["document_id"]
    with pages.extensions["tokhai"].sessions() as s:
        procedure = s.scalar(select(DossierDocument.procedure_code).where(
            DossierDocument.document_id == document_id))
    page = father_client.get("/my/documents")
    token = csrf_of(page.get_data(as_text=True))
    expires = (datetime.now(VIETNAM).date() + timedelta(days=10))

    # errors at each field, nothing stored
    empty = father_client.post("/my/consents", data={"csrf_token": token, "expires_on": "x"})
    assert empty.status_code == 422
    text = text_of(empty)
    assert "Có lỗi cần sửa" in text and "Hãy chọn cơ quan được xem." in text
    assert "Hãy nhập ngày hết hạn" in text
    assert 'href="#agency_code"' in empty.get_data(as_text=True)
    too_late = father_client.post("/my/consents", data={
        "csrf_token": token, "agency_code": OTHER_AGENCY, "purpose_kind": "procedure",
        "purpose": procedure, "document_id": "",
        "expires_on": (expires + timedelta(days=400)).isoformat()})
    assert too_late.status_code == 422
    assert "không quá một năm" in text_of(too_late)
    unknown = father_client.post("/my/consents", data={
        "csrf_token": token, "agency_code": OTHER_AGENCY, "purpose_kind": "dossier",
        "purpose": filed["done"], "document_id": "", "expires_on": expires.isoformat()})
    assert unknown.status_code == 422  # a dossier the agency does not hold
    assert "Cơ quan đã chọn không có hồ sơ mang mã này." in text_of(unknown)
    api_father = citizen_headers(pages, DEMO_FATHER)
    api = pages.test_client()
    assert api.get("/api/v1/consents", headers=api_father).get_json() == []
    # without the CSRF token: refused, nothing stored
    assert father_client.post("/my/consents", data={
        "agency_code": OTHER_AGENCY}).status_code == 400

    # the agency holds a dossier of the procedure (the fresh one): the consent is for it
    granted = father_client.post("/my/consents", data={
        "csrf_token": token, "agency_code": OTHER_AGENCY, "purpose_kind": "dossier",
        "purpose": filed["fresh"], "document_id": document_id,
        "expires_on": expires.strftime("%d/%m/%Y")})
    assert granted.status_code == 302, text_of(granted)[:500]
    consents = api.get("/api/v1/consents", headers=api_father).get_json()
    assert len(consents) == 1 and consents[0]["active"]
    consent = consents[0]
    assert (consent["agency_code"], consent["purpose_kind"], consent["purpose"],
            consent["document_id"]) == (OTHER_AGENCY, "dossier", filed["fresh"], document_id)
    assert datetime.fromisoformat(consent["expires_at"]).astimezone(VIETNAM).date() == expires
    listed = text_of(father_client.get("/my/documents?done=granted"))
    assert "Đã ghi nhận sự đồng ý của bạn." in listed and "Còn hiệu lực" in listed
    # the agency reads the document for that purpose
    purpose = f"dossier:{filed['fresh']}"
    read = api.get(f"/api/v1/repository/documents/{document_id}/content?purpose={purpose}",
                   headers=officer(pages, OTHER_AGENCY))
    assert read.status_code == 200

    # another citizen cannot revoke it; the owner can
    daughter = pages.test_client()
    sign_in(daughter, "citizen_daughter")
    theirs = daughter.get("/my/documents")
    assert daughter.post(f"/my/consents/{consent['id']}/revoke", data={
        "csrf_token": csrf_of(theirs.get_data(as_text=True))}).status_code == 404
    revoked = father_client.post(f"/my/consents/{consent['id']}/revoke",
                                 data={"csrf_token": token})
    assert revoked.status_code == 302
    after = api.get("/api/v1/consents", headers=api_father).get_json()
    assert after[0]["revoked_at"] is not None and not after[0]["active"]
    assert "Đã thu hồi" in text_of(father_client.get("/my/documents"))
    assert api.get(f"/api/v1/repository/documents/{document_id}/content?purpose={purpose}",
                   headers=officer(pages, OTHER_AGENCY)).status_code == 404
    # the access page tells the agency's read, for the purpose, and the refusal after
    words = text_of(father_client.get("/my/access"))
    assert f"để giải quyết hồ sơ {filed['fresh']}" in words


def test_contact_saves_the_address_and_the_choice(pages, father_client):
    page = father_client.get("/my/contact")
    assert page.status_code == 200
    token = csrf_of(page.get_data(as_text=True))
    bad = father_client.post("/my/contact", data={"csrf_token": token, "email": "an@",
                                                  "notify": "on"})
    assert bad.status_code == 422
    text = text_of(bad)
    assert "Có lỗi cần sửa" in text and "đúng dạng" in text
    assert 'value="an@"' in bad.get_data(as_text=True)  # what was typed stays
    saved = father_client.post("/my/contact", data={"csrf_token": token,
                                                    "email": "an.nguyen@example.vn",
                                                    "notify": "on"})
    assert saved.status_code == 302
    again = father_client.get(saved.headers["Location"])
    assert "an.nguyen@example.vn" in text_of(again)
    assert 'value="an.nguyen@example.vn"' in again.get_data(as_text=True)
    with pages.extensions["tokhai"].sessions() as s:
        row = s.get(Contact, DEMO_FATHER)
        assert row is not None and (row.email, row.notify) == ("an.nguyen@example.vn", True)
    off = father_client.post("/my/contact", data={"csrf_token": token,
                                                  "email": "an.nguyen@example.vn"})
    assert off.status_code == 302
    assert "Bạn sẽ không nhận thông báo" in text_of(father_client.get("/my/contact?done=1"))
    with pages.extensions["tokhai"].sessions() as s:
        row = s.get(Contact, DEMO_FATHER)
        assert row is not None and row.notify is False


class FormFields(HTMLParser):
    """The fields a browser would post from a page's form with ``action``: (name, value,
    readonly) of inputs (checked ones for radios and check boxes), selects and text areas."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside = action, False
        self.fields: list[tuple[str, str, bool]] = []
        self._select: str | None = None
        self._textarea: tuple[str, bool] | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside or "name" not in a:
            if tag == "option" and self._select is not None and "selected" in a:
                self.fields.append((self._select, a.get("value", ""), False))
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("submit", "button", "file"):
                return
            if kind in ("radio", "checkbox") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value", ""), "readonly" in a))
        elif tag == "select":
            self._select = a["name"]
        elif tag == "textarea":
            self._textarea, self._text = (a["name"], "readonly" in a), ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea[0], self._text, self._textarea[1]))
            self._textarea = None


def form_fields(html: str, action: str) -> list[tuple[str, str, bool]]:
    parser = FormFields(action)
    parser.feed(html)
    return parser.fields


def test_the_supplement_sent_by_the_page(pages, father_client, filed):
    api = pages.test_client()
    code, _ = file_and_process(api, citizen_headers(pages, DEMO_FATHER), officer(pages), FORM,
                               filed["data"], AGENCY)
    act(api, pages, code, "request_supplement",
        "Bổ sung bản chụp giấy chứng sinh do bệnh viện cấp")
    detail = father_client.get(f"/my/dossiers/{code}")
    assert f'href="/my/dossiers/{code}/supplement"' in detail.get_data(as_text=True)
    page = father_client.get(f"/my/dossiers/{code}/supplement")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    text = text_of(page)
    assert "Bổ sung bản chụp giấy chứng sinh do bệnh viện cấp" in text
    action = f"/my/dossiers/{code}/supplement"
    fields = form_fields(html, action)
    assert "Đã xác thực" in text  # verified values: shown, locked, never posted
    typed = [(n, v) for n, v, readonly in fields if not readonly and n.startswith("/") and v]
    assert typed, "no value filed comes back in the form"

    # everything typed emptied: errors at the fields and in the summary, nothing sent
    emptied = [(n, "" if n.startswith("/") and not readonly else v)
               for n, v, readonly in fields]
    wrong = father_client.post(action, data=MultiDict(emptied + [("action", "send")]))
    assert wrong.status_code == 422
    assert "Có lỗi cần sửa" in text_of(wrong)
    status = pages.test_client().get(f"/api/v1/dossiers/{code}",
                                     headers=citizen_headers(pages, DEMO_FATHER)).get_json()
    assert status["status"] == "supplement_requested"

    # sent as filed (the officer asked for a scan: the data is already right)
    sent = father_client.post(action, data=MultiDict([(n, v) for n, v, _ in fields]
                                                     + [("action", "send")]))
    assert sent.status_code == 302, text_of(sent)[:800]
    status = pages.test_client().get(f"/api/v1/dossiers/{code}",
                                     headers=citizen_headers(pages, DEMO_FATHER)).get_json()
    assert status["status"] == "in_processing"
    after = text_of(father_client.get(sent.headers["Location"]))
    assert "Đã gửi phần bổ sung" in after and "Bạn: Gửi phần bổ sung" in after
    # no second supplement: the page goes back to the dossier
    assert father_client.get(action).status_code == 302


def test_the_space_in_english(pages, filed):
    client = pages.test_client()
    sign_in(client, "citizen_father")
    client.get("/language/en")
    text = text_of(client.get(f"/my/dossiers/{filed['done']}"))
    assert "The receiving officer: Received the dossier" in text
    assert "Download the result (PDF)" in text and "History" in text
    assert "Who has seen my documents" in text_of(client.get("/my/access"))
    assert "Letting an agency see your documents" in text_of(client.get("/my/documents"))
    assert "Notifications by e-mail" in text_of(client.get("/my/contact"))


def test_the_address_saved_on_the_page_gets_the_worker_s_email(pages, father_client, smtp,
                                                              monkeypatch):
    """From the page to the inbox: the address saved in the space, an officer's request for
    a supplement (nothing sent by the request), the worker's pass (sent to that address, with
    the link to the dossier's page, which opens for the signed-in citizen)."""
    import dataclasses

    page = father_client.get("/my/contact")
    saved = father_client.post("/my/contact", data={
        "csrf_token": csrf_of(page.get_data(as_text=True)), "email": "an.nguyen@example.vn",
        "notify": "on"})
    assert saved.status_code == 302
    api = pages.test_client()
    father = citizen_headers(pages, DEMO_FATHER)
    rt = pages.extensions["tokhai"]
    # the events so far are not this test's
    from service.dossiers import notifications

    with rt.sessions() as s:
        notifications.collect(s, 10000, public_url="http://x", now=datetime.now(UTC)
                              + timedelta(days=30))
    code, _ = file_and_process(api, father, officer(pages), FORM,
                               valid_submission(api, pages, FORM), AGENCY)
    act(api, pages, code, "request_supplement", "Thiếu bản chụp giấy chứng sinh")
    assert smtp.messages == []
    monkeypatch.setattr(rt, "settings", dataclasses.replace(
        rt.settings, smtp_server=smtp.server, public_url="https://dvc.example.vn"))
    done = pages.test_cli_runner().invoke(args=["worker", "--once"])
    assert "e-mails: sent 3" in done.output, done.output
    asked = [m for m in smtp.messages if "cần bổ sung" in str(m["Subject"])]
    assert len(asked) == 1 and asked[0]["To"] == "an.nguyen@example.vn"
    body = asked[0].get_content()
    assert "Thiếu bản chụp giấy chứng sinh" in body
    link = f"https://dvc.example.vn/my/dossiers/{code}"
    assert link in body
    opened = father_client.get(link.removeprefix("https://dvc.example.vn"))
    assert opened.status_code == 200 and "Thiếu bản chụp giấy chứng sinh" in text_of(opened)


def test_reads_of_my_data_are_in_my_access_log_in_words(pages, father_client) -> None:
    """Not only documents: a designer looking up how much of a form the citizen's records fill
    (a read of their data, with a purpose) is in their access log, in a sentence."""
    designer = {"Authorization": f"Bearer {_token(pages, 'designer')}"}
    looked = pages.test_client().get(
        f"/api/v1/forms/{FORM}/versions/1/trimming-report",
        query_string={"personal_id": DEMO_FATHER, "purpose": "kiểm tra mẫu"}, headers=designer)
    assert looked.status_code == 200, looked.get_json()
    page = text_of(father_client.get("/my/access"))
    assert "Người thiết kế biểu mẫu đã xem mức điền sẵn một tờ khai từ dữ liệu của bạn" in page
    assert "đã xem thông tin của  " not in page  # no sentence with a missing object


def test_an_officer_reading_my_registers_for_a_dossier_is_in_my_access_log(
        pages, father_client, filed) -> None:
    """An officer checking a dossier against what the registers hold for its citizen reads
    the citizen's data: written to the access log, shown on the citizen's page."""
    read = pages.test_client().get(f"/api/v1/dossiers/{filed['done']}/prefill",
                                   headers=officer(pages))
    assert read.status_code == 200, read.get_json()
    page = text_of(father_client.get("/my/access"))
    assert "đã đọc dữ liệu của bạn trong cơ sở dữ liệu để đối chiếu hồ sơ" in page
    assert f"hồ sơ {filed['done']}" in page


def test_staff_opening_my_dossier_page_is_in_my_access_log(pages, father_client,
                                                          filed) -> None:
    """The staff's dossier page (an officer's, or here an auditor's, read-only) reads the
    citizen's dossier (written as ``dossier_read``): the citizen reads it as a sentence naming
    the dossier, not an empty 'đã xem thông tin của'."""
    from tests.service.web.pages.conftest import sign_in

    staff = pages.test_client()
    sign_in(staff, "auditor")
    opened = staff.get(f"/office/dossiers/{filed['done']}")
    assert opened.status_code == 200
    page = text_of(father_client.get("/my/access"))
    assert "Kiểm toán viên đã mở hồ sơ của bạn" in page
    assert f"hồ sơ {filed['done']}" in page
    assert "đã xem thông tin của  " not in page

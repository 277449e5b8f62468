"""The citizen's e-form in the pages (issue #14, point 4; the bad input of its form): the
choice "use my data" before any register is read, the prefilled form with locked verified
values, field errors and the error summary, drafts resumed on another device, check your
answers, one dossier for a double submission, the confirmation, disputes of prefilled values
seen by the officer, an expired session, a post without its CSRF token, a forged form
version and fields that are not in the form."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from service.dossiers import lifecycle
from service.records import drafts
from service.records import prefill as pf
from storage.models import Dispute, Dossier, FormDraft, PrefillChoice
from tests.conftest import DEMO_FATHER, _token
from tests.service.dossiers.clock import Clock, vn
from tests.service.web.pages.conftest import csrf_of, sign_in

FORM = "to-khai-dang-ky-khai-sinh"
APPLY = f"/procedures/{FORM}/apply"
FILL = f"/procedures/{FORM}/v1/form"
CHECK = f"/procedures/{FORM}/v1/check"
SUBMIT = f"/procedures/{FORM}/v1/submit"
AGENCY = "UBND-XA-00004"
MOTHER = "Trần Thị Bình"  # the demo father's wife, in the population register
CHILD = "Nguyễn Bảo Ngọc"


class _Inputs(HTMLParser):
    """What a browser would post from the page's form holding the e-form: every input,
    select and text area with its current value (checked boxes only)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name", "")
        if tag == "input" and name and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((name, a.get("value", "")))
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.fields.append((self._select, a.get("value", "")))
        elif tag == "textarea":
            self._textarea, self._text = name, ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, self._text))
            self._textarea = None


def form_fields(page: str) -> dict[str, str]:
    """The e-form's fields as the page shows them (name -> value; the last one of a name),
    without the CSRF token."""
    start = page.index('action="' + FILL)
    parser = _Inputs()
    parser.feed(page[page.rindex("<form", 0, start):page.index("</form>", start)])
    return {k: v for k, v in parser.fields if k != "csrf_token"}


def the_child(**extra: str) -> dict[str, str]:
    """What the citizen types about the child and the last section."""
    typed = {
        "/nguoi_yeu_cau/quan_he": "cha",
        "/nguoi_duoc_khai_sinh/ho_ten": CHILD,
        "/nguoi_duoc_khai_sinh/ngay_sinh.day": "3",
        "/nguoi_duoc_khai_sinh/ngay_sinh.month": "11",
        "/nguoi_duoc_khai_sinh/ngay_sinh.year": "2026",
        "/nguoi_duoc_khai_sinh/gioi_tinh": "nu",
        "/nguoi_duoc_khai_sinh/dan_toc": "01",
        "/nguoi_duoc_khai_sinh/quoc_tich": "VN",
        "/nguoi_duoc_khai_sinh/noi_sinh.province": "01",
        "/nguoi_duoc_khai_sinh/noi_sinh.commune": "00004",
        "/nguoi_duoc_khai_sinh/noi_sinh.detail": "Bệnh viện Phụ sản Hà Nội",
        "/nguoi_duoc_khai_sinh/que_quan.province": "01",
        "/nguoi_duoc_khai_sinh/que_quan.commune": "00004",
        "/cam_doan/lam_tai": "Hà Nội",
        "/cam_doan/cam_doan": "true",
    }
    typed.update(extra)
    return typed


def post(client: Any, path: str, page: str, fields: dict[str, str], action: str = "continue"):
    return client.post(path, data={**fields, "action": action, "csrf_token": csrf_of(page)})


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def problems(response: Any) -> list[str]:
    """The error summary's lines (for a failing assertion's message)."""
    return re.findall(r'<a href="(#[^"]+)">([^<]+)', text(response))


@pytest.fixture
def app(pages):
    """The pages' app, the demo father starting afresh (no choice, draft or dispute)."""
    with pages.extensions["tokhai"].sessions() as s:
        for model in (Dispute, FormDraft, PrefillChoice):
            s.execute(delete(model).where(model.citizen_id == DEMO_FATHER))
        s.commit()
    return pages


@pytest.fixture
def client(app):
    c = app.test_client()
    sign_in(c, "citizen_father")
    return c


def last_dossier(app: Any) -> int:
    with app.extensions["tokhai"].sessions() as s:
        return s.scalar(select(func.max(Dossier.id))) or 0


def choose(client: Any, choice: str, agency: str = AGENCY):
    page = client.get(APPLY)
    assert page.status_code == 200
    answer = client.post(APPLY, data={"version": "1", "agency": agency, "choice": choice,
                                      "csrf_token": csrf_of(page.get_data(as_text=True))})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(FILL), answer
    return answer


def draft(app: Any) -> FormDraft | None:
    with app.extensions["tokhai"].sessions() as s:
        row = drafts.draft_of(s, DEMO_FATHER, FORM, 1)
        if row is not None:
            s.expunge(row)
        return row


def dossiers_of_father(app: Any, after: int = 0) -> list[Dossier]:
    """The demo father's dossiers of the form (those with an id above ``after``)."""
    with app.extensions["tokhai"].sessions() as s:
        rows = list(s.scalars(select(Dossier).where(
            Dossier.citizen_id == DEMO_FATHER, Dossier.form_id == FORM, Dossier.id > after)
            .order_by(Dossier.id)))
        for row in rows:
            s.expunge(row)
        return rows


# -- the whole path ---------------------------------------------------------------------------

def test_the_registers_are_named_before_any_is_read(app, client, monkeypatch) -> None:
    reads: list[Any] = []
    real = pf.Sources.fetch

    def fetch(self: pf.Sources, *args: Any, **kwargs: Any) -> Any:
        reads.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pf.Sources, "fetch", fetch)
    page = client.get(APPLY)
    assert page.status_code == 200
    body = text(page)
    # which registers would be read, for which fields, and the two choices
    assert "Cơ sở dữ liệu quốc gia về dân cư" in body
    assert "Cơ sở dữ liệu hộ tịch điện tử" in body
    assert "Họ, chữ đệm, tên người mẹ" in body and "vợ/chồng của người kê khai" in body
    assert "Số; Quyển số; đăng ký ngày; tại" in body  # the civil-status register's fields
    assert "Dùng dữ liệu của tôi" in body and "Tôi sẽ tự nhập tất cả" in body
    assert 'name="choice" value="use"' in body and 'name="choice" value="type"' in body
    assert MOTHER not in body and not reads, "a register was read before the choice"
    # typing everything: the form is empty, and still no register was read for it
    choose(client, "type")
    early = client.get(CHECK)  # nothing saved yet: the form first
    assert early.status_code == 302 and early.headers["Location"].endswith(FILL)
    form = text(client.get(FILL))
    assert not reads
    assert MOTHER not in form and "Nguyễn Văn An" not in form.split("Đã đăng nhập:")[1][50:]
    assert form_fields(form).get("/nguoi_me/ho_ten", "") == ""
    # the choice is remembered: the first step goes straight to the form, with a way back
    again = client.get(APPLY)
    assert again.status_code == 302 and again.headers["Location"].endswith(FILL)
    assert f'href="{APPLY}?change=1"' in form
    assert client.get(f"{APPLY}?change=1").status_code == 200


def test_use_my_data_fill_check_submit_once(app, client) -> None:
    before = last_dossier(app)
    choose(client, "use")
    page = client.get(FILL)
    assert page.status_code == 200
    body = text(page)
    # verified values are shown, not editable, with their source named
    assert "Đã xác thực" in body and "Lấy từ Cơ sở dữ liệu quốc gia về dân cư" in body
    shown = form_fields(body)
    assert "/nguoi_yeu_cau/ho_ten" not in shown  # locked: no input to change it
    assert re.search(r'id="f-nguoi_yeu_cau-ho_ten"[^>]*>Nguyễn Văn An<', body)
    # the parents from the population register: the mother suggested (editable), named source
    assert shown["/nguoi_me/ho_ten"] == MOTHER
    assert "Gợi ý từ Cơ sở dữ liệu quốc gia về dân cư" in body
    assert "Báo sai thông tin" in body

    # the child typed with a date that does not exist and the commitment missing
    wrong = {**shown, **the_child(**{"/nguoi_duoc_khai_sinh/ngay_sinh.day": "31",
                                     "/nguoi_duoc_khai_sinh/ngay_sinh.month": "2"})}
    wrong.pop("/cam_doan/cam_doan")
    wrong.pop("/nguoi_duoc_khai_sinh/gioi_tinh")
    answer = post(client, FILL, body, wrong)
    assert answer.status_code == 200
    errors = text(answer)
    assert "Có lỗi cần sửa" in errors and errors.count('class="error-message"') >= 3
    summary = errors[errors.index("error-summary"):errors.index("</ul>", errors.index(
        "error-summary"))]
    for anchor in ("#f-nguoi_duoc_khai_sinh-ngay_sinh", "#f-cam_doan-cam_doan",
                   "#f-nguoi_duoc_khai_sinh-gioi_tinh"):
        assert anchor in summary, (anchor, summary)
    assert "<title>Lỗi:" in errors
    # what was typed is still there, and saved (the draft is saved with its errors)
    assert form_fields(errors)["/nguoi_duoc_khai_sinh/ho_ten"] == CHILD
    saved = draft(app)
    assert saved is not None and saved.data["nguoi_duoc_khai_sinh"]["ho_ten"] == CHILD
    assert saved.agency_code == AGENCY

    # fixed: to check your answers
    fixed = {**form_fields(errors), **the_child()}
    answer = post(client, FILL, errors, fixed)
    assert answer.status_code == 302, problems(answer)
    assert answer.headers["Location"].endswith(CHECK)
    check = client.get(CHECK)
    assert check.status_code == 200
    review = text(check)
    assert CHILD in review and "03/11/2026" in review and MOTHER in review
    assert f'href="{FILL}#f-nguoi_duoc_khai_sinh-ho_ten"' in review
    assert "Thay đổi" in review and "Nộp hồ sơ" in review

    # submitted, twice (a double click; a retry of the same page): one dossier
    first = post(client, SUBMIT, review, {"key": saved.idempotency_key}, action="")
    assert first.status_code == 302, text(first)[:2000]
    confirmation_url = first.headers["Location"]
    second = post(client, SUBMIT, review, {"key": saved.idempotency_key}, action="")
    assert second.status_code == 302 and second.headers["Location"] == confirmation_url
    filed = dossiers_of_father(app, before)
    assert len(filed) == 1
    dossier = filed[0]
    assert dossier.prefill_choice == "use" and dossier.agency_code == AGENCY
    assert dossier.data["nguoi_duoc_khai_sinh"]["ho_ten"] == CHILD
    assert dossier.data["nguoi_yeu_cau"]["ho_ten"] == "Nguyễn Văn An"
    assert confirmation_url.endswith(f"/dossiers/{dossier.code}/confirmation")
    assert dossier.code not in confirmation_url.split("/dossiers/")[0]
    assert draft(app) is None  # the draft is gone with the filing

    # the confirmation: code, the receipt secret (right after filing only), the dates
    shown_page = client.get(confirmation_url)
    assert shown_page.status_code == 200
    done = text(shown_page)
    assert dossier.code in done
    secret = re.search(r'id="receipt-secret">([^<]+)<', done)
    assert secret, done
    assert lifecycle.receipt_matches(dossier, secret.group(1))
    assert secret.group(1) not in confirmation_url
    assert "Hạn tiếp nhận hồ sơ" in done and "Ngày hẹn trả kết quả" in done
    assert re.search(r"\d\d:\d\d ngày \d\d/\d\d/20\d\d", done)
    # the secret is not in the cookie, and not shown again on a reload
    cookie = client.get_cookie("tokhai")
    assert cookie is not None and secret.group(1) not in cookie.value
    again = text(client.get(confirmation_url))
    assert dossier.code in again and secret.group(1) not in again
    # the receipt works with that secret
    receipt = client.get(f"/api/v1/receipts/{dossier.code}",
                         query_string={"secret": secret.group(1)})
    assert receipt.status_code == 200 and receipt.get_json()["status"] == "submitted"
    # another citizen cannot see this confirmation
    other = app.test_client()
    sign_in(other, "citizen_daughter")
    assert other.get(confirmation_url).status_code == 404


def test_typing_everything_is_recorded_with_the_dossier(app, client) -> None:
    before = last_dossier(app)
    choose(client, "type")
    page = text(client.get(FILL))
    # the requester's own data typed as the register holds it (a verified value must match)
    typed = {**form_fields(page), **the_child(**{
        "/nguoi_yeu_cau/ho_ten": "Nguyễn Văn An",
        "/nguoi_yeu_cau/ngay_sinh.day": "14", "/nguoi_yeu_cau/ngay_sinh.month": "3",
        "/nguoi_yeu_cau/ngay_sinh.year": "1985",
        "/nguoi_yeu_cau/noi_cu_tru.province": "01", "/nguoi_yeu_cau/noi_cu_tru.commune": "00004",
        "/nguoi_yeu_cau/noi_cu_tru.detail": "Số 12, phố Hàng Bạc",
        "/nguoi_yeu_cau/giay_to": DEMO_FATHER,
        "/nguoi_me/ho_ten": MOTHER, "/nguoi_me/nam_sinh.year": "1988",
        "/nguoi_me/dan_toc": "01", "/nguoi_me/quoc_tich": "VN",
        "/nguoi_me/noi_cu_tru.province": "01", "/nguoi_me/noi_cu_tru.commune": "00004",
        "/nguoi_me/giay_to": "075188462521",
    })}
    answer = post(client, FILL, page, typed)
    assert answer.status_code == 302, problems(answer)
    review = text(client.get(CHECK))
    assert "Tôi tự nhập tất cả" in review
    key = draft(app).idempotency_key  # type: ignore[union-attr]
    done = post(client, SUBMIT, review, {"key": key}, action="")
    assert done.status_code == 302
    filed = dossiers_of_father(app, before)
    assert [d.prefill_choice for d in filed] == ["type"]
    # and the officer reads it with the dossier
    officer = {"Authorization": f"Bearer {_token(app, 'officer', agency_code=AGENCY)}"}
    seen = client.get(f"/api/v1/dossiers/{filed[0].code}", headers=officer)
    assert seen.status_code == 200 and seen.get_json()["prefill_choice"] == "type"


def test_a_draft_resumes_on_another_device(app, client) -> None:
    choose(client, "use")
    page = text(client.get(FILL))
    saved = post(client, FILL, page, {**form_fields(page), "/nguoi_duoc_khai_sinh/ho_ten": CHILD,
                                      "/nguoi_duoc_khai_sinh/ngay_sinh.year": "20x6"},
                 action="save")
    assert saved.status_code == 302 and "saved=1" in saved.headers["Location"]
    notice = text(client.get(saved.headers["Location"]))
    assert "Đã lưu nháp" in notice and "Có lỗi cần sửa" not in notice  # saved, not checked
    # another browser, the same citizen: straight to the form, what was typed is there
    phone = app.test_client()
    sign_in(phone, "citizen_father")
    start = phone.get(APPLY)
    assert start.status_code == 302 and start.headers["Location"].endswith(FILL)
    resumed = form_fields(text(phone.get(FILL)))
    assert resumed["/nguoi_duoc_khai_sinh/ho_ten"] == CHILD
    assert resumed["/nguoi_duoc_khai_sinh/ngay_sinh.year"] == "20x6"
    assert resumed["/nguoi_me/ho_ten"] == MOTHER


def test_a_dispute_is_recorded_does_not_stop_filing_and_reaches_the_officer(app,
                                                                            client) -> None:
    before = last_dossier(app)
    choose(client, "use")
    page = text(client.get(FILL))
    link = f"/procedures/{FORM}/v1/dispute?field=/nguoi_me/nam_sinh"
    assert f'href="{link}"' in page
    form = client.get(link)
    assert form.status_code == 200
    body = text(form)
    assert "Cơ sở dữ liệu quốc gia về dân cư" in body and "1988" in body
    # a statement is needed
    empty = client.post(f"/procedures/{FORM}/v1/dispute", data={
        "field": "/nguoi_me/nam_sinh", "statement": "  ", "csrf_token": csrf_of(body)})
    assert empty.status_code == 200 and "Có lỗi cần sửa" in text(empty)
    # a value that was not prefilled cannot be disputed
    assert client.get(f"/procedures/{FORM}/v1/dispute?field=/nguoi_duoc_khai_sinh/ho_ten"
                      ).status_code == 404
    done = client.post(f"/procedures/{FORM}/v1/dispute", data={
        "field": "/nguoi_me/nam_sinh", "statement": "Vợ tôi sinh năm 1989, không phải 1988.",
        "csrf_token": csrf_of(body)})
    assert done.status_code == 302 and "disputed=" in done.headers["Location"]
    back = text(client.get(done.headers["Location"]))
    assert "Bạn đã báo sai thông tin này" in back and "Đã ghi nhận" in back
    # and at the field itself, after its value (the mother's year of birth)
    at_field = back[back.index('id="f-nguoi_me-nam_sinh"'):]
    next_field = re.search(r'id="f-nguoi_me-(?!nam_sinh)', at_field)
    assert next_field and "Đã báo sai" in at_field[:next_field.start()]
    # filed as usual, the value unchanged
    answer = post(client, FILL, back, {**form_fields(back), **the_child()})
    assert answer.status_code == 302, problems(answer)
    review = text(client.get(CHECK))
    assert "Bạn đã báo sai thông tin này" in review
    key = draft(app).idempotency_key  # type: ignore[union-attr]
    assert post(client, SUBMIT, review, {"key": key}, action="").status_code == 302
    (dossier,) = dossiers_of_father(app, before)
    officer = {"Authorization": f"Bearer {_token(app, 'officer', agency_code=AGENCY)}"}
    seen = client.get(f"/api/v1/dossiers/{dossier.code}", headers=officer)
    assert seen.status_code == 200
    (disputed,) = seen.get_json()["disputes"]
    assert disputed["pointer"] == "/nguoi_me/nam_sinh"
    assert disputed["register"] == "population" and disputed["record_key"]
    assert disputed["shown_value"] == "1988-09-02" and "1989" in disputed["statement"]
    assert disputed["status"] == "open"
    assert dossier.data["nguoi_me"]["nam_sinh"] == "1988-09-02"


# -- bad input --------------------------------------------------------------------------------

def test_a_session_that_expired_while_typing_loses_nothing(app, monkeypatch) -> None:
    clock = Clock(vn(2027, 1, 4, 9))
    monkeypatch.setattr(lifecycle, "clock", clock)
    client = app.test_client()
    sign_in(client, "citizen_father")
    choose(client, "use")
    page = text(client.get(FILL))
    idle = app.extensions["tokhai"].settings.session_idle_minutes
    clock.advance(minutes=idle + 1)
    lost = post(client, FILL, page, {**form_fields(page), "/nguoi_duoc_khai_sinh/ho_ten": CHILD,
                                     "/cam_doan/lam_tai": "Hà Nội"})
    assert lost.status_code == 302 and "/sign-in" in lost.headers["Location"]
    assert "reason=expired" in lost.headers["Location"]
    assert draft(app).data.get("nguoi_duoc_khai_sinh", {}).get("ho_ten") is None  # type: ignore[union-attr]
    sign_in(client, "citizen_father", next_path=FILL)
    restored = text(client.get(FILL))
    assert "Đã khôi phục" in restored
    fields = form_fields(restored)
    assert fields["/nguoi_duoc_khai_sinh/ho_ten"] == CHILD
    assert fields["/cam_doan/lam_tai"] == "Hà Nội"
    # and saved: it survives the next page view
    assert draft(app).data["nguoi_duoc_khai_sinh"]["ho_ten"] == CHILD  # type: ignore[union-attr]
    assert form_fields(text(client.get(FILL)))["/nguoi_duoc_khai_sinh/ho_ten"] == CHILD


def test_a_post_without_its_csrf_token_keeps_the_typed_data(app, client) -> None:
    choose(client, "use")
    page = text(client.get(FILL))
    typed = {**form_fields(page), "/nguoi_duoc_khai_sinh/ho_ten": CHILD, "action": "continue"}
    answer = client.post(FILL, data=typed)
    assert answer.status_code == 400
    body = text(answer)
    assert "Chưa gửi được" in body
    assert f'name="/nguoi_duoc_khai_sinh/ho_ten" value="{CHILD}"' in body
    assert f'action="{FILL}"' in body and csrf_of(body)
    assert (draft(app).data or {}).get("nguoi_duoc_khai_sinh") is None  # type: ignore[union-attr]
    # sent again from that page, with its fresh token: saved
    again = client.post(FILL, data={**typed, "csrf_token": csrf_of(body)})
    assert again.status_code in (200, 302)
    assert draft(app).data["nguoi_duoc_khai_sinh"]["ho_ten"] == CHILD  # type: ignore[union-attr]


@pytest.mark.parametrize("path", [
    f"/procedures/{FORM}/v99/form", f"/procedures/{FORM}/v0/check",
    f"/procedures/{FORM}/v99/dispute?field=/nguoi_me/ho_ten", "/procedures/khong-co/apply",
    "/procedures/khong-co/v1/form", f"/procedures/{FORM}/vabc/form",
])
def test_a_forged_form_version_is_a_404_page(app, client, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    assert "text/html" in answer.content_type and "Không tìm thấy trang" in text(answer)


def test_a_forged_version_posted_is_refused(app, client) -> None:
    page = client.get(APPLY).get_data(as_text=True)
    answer = client.post(APPLY, data={"version": "7", "agency": AGENCY, "choice": "use",
                                      "csrf_token": csrf_of(page)})
    assert answer.status_code == 404
    for path in (f"/procedures/{FORM}/v7/form", f"/procedures/{FORM}/v7/submit"):
        assert client.post(path, data={"csrf_token": csrf_of(page)}).status_code == 404
    with app.extensions["tokhai"].sessions() as s:
        assert s.scalar(select(func.count()).select_from(PrefillChoice).where(
            PrefillChoice.citizen_id == DEMO_FATHER)) == 0


def test_fields_not_in_the_form_are_never_stored(app, client) -> None:
    choose(client, "use")
    page = text(client.get(FILL))
    forged = {**form_fields(page), "/nguoi_duoc_khai_sinh/ho_ten": CHILD,
              "/nguoi_duoc_khai_sinh/bi_mat": "x", "/them_muc": "y", "/nguoi_me/0": "z",
              "/nguoi_yeu_cau/ho_ten": "Tên giả mạo"}
    answer = post(client, FILL, page, forged, action="save")
    assert answer.status_code == 302
    stored = draft(app).data  # type: ignore[union-attr]
    assert stored["nguoi_duoc_khai_sinh"]["ho_ten"] == CHILD
    assert "bi_mat" not in stored["nguoi_duoc_khai_sinh"] and "them_muc" not in stored
    assert "0" not in stored["nguoi_me"]
    flat = repr(stored)
    assert "'x'" not in flat and "'y'" not in flat and "'z'" not in flat
    # a locked (verified) value is the register's, whatever is posted
    assert stored["nguoi_yeu_cau"]["ho_ten"] == "Nguyễn Văn An"


def test_the_form_needs_a_citizen(app) -> None:
    stranger = app.test_client()
    answer = stranger.get(FILL)
    assert answer.status_code == 302 and "/sign-in" in answer.headers["Location"]
    officer = app.test_client()
    sign_in(officer, "officer")
    assert officer.get(APPLY).status_code == 403


# -- attachments: the citizen's own documents --------------------------------------------------

ATTACHMENT_FORM = """
id: e-form-kem-giay-to
version: 1
title: Đơn đề nghị có kèm giấy tờ
legal_basis: Thử nghiệm
procedure_code: local.thu.e-form-kem-giay-to
agency_level: commune
sections:
  - id: nguoi_de_nghi
    title: Người đề nghị
    fields:
      - id: ho_ten
        type: text
        label: Họ và tên
        prefill: {record: population.full_name, mode: verified}
  - id: giay_to
    title: Giấy tờ kèm theo
    fields:
      - {id: trich_luc, type: attachment, label: Trích lục khai sinh,
         media_types: [application/pdf]}
"""


def test_attachments_are_chosen_among_the_citizens_own_documents(app, client) -> None:
    from tests.conftest import citizen_headers, file_and_process, valid_submission

    api = app.test_client()
    father = citizen_headers(app, DEMO_FATHER)
    clerk = {"Authorization": f"Bearer {_token(app, 'officer', agency_code=AGENCY)}"}
    designer = {"Authorization": f"Bearer {_token(app, 'designer')}"}
    made = api.post("/api/v1/forms", data=ATTACHMENT_FORM.encode(),
                    headers={**designer, "Content-Type": "application/yaml"})
    assert made.status_code in (201, 409), made.get_json()
    api.post("/api/v1/forms/e-form-kem-giay-to/versions/1/publish", headers=designer)
    code, etag = file_and_process(api, father, clerk, FORM, valid_submission(api, app, FORM),
                                  AGENCY)
    result = api.post(f"/api/v1/dossiers/{code}/result", json={},
                      headers={**clerk, "If-Match": etag})
    assert result.status_code == 201, result.get_json()
    document = result.get_json()

    apply = "/procedures/e-form-kem-giay-to/apply"
    fill = "/procedures/e-form-kem-giay-to/v1/form"
    page = client.get(apply)
    client.post(apply, data={"version": "1", "agency": AGENCY, "choice": "use",
                             "csrf_token": csrf_of(page.get_data(as_text=True))})
    form = text(client.get(fill))
    # the citizen's document is offered, named by its number
    assert f'value="{document["document_id"]}"' in form
    assert document["number"] in form
    # another citizen's (or a made-up) document is refused at the field
    forged = client.post(fill, data={"/giay_to/trich_luc": "00000000-0000-4000-8000-000000000000",
                                     "action": "continue", "csrf_token": csrf_of(form)})
    assert forged.status_code == 200
    assert "#f-giay_to-trich_luc" in text(forged) and "Có lỗi cần sửa" in text(forged)
    chosen = client.post(fill, data={"/giay_to/trich_luc": document["document_id"],
                                     "action": "continue", "csrf_token": csrf_of(form)})
    assert chosen.status_code == 302, problems(chosen)
    review = text(client.get(chosen.headers["Location"]))
    assert document["number"] in review
    with app.extensions["tokhai"].sessions() as s:
        row = drafts.draft_of(s, DEMO_FATHER, "e-form-kem-giay-to", 1)
        assert row is not None
        key = row.idempotency_key
        assert row.data["giay_to"]["trich_luc"][0]["document_id"] == document["document_id"]
    done = post(client, "/procedures/e-form-kem-giay-to/v1/submit", review, {"key": key},
                action="")
    assert done.status_code == 302 and done.headers["Location"].endswith("/confirmation")


def test_the_pages_in_english(app, client) -> None:
    client.get("/language/en")
    page = text(client.get(APPLY))
    assert "Use my data" in page and "National population database" in page
    assert "Before you fill in the form" in page
    choose(client, "use")
    form = text(client.get(FILL))
    assert "Save draft" in form and "Continue" in form
    errors = post(client, FILL, form, form_fields(form))
    assert errors.status_code == 200 and "<title>" in text(errors)
    client.get("/language/vi")


def test_an_emptied_suggestion_stays_empty_and_use_fills_what_was_not_typed(app,
                                                                           client) -> None:
    choose(client, "use")
    page = text(client.get(FILL))
    emptied = {**form_fields(page), "/nguoi_me/ho_ten": "", "/nguoi_cha/ho_ten": "Nguyễn An"}
    assert post(client, FILL, page, emptied, action="save").status_code == 302
    again = form_fields(text(client.get(FILL)))
    assert again["/nguoi_me/ho_ten"] == "" and again["/nguoi_cha/ho_ten"] == "Nguyễn An"
    assert again["/nguoi_me/nam_sinh.year"] == "1988"

    # typing everything first, then "use my data": what was typed stays, the rest is filled
    with app.extensions["tokhai"].sessions() as s:
        for model in (FormDraft, PrefillChoice):
            s.execute(delete(model).where(model.citizen_id == DEMO_FATHER))
        s.commit()
    choose(client, "type")
    page = text(client.get(FILL))
    typed = {**form_fields(page), "/nguoi_me/ho_ten": "Trần Bình"}
    assert post(client, FILL, page, typed, action="save").status_code == 302
    change = client.get(f"{APPLY}?change=1")
    answer = client.post(APPLY, data={"version": "1", "agency": AGENCY, "choice": "use",
                                      "csrf_token": csrf_of(change.get_data(as_text=True))})
    assert answer.status_code == 302
    now = text(client.get(FILL))
    shown = form_fields(now)
    assert shown["/nguoi_me/ho_ten"] == "Trần Bình" and shown["/nguoi_me/nam_sinh.year"] == "1988"
    assert re.search(r'id="f-nguoi_yeu_cau-ho_ten"[^>]*>Nguyễn Văn An<', now)  # locked again


def test_two_clicks_at_the_same_moment_file_one_dossier(app, client) -> None:
    from concurrent.futures import ThreadPoolExecutor

    before = last_dossier(app)
    choose(client, "use")
    page = text(client.get(FILL))
    assert post(client, FILL, page, {**form_fields(page), **the_child()}).status_code == 302
    review = text(client.get(CHECK))
    key = draft(app).idempotency_key  # type: ignore[union-attr]
    cookie = client.get_cookie("tokhai")
    assert cookie is not None
    twins = []
    for _ in range(2):  # the same browser's session, two requests in flight
        twin = app.test_client()
        twin.set_cookie("tokhai", cookie.value)
        twins.append(twin)
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda c: post(c, SUBMIT, review, {"key": key}, action=""),
                                twins))
    assert [a.status_code for a in answers] == [302, 302]
    assert answers[0].headers["Location"] == answers[1].headers["Location"]
    assert len(dossiers_of_father(app, before)) == 1


def test_a_dispute_typed_while_the_session_expired_is_kept(app, monkeypatch) -> None:
    clock = Clock(vn(2027, 1, 4, 9))
    monkeypatch.setattr(lifecycle, "clock", clock)
    client = app.test_client()
    sign_in(client, "citizen_father")
    choose(client, "use")
    page = text(client.get(f"/procedures/{FORM}/v1/dispute?field=/nguoi_me/ho_ten"))
    clock.advance(minutes=app.extensions["tokhai"].settings.session_idle_minutes + 1)
    lost = client.post(f"/procedures/{FORM}/v1/dispute", data={
        "field": "/nguoi_me/ho_ten", "statement": "Tên đúng là Trần Thị Bính.",
        "csrf_token": csrf_of(page)})
    assert lost.status_code == 302 and "reason=expired" in lost.headers["Location"]
    sign_in(client, "citizen_father", next_path=f"/procedures/{FORM}/v1/dispute")
    back = client.get(f"/procedures/{FORM}/v1/dispute")
    assert back.status_code == 200
    body = text(back)
    assert "Tên đúng là Trần Thị Bính." in body and 'value="/nguoi_me/ho_ten"' in body


def test_the_first_step_says_whose_records_a_named_or_chosen_person_reads(client) -> None:
    """A section about a person the citizen names (by a personal ID number) or chooses (by an
    answer) says so, instead of an empty list of relations."""
    body = text(client.get("/procedures/to-khai-dang-ky-giam-ho/apply?change=1"))
    assert "(thông tin của )" not in body and "thông tin của ):" not in body
    assert ("<strong>Người được giám hộ</strong>\n      <span class=\"meta\">(thông tin của "
            "người bạn nêu số định danh cá nhân ở câu “Giấy khai sinh/Giấy tờ tùy thân”, nếu "
            "sổ sách ghi nhận người đó là người được giám hộ, con hoặc người cùng hộ của "
            "bạn)</span>:") in body
    copy = text(client.get("/procedures/to-khai-cap-ban-sao-trich-luc-ho-tich/apply?change=1"))
    assert "thông tin của người bạn chọn ở câu “" in copy
    assert "(thông tin của )" not in copy
    client.get("/language/en")
    english = text(client.get("/procedures/to-khai-dang-ky-giam-ho/apply?change=1"))
    client.get("/language/vi")
    assert ("about the person whose personal ID number you give at “Giấy khai sinh/Giấy tờ "
            "tùy thân”, if the registers record them as your ward, child or household "
            "member") in english

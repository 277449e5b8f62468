"""The officers' pages (#15, points 2 and 3): the agency's queue (order by deadline, marks,
filters, search by code, name and personal ID, counts, paging, never another agency's
dossier) and the dossier page (the form's sections with provenance, history, every action
with its reason, the supplement reaching the citizen, the explanation a late dossier needs
first, the apology letter, two officers acting at once, CSRF, the auditor read-only).

Dossiers are filed through the API as the demo citizens; the pages are read and used as the
development sign-in's officer (of the demo agency) and auditor."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from service.dossiers import lifecycle, names
from service.records.demo import DEMO_AGENCY, DEMO_DAUGHTER, DEMO_FATHER
from service.worktime import VIETNAM
from storage.models import AccessLog, Dossier
from tests import pki
from tests.conftest import _token, citizen_headers, valid_submission
from tests.service.dossiers.test_dossiers import promise_after
from tests.service.web.pages.conftest import csrf_of, sign_in

FORM = "to-khai-dang-ky-khai-sinh"
AGENCY = DEMO_AGENCY
OTHER_AGENCY = "UBND-XA-00005"


@pytest.fixture(scope="module")
def signing_config(test_pki: pki.TestPki) -> str:
    """The test agencies' keys, and the demo agency's (the development officer's), so that
    its apology letters can be signed."""
    return pki.demo_agency_config(test_pki, name="office-signing.yaml")


def officer_api(app: Any, agency: str = AGENCY) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'officer', agency_code=agency)}"}


def text_of(answer: Any) -> str:
    from html import unescape

    html = answer.get_data(as_text=True)
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def file(app: Any, who: str = DEMO_FATHER, agency: str = AGENCY) -> str:
    api = app.test_client()
    data = valid_submission(api, app, FORM, who)
    filed = api.post("/api/v1/dossiers", headers=citizen_headers(app, who), json={
        "form_id": FORM, "version": 1, "agency_code": agency, "data": data})
    assert filed.status_code == 201, filed.get_json()
    return str(filed.get_json()["code"])


def api_act(app: Any, code: str, action: str, reason: str | None = None) -> None:
    api = app.test_client()
    current = api.get(f"/api/v1/dossiers/{code}", headers=officer_api(app))
    body: dict[str, Any] = {"action": action}
    if reason:
        body["reason"] = reason
    moved = api.post(f"/api/v1/dossiers/{code}/actions", json=body,
                     headers={**officer_api(app), "If-Match": current.headers["ETag"]})
    assert moved.status_code == 200, moved.get_json()


def dossier_row(app: Any, code: str) -> Dossier:
    with app.extensions["tokhai"].sessions() as session:
        row = session.scalar(select(Dossier).where(Dossier.code == code))
        assert row is not None
        session.expunge(row)
        return row


@pytest.fixture(scope="module")
def filed(pages: Any) -> dict[str, Any]:
    """Three of the father's dossiers and one of the daughter's at the demo agency (one
    accepted), and one of the father's at another agency."""
    first, second, accepted = file(pages), file(pages), file(pages)
    daughter = file(pages, DEMO_DAUGHTER)
    api_act(pages, accepted, "accept")
    other = file(pages, agency=OTHER_AGENCY)
    return {"first": first, "second": second, "accepted": accepted, "daughter": daughter,
            "other": other, "father_name": dossier_row(pages, first).citizen_name,
            "daughter_name": dossier_row(pages, daughter).citizen_name}


@pytest.fixture
def officer(pages: Any) -> Any:
    client = pages.test_client()
    sign_in(client, "officer")
    return client


def codes_in(answer: Any) -> list[str]:
    return re.findall(r'class="queue__row" data-code="([^"]+)"', answer.get_data(as_text=True))


# -- the queue --------------------------------------------------------------------------------


def test_the_queue_is_the_agency_s_open_dossiers_by_deadline(officer, pages, filed):
    answer = officer.get("/office")
    assert answer.status_code == 200
    codes = codes_in(answer)
    mine = [filed[k] for k in ("first", "second", "accepted", "daughter")]
    assert set(mine) <= set(codes)
    assert filed["other"] not in codes and not any(c.startswith(OTHER_AGENCY) for c in codes)
    due = [dossier_row(pages, c).due_at for c in codes]
    assert due == sorted(due)  # by the deadline that matters now
    # the accepted one's deadline is processing, days later: after the ones to accept
    assert codes.index(filed["accepted"]) > codes.index(filed["daughter"])
    text = text_of(answer)
    assert filed["father_name"] in text and "Trong hạn tiếp nhận 8 giờ làm việc" in text


def test_marks_acceptance_window_and_late(officer, pages, filed, monkeypatch):
    html = officer.get("/office").get_data(as_text=True)
    row = re.search(rf'data-code="{filed["first"]}".*?</tr>', html, re.S)
    assert row and "mark--acceptance" in row.group(0) and "mark--late" not in row.group(0)
    accepted = re.search(rf'data-code="{filed["accepted"]}".*?</tr>', html, re.S)
    assert accepted and "mark--acceptance" not in accepted.group(0)
    later = datetime.now(UTC) + timedelta(days=30)
    monkeypatch.setattr(lifecycle, "clock", lambda: later)
    officer = pages.test_client()  # a session of that moment
    sign_in(officer, "officer")
    html = officer.get("/office").get_data(as_text=True)
    row = re.search(rf'data-code="{filed["first"]}".*?</tr>', html, re.S)
    assert row and "mark--late" in row.group(0) and "mark--acceptance" not in row.group(0)
    late_only = codes_in(officer.get("/office?late=1"))
    assert filed["first"] in late_only and filed["other"] not in late_only


def test_due_today_mark(pages, filed, monkeypatch):
    from service.web.pages import office
    from service.worktime import VIETNAM

    d = dossier_row(pages, filed["accepted"])
    assert d.due_at is not None
    morning = d.due_at.astimezone(VIETNAM).replace(hour=0, minute=1)
    assert office._row(d, morning, morning.date()).today
    assert not office._row(d, morning - timedelta(days=1),
                           (morning - timedelta(days=1)).date()).today


def test_filters_by_state_and_procedure_and_counts(officer, pages, filed):
    accepted = codes_in(officer.get("/office?state=accepted"))
    assert filed["accepted"] in accepted and filed["first"] not in accepted
    assert codes_in(officer.get("/office?procedure=1.001193"))
    assert codes_in(officer.get("/office?procedure=0.000000")) == []
    html = officer.get("/office").get_data(as_text=True)
    with pages.extensions["tokhai"].sessions() as session:
        submitted = len(session.scalars(select(Dossier.id).where(
            Dossier.agency_code == AGENCY, Dossier.status == "submitted")).all())
    count = re.search(r'data-state="submitted">.*?<span class="count">(\d+)</span>', html, re.S)
    assert count and int(count.group(1)) == submitted


def test_a_name_matching_too_many_says_so(officer, pages, filed, monkeypatch):
    """A name matching more dossiers than are counted orders only those by deadline, and the
    page asks for a fuller name."""
    from service.dossiers import queries as dossier_queries

    monkeypatch.setattr(dossier_queries, "COUNT_CAP", 1)
    text = text_of(officer.get("/office?q=nguyen&state=all"))
    assert "Tên này trùng với quá nhiều hồ sơ: chỉ 200 hồ sơ đầu tiên" in text
    assert "Hơn 1 hồ sơ phù hợp" in text
    assert "Tên này trùng" not in text_of(officer.get(f"/office?q={filed['second']}"))


def test_search_by_code_name_and_personal_id(officer, pages, filed):
    assert codes_in(officer.get(f"/office?q={filed['second']}")) == [filed["second"]]
    tail = filed["second"].removeprefix(f"{AGENCY}-")
    assert codes_in(officer.get(f"/office?q={tail}")) == [filed["second"]]
    # another agency's code: not found, as an unknown one
    assert codes_in(officer.get(f"/office?q={filed['other']}&state=all")) == []
    by_id = codes_in(officer.get(f"/office?q={DEMO_DAUGHTER}&state=all"))
    assert by_id == [filed["daughter"]]
    father = codes_in(officer.get(f"/office?q={DEMO_FATHER}&state=all"))
    assert filed["first"] in father and filed["other"] not in father
    assert filed["daughter"] not in father
    name = filed["daughter_name"]
    assert name
    assert codes_in(officer.get("/office", query_string={"q": name})) == [filed["daughter"]]
    plain = names.name_key(name).upper()  # no accents, another case: found the same
    assert codes_in(officer.get("/office", query_string={"q": plain})) == [filed["daughter"]]
    first_word = name.split()[0]
    assert filed["daughter"] in codes_in(officer.get("/office",
                                                     query_string={"q": first_word}))


def test_paging(officer, pages, filed, monkeypatch):
    from service.web.pages import office

    monkeypatch.setattr(office, "PER_PAGE", 2)
    first = officer.get("/office?state=all")
    html = first.get_data(as_text=True)
    assert len(codes_in(first)) == 2 and 'rel="next"' in html and 'aria-current="page"' in html
    second = codes_in(officer.get("/office?state=all&page=2"))
    assert len(second) >= 1 and not set(second) & set(codes_in(first))
    kept = codes_in(officer.get("/office?state=accepted&page=1"))
    assert kept == [filed["accepted"]]


def test_the_queue_is_for_officers_only(pages, filed):
    for who in ("citizen_father", "designer", "auditor"):
        client = pages.test_client()
        sign_in(client, who)
        assert client.get("/office").status_code == 403
    anonymous = pages.test_client().get("/office")
    assert anonymous.status_code == 302 and "/sign-in" in anonymous.headers["Location"]


# -- the dossier page -------------------------------------------------------------------------


def test_the_dossier_page_sections_provenance_history(officer, pages, filed):
    answer = officer.get(f"/office/dossiers/{filed['accepted']}")
    assert answer.status_code == 200
    text = text_of(answer)
    assert "Người yêu cầu" in text and "Họ, chữ đệm, tên người yêu cầu" in text
    assert filed["father_name"] in text
    assert "Cơ sở dữ liệu quốc gia về dân cư: giá trị xác thực" in text
    assert "Người nộp tự khai" in text
    assert re.search(r"\b\d{2}/\d{2}/\d{4}\b", text)  # dates as on paper
    assert "Nộp hồ sơ trực tuyến" in text and "Tiếp nhận hồ sơ" in text  # history
    assert "Hạn tiếp nhận (8 giờ làm việc)" in text and "Hạn giải quyết" in text
    html = answer.get_data(as_text=True)
    assert 'data-action="start_processing"' in html and 'data-action="accept"' not in html
    assert 'data-action="reject"' in html and 'data-action="request_supplement"' in html
    # the read is in the access log, for the citizen
    with pages.extensions["tokhai"].sessions() as session:
        logged = session.scalar(select(AccessLog).where(
            AccessLog.action == "dossier_read",
            AccessLog.purpose == f"dossier:{filed['accepted']}"))
        assert logged is not None and logged.owner_id == DEMO_FATHER


def test_another_agency_s_dossier_is_not_found(officer, filed):
    assert officer.get(f"/office/dossiers/{filed['other']}").status_code == 404
    assert officer.get("/office/dossiers/UBND-00004-000000-9999").status_code == 404


def _form(officer: Any, code: str) -> tuple[str, str]:
    html = officer.get(f"/office/dossiers/{code}").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', html)
    assert version
    return csrf_of(html), version.group(1)


def test_accept_and_start_processing_from_the_page(officer, pages):
    code = file(pages)
    token, version = _form(officer, code)
    done = officer.post(f"/office/dossiers/{code}/action", data={
        "csrf_token": token, "action": "accept", "version": version})
    assert done.status_code == 303 and "done=accept" in done.headers["Location"]
    assert dossier_row(pages, code).status == "accepted"
    token, version = _form(officer, code)
    officer.post(f"/office/dossiers/{code}/action", data={
        "csrf_token": token, "action": "start_processing", "version": version})
    assert dossier_row(pages, code).status == "in_processing"
    text = text_of(officer.get(f"/office/dossiers/{code}?done=start_processing"))
    assert "Đã thực hiện" in text and "Bắt đầu xử lý hồ sơ" in text
    # who acted, by name, said once (the development officer's name starts with 'Cán bộ')
    assert "Cán bộ một cửa (phát triển)" in text and "Cán bộ Cán bộ" not in text
    if "issuing.preview" in pages.view_functions:
        assert "Xem trước và ban hành kết quả" in text


def test_a_supplement_request_names_what_is_missing_and_reaches_the_citizen(officer, pages):
    code = file(pages)
    token, version = _form(officer, code)
    empty = officer.post(f"/office/dossiers/{code}/action", data={
        "csrf_token": token, "action": "request_supplement", "version": version,
        "missing": "  \n "})
    assert empty.status_code == 422
    assert "Hãy ghi ít nhất một giấy tờ" in text_of(empty)
    assert dossier_row(pages, code).status == "submitted"
    asked = officer.post(f"/office/dossiers/{code}/action", data={
        "csrf_token": token, "action": "request_supplement", "version": version,
        "missing": "Giấy chứng sinh do bệnh viện cấp\n- Bản chụp giấy đăng ký kết hôn",
        "reason": "Bản đã nộp bị mờ."})
    assert asked.status_code == 303
    assert dossier_row(pages, code).status == "supplement_requested"
    citizen = pages.test_client()
    sign_in(citizen, "citizen_father")
    text = text_of(citizen.get(f"/my/dossiers/{code}"))
    assert "Cơ quan yêu cầu bạn bổ sung hồ sơ" in text
    assert "Giấy chứng sinh do bệnh viện cấp" in text
    assert "Bản chụp giấy đăng ký kết hôn" in text and "Bản đã nộp bị mờ." in text
    # the notification's source: the event, with the items as its reason
    history = pages.test_client().get(f"/api/v1/dossiers/{code}/history",
                                      headers=officer_api(pages)).get_json()
    assert "Giấy chứng sinh do bệnh viện cấp" in history[-1]["reason"]


def test_a_refusal_needs_its_reason(officer, pages):
    code = file(pages)
    token, version = _form(officer, code)
    bare = officer.post(f"/office/dossiers/{code}/action", data={
        "csrf_token": token, "action": "reject", "version": version, "reason": " "})
    assert bare.status_code == 422 and "Hãy ghi lý do từ chối hồ sơ." in text_of(bare)
    assert dossier_row(pages, code).status == "submitted"
    done = officer.post(f"/office/dossiers/{code}/action", data={
        "csrf_token": token, "action": "reject", "version": version,
        "reason": "Không thuộc thẩm quyền của xã."})
    assert done.status_code == 303
    assert dossier_row(pages, code).status == "rejected"
    text = text_of(officer.get(f"/office/dossiers/{code}"))
    assert "Lý do: Không thuộc thẩm quyền của xã." in text and "data-action" not in text


def test_a_stale_page_gets_a_clear_message_and_overwrites_nothing(officer, pages):
    code = file(pages)
    token, stale = _form(officer, code)
    api_act(pages, code, "reject", "Hồ sơ trùng với hồ sơ khác.")  # a second officer, first
    late = officer.post(f"/office/dossiers/{code}/action", data={
        "csrf_token": token, "action": "accept", "version": stale})
    assert late.status_code == 409
    text = text_of(late)
    assert "Hồ sơ đã được người khác cập nhật" in text
    assert "không có gì bị ghi đè" in text and "Từ chối" in text
    assert "Hồ sơ trùng với hồ sơ khác." in text
    row = dossier_row(pages, code)
    assert row.status == "rejected" and row.accepted_at is None


def test_the_forms_need_a_csrf_token(officer, pages):
    code = file(pages)
    _token_, version = _form(officer, code)
    refused = officer.post(f"/office/dossiers/{code}/action", data={
        "action": "accept", "version": version})
    assert refused.status_code == 400
    assert dossier_row(pages, code).status == "submitted"


def test_a_late_dossier_is_explained_first(pages, monkeypatch):
    code = file(pages)
    later = datetime.now(UTC) + timedelta(days=30)
    monkeypatch.setattr(lifecycle, "clock", lambda: later)
    officer = pages.test_client()
    sign_in(officer, "officer")
    page = officer.get(f"/office/dossiers/{code}")
    html = page.get_data(as_text=True)
    assert 'id="explain-form"' in html and 'class="action-form' not in html
    assert "cần giải trình trước" in text_of(page)
    token, version = _form(officer, code)
    refused = officer.post(f"/office/dossiers/{code}/action", data={
        "csrf_token": token, "action": "accept", "version": version})
    assert refused.status_code == 409 and "giải trình" in text_of(refused)
    assert dossier_row(pages, code).status == "submitted"
    missing = officer.post(f"/office/dossiers/{code}/explanation", data={
        "csrf_token": token, "version": version, "reason": "", "promised_on": ""})
    assert missing.status_code == 422
    promised = promise_after(pages, AGENCY, later, 7).date().isoformat()
    done = officer.post(f"/office/dossiers/{code}/explanation", data={
        "csrf_token": token, "version": version, "promised_on": promised,
        "reason": "Cán bộ tiếp nhận nghỉ ốm đột xuất."})
    assert done.status_code == 303, text_of(done)[:500]
    row = dossier_row(pages, code)
    assert row.late_explanation == "Cán bộ tiếp nhận nghỉ ốm đột xuất."
    page = officer.get(f"/office/dossiers/{code}")
    html = page.get_data(as_text=True)
    assert 'data-action="accept"' in html and 'id="explain-form"' not in html
    letter = officer.get(f"/office/dossiers/{code}/apology-letter")
    assert letter.status_code == 200 and letter.mimetype == "application/pdf"
    assert letter.data.startswith(b"%PDF")


def test_the_auditor_reads_without_acting(pages, filed):
    auditor = pages.test_client()
    sign_in(auditor, "auditor")
    for code in (filed["first"], filed["other"]):  # any agency
        page = auditor.get(f"/office/dossiers/{code}")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "action-form" not in html and "explain-form" not in html
        assert "Chỉ xem" in text_of(page)
    token = csrf_of(auditor.get("/sign-in").get_data(as_text=True))
    refused = auditor.post(f"/office/dossiers/{filed['first']}/action", data={
        "csrf_token": token, "action": "accept", "version": "1"})
    assert refused.status_code == 403
    assert dossier_row(pages, filed["first"]).status == "submitted"


def test_citizens_and_designers_are_refused_the_dossier_page(pages, filed):
    for who in ("citizen_father", "designer"):
        client = pages.test_client()
        sign_in(client, who)
        assert client.get(f"/office/dossiers/{filed['first']}").status_code == 403


# -- what the officers write: the API's character check, the limits, no explanation twice ------

#: a right-to-left override, a zero-width space, a NUL: never in a record or a signed letter
BAD = ("\u202e", "\u200b", "\x00")


def _history_length(app: Any, code: str) -> int:
    history = app.test_client().get(f"/api/v1/dossiers/{code}/history",
                                    headers=officer_api(app)).get_json()
    return len(history)


def _field_error(answer: Any, field: str) -> str:
    """The message at a field (its error message), checked to be in the error summary too."""
    html = answer.get_data(as_text=True)
    found = re.search(rf'<span class="error-message" id="{re.escape(field)}-error">(.*?)</span>'
                      r'\s*(.*?)</span>', html, flags=re.S)
    assert found, f"no error at {field}"
    message = found.group(2).strip()
    assert "Có lỗi cần sửa" in html and f'href="#{field}"' in html
    return message


def test_the_officers_text_is_refused_with_control_or_invisible_characters(officer, pages):
    code = file(pages)
    token, version = _form(officer, code)
    events = _history_length(pages, code)
    for char in BAD:
        shown = f"U+{ord(char):04X}"
        posts = [
            ({"action": "reject", "reason": f"Không thuộc{char} thẩm quyền"}, "reason-reject"),
            ({"action": "request_supplement", "missing": f"Giấy chứng sinh{char}"}, "missing"),
            ({"action": "request_supplement", "missing": "Giấy chứng sinh",
              "reason": f"Bản{char} bị mờ"}, "reason-request_supplement"),
        ]
        for data, field in posts:
            refused = officer.post(f"/office/dossiers/{code}/action", data={
                "csrf_token": token, "version": version, **data})
            assert refused.status_code == 422, (data, text_of(refused)[:300])
            assert shown in _field_error(refused, field)
            typed = data.get("reason") if field.startswith("reason") else data["missing"]
            assert typed in refused.get_data(as_text=True)  # kept in the form
        # a reason no page sends, with an action that takes none: refused alike
        sent = officer.post(f"/office/dossiers/{code}/action", data={
            "csrf_token": token, "version": version, "action": "accept",
            "reason": f"ok{char}"})
        assert sent.status_code == 422 and shown in text_of(sent)
    row = dossier_row(pages, code)
    assert row.status == "submitted" and str(row.row_version) == version
    assert _history_length(pages, code) == events


def test_the_officers_text_over_its_limit_is_refused_not_cut(officer, pages):
    code = file(pages)
    token, version = _form(officer, code)
    huge = "Giấy chứng sinh " * 6400  # 100 KB on one line
    posts = [
        ({"action": "request_supplement", "missing": huge}, "missing", "6000"),
        ({"action": "request_supplement", "missing": "Giấy tờ " + "x" * 300}, "missing", "300"),
        ({"action": "request_supplement",
          "missing": "\n".join(f"Giấy tờ số {n}" for n in range(31))}, "missing", "30"),
        ({"action": "request_supplement", "missing": "Giấy chứng sinh",
          "reason": "Ghi chú " + "y" * 2000}, "reason-request_supplement", "2000"),
        ({"action": "reject", "reason": "Lý do " + "z" * 2000}, "reason-reject", "2000"),
    ]
    for data, field, limit in posts:
        refused = officer.post(f"/office/dossiers/{code}/action", data={
            "csrf_token": token, "version": version, **data})
        assert refused.status_code == 422, (field, limit)
        assert f"tối đa {limit} " in _field_error(refused, field)
        typed = data["reason"] if field.startswith("reason") else data["missing"]
        assert typed.strip() in refused.get_data(as_text=True)  # kept whole
    row = dossier_row(pages, code)
    assert row.status == "submitted" and str(row.row_version) == version
    at_limit = "\n".join(f"{n:02d} " + "g" * 297 for n in range(19))  # 19 lines of 300
    asked = officer.post(f"/office/dossiers/{code}/action", data={
        "csrf_token": token, "version": version, "action": "request_supplement",
        "missing": at_limit})
    assert asked.status_code == 303
    history = pages.test_client().get(f"/api/v1/dossiers/{code}/history",
                                      headers=officer_api(pages)).get_json()
    assert all(line in history[-1]["reason"] for line in at_limit.splitlines())


def _late(pages: Any, monkeypatch: Any, code: str, days: int = 30) -> tuple[Any, datetime]:
    """The officer's client, with the dossiers' clock ``days`` later: the dossier is late."""
    later = datetime.now(UTC) + timedelta(days=days)
    monkeypatch.setattr(lifecycle, "clock", lambda: later)
    client = pages.test_client()
    sign_in(client, "officer")
    return client, later


def test_an_explanation_is_checked_at_its_fields_and_given_once(pages, monkeypatch):
    code = file(pages)
    officer, later = _late(pages, monkeypatch, code)
    token, version = _form(officer, code)
    promised = promise_after(pages, AGENCY, later, 7).date().isoformat()
    for char in BAD:
        typed = f"Mất điện{char} cả ngày"
        refused = officer.post(f"/office/dossiers/{code}/explanation", data={
            "csrf_token": token, "version": version, "reason": typed,
            "promised_on": promised})
        assert refused.status_code == 422
        assert f"U+{ord(char):04X}" in _field_error(refused, "explain-reason")
        assert typed in refused.get_data(as_text=True)
    long = officer.post(f"/office/dossiers/{code}/explanation", data={
        "csrf_token": token, "version": version, "reason": "x" * 4001,
        "promised_on": promised})
    assert long.status_code == 422
    assert "tối đa 4000 " in _field_error(long, "explain-reason")
    sunday = later.astimezone(VIETNAM).date()
    sunday += timedelta(days=6 - sunday.weekday() + 7)
    for day, words in (("9999-12-31", "365 ngày"), (sunday.isoformat(), "ngày làm việc")):
        refused = officer.post(f"/office/dossiers/{code}/explanation", data={
            "csrf_token": token, "version": version, "reason": "Mất điện",
            "promised_on": day})
        assert refused.status_code == 422, text_of(refused)[:300]
        assert words in _field_error(refused, "promised-on")
        assert f'value="{day}"' in refused.get_data(as_text=True)
    row = dossier_row(pages, code)
    assert row.late_explanation is None and str(row.row_version) == version
    assert officer.get(f"/office/dossiers/{code}/apology-letter").status_code == 404
    done = officer.post(f"/office/dossiers/{code}/explanation", data={
        "csrf_token": token, "version": version, "reason": "Mất điện",
        "promised_on": promised})
    assert done.status_code == 303
    token, version = _form(officer, code)
    again = officer.post(f"/office/dossiers/{code}/explanation", data={
        "csrf_token": token, "version": version, "reason": "Lý do khác",
        "promised_on": promised})
    assert again.status_code == 409 and "đã được giải trình" in text_of(again)
    assert dossier_row(pages, code).late_explanation == "Mất điện"


def test_a_late_dossier_offers_no_issuing_before_its_explanation(pages, monkeypatch):
    assert "issuing.preview" in pages.view_functions
    code = file(pages)
    api_act(pages, code, "accept")
    api_act(pages, code, "start_processing")
    officer, later = _late(pages, monkeypatch, code, days=90)  # past the processing time
    page = officer.get(f"/office/dossiers/{code}")
    html = page.get_data(as_text=True)
    assert 'id="explain-form"' in html
    assert 'id="issue-link"' not in html and "Xem trước và ban hành kết quả" not in html
    token, version = _form(officer, code)
    done = officer.post(f"/office/dossiers/{code}/explanation", data={
        "csrf_token": token, "version": version, "reason": "Chờ xác minh",
        "promised_on": promise_after(pages, AGENCY, later).date().isoformat()})
    assert done.status_code == 303
    html = officer.get(f"/office/dossiers/{code}").get_data(as_text=True)
    assert 'id="issue-link"' in html and 'id="explain-form"' not in html

"""The auditors' pages (#15, point 6): the access log filtered by citizen, agency, document and
time, paged by id, exported as CSV (the page's rows, neutralised formulas, a BOM for Excel),
bad filters named at their field; the monthly late list of every agency with its explanations
and apology letters; no one but an auditor reads them, and reading them writes nothing to the
access log (as through the API).

Entries are written straight to the access log (its triggers refuse only updates and
deletes), each test with owners, agencies and documents of its own, at times in 2019, so the
module's other entries never match its filters."""

from __future__ import annotations

import csv
import html
import io
import logging
import re
import uuid
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from service.dossiers import lifecycle
from service.worktime import VIETNAM
from storage.models import AccessLog
from tests.conftest import citizen_headers, valid_submission
from tests.service.dossiers.clock import Clock, vn
from tests.service.web.pages.conftest import sign_in
from tests.service.web.pages.test_public import AGENCY, FORM, agency_name, field_error, text
from tests.service.web.pages.test_public import clerk as clerk  # noqa: F401 (fixture)

ENTRY = re.compile(r'<li id="entry-(\d+)"')


@pytest.fixture(scope="module")
def auditor(pages) -> Any:
    client = pages.test_client()
    sign_in(client, "auditor")
    return client


def at(day: int, month: int = 3, hour: int = 10) -> datetime:
    return datetime(2019, month, day, hour, tzinfo=VIETNAM)


def write(pages, **values: Any) -> int:
    """One entry of the access log, as the repository writes it; its id."""
    row = {"at": at(1), "actor": "officer:Cán bộ A", "role": "officer",
           "agency_code": "AUD-A", "purpose": None, "document_id": None, "owner_id": None,
           "action": "download", "outcome": "allowed", "reason": ""} | values
    with pages.extensions["tokhai"].sessions() as session:
        new = int(session.execute(insert(AccessLog).values(**row)
                                  .returning(AccessLog.id)).scalar_one())
        session.commit()
        return new


def owner() -> str:
    return f"0019{uuid.uuid4().int % 10**8:08d}"


def ids(answer: Any) -> list[int]:
    assert answer.status_code == 200, text(answer)[:500]
    return [int(i) for i in ENTRY.findall(answer.get_data(as_text=True))]


def log_size(pages) -> int:
    with pages.extensions["tokhai"].sessions() as session:
        return int(session.scalar(select(func.count()).select_from(AccessLog)))


@pytest.fixture(scope="module")
def seeded(pages) -> dict[str, Any]:
    """Entries of two citizens, two agencies, two documents, over March and April 2019."""
    one, two = owner(), owner()
    doc1, doc2 = str(uuid.uuid4()), str(uuid.uuid4())
    e = {
        "a": write(pages, owner_id=one, agency_code="AUD-A", document_id=doc1, at=at(1)),
        "b": write(pages, owner_id=one, agency_code="AUD-B", document_id=doc2, at=at(15),
                   outcome="denied", reason="no valid consent for this purpose"),
        "c": write(pages, owner_id=two, agency_code="AUD-A", document_id=doc2, at=at(31),
                   purpose="dossier:UBND-XA-00004-190331-0000001"),
        "d": write(pages, owner_id=two, agency_code="AUD-B", document_id=doc1,
                   at=at(2, month=4), action="register_read"),
        "e": write(pages, owner_id=two, agency_code="AUD-B", at=at(3, month=4),
                   action="dossier_read", purpose="dossier:UBND-XA-00004-190331-0000001"),
    }
    return {"one": one, "two": two, "doc1": doc1, "doc2": doc2, "e": e}


def test_each_filter_narrows_the_log(auditor, seeded) -> None:
    e, one, two = seeded["e"], seeded["one"], seeded["two"]
    get = lambda **q: ids(auditor.get("/audit/access", query_string=q))  # noqa: E731
    assert get(citizen=one) == [e["b"], e["a"]]  # newest first
    assert get(citizen=two) == [e["e"], e["d"], e["c"]]
    assert get(document=seeded["doc1"]) == [e["d"], e["a"]]
    assert get(document=seeded["doc2"].upper()) == [e["c"], e["b"]]  # as pasted
    assert set(get(agency="AUD-A")) >= {e["a"], e["c"]}
    assert not set(get(agency="AUD-A")) & {e["b"], e["d"]}
    assert get(agency="AUD-B", citizen=one) == [e["b"]]
    # a time range, in Vietnam days, both ends included, as typed or from a date input
    assert get(citizen=one, **{"from": "10/03/2019"}) == [e["b"]]
    assert get(citizen=two, **{"from": "1/3/2019", "to": "31/03/2019"}) == [e["c"]]
    assert get(citizen=two, **{"from": "2019-04-02", "to": "2019-04-02"}) == [e["d"]]
    assert get(citizen=two, **{"from": "2019-04-02"}) == [e["e"], e["d"]]
    assert get(citizen=two, to="2019-03-30") == []
    # the filters are shown again and each entry reads in words
    page = auditor.get("/audit/access", query_string={"citizen": two})
    words = text(page)
    assert f'value="{two}"' in page.get_data(as_text=True)
    assert "Đọc dữ liệu trong cơ sở dữ liệu để đối chiếu hồ sơ" in words
    assert "Mở hồ sơ" in words  # an officer's read of the dossier page
    assert "hồ sơ UBND-XA-00004-190331-0000001" in words  # the purpose
    assert "Cán bộ A" in words and "10:00 ngày 31/03/2019" in words
    denied = text(auditor.get("/audit/access", query_string={"citizen": one}))
    assert "Bị từ chối" in denied and "no valid consent for this purpose" in denied


def test_a_dossier_named_by_its_purpose_opens_the_read_only_dossier_page(
        pages, auditor, seeded) -> None:
    body = auditor.get("/audit/access",
                       query_string={"citizen": seeded["two"]}).get_data(as_text=True)
    if "office.dossier" in pages.view_functions:
        assert 'href="/office/dossiers/UBND-XA-00004-190331-0000001"' in body
    else:  # the officers' pages are not installed: the code, without a link
        assert "UBND-XA-00004-190331-0000001" in body and "/office/dossiers/" not in body


def test_paging_walks_the_whole_filtered_log_by_id(pages, auditor) -> None:
    who = owner()
    written = [write(pages, owner_id=who, at=at(1 + i % 28)) for i in range(120)]
    first = auditor.get("/audit/access", query_string={"citizen": who})
    seen = ids(first)
    assert seen == sorted(written, reverse=True)[:50]
    body = first.get_data(as_text=True)
    assert "Mới hơn" not in text(first) and 'rel="next"' in body
    pages_seen = [seen]
    answer = first
    while 'rel="next"' in answer.get_data(as_text=True):
        older = href(answer, 'rel="next"')
        assert f"citizen={who}" in older  # the filters travel with the cursor
        answer = auditor.get(older)
        pages_seen.append(ids(answer))
    assert [len(p) for p in pages_seen] == [50, 50, 20]
    assert sum(pages_seen, []) == sorted(written, reverse=True)
    # back from the last page: the page before it, and the way to the newest
    newer = href(answer, 'rel="prev"')
    assert ids(auditor.get(newer)) == pages_seen[1]
    assert "Mới nhất" in text(answer)
    # a cursor that is not a number is ignored: the newest page
    assert ids(auditor.get("/audit/access", query_string={"citizen": who,
                                                          "before": "x"})) == seen


def href(answer: Any, after: str) -> str:
    """The URL of the page's link whose attributes after href are ``after``."""
    found = re.search(rf'href="([^"]+)" {after}', answer.get_data(as_text=True))
    assert found, f"no link {after}"
    return html.unescape(found.group(1))


def rows_of(answer: Any) -> list[list[str]]:
    assert answer.status_code == 200
    body = answer.get_data()
    assert body.startswith("\ufeff".encode())  # Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_the_csv_has_the_pages_rows_and_filters(auditor, seeded) -> None:
    query = {"citizen": seeded["two"], "from": "01/03/2019"}
    page = auditor.get("/audit/access", query_string=query)
    link = href(page, "download")
    assert "format=csv" in link and f"citizen={seeded['two']}" in link
    answer = auditor.get(link)
    assert answer.mimetype == "text/csv"
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.headers["Content-Disposition"].startswith(
        'attachment; filename="nhat-ky-truy-cap-')
    rows = rows_of(answer)
    assert rows[0][:3] == ["Mã dòng", "Thời điểm (giờ Việt Nam)", "Người truy cập"]
    assert [int(r[0]) for r in rows[1:]] == ids(page)
    c = next(r for r in rows if r[0] == str(seeded["e"]["c"]))
    assert c[1:] == ["2019-03-31T10:00:00+07:00", "officer:Cán bộ A", "officer", "AUD-A",
                     "download", seeded["doc2"], seeded["two"],
                     "dossier:UBND-XA-00004-190331-0000001", "allowed", ""]


def test_the_export_is_bounded_and_read_in_batches(pages, auditor, seeded,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from service.repository import queries
    from service.web.pages import audit

    e = seeded["e"]
    monkeypatch.setattr(audit, "EXPORT_LIMIT", 1)
    rows = rows_of(auditor.get("/audit/access", query_string={"citizen": seeded["one"],
                                                              "format": "csv"}))
    assert [int(r[0]) for r in rows[1:]] == [e["b"]]  # the newest only
    with pages.extensions["tokhai"].read_sessions() as session:
        filters = queries.AccessFilter(document_id=seeded["doc1"])
        seen = [r.id for r in queries.access_export(session, filters, 10, batch=1)]
        assert seen == [e["d"], e["a"]]
        assert [r.id for r in queries.access_export(session, filters, 1, batch=1)] == [e["d"]]


def test_a_formula_in_the_log_is_never_run_by_a_spreadsheet(pages, auditor) -> None:
    who = owner()
    write(pages, owner_id=who, actor="officer:=HYPERLINK(\"http://evil\",\"x\")",
          reason="+1+cmd|' /C calc'!A0")
    write(pages, owner_id=who, actor="officer:plain", purpose="@SUM(1)", reason="-2+3")
    rows = rows_of(auditor.get("/audit/access", query_string={"citizen": who,
                                                              "format": "csv"}))
    cells = [cell for row in rows[1:] for cell in row]
    assert "'+1+cmd|' /C calc'!A0" in cells and "'@SUM(1)" in cells and "'-2+3" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    # the actor starts with its role, so it is not a formula; kept as written
    assert 'officer:=HYPERLINK("http://evil","x")' in cells


@pytest.mark.parametrize(("query", "field", "words"), [
    ({"citizen": "12ab"}, "citizen", "12 chữ số"),
    ({"citizen": "0011"}, "citizen", "12 chữ số"),
    ({"document": "../etc"}, "document", "36 ký tự"),
    ({"agency": "<b>"}, "agency", "Chọn cơ quan trong danh sách"),
    ({"from": "31/02/2019"}, "from", "Từ ngày phải là một ngày có thật"),
    ({"to": "hôm qua"}, "to", "Đến ngày phải là một ngày có thật"),
    ({"from": "02/03/2019", "to": "01/03/2019"}, "to", "Đến ngày phải bằng hoặc sau Từ ngày"),
    ({"from": "2019-13-01", "format": "csv"}, "from", "ngày có thật"),
])
def test_a_bad_filter_is_named_at_its_field(auditor, query, field, words) -> None:
    answer = auditor.get("/audit/access", query_string=query)
    assert answer.status_code == 400
    assert answer.mimetype == "text/html"  # never a CSV of the unfiltered log
    assert words in field_error(answer, field)
    body = answer.get_data(as_text=True)
    assert f'<a href="#{field}">' in body  # the error summary links to the field
    assert ENTRY.search(body) is None


@pytest.mark.parametrize("path", ["/audit/access", "/audit/access?format=csv",
                                  "/audit/late"])
@pytest.mark.parametrize("person", ["citizen_father", "officer", "designer"])
def test_no_one_but_an_auditor_reads_them(pages, person, path) -> None:
    client = pages.test_client()
    sign_in(client, person)
    answer = client.get(path)
    assert answer.status_code == 403
    assert answer.mimetype == "text/html" and "Bạn không có quyền xem trang này" in text(answer)


@pytest.mark.parametrize("path", ["/audit/access?citizen=001085012345", "/audit/late"])
def test_signed_out_is_sent_to_sign_in_and_back(pages, path) -> None:
    answer = pages.test_client().get(path)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/sign-in?next=")


def test_reading_the_log_writes_nothing_to_it_and_an_export_is_in_the_app_log(
        pages, auditor, seeded, caplog) -> None:
    """docs/repository.md: the access log records reads of documents and of a person's data;
    the API's GET /audit/access writes nothing to it, nor do the pages (an auditor paging
    through it would fill it with its own reading, on every citizen's 'who accessed my
    data'). A CSV export, many people's entries leaving the service, is in the application
    log, with who and which filters."""
    before = log_size(pages)
    with caplog.at_level(logging.INFO):
        ids(auditor.get("/audit/access", query_string={"citizen": seeded["one"]}))
        rows_of(auditor.get("/audit/access", query_string={"citizen": seeded["one"],
                                                           "format": "csv"}))
        auditor.get("/audit/late")
    assert log_size(pages) == before
    exported = [r for r in caplog.records if r.getMessage() == "access log exported"]
    assert len(exported) == 1
    assert exported[0].actor == "auditor:Kiểm toán viên (phát triển)"
    assert exported[0].filters == {"citizen": seeded["one"]}


# -- the monthly late list ------------------------------------------------------------------------

@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    held = Clock(vn(2027, 2, 1, 9))  # Monday 1 February 2027, 09:00 Vietnam time
    monkeypatch.setattr(lifecycle, "clock", held)
    return held


def test_the_late_list_of_every_agency_with_explanations_and_apologies(
        pages, clerk, clock: Clock) -> None:  # noqa: F811
    client = pages.test_client()
    father = citizen_headers(pages, "001085012345")
    codes = []
    for _ in range(2):
        filed = client.post("/api/v1/dossiers", headers=father, json={
            "form_id": FORM, "version": 1, "agency_code": AGENCY,
            "data": valid_submission(client, pages, FORM)})
        assert filed.status_code == 201
        codes.append(filed.get_json()["code"])
    clock.set(vn(2027, 2, 2, 10))  # past the 8 working hours to accept them
    explained = client.post(f"/api/v1/dossiers/{codes[0]}/explanation", headers=clerk, json={
        "reason": "Mạng gián đoạn, đã gọi 0912345678 để báo",
        "promised_at": vn(2027, 2, 11, 10).isoformat()})  # the first working day after Tết
    assert explained.status_code == 200, explained.get_json()
    auditor = pages.test_client()  # signed in on the dossiers' clock
    sign_in(auditor, "auditor")
    page = auditor.get("/audit/late", query_string={"month": "2027-02"})
    assert page.status_code == 200
    words = text(page)
    assert "Hồ sơ trễ hạn tháng 02/2027" in words and agency_name(pages) in words
    body = page.get_data(as_text=True)
    first, second = (words[words.index(f"Hồ sơ {c}"):] for c in codes)
    first = first[:first.index("Ngày hẹn mới") + 40]
    # the explanation as the officer wrote it (the auditor may read it whole), who wrote it,
    # the apology letter sent, the new date
    assert "Mạng gián đoạn, đã gọi 0912345678 để báo" in first
    assert "Cán bộ giải trình: test officer" in first  # the name, not the role's code
    assert "officer:" not in first
    assert "Thư xin lỗi Đã gửi" in first and "10:00 ngày 11/02/2027" in first
    second = second[:second.index("Ngày hẹn mới") + 20]
    assert "Chưa giải trình" in second and "Thư xin lỗi Chưa có" in second
    if "office.dossier" in pages.view_functions:
        for code in codes:
            assert f'href="/office/dossiers/{code}"' in body
    # one agency, another month, a bad month
    assert codes[0] not in text(auditor.get("/audit/late", query_string={
        "month": "2027-02", "agency": "UBND-XA-00001"}))
    assert codes[0] not in text(auditor.get("/audit/late", query_string={"month": "2027-01"}))
    wrong = auditor.get("/audit/late", query_string={"month": "2027-13"})
    assert wrong.status_code == 400
    assert "Chọn tháng trong danh sách" in field_error(wrong, "month")

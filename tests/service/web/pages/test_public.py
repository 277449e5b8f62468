"""The public pages (issue #14, point 3): the catalogue of procedures, a procedure's page,
verification by upload and by the QR code's link, receipt lookup, the monthly late list; and
their bad input (not a PDF, encrypted, huge, 10,000 pages, no signature, no file; a receipt
secret guessed many times)."""

from __future__ import annotations

import html
import io
import re
import subprocess
import time
from typing import Any

import pytest

from service.dossiers import lifecycle
from service.results import rendering
from tests.conftest import (
    DEMO_FATHER,
    _token,
    citizen_headers,
    file_and_process,
    valid_submission,
)
from tests.service.dossiers.clock import Clock, vn
from tests.service.web.pages.conftest import csrf_of

FORM = "to-khai-dang-ky-khai-sinh"
AGENCY = "UBND-XA-00004"
#: a hostile upload is answered within this (the sandbox's CPU budget is 3 s)
WALL_SECONDS = 10.0


def text(response: Any) -> str:
    """The page's visible text, spaces collapsed (tags and the head left out)."""
    body = response.get_data(as_text=True)
    body = re.sub(r"<head>.*?</head>", " ", body, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def error_summary(response: Any) -> str:
    found = re.search(r'<div class="error-summary".*?</div>', response.get_data(as_text=True),
                      re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(0))).split()) \
        if found else ""


def field_error(response: Any, field: str) -> str:
    found = re.search(rf'<span class="error-message" id="{field}-error">(.*?)</span>\s*<',
                      response.get_data(as_text=True), re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split()) \
        if found else ""


@pytest.fixture(scope="module")
def client(pages) -> Any:
    return pages.test_client()


@pytest.fixture(scope="module")
def father(pages) -> dict[str, str]:
    return citizen_headers(pages, DEMO_FATHER)


@pytest.fixture(scope="module")
def clerk(pages) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(pages, 'officer', agency_code=AGENCY)}"}


@pytest.fixture(scope="module")
def issued(pages, client, father, clerk) -> dict[str, Any]:
    """A real result, issued through the API: its document id and its PDF."""
    code, etag = file_and_process(client, father, clerk, FORM,
                                  valid_submission(client, pages, FORM), AGENCY)
    made = client.post(f"/api/v1/dossiers/{code}/result", json={},
                       headers={**clerk, "If-Match": etag})
    assert made.status_code == 201, made.get_json()
    pdf = client.get(f"/api/v1/dossiers/{code}/result", headers=father)
    assert pdf.status_code == 200
    return {"code": code, "document_id": made.get_json()["document_id"], "pdf": pdf.data,
            "number": made.get_json()["number"]}


def agency_name(pages) -> str:
    return pages.extensions["tokhai"].signing.agencies[AGENCY].name


def upload(client, data: bytes | None, name: str = "ket-qua.pdf") -> Any:
    page = client.get("/verify")
    assert page.status_code == 200
    form: dict[str, Any] = {"csrf_token": csrf_of(page.get_data(as_text=True))}
    if data is not None:
        form["document"] = (io.BytesIO(data), name, "application/pdf")
    else:  # what a browser sends when no file was chosen
        form["document"] = (io.BytesIO(b""), "", "application/octet-stream")
    return client.post("/verify", data=form, content_type="multipart/form-data")


# -- the catalogue and a procedure ----------------------------------------------------------------

def test_the_catalogue_is_searched_by_name_or_code_and_filtered_by_level(client) -> None:
    everything = text(client.get("/procedures"))
    assert "Đăng ký khai sinh" in everything and "Đổi, cấp lại giấy phép lái xe" in everything
    # a name typed without diacritics finds it, and only what matches
    by_name = client.get("/procedures", query_string={"q": "dang ky khai sinh"})
    assert by_name.status_code == 200
    assert "Đăng ký khai sinh" in text(by_name)
    assert "giấy phép lái xe" not in text(by_name)
    assert 'href="/procedures/to-khai-dang-ky-khai-sinh"' in by_name.get_data(as_text=True)
    by_code = text(client.get("/procedures", query_string={"q": "1.001193"}))
    assert "Đăng ký khai sinh" in by_code and "Đăng ký kết hôn" not in by_code
    province = text(client.get("/procedures", query_string={"level": "province"}))
    assert "Đổi, cấp lại giấy phép lái xe" in province and "Đăng ký khai sinh" not in province
    commune = text(client.get("/procedures", query_string={"level": "commune", "q": "kết hôn"}))
    assert "Đăng ký kết hôn" in commune and "giấy phép lái xe" not in commune
    nothing = text(client.get("/procedures", query_string={"q": "không có thủ tục này"}))
    assert "Không có thủ tục nào khớp" in nothing
    wrong = client.get("/procedures", query_string={"level": "hanh-tinh"})
    assert wrong.status_code == 400 and 'href="#level"' in wrong.get_data(as_text=True)
    assert "Chọn cấp cơ quan trong danh sách" in field_error(wrong, "level")


def test_the_catalogue_speaks_english_when_chosen(pages) -> None:
    browser = pages.test_client()
    browser.get("/language/en")
    page = text(browser.get("/procedures", query_string={"level": "province"}))
    assert "Catalogue of administrative procedures" in page and "Provincial level" in page
    assert "Danh mục thủ tục hành chính" not in page


def test_a_procedure_page_shows_what_is_prefilled_and_the_trimming_figure(pages, client) -> None:
    report = client.get(f"/api/v1/forms/{FORM}/versions/1/trimming-report").get_json()
    page = client.get(f"/procedures/{FORM}")
    assert page.status_code == 200
    body, words = page.get_data(as_text=True), text(page)
    assert "1.001193" in words and "Thông tư 04/2024/TT-BTP" in words  # code, legal basis
    assert "5 ngày làm việc" in words  # the default processing time: none of its own
    assert "Lệ phí" in words and "Chưa được công bố" in words
    marks = re.findall(r'data-mark="(\w+)"', body)
    counts = report["counts"]
    assert marks.count("verified") == counts["verified"] > 0
    assert marks.count("suggested") == counts["suggested"] > 0
    assert marks.count("typed") == counts["typed"] > 0
    assert "Nguồn: Cơ sở dữ liệu quốc gia về dân cư" in words
    percent = f"{report['reduction_percent']:g}".replace(".", ",")
    assert f"Giảm {percent}% số trường phải nhập" in words
    assert (f"bạn chỉ tự nhập {counts['typed']} trường; {counts['prefilled']} trường được "
            "điền sẵn") in words
    assert "Kính gửi" in words  # a field the e-form dropped, and why
    start = "eform.start" in pages.view_functions
    assert (f'href="/procedures/{FORM}/apply"' in body) is start
    unknown = client.get("/procedures/khong-co-to-khai-nay")
    assert unknown.status_code == 404 and unknown.mimetype == "text/html"
    assert "Không tìm thấy trang" in text(unknown)


# -- verification ---------------------------------------------------------------------------------

def test_an_issued_result_uploaded_is_valid_and_names_its_agency(pages, client, issued) -> None:
    answer = upload(client, issued["pdf"])
    assert answer.status_code == 200, text(answer)[:2000]
    body, words = answer.get_data(as_text=True), text(answer)
    assert 'data-verdict="valid"' in body
    assert "Văn bản hợp lệ" in words
    assert f"Cơ quan ban hành {agency_name(pages)}" in words
    assert "Có: tệp trùng khớp với bản gốc hệ thống đã phát hành" in words
    assert f"Số văn bản {issued['number']}" in words
    assert "B-LT" in words and "Nguyên vẹn" in words
    # B-LT: the revocation data added after the signature, which leaves the content as it was
    assert "Chỉ bổ sung dữ liệu kiểm tra chữ ký; nội dung đã ký giữ nguyên." in words
    assert re.search(r"Thời điểm ký \d{2}:\d{2} ngày \d{2}/\d{2}/\d{4}", words)
    # the structured data embedded, as issued, labelled by the template
    assert "data-structured" in body and "Họ, chữ đệm, tên" in words
    assert "Họ, chữ đệm, tên người cha Nguyễn Văn An" in words
    assert re.search(r"Ngày, tháng, năm sinh \d{2}/\d{2}/\d{4}", words)
    assert "Dân tộc Kinh" in words  # a code in words, as printed
    assert issued["document_id"] in words


def test_a_tampered_result_is_not_valid_and_the_page_says_why(client, issued) -> None:
    data = bytearray(issued["pdf"])
    position = data.index(b"<tokhai:Template>") + len(b"<tokhai:Template>")
    data[position] ^= 0x20  # one letter inside the signed bytes
    answer = upload(client, bytes(data))
    assert answer.status_code == 200
    body, words = answer.get_data(as_text=True), text(answer)
    assert 'data-verdict="invalid"' in body and "Văn bản KHÔNG hợp lệ" in words
    assert "Nội dung đã bị thay đổi sau khi ký: chữ ký không còn khớp." in words
    assert "Tệp không trùng với bản gốc do hệ thống phát hành." in words
    assert "Đã bị thay đổi" in words
    assert "data-structured" not in body  # a changed copy's content is not shown as issued


def _refused(answer: Any, status: int, message: str) -> None:
    assert answer.status_code == status, (answer.status_code, text(answer)[:1500])
    assert answer.mimetype == "text/html"
    summary = error_summary(answer)
    assert "Có lỗi cần sửa" in summary and message in summary, summary
    assert 'href="#document"' in answer.get_data(as_text=True)
    assert message in field_error(answer, "document")


def test_bad_uploads_get_a_clear_message_at_the_file_field(pages, client, issued,
                                                          tmp_path) -> None:
    _refused(upload(client, None), 400, "Chọn tệp PDF cần xác thực.")
    _refused(upload(client, b"", "trong.pdf"), 400, "Tệp đã chọn trống")
    _refused(upload(client, b"GIF89a not a pdf", "anh.pdf"), 422,
             "Tệp đã chọn không phải là tệp PDF.")
    src, enc = tmp_path / "in.pdf", tmp_path / "enc.pdf"
    src.write_bytes(issued["pdf"])
    subprocess.run(["qpdf", "--encrypt", "u", "o", "256", "--", str(src), str(enc)],
                   check=True)
    _refused(upload(client, enc.read_bytes()), 422, "được đặt mật khẩu (mã hóa)")
    _refused(upload(client, bytes(rendering.document("Không ký").output())), 422,
             "không có chữ ký số nào")
    many = rendering.document("Nhiều trang")
    for _ in range(10_000 - 1):
        many.add_page()
    started = time.monotonic()
    _refused(upload(client, bytes(many.output())), 422,
             f"tối đa {pages.extensions['tokhai'].settings.verify_max_pages} trang")
    assert time.monotonic() - started < WALL_SECONDS


def test_a_huge_upload_is_refused_at_the_file_field(pages, client) -> None:
    limit = pages.extensions["tokhai"].settings.verify_max_bytes
    mb = f"{limit / 1024 / 1024:g}"
    # just over the limit: read, measured, refused
    _refused(upload(client, b"%PDF-1.7\n" + b"0" * limit), 413, f"tối đa {mb} MB")
    # far over it: refused before the form is read (the request's own limit)
    _refused(upload(client, b"%PDF-1.7\n" + b"0" * (limit + 256 * 1024)), 413,
             f"tối đa {mb} MB")


def test_an_upload_without_its_csrf_token_is_refused(client, issued) -> None:
    answer = client.post("/verify", data={"document": (io.BytesIO(issued["pdf"]), "a.pdf")},
                         content_type="multipart/form-data")
    assert answer.status_code == 400 and "Văn bản hợp lệ" not in text(answer)


def test_the_qr_link_opens_the_page_in_a_browser_and_json_for_the_api(client, issued) -> None:
    url = f"/api/v1/documents/{issued['document_id']}/verification"
    browser = ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
               "image/webp,*/*;q=0.8")
    for accept in (browser, "text/html"):
        moved = client.get(url, headers={"Accept": accept})
        assert moved.status_code == 303, accept
        assert moved.headers["Location"].endswith(f"/verify/{issued['document_id']}")
    for asked in ("application/json", "*/*", "application/json, text/html;q=0.5", None):
        headers = {"Accept": asked} if asked else {}
        answer = client.get(url, headers=headers)
        assert answer.status_code == 200 and answer.mimetype == "application/json", asked
        assert answer.get_json()["valid"] is True
    page = client.get(url, headers={"Accept": browser}, follow_redirects=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert 'data-verdict="valid"' in page.get_data(as_text=True)
    words = text(page)
    assert "Văn bản hợp lệ" in words and issued["document_id"] in words
    assert "Họ, chữ đệm, tên" in words  # the data as issued, to hold against the paper
    unknown = client.get("/verify/00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 404 and "Không tìm thấy văn bản" in text(unknown)
    odd = client.get("/api/v1/documents/khong-phai-ma/verification",
                     headers={"Accept": "text/html"}, follow_redirects=True)
    assert odd.status_code == 404 and odd.mimetype == "text/html"
    assert "Không tìm thấy văn bản" in text(odd)


def test_each_qr_page_view_is_in_the_access_log(pages, client, issued) -> None:
    auditor = {"Authorization": f"Bearer {_token(pages, 'auditor')}"}

    def views() -> int:
        log = client.get("/api/v1/audit/access", headers=auditor,
                         query_string={"document_id": issued["document_id"], "limit": 200})
        assert log.status_code == 200, log.get_json()
        return sum(1 for e in log.get_json()["entries"] if e["action"] == "verification")

    before = views()
    assert client.get(f"/verify/{issued['document_id']}").status_code == 200
    assert views() == before + 1


# -- receipts -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def receipt(pages, client, father) -> tuple[str, str]:
    filed = client.post("/api/v1/dossiers", headers=father, json={
        "form_id": FORM, "version": 1, "agency_code": AGENCY,
        "data": valid_submission(client, pages, FORM)})
    assert filed.status_code == 201, filed.get_json()
    return filed.get_json()["code"], filed.get_json()["receipt_secret"]


def look_up(client, code: str, secret: str, address: str) -> Any:
    environ = {"REMOTE_ADDR": address}
    page = client.get("/receipt", environ_base=environ)
    return client.post("/receipt", environ_base=environ, data={
        "code": code, "secret": secret, "csrf_token": csrf_of(page.get_data(as_text=True))})


def test_a_receipt_is_looked_up_with_its_code_and_secret(client, receipt) -> None:
    code, secret = receipt
    found = look_up(client, code, secret, "192.0.2.1")
    assert found.status_code == 200
    words = text(found)
    assert f"Hồ sơ {code}" in words and "Đã nộp, chờ tiếp nhận" in words
    assert re.search(r"Hạn tiếp nhận \d{2}:\d{2} ngày \d{2}/\d{2}/\d{4}", words)
    assert "Nguyễn Văn An" not in words and DEMO_FATHER not in words
    wrong_secret = look_up(client, code, secret[::-1] + "x", "192.0.2.1")
    wrong_code = look_up(client, code[:-1] + ("9" if code[-1] != "9" else "8"), secret,
                         "192.0.2.1")
    assert wrong_secret.status_code == wrong_code.status_code == 404
    assert error_summary(wrong_secret) == error_summary(wrong_code) != ""
    assert "Không tìm thấy hồ sơ với mã hồ sơ và mã bí mật này" in error_summary(wrong_code)
    assert "Đã nộp" not in text(wrong_secret)
    empty = look_up(client, "", "", "192.0.2.1")
    assert empty.status_code == 400
    assert "Nhập mã hồ sơ" in field_error(empty, "code")
    assert "Nhập mã bí mật" in field_error(empty, "secret")


def test_a_receipt_secret_guessed_many_times_is_rate_limited(pages, client, receipt) -> None:
    code, secret = receipt
    allowed = int(pages.extensions["tokhai"].settings.receipt_lookups.split("/")[0])
    for i in range(allowed):
        assert look_up(client, code, f"doan-sai-{i:04d}", "192.0.2.7").status_code == 404
    limited = look_up(client, code, "doan-sai-cuoi", "192.0.2.7")
    assert limited.status_code == 429 and limited.mimetype == "text/html"
    assert int(limited.headers["Retry-After"]) > 0
    assert "Bạn đã tra cứu quá nhiều lần" in text(limited)
    # the right secret is refused too from that address, not from another one
    assert look_up(client, code, secret, "192.0.2.7").status_code == 429
    assert look_up(client, code, secret, "192.0.2.8").status_code == 200


def test_the_api_counts_receipt_lookups_with_the_page(pages, client, receipt) -> None:
    """The API's receipt lookup is the same guess of a secret: counted per address with the
    page's lookups, so the page's limit cannot be bypassed through the API."""
    code, secret = receipt
    allowed = int(pages.extensions["tokhai"].settings.receipt_lookups.split("/")[0])
    environ = {"REMOTE_ADDR": "192.0.2.9"}
    for i in range(allowed):
        guess = client.get(f"/api/v1/receipts/{code}", environ_base=environ,
                           query_string={"secret": f"doan-sai-{i:04d}"})
        assert guess.status_code == 404
    limited = client.get(f"/api/v1/receipts/{code}", environ_base=environ,
                         query_string={"secret": secret})
    assert limited.status_code == 429 and limited.get_json()["code"] == "too_many_lookups"
    assert int(limited.headers["Retry-After"]) > 0
    assert look_up(client, code, secret, "192.0.2.9").status_code == 429
    other = client.get(f"/api/v1/receipts/{code}", environ_base={"REMOTE_ADDR": "192.0.2.10"},
                       query_string={"secret": secret})
    assert other.status_code == 200


# -- late dossiers --------------------------------------------------------------------------------

@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The dossiers' clock at Monday 4 January 2027, 09:00 Vietnam time."""
    held = Clock(vn(2027, 1, 4, 9))
    monkeypatch.setattr(lifecycle, "clock", held)
    return held


def test_the_late_list_shows_apologies_per_agency_and_no_personal_data(
        pages, client, father, clerk, clock: Clock) -> None:
    filed = client.post("/api/v1/dossiers", headers=father, json={
        "form_id": FORM, "version": 1, "agency_code": AGENCY,
        "data": valid_submission(client, pages, FORM)})  # Monday 4 January 2027, 09:00
    assert filed.status_code == 201
    code = filed.get_json()["code"]
    clock.set(vn(2027, 1, 5, 10))  # past the 8 working hours to accept it
    explained = client.post(f"/api/v1/dossiers/{code}/explanation", headers=clerk, json={
        "reason": "Hệ thống mạng gián đoạn, đã gọi 0912345678 để báo",
        "promised_at": vn(2027, 1, 8, 10).isoformat()})
    assert explained.status_code == 200, explained.get_json()
    page = client.get("/late", query_string={"month": "2027-01"})
    assert page.status_code == 200
    words = text(page)
    assert "Hồ sơ trễ hạn tháng 01/2027" in words
    assert agency_name(pages) in words and code in words
    assert "Trễ hạn tiếp nhận" in words and "Hệ thống mạng gián đoạn" in words
    assert "10:00 ngày 08/01/2027" in words  # the new promised date
    for personal in ("Nguyễn Văn An", DEMO_FATHER, "0912345678", "officer:"):
        assert personal not in page.get_data(as_text=True), personal
    # another agency's list, another month's: not there
    other = text(client.get("/late", query_string={"month": "2027-01",
                                                    "agency": "UBND-XA-00001"}))
    assert code not in other
    assert code not in text(client.get("/late", query_string={"month": "2026-12"}))
    wrong = client.get("/late", query_string={"month": "2027-13"})
    assert wrong.status_code == 400 and "Chọn tháng trong danh sách" in field_error(wrong,
                                                                                   "month")

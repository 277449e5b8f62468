"""Importing a printed form on the designers' pages: the button on the list, the upload page,
a new draft, then 303 to its editor, which says what to review once (reloading it makes no
other draft); a refused PDF stores nothing. The
importer's job is faked (service.imports.run_job) except in the last tests, which run the real
importer on PDFs made with fpdf2."""

from __future__ import annotations

import html
import io
import random
import re
from typing import Any, cast

import pytest
from sqlalchemy import func, select

from service import imports
from storage.models import FormVersion
from tests.service.web.pages.conftest import csrf_of, sign_in
from tests.service.web.test_api_imports import PDF, Draft, Finding, draft

FORM = "mau-nhap-thu"


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def textarea(body: str) -> str:
    found = re.search(r'<textarea[^>]*id="definition"[^>]*>\n?(.*?)</textarea>', body, re.S)
    assert found, "no editor on the page"
    return found.group(1)


def versions(app: Any, form_id: str | None = None) -> list[tuple[str, int, str]]:
    with app.extensions["tokhai"].sessions() as s:
        q = select(FormVersion.form_id, FormVersion.version, FormVersion.status)
        if form_id is not None:
            q = q.where(FormVersion.form_id == form_id)
        return [(r[0], r[1], r[2]) for r in s.execute(q.order_by(FormVersion.version))]


def count(app: Any) -> int:
    with app.extensions["tokhai"].sessions() as s:
        return s.scalar(select(func.count()).select_from(FormVersion)) or 0


@pytest.fixture
def jobs(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    given: list[bytes] = []

    def job(function: Any, data: bytes) -> tuple[str, Any]:
        given.append(data)
        return "draft", draft()

    monkeypatch.setattr(imports, "run_job", job)
    return given


@pytest.fixture
def designer(pages):
    c = pages.test_client()
    sign_in(c, "designer")
    return c


def upload(client: Any, data: bytes = PDF, *, name: str = "mau.pdf",
           token: str | None = None) -> Any:
    if token is None:
        token = csrf_of(client.get("/design/import").get_data(as_text=True))
    return client.post("/design/import", content_type="multipart/form-data",
                       data={"csrf_token": token, "file": (io.BytesIO(data), name)})


def test_the_list_has_the_import_button_and_the_upload_page_its_limits(designer) -> None:
    listing = text(designer.get("/design"))
    assert re.search(r'<a class="button[^"]*" href="/design/import">Nhập từ tệp PDF</a>',
                     listing)
    page = designer.get("/design/import")
    assert page.status_code == 200
    body = text(page)
    assert 'enctype="multipart/form-data"' in body and 'type="file"' in body
    assert 'name="file"' in body and 'accept="application/pdf,.pdf"' in body
    assert "tối đa 10 MB và 20 trang" in body and "30 giây" in body
    assert "không bao giờ được đoán" in body


def imported(client: Any, data: bytes = PDF, *, name: str = "mau.pdf") -> Any:
    """Upload, check the answer is 303 to an editor, and follow it."""
    answer = upload(client, data, name=name)
    assert answer.status_code == 303, text(answer)[:2000]
    assert re.fullmatch(r"/design/forms/[^/]+/\d+/edit", answer.headers["Location"])
    return client.get(answer.headers["Location"])


def test_an_imported_pdf_becomes_a_new_draft_opened_in_the_editor(pages, designer,
                                                                 jobs) -> None:
    before = versions(pages, FORM)
    answer = upload(designer)
    assert answer.status_code == 303, text(answer)[:2000]
    assert jobs == [PDF]
    made = versions(pages, FORM)
    assert len(made) == len(before) + 1
    number = made[-1][1]
    assert made[-1] == (FORM, number, "draft")
    assert answer.headers["Location"] == f"/design/forms/{FORM}/{number}/edit"
    shown = designer.get(answer.headers["Location"])
    assert shown.status_code == 200
    body = text(shown)
    assert f'action="/design/forms/{FORM}/{number}/edit"' in body  # the editor of the draft
    assert f"version: {number}" in textarea(body)
    assert "Đã tạo bản nháp từ tệp PDF" in body
    # the finding at its line of the text, with its confidence; OCR said
    line = textarea(body).splitlines().index(
        "      - {id: ngay_sinh, type: date, label: Ngày sinh, prefill: population.birth_date}")
    assert f'data-line="{line + 1}">Dòng {line + 1}: Kiểu đoán từ nhãn: date (độ tin cậy 60%)' \
        in body
    assert "nhận dạng ký tự (OCR)" in body
    # a reload (or a second visit) of the editor makes no draft, and says the findings no more
    total = count(pages)
    again = text(designer.get(answer.headers["Location"]))
    assert f"version: {number}" in textarea(again)
    assert "Đã tạo bản nháp từ tệp PDF" not in again and "Kiểu đoán từ nhãn" not in again
    assert "nhận dạng ký tự (OCR)" not in again
    assert count(pages) == total and jobs == [PDF]


def test_the_findings_are_shown_only_at_the_editor_of_the_draft_made(pages, designer,
                                                                     jobs) -> None:
    answer = upload(designer)
    number = versions(pages, FORM)[-1][1]
    with pages.extensions["tokhai"].sessions() as s:  # another draft, made without the page
        row = imports.create_draft(s, cast(Any, draft()), "test")
        s.commit()
        assert row.version == number + 1
    elsewhere = text(designer.get(f"/design/forms/{FORM}/{number + 1}/edit"))
    assert "Đã tạo bản nháp từ tệp PDF" not in elsewhere and "Kiểu đoán" not in elsewhere
    body = text(designer.get(answer.headers["Location"]))
    assert "Đã tạo bản nháp từ tệp PDF" in body and "Kiểu đoán từ nhãn: date" in body


def test_many_findings_are_kept_bounded_and_the_rest_counted(pages, designer,
                                                             monkeypatch) -> None:
    """An import with many long findings keeps the session cookie small: the first few are
    shown, the others counted (they are in the text as '# ĐOÁN' comments)."""
    def words(seed: int) -> str:  # text that does not compress away
        pick = random.Random(seed)
        return " ".join("".join(pick.choices("aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạếềểễệ", k=6))
                        for _ in range(40))

    many = draft()
    many.findings = [Finding(f"sections[0].fields[{i % 3}].label", "guess",
                             f"Nhãn đoán số {i}: {words(i)}", f"Guessed label {i}: {words(-i)}",
                             0.5) for i in range(80)]
    monkeypatch.setattr(imports, "run_job", lambda f, data: ("draft", many))
    answer = upload(designer)
    assert answer.status_code == 303
    cookie = designer.get_cookie("tokhai")
    assert cookie is not None and len(cookie.value) < 3200
    body = text(designer.get(answer.headers["Location"]))
    shown = re.findall(r"Nhãn đoán số (\d+)", body)
    assert shown and len(shown) <= 12 and shown == [str(i) for i in range(len(shown))]
    assert "Cần rà soát (80)" in body
    assert f"Còn {80 - len(shown)} điểm khác cần rà soát" in body


def test_an_import_without_ocr_does_not_say_ocr(designer, monkeypatch) -> None:
    plain = Draft(draft().yaml, draft().definition, [], from_ocr=False)
    monkeypatch.setattr(imports, "run_job", lambda f, data: ("draft", plain))
    body = text(imported(designer))
    assert "Đã tạo bản nháp từ tệp PDF" in body
    assert "nhận dạng ký tự (OCR)" not in body and "Cần rà soát" not in body


def test_importing_the_same_form_again_takes_the_next_version(pages, designer, jobs) -> None:
    imported(designer)
    first = versions(pages, FORM)[-1][1]
    again = imported(designer)
    assert versions(pages, FORM)[-1][1] == first + 1
    assert f"version: {first + 1}" in textarea(text(again))


def test_findings_in_english(designer, jobs) -> None:
    designer.get("/language/en")
    try:
        body = text(imported(designer))
    finally:
        designer.get("/language/vi")
    assert "Type guessed from the label: date (confidence 60%)" in body
    assert "Kiểu đoán" not in body


@pytest.mark.parametrize("code", ["encrypted", "not_pdf", "too_many_pages", "not_vietnamese"])
def test_a_refused_pdf_is_said_and_stores_nothing(pages, designer, monkeypatch, code) -> None:
    monkeypatch.setattr(imports, "run_job", lambda f, data: (
        "refused", (code, f"Tệp bị từ chối ({code}).", f"Refused ({code}).")))
    before = count(pages)
    answer = upload(designer)
    assert answer.status_code == 422
    body = text(answer)
    assert f'<a href="#file">Tệp bị từ chối ({code}).</a>' in body  # the error summary
    assert 'id="file-error"' in body
    assert count(pages) == before


def test_no_file_or_too_large_a_file_is_said(pages, designer, jobs) -> None:
    before = count(pages)
    token = csrf_of(designer.get("/design/import").get_data(as_text=True))
    none = designer.post("/design/import", data={"csrf_token": token},
                         content_type="multipart/form-data")
    assert none.status_code == 422 and "Chọn tệp PDF của mẫu tờ khai." in text(none)
    big = upload(designer, b"%PDF-1.7\n" + b"0" * (imports.MAX_BYTES + 70_000), token=token)
    assert big.status_code == 413
    assert "chỉ nhập được tệp PDF tối đa 10 MB" in text(big)
    just_over = upload(designer, b"%PDF-1.7\n" + b"0" * imports.MAX_BYTES, token=token)
    assert just_over.status_code == 413
    assert "chỉ nhập được tệp PDF tối đa 10 MB" in text(just_over)
    assert jobs == [] and count(pages) == before


@pytest.mark.parametrize("person", ["citizen_father", "officer", "auditor"])
def test_other_roles_and_strangers_are_refused(pages, jobs, person) -> None:
    client = pages.test_client()
    sign_in(client, person)
    assert client.get("/design/import").status_code == 403
    before = count(pages)
    posted = upload(client, token=csrf_of(client.get("/").get_data(as_text=True)))
    assert posted.status_code == 403 and count(pages) == before
    stranger = pages.test_client()
    assert stranger.get("/design/import").status_code == 302
    assert jobs == []


def test_the_upload_needs_its_csrf_token(pages, designer, jobs) -> None:
    before = count(pages)
    answer = designer.post("/design/import", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(PDF), "mau.pdf")})
    assert answer.status_code == 400
    assert jobs == [] and count(pages) == before


def test_a_real_printed_form_opens_as_a_draft_that_saves(pages, designer) -> None:
    """The real importer (in its sandbox) on a PDF made with fpdf2: the new draft holds the
    form read, and the editor saves it unchanged."""
    from tests.service.web.test_api_imports import form_pdf

    answer = imported(designer, form_pdf(), name="to-khai.pdf")
    made = versions(pages, "to-khai-dang-ky-thu-nghiem")
    assert made and made[-1][2] == "draft"
    body = text(answer)
    source = textarea(body)
    assert 'title: "Tờ khai đăng ký thử nghiệm"' in source and "Họ, chữ đệm và tên" in source
    assert "Cần rà soát" in body
    digest = re.search(r'name="digest" value="([0-9a-f]{64})"', body)
    assert digest is not None
    saved = designer.post(f"/design/forms/to-khai-dang-ky-thu-nghiem/{made[-1][1]}/edit",
                          data={"csrf_token": csrf_of(body), "digest": digest.group(1),
                                "definition": source})
    assert saved.status_code == 302, text(saved)[:2000]


def test_a_real_pdf_in_english_is_refused_and_stores_nothing(pages, designer) -> None:
    from tests.service.web.test_api_imports import ENGLISH, form_pdf

    before = count(pages)
    answer = upload(designer, form_pdf(ENGLISH))
    assert answer.status_code == 422
    assert "không phải là mẫu tờ khai tiếng Việt" in text(answer)
    assert count(pages) == before

"""POST /api/v1/form-imports: a designer's PDF read as a draft definition, nothing stored;
roles, limits and every refusal naming the field ``file``.

Where the point is the endpoint (what it reads, refuses and answers), the importer's job
(service.imports.run_job) is replaced by a fake; the last tests run the real importer, in its
sandbox, on PDFs made here with fpdf2 (a form, and every kind of bad input)."""

from __future__ import annotations

import io
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from forms.imports.draft import Draft, Finding
from forms.language import parse_text
from service import imports
from service.pki import sandbox
from storage.models import FormVersion
from tests.conftest import sample_definition

URL = "/api/v1/form-imports"
PDF = b"%PDF-1.7\n% a form\n"


def draft() -> Draft:
    text = sample_definition("mau-nhap-thu")
    return Draft(text, yaml.safe_load(text), [
        Finding("sections[0].fields[1].type", "type_guessed", "Kiểu đoán từ nhãn: date",
                "Type guessed from the label: date", 0.6)], from_ocr=True)


@pytest.fixture
def jobs(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The PDFs the fake importer was given (it answers :func:`draft`)."""
    given: list[bytes] = []

    def job(function: Any, data: bytes) -> tuple[str, Any]:
        given.append(data)
        return "draft", draft()

    monkeypatch.setattr(imports, "run_job", job)
    return given


def versions(app) -> int:
    with app.extensions["tokhai"].sessions() as session:
        return session.scalar(select(func.count()).select_from(FormVersion))


def test_a_designer_gets_the_draft_and_its_findings_and_nothing_is_stored(
        app, client, designer, jobs) -> None:
    before = versions(app)
    resp = client.post(URL, headers=designer,
                       data={"file": (io.BytesIO(PDF), "mau.pdf", "application/pdf")},
                       content_type="multipart/form-data")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["yaml"] == sample_definition("mau-nhap-thu")
    assert body["definition"]["id"] == "mau-nhap-thu"
    assert body["from_ocr"] is True
    assert body["findings"] == [{
        "path": "sections[0].fields[1].type", "code": "type_guessed",
        "message": "Kiểu đoán từ nhãn: date", "message_en": "Type guessed from the label: date",
        "confidence": 0.6}]
    assert jobs == [PDF]
    assert versions(app) == before


def test_the_pdf_may_be_the_body_itself(client, designer, jobs) -> None:
    resp = client.post(URL, headers={**designer, "Content-Type": "application/pdf"}, data=PDF)
    assert resp.status_code == 200 and resp.get_json()["definition"]["version"] == 1
    assert jobs == [PDF]


@pytest.mark.parametrize("who, status", [(None, 401), ("citizen", 403), ("officer", 403),
                                         ("auditor", 403)])
def test_only_designers_may_import(app, client, jobs, who, status) -> None:
    from tests.conftest import _token

    headers = {"Content-Type": "application/pdf"}
    if who == "citizen":
        headers["Authorization"] = f"Bearer {_token(app, who, personal_id='001090000001')}"
    elif who == "officer":
        headers["Authorization"] = f"Bearer {_token(app, who, agency_code='UBND-XA-00004')}"
    elif who is not None:
        headers["Authorization"] = f"Bearer {_token(app, who)}"
    resp = client.post(URL, headers=headers, data=PDF)
    assert resp.status_code == status
    assert jobs == []


def test_a_pdf_over_the_limit_is_refused_before_it_is_read(app, client, designer,
                                                             jobs) -> None:
    before = versions(app)
    big = b"%PDF-1.7\n" + b"0" * imports.MAX_BYTES
    resp = client.post(URL, headers={**designer, "Content-Type": "application/pdf"}, data=big)
    assert resp.status_code == 413
    body = resp.get_json()
    assert body["code"] == "too_large" and body["field"] == "file"
    assert "10 MiB" in body["message"] and "10 MiB" in body["message_en"]
    multipart = client.post(URL, headers=designer, content_type="multipart/form-data",
                            data={"file": (io.BytesIO(big), "to.pdf", "application/pdf")})
    assert multipart.status_code == 413 and multipart.get_json()["field"] == "file"
    assert jobs == [] and versions(app) == before


def test_a_file_of_exactly_the_limit_is_read(client, designer, jobs) -> None:
    exact = b"%PDF-1.7\n" + b"0" * (imports.MAX_BYTES - 9)
    resp = client.post(URL, headers=designer, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(exact), "mau.pdf", "application/pdf")})
    assert resp.status_code == 200 and jobs == [exact]


def test_another_media_type_or_no_file_is_refused(client, designer, jobs) -> None:
    plain = client.post(URL, headers={**designer, "Content-Type": "text/plain"}, data=b"x")
    assert plain.status_code == 415 and plain.get_json()["field"] == "file"
    none = client.post(URL, headers=designer, content_type="multipart/form-data",
                       data={"other": (io.BytesIO(PDF), "mau.pdf")})
    assert none.status_code == 422
    assert none.get_json()["code"] == "file_missing" and none.get_json()["field"] == "file"
    empty = client.post(URL, headers={**designer, "Content-Type": "application/pdf"}, data=b"")
    assert empty.status_code == 422
    assert empty.get_json()["code"] == "empty" and empty.get_json()["field"] == "file"
    assert jobs == []


@pytest.mark.parametrize("code, status", [("encrypted", 422), ("not_pdf", 422),
                                          ("too_many_pages", 422), ("bomb", 422),
                                          ("not_vietnamese", 422), ("too_large", 413)])
def test_the_readers_refusal_is_answered_with_its_code_naming_file(
        app, client, designer, monkeypatch, code, status) -> None:
    before = versions(app)
    monkeypatch.setattr(imports, "run_job", lambda f, data: (
        "refused", (code, f"Tệp bị từ chối: {code}.", f"Refused: {code}.")))
    resp = client.post(URL, headers={**designer, "Content-Type": "application/pdf"}, data=PDF)
    assert resp.status_code == status
    body = resp.get_json()
    assert body == {**body, "code": code, "field": "file", "message": f"Tệp bị từ chối: {code}.",
                    "message_en": f"Refused: {code}."}
    assert versions(app) == before


@pytest.mark.parametrize("kind, status, code", [("time", 422, "too_slow"),
                                                ("memory", 422, "too_costly"),
                                                ("busy", 503, "busy")])
def test_an_import_past_its_budget_is_refused(client, designer, monkeypatch, kind, status,
                                              code) -> None:
    def overrun(*args: Any) -> tuple[str, Any]:
        raise sandbox.Overrun(kind)

    monkeypatch.setattr(imports, "run_job", overrun)
    resp = client.post(URL, headers={**designer, "Content-Type": "application/pdf"}, data=PDF)
    assert resp.status_code == status
    assert resp.get_json()["code"] == code and resp.get_json()["field"] == "file"


def test_the_endpoint_is_documented(client) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    post = spec["paths"][URL]["post"]
    assert set(post["requestBody"]["content"]) == {"application/pdf", "multipart/form-data"}
    assert post["security"] == [{"bearerAuth": []}]
    assert {"200", "401", "403", "413", "415", "422"} <= set(post["responses"])
    schema = post["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/FormImport")


# -- the real importer ------------------------------------------------------------------------

FONTS = Path(__file__).resolve().parents[3] / "service" / "fonts"
#: a small printed form: motto, title, addressee, a section, numbered items (several on a
#: line), the commitment, the place and date, the signature
VIETNAMESE = [
    ("B", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"), ("B", "Độc lập - Tự do - Hạnh phúc"),
    ("B", "TỜ KHAI ĐĂNG KÝ THỬ NGHIỆM"), ("", "Kính gửi: Ủy ban nhân dân xã ....................."),
    ("B", "I. THÔNG TIN NGƯỜI KHAI"),
    ("", "1. Họ, chữ đệm và tên: ..........................................................."),
    ("", "2. Ngày, tháng, năm sinh: .................. Giới tính: .............. Dân tộc: ......"),
    ("", "3. Số định danh cá nhân: ........................................................"),
    ("", "4. Số điện thoại: ........................ Email: ................................"),
    ("", "5. Nơi cư trú: ..................................................................."),
    ("", "Tôi cam đoan những nội dung khai trên đây là đúng sự thật."),
    ("", "..., ngày ... tháng ... năm ..."), ("B", "NGƯỜI KHAI")]
ENGLISH = [("B", "APPLICATION FORM"),
           ("", "1. Full name: ............................................"),
           ("", "2. Date of birth: ....................... Sex: ................"),
           ("", "3. Address: ..............................................")]


def form_pdf(lines: list[tuple[str, str]] = VIETNAMESE, *, pages: int = 1,
             password: str | None = None) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.add_font("serif", "", str(FONTS / "TokhaiSerif-Regular.ttf"))
    pdf.add_font("serif", "B", str(FONTS / "TokhaiSerif-Bold.ttf"))
    if password is not None:
        pdf.set_encryption(owner_password=password, user_password=password)
    for _ in range(pages):
        pdf.add_page()
        for style, text in lines:
            pdf.set_font("serif", style, 12)
            pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT",
                     align="C" if style == "B" else "L")
    return bytes(pdf.output())


def bomb() -> bytes:
    """A form with one more stream: 100 KiB that inflate to 200 MiB."""
    data = form_pdf()
    inflated = zlib.compress(b"\0" * (200 * 1024 * 1024), 9)
    extra = (b"999 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(inflated)
             + inflated + b"\nendstream\nendobj\n")
    at = data.rindex(b"xref")
    return data[:at] + extra + data[at:]


def bad_inputs(tmp: Path) -> dict[str, bytes]:
    """Every kind of bad input, by the code it is refused with."""
    good = form_pdf()
    plain = tmp / "plain.pdf"
    plain.write_bytes(good)
    locked = tmp / "locked.pdf"
    subprocess.run(["qpdf", "--encrypt", "u", "o", "256", "--", str(plain), str(locked)],
                   check=True)
    return {
        "not_pdf": "Tờ khai đăng ký thử nghiệm\n".encode() * 10,
        "damaged": good[:len(good) // 3] + b"\n%%EOF\n",
        "encrypted": locked.read_bytes(),
        "too_many_pages": form_pdf(pages=imports.MAX_PAGES + 1),
        "bomb": bomb(),
        "not_vietnamese": form_pdf(ENGLISH),
    }


def test_a_printed_form_is_read_as_a_draft_that_passes_the_check(app, client,
                                                                 designer) -> None:
    before = versions(app)
    resp = client.post(URL, headers=designer, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(form_pdf()), "mau.pdf")})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    form = parse_text(body["yaml"], "draft.yaml")  # what `tokhai forms check` runs
    assert form.title == "Tờ khai đăng ký thử nghiệm" and body["from_ocr"] is False
    labels = [f["label"] for s in body["definition"]["sections"] for f in s["fields"]]
    assert any("Họ, chữ đệm và tên" in label for label in labels)
    assert all({"path", "code", "message", "message_en", "confidence"} == set(f)
               for f in body["findings"])
    assert versions(app) == before


def test_bad_input_is_refused_with_its_code_and_nothing_is_stored(app, client, designer,
                                                                  tmp_path: Path) -> None:
    before = versions(app)
    for code, data in bad_inputs(tmp_path).items():
        resp = client.post(URL, headers={**designer, "Content-Type": "application/pdf"},
                           data=data)
        body = resp.get_json()
        assert resp.status_code == 422, (code, body)
        assert body["code"] == code and body["field"] == "file", (code, body)
        assert body["message"] and body["message_en"] and body["message"] != body["message_en"]
    assert versions(app) == before

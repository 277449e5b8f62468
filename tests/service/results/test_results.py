# ruff: noqa: E501 - test signatures carry their fixtures on one line
"""Signed results: rendering, PAdES signing, issuance, verification, independent checks."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from sqlalchemy import select

from forms.results import TEMPLATES
from service.pki import devpki
from service.pki import validation as verification
from service.pki.config import SigningSetupError
from service.pki.seals import development_seal
from service.pki.signer import Signing
from service.results import rendering
from service.results.issuance import result_rows, result_values
from storage.models import Dossier, DossierDocument
from tests import pki
from tests.conftest import (
    DEMO_FATHER,
    _token,
    demo_app,
    valid_submission,
)

FORM = "to-khai-dang-ky-khai-sinh"
AGENCY = "UBND-XA-00004"


@pytest.fixture
def clerk(app) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'officer', agency_code=AGENCY)}"}


def in_processing(client, app, father, clerk, agency: str = AGENCY) -> tuple[str, str]:
    """A dossier filed, accepted and in processing; its code and current ETag."""
    body = {"form_id": FORM, "version": 1, "agency_code": agency,
            "data": valid_submission(client, app, FORM)}
    filed = client.post("/api/v1/dossiers", json=body, headers=father)
    assert filed.status_code == 201, filed.get_json()
    code = filed.get_json()["code"]
    etag = filed.headers["ETag"]
    for action in ("accept", "start_processing"):
        moved = client.post(f"/api/v1/dossiers/{code}/actions", json={"action": action},
                            headers={**clerk, "If-Match": etag})
        assert moved.status_code == 200, moved.get_json()
        etag = moved.headers["ETag"]
    return code, etag


def issue(client, clerk, code, etag, **body):
    return client.post(f"/api/v1/dossiers/{code}/result", json=body,
                       headers={**clerk, "If-Match": etag})


def upload(client, data: bytes):
    return client.post("/api/v1/verifications", data=data,
                       headers={"Content-Type": "application/pdf"})


def text_of(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return "\n".join(page.extract_text() or "" for page in doc.pages)


def codes(report: dict) -> set[str]:
    return {p["code"] for p in report["problems"]}


# -- rendering --------------------------------------------------------------------------------

ISSUER = rendering.Issuer(
    "Ủy ban nhân dân xã Đồng Tâm", "UBND", "Đồng Tâm",
    rendering.Signatory("PHÓ CHỦ TỊCH", "Nguyễn Văn Thử", ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH")))


def agency_entry(name: str, **keys: Any) -> dict[str, Any]:
    """A signing configuration's agency entry with what its documents print about it."""
    return {"name": name, "abbreviation": "UBND", "locality": "Thử Nghiệm",
            "signer": {"title": "CHỦ TỊCH", "name": "Nguyễn Văn Thử",
                       "authority": ["TM. ỦY BAN NHÂN DÂN"]}, **keys}


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_renders_vietnamese_with_data_inside(template: str, tmp_path) -> None:
    data = {"nguoi_duoc_khai_sinh": {"ho_ten": "Lê Thị Thu Hà", "ngay_sinh": "2026-03-09",
                                     "gioi_tinh": "nu", "dan_toc": "01", "quoc_tich": "VN",
                                     "noi_sinh": "Hà Nội"},
            "nguoi_yeu_cau": {"ho_ten": "Nguyễn Văn Ấn", "so_dinh_danh": "001085012345",
                              "ngay_sinh": "1985-05-01", "gioi_tinh": "nam",
                              "noi_cu_tru": "Hà Nội"},
            "ho_kinh_doanh": {"ten": "Hộ kinh doanh Phở Thìn", "dia_chi": "13 Lò Đúc",
                              "nganh_nghe": "Ăn uống"},
            "qua_trinh": {"noi_o_hien_tai": "5 Phan Đình Phùng"},
            "ket_qua": {"tinh_trang_an_tich": "Không có án tích"},
            "ben_nu": {"ho_ten": "Lê Thị Thu Hà", "ngay_sinh": "1999-08-23",
                       "giay_to": "079199054321"},
            "ben_nam": {"ho_ten": "Nguyễn Văn Ấn", "ngay_sinh": "1985-05-01",
                        "giay_to": "001085012345"}}
    t = TEMPLATES[template]
    values = result_values(t, None, data)
    assert values.missing == []
    signed_at = datetime(2026, 11, 27, 2, 15, 2, tzinfo=UTC)
    number = rendering.document_number(7, t.symbol, "UBND")
    rendered = rendering.render_result(rendering.Result(
        t, ISSUER.name, ISSUER.locality, number, "doc-id-1",
        "http://tokhai.test/v/doc-id-1", "UBND-XA-00004-261127-0001", "1.001193",
        "001085012345", values.rows, values.structured,
        rendering.Stamp(ISSUER.name, signed_at, development_seal("X")),
        procedure_name="Đăng ký giám hộ", issuer=ISSUER, values=values.printed))
    text = text_of(rendered.pdf)
    assert t.title in text and f"Số: 07/{t.symbol}-UBND" in text
    assert "Đồng Tâm, ngày 27 tháng 11 năm 2026" in text  # 02:15 UTC is 09:15 in Vietnam
    assert "Thời gian ký: 2026-11-27T09:15:02+07:00" in text
    assert "ỦY BAN NHÂN DÂN" in text and "XÃ ĐỒNG TÂM" in text
    assert "Độc lập - Tự do - Hạnh phúc" in text and "Nơi nhận:" in text
    assert "PHÓ CHỦ TỊCH" in text and "Nguyễn Văn Thử" in text
    if t.kind == "decision":
        assert "Nguyễn Văn Ấn" in text and "Điều 1." in text
    else:
        for value in t.values:
            if value.key in values.printed:
                assert f"{value.label}: {values.printed[value.key]}" in text
    reader = PdfFileReader(io.BytesIO(rendered.pdf))
    embedded = verification.embedded_data(reader)
    assert embedded is not None and embedded["document_id"] == "doc-id-1"
    assert embedded["data"] == values.structured and embedded["template"] == template
    assert embedded["number"] == number
    assert reader.root["/AF"][0]["/AFRelationship"] == "/Data"
    xmp = reader.root["/Metadata"].data.decode()
    assert "<tokhai:DocumentId>doc-id-1</tokhai:DocumentId>" in xmp
    assert f"<tokhai:Number>{number}</tokhai:Number>" in xmp
    (tmp_path / "r.pdf").write_bytes(rendered.pdf)
    fonts = subprocess.run(["pdffonts", str(tmp_path / "r.pdf")], capture_output=True,
                           text=True).stdout
    assert "TokhaiSerif" in fonts and "Noto" not in fonts
    assert " no " not in fonts.split("\n", 2)[2]  # all embedded
    # the QR code, read by a decoder no one here wrote, leads to the verification URL
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1",
                    str(tmp_path / "r.pdf"), str(tmp_path / "page")], check=True)
    decoded = subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / "page-1.png")],
                             capture_output=True, text=True).stdout.strip()
    assert decoded == "http://tokhai.test/v/doc-id-1"


def test_birth_extract_prints_the_childs_data_on_paper_terms() -> None:
    data = {"nguoi_duoc_khai_sinh": {"ho_ten": "Lê Thị Thu Hà", "ngay_sinh": "2026-03-09",
                                     "gioi_tinh": "nu", "dan_toc": "01",
                                     "noi_sinh": {"province": "01", "commune": "00004",
                                                  "detail": "Bệnh viện Phụ sản"}},
            "nguoi_me": {"ho_ten": "Lê Thị Hồng", "nam_sinh": "1990"}}
    from forms.language import parse_text
    from service.catalogue import CATALOGUE_DIR

    definition = parse_text((CATALOGUE_DIR / f"{FORM}.yaml").read_bytes(), "x", "yaml")
    rows, structured = result_rows(TEMPLATES["birth_extract"], definition, data)
    printed = dict(rows)
    assert printed["Ngày, tháng, năm sinh"] == "09/03/2026"
    assert printed["Giới tính"] == "Nữ" and printed["Dân tộc"] == "Kinh"
    assert printed["Nơi sinh"].startswith("Bệnh viện Phụ sản, ")
    assert structured["ngay_sinh"] == "2026-03-09"  # the data keeps ISO values


# -- issuing ----------------------------------------------------------------------------------

def test_issuing_signs_records_and_moves_the_dossier(client, app, father, clerk) -> None:
    code, etag = in_processing(client, app, father, clerk)
    issued = issue(client, clerk, code, etag)
    assert issued.status_code == 201, issued.get_json()
    doc = issued.get_json()
    assert doc["level"] == "B-LT" and doc["template"] == "birth_extract"
    assert re.fullmatch(r"\d{2,}/TLKS-UBND", doc["number"])  # no year; zero below 10
    assert "Ủy ban nhân dân xã thử nghiệm số 4" in doc["signer"]
    assert doc["signed_at"] and doc["timestamp_at"]
    dossier = client.get(f"/api/v1/dossiers/{code}", headers=father).get_json()
    assert dossier["status"] == "result_ready"
    again = issue(client, clerk, code, etag)
    assert again.status_code == 200 and again.get_json()["document_id"] == doc["document_id"]
    pdf = client.get(f"/api/v1/dossiers/{code}/result", headers=father)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    import hashlib

    assert hashlib.sha256(pdf.data).hexdigest() == doc["sha256"]
    text = text_of(pdf.data)
    assert "TRÍCH LỤC KHAI SINH" in text and doc["document_id"] in text
    report = client.get(f"/api/v1/documents/{doc['document_id']}/verification").get_json()
    assert report["valid"] and report["legally_valid"], report["problems"]
    assert report["issued_by_tokhai"] and report["matches_original"] is True
    (sig,) = report["signatures"]
    assert sig["level"] == "B-LT" and sig["revocation"] == "good" and sig["trusted"]
    assert sig["timestamp"]["trusted"] and sig["changes_after_signing"] in (
        "none", "validation_data")
    assert sig["signing_time"].endswith("+07:00")
    with app.app_context():
        session = app.extensions["tokhai"].sessions()
        row = session.scalar(select(DossierDocument).where(
            DossierDocument.document_id == doc["document_id"]))
        assert row is not None and row.sha256 == doc["sha256"] and row.owner_id == DEMO_FATHER
        session.close()
    history = client.get(f"/api/v1/dossiers/{code}/history", headers=clerk).get_json()
    assert history[-1]["action"] == "issue_result"


def test_issued_pdfs_pass_pdfsig_and_qpdf(client, app, father, clerk, tmp_path) -> None:
    for level in ("B-LT", "B-LTA"):
        code, etag = in_processing(client, app, father, clerk)
        doc = issue(client, clerk, code, etag, level=level).get_json()
        pdf = client.get(f"/api/v1/dossiers/{code}/result", headers=clerk).data
        path = tmp_path / f"{level}.pdf"
        path.write_bytes(pdf)
        sig = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True)
        assert "Signature Validation: Signature is Valid." in sig.stdout, sig.stdout
        assert "ETSI.CAdES.detached" in sig.stdout
        check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
        assert check.returncode == 0 and "No syntax or stream encoding errors" in check.stdout
        report = client.get(f"/api/v1/documents/{doc['document_id']}/verification").get_json()
        assert report["signatures"][0]["level"] == level


def test_issuing_is_refused_in_the_wrong_state_or_by_others(client, app, father, clerk) -> None:
    body = {"form_id": FORM, "version": 1, "agency_code": AGENCY,
            "data": valid_submission(client, app, FORM)}
    filed = client.post("/api/v1/dossiers", json=body, headers=father)
    code, etag = filed.get_json()["code"], filed.headers["ETag"]
    wrong_state = issue(client, clerk, code, etag)
    assert wrong_state.status_code == 409
    assert wrong_state.get_json()["code"] == "transition_not_allowed"
    assert issue(client, father, code, etag).status_code == 403
    other = {"Authorization": f"Bearer {_token(app, 'officer', agency_code='UBND-XA-00005')}"}
    assert issue(client, other, code, etag).status_code == 404  # not theirs: unknown
    no_match = client.post(f"/api/v1/dossiers/{code}/result", json={}, headers=clerk)
    assert no_match.status_code == 428
    bad_level = issue(client, clerk, code, etag, level="B-XX")
    assert bad_level.status_code == 422 and bad_level.get_json()["field"] == "json.level"
    direct = client.post(f"/api/v1/dossiers/{code}/actions", json={"action": "issue_result"},
                         headers={**clerk, "If-Match": etag})
    assert direct.status_code == 422  # only issuing a signed result gets there
    assert client.get(f"/api/v1/dossiers/{code}/result", headers=father).status_code == 404


def test_an_agency_without_a_key_cannot_issue(client, app, father) -> None:
    keyless = {"Authorization": f"Bearer {_token(app, 'officer', agency_code='UBND-KHAC')}"}
    code, etag = in_processing(client, app, father, keyless, agency="UBND-KHAC")
    refused = issue(client, keyless, code, etag)
    assert refused.status_code == 503 and refused.get_json()["code"] == "signing_unavailable"
    assert client.get(f"/api/v1/dossiers/{code}", headers=father).get_json()["status"] == \
        "in_processing"


def _silent_server() -> tuple[socket.socket, str]:
    """A TSA that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    return server, f"http://127.0.0.1:{server.getsockname()[1]}/tsa"


@pytest.mark.parametrize("backend", ["silent", "closed"])
def test_a_tsa_that_is_down_leaves_the_dossier_unchanged(backend, test_pki, tmp_path, people) -> None:
    if backend == "silent":
        server, url = _silent_server()
    else:
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{server.getsockname()[1]}/tsa"  # bound, not listening
    config = pki.write_signing_config(test_pki, tsa_url=url, name=f"down-{backend}.yaml")
    setup = demo_app(tmp_path, "down", AGENCY, signing_config=str(config))
    down, client, father, clerk = setup.app, setup.client, setup.father, setup.clerk
    code, etag = in_processing(client, down, father, clerk)
    started = time.monotonic()
    refused = issue(client, clerk, code, etag)
    waited = time.monotonic() - started
    server.close()
    assert refused.status_code == 503, refused.get_json()
    assert refused.get_json()["code"] == "timestamp_unavailable"
    assert waited < 6  # the configured 2 s timeout, not forever
    after = client.get(f"/api/v1/dossiers/{code}", headers=clerk)
    assert after.get_json()["status"] == "in_processing" and after.headers["ETag"] == etag
    with down.app_context():
        session = down.extensions["tokhai"].sessions()
        assert session.scalar(select(DossierDocument)) is None
        dossier = session.scalar(select(Dossier).where(Dossier.code == code))
        assert dossier is not None and dossier.status == "in_processing"
        session.close()


def test_apology_letters_are_signed_too(client, app, father, clerk) -> None:
    from tests.service.dossiers.test_dossiers import make_late, promise_after

    body = {"form_id": FORM, "version": 1, "agency_code": AGENCY,
            "data": valid_submission(client, app, FORM)}
    code = client.post("/api/v1/dossiers", json=body, headers=father).get_json()["code"]
    make_late(app, code)
    explained = client.post(f"/api/v1/dossiers/{code}/explanation", headers=clerk, json={
        "reason": "Mất điện",
        "promised_at": promise_after(app, AGENCY, datetime.now(UTC)).isoformat()})
    assert explained.status_code == 200, explained.get_json()
    letter = client.get(f"/api/v1/dossiers/{code}/apology-letter", headers=father).data
    report = upload(client, letter).get_json()
    assert report["valid"] and report["issued_by_tokhai"] and report["matches_original"], report["problems"]
    assert report["signatures"][0]["level"] == "B-LT"
    assert "Ủy ban nhân dân xã thử nghiệm số 4" in text_of(letter)


# -- verification -----------------------------------------------------------------------------

@pytest.fixture
def issued(client, app, father, clerk) -> bytes:
    code, etag = in_processing(client, app, father, clerk)
    assert issue(client, clerk, code, etag).status_code == 201
    return client.get(f"/api/v1/dossiers/{code}/result", headers=father).data


def test_one_changed_byte_is_reported(client, issued) -> None:
    data = bytearray(issued)
    # one letter of the XMP metadata, inside the signed bytes (the PDF stays readable)
    position = issued.index(b"<tokhai:Template>") + len(b"<tokhai:Template>")
    data[position] ^= 0x20
    body = upload(client, bytes(data)).get_json()
    assert not body["valid"] and "not_intact" in codes(body)
    assert body["signatures"][0]["intact"] is False
    assert body["matches_original"] is False and "not_the_original" in codes(body)


def test_an_appended_incremental_update_is_reported(client, issued) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(issued))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    stream = generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 100 Td (DA SUA) Tj ET")
    page["/Contents"] = generic.ArrayObject([page["/Contents"], writer.add_object(stream)])
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    body = upload(client, out.getvalue()).get_json()
    sig = body["signatures"][0]
    assert sig["intact"] and sig["changes_after_signing"] == "other_edits"
    assert not body["valid"] and "modified_after_signing" in codes(body)
    assert body["matches_original"] is False


def signed_by_rogue_key(test_pki) -> bytes:
    """A plain PDF signed by a key no trust anchor vouches for (the test PKI's rogue CA)."""
    rogue = signers.SimpleSigner.load_pkcs12(str(test_pki.p12_file("rogue-signer")),
                                             passphrase=pki.P12_PASSWORD.encode())
    plain = rendering.document("Giả mạo")
    plain.set_font(rendering.FONT, "", 12)
    plain.cell(0, 10, "Văn bản giả mạo")
    writer = IncrementalPdfFileWriter(io.BytesIO(bytes(plain.output())))
    return signers.sign_pdf(writer, signers.PdfSignatureMetadata(
        field_name="Sig", subfilter=fields.SigSeedSubFilter.PADES), signer=rogue).getvalue()


def test_a_signature_by_an_untrusted_key_is_reported(client, test_pki) -> None:
    body = upload(client, signed_by_rogue_key(test_pki)).get_json()
    sig = body["signatures"][0]
    assert sig["intact"] and sig["valid"] and not sig["trusted"]
    assert not body["valid"] and "untrusted" in codes(body)
    assert body["issued_by_tokhai"] is False


def test_bad_uploads_are_refused_clearly(client, app, tmp_path, issued) -> None:
    not_pdf = upload(client, b"GIF89a not a pdf")
    assert not_pdf.status_code == 422 and not_pdf.get_json()["code"] == "not_a_pdf"
    assert not_pdf.get_json()["field"] == "body"
    wrong_type = client.post("/api/v1/verifications", data=issued,
                             headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    src, enc = tmp_path / "in.pdf", tmp_path / "enc.pdf"
    src.write_bytes(issued)
    subprocess.run(["qpdf", "--encrypt", "u", "o", "256", "--", str(src), str(enc)],
                   check=True)
    encrypted = upload(client, enc.read_bytes())
    assert encrypted.status_code == 422 and encrypted.get_json()["code"] == "encrypted_pdf"
    unsigned = rendering.document("Không ký")
    no_sig = upload(client, bytes(unsigned.output()))
    assert no_sig.status_code == 422 and no_sig.get_json()["code"] == "no_signature"
    huge = upload(client, b"%PDF-1.7\n" + b"0" * (app.extensions["tokhai"].settings
                                                 .verify_max_bytes + 1))
    assert huge.status_code == 413
    many = rendering.document("Nhiều trang")
    for _ in range(10_000 - 1):
        many.add_page()
    pages = upload(client, bytes(many.output()))
    assert pages.status_code == 422 and pages.get_json()["code"] == "too_many_pages"
    assert client.get("/api/v1/documents/..%2F..%2Fetc/verification").status_code == 404
    assert client.get("/api/v1/documents/00000000-0000-0000-0000-000000000000/verification"
                      ).status_code == 404


def test_the_cli_verifies_a_file(app, issued, tmp_path) -> None:
    path = tmp_path / "ket-qua.pdf"
    path.write_bytes(issued)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["verify", str(path)])
    assert ok.exit_code == 0, ok.output
    assert "HỢP LỆ" in ok.output and "B-LT" in ok.output
    as_json = runner.invoke(args=["verify", "--json", str(path)])
    assert json.loads(as_json.output)["valid"] is True
    tampered = tmp_path / "sua.pdf"
    tampered.write_bytes(issued + b"\n% appended\n")
    bad = runner.invoke(args=["verify", str(tampered)])
    assert bad.exit_code == 1 and "not_the_original" in bad.output
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"hello")
    refused = runner.invoke(args=["verify", str(junk)])
    assert refused.exit_code == 2 and "not_a_pdf" in refused.output


# -- keys and configuration -------------------------------------------------------------------

def test_a_wrong_password_stops_the_start_up_naming_the_agency(test_pki, tmp_path, monkeypatch) -> None:
    config = pki.write_signing_config(test_pki, name="wrong.yaml", agencies={
        "UBND-SAI": agency_entry("Xã sai mật khẩu", seal="UBND-XA-00004-seal.png",
                                 pkcs12="signer-a.p12", password_env="TOKHAI_TEST_WRONG")})
    env = {**os.environ, "TOKHAI_TEST_WRONG": "not-the-password",
           "TOKHAI_SIGNING_CONFIG": str(config), "TOKHAI_DATA_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    monkeypatch.setenv("TOKHAI_TEST_WRONG", "not-the-password")
    with pytest.raises(SigningSetupError, match="agency UBND-SAI: cannot open signer-a.p12"):
        Signing.from_file(config)
    started = subprocess.run([sys.executable, "-c", "import wsgi"], env=env,
                             capture_output=True, text=True, cwd=Path(__file__).parents[3])
    assert started.returncode == 1
    assert "tokhai cannot start: agency UBND-SAI: cannot open" in started.stderr
    assert "Traceback" not in started.stderr
    missing = {**env}
    missing.pop("TOKHAI_TEST_WRONG")
    started = subprocess.run([sys.executable, "-c", "import wsgi"], env=missing,
                             capture_output=True, text=True, cwd=Path(__file__).parents[3])
    assert "agency UBND-SAI: the password variable TOKHAI_TEST_WRONG is not set" in \
        started.stderr


def test_a_pkcs11_token_signs(test_pki, monkeypatch) -> None:
    conf = pki.softhsm_token(test_pki, "signer-c")
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    monkeypatch.setenv("TOKHAI_TEST_PIN", pki.TOKEN_PIN)
    name = pki.AGENCIES["CA-HN"][0]
    token = {"module": pki.SOFTHSM_MODULE, "token_label": pki.TOKEN_LABEL,
             "key_label": "signer-c", "pin_env": "TOKHAI_TEST_PIN"}
    config = pki.write_signing_config(test_pki, name="token.yaml", agencies={
        "CA-HN": agency_entry(name, seal="CA-HN-seal.png", pkcs11=token)})
    signing = Signing.from_file(config)
    agency = signing.agency("CA-HN")
    assert agency is not None
    now = datetime.now(UTC)
    rendered = rendering.render_result(rendering.Result(
        TEMPLATES["decision"], name, "Hà Nội", "1/2026/QĐ", "doc-token", "http://t/doc-token",
        "CA-HN-261127-0001", "local.x", "001085012345", [("Nội dung", "Chấp thuận")], {},
        rendering.Stamp(name, now, agency.seal_png)))
    signed = signing.sign(agency, rendered.pdf, page=rendered.page, box=rendered.box,
                          signing_time=now)
    report = verification.verify(signed.pdf, verification.trust_of(signing), max_pages=10,
                                 original=lambda *_: None)
    assert report["valid"] and report["signatures"][0]["level"] == "B-LT"
    assert report["signatures"][0]["signer"]["common_name"] == name
    signing.close()
    monkeypatch.setenv("TOKHAI_TEST_PIN", "000000")
    with pytest.raises(SigningSetupError, match="agency CA-HN: cannot use the PKCS#11 token"):
        Signing.from_file(config)


def test_development_keys_say_so_and_are_not_legally_valid(tmp_path, people) -> None:
    config = devpki.create(tmp_path / "dev-pki", {AGENCY: ("Ủy ban nhân dân xã Demo", "Hà Nội")},
                           "http://127.0.0.1:5000")
    setup = demo_app(tmp_path, "dev", AGENCY, signing_config=str(config))
    dev, client, father, clerk = setup.app, setup.client, setup.father, setup.clerk
    code, etag = in_processing(client, dev, father, clerk)
    doc = issue(client, clerk, code, etag).get_json()
    pdf = client.get(f"/api/v1/dossiers/{code}/result", headers=father).data
    with pdfplumber.open(io.BytesIO(pdf)) as opened:  # the stamp: right half of the page
        page = opened.pages[0]
        stamp = page.crop((page.width * 0.55, 0, page.width, page.height)).extract_text()
    assert rendering.DEVELOPMENT_NOTICE in stamp.replace("\n", " ")
    # the page says it has no legal validity, and nothing on it says the opposite
    words = " ".join(text_of(pdf).split()).casefold()
    assert "không có giá trị pháp lý" in words
    assert all(words[max(0, i - 6):i] == "không " for i in
               (m.start() for m in re.finditer("có giá trị pháp lý", words)))
    assert "như bản giấy" not in words
    report = client.get(f"/api/v1/documents/{doc['document_id']}/verification").get_json()
    assert report["valid"] and not report["legally_valid"]
    assert "development_key" in codes(report) and report["signatures"][0]["development"]
    assert report["signatures"][0]["level"] == "B-LT"


def test_too_little_room_for_the_signature_is_retried_with_more(app, monkeypatch) -> None:
    from service.pki import signer as signing_module

    signing = app.extensions["tokhai"].signing
    agency = signing.agency(AGENCY)
    monkeypatch.setattr(signing_module, "CMS_OVERHEAD", -agency.chain_size)  # far too small
    monkeypatch.setattr(signing.timestamper, "largest", 16)
    now = datetime.now(UTC)
    rendered = rendering.render_result(rendering.Result(
        TEMPLATES["decision"], agency.name, "Hà Nội", "2/2026/QĐ", "doc-room", "http://t/r",
        "UBND-XA-00004-261127-0002", "local.x", "001085012345", [("Nội dung", "Đồng ý")], {},
        rendering.Stamp(agency.name, now, agency.seal_png)))
    assert signing._reserve(agency) < 4096
    signed = signing.sign(agency, rendered.pdf, page=rendered.page, box=rendered.box,
                          signing_time=now, level="B-T")
    report = verification.verify(signed.pdf, verification.trust_of(signing), max_pages=10,
                                 original=lambda *_: None)
    assert report["valid"] and report["signatures"][0]["level"] == "B-T"


def test_the_fast_hex_reader_reads_as_pyhanko_does() -> None:
    import random

    from pyhanko.pdf_utils.misc import PdfStreamError

    from service.pki import pdfhex

    rng = random.Random(7)
    for _ in range(300):
        digits = "".join(rng.choice("0123456789abcdefABCDEF \n\t") for _ in range(
            rng.randint(0, 40000 if rng.random() < 0.05 else 60)))
        tail = rng.choice([">", "> /Next", ">>", ">\n"])
        source = f"<{digits}{tail}".encode()
        ours, theirs = io.BytesIO(source), io.BytesIO(source)
        assert pdfhex.read_hex_string_from_stream(ours) == pdfhex.original(theirs)
        assert ours.tell() == theirs.tell()
    for bad in (b"<12zz>", b"<12", b"<12 ( >"):
        with pytest.raises(PdfStreamError):
            pdfhex.read_hex_string_from_stream(io.BytesIO(bad))
        with pytest.raises(PdfStreamError):
            pdfhex.original(io.BytesIO(bad))


def test_a_revoked_certificate_is_reported(client, test_pki) -> None:
    """Signed by a key whose certificate the CA revoked; the OCSP response saying so is in
    the document's security store (a signer would not embed it: pyHanko refuses)."""
    plain = rendering.document("Thu hồi")
    signed = pki.signed_by_revoked_key(test_pki, bytes(plain.output()))
    body = upload(client, signed).get_json()
    sig = body["signatures"][0]
    assert sig["intact"] and sig["revocation"] == "revoked"
    assert not body["valid"] and "revoked" in codes(body)


def test_a_signing_failure_leaves_the_dossier_unchanged(client, app, father, clerk, monkeypatch) -> None:
    """The token, or the OCSP responder a B-LT signature needs, fails at signing time."""
    from pyhanko.sign.general import SigningError

    code, etag = in_processing(client, app, father, clerk)
    signing = app.extensions["tokhai"].signing

    def fail(*args, **kwargs):
        raise SigningError("OCSP responder unreachable")

    monkeypatch.setattr(signing, "sign", fail)
    refused = issue(client, clerk, code, etag)
    assert refused.status_code == 503 and refused.get_json()["code"] == "signing_failed"
    after = client.get(f"/api/v1/dossiers/{code}", headers=clerk)
    assert after.get_json()["status"] == "in_processing" and after.headers["ETag"] == etag
    monkeypatch.undo()
    assert issue(client, clerk, code, etag).status_code == 201  # and later it works


def test_concurrent_issuing_gives_one_document(client, app, father, clerk) -> None:
    """Two officers press "issue" at once: one document, the same for both, one number."""
    from concurrent.futures import ThreadPoolExecutor

    code, etag = in_processing(client, app, father, clerk)

    def press(_: int):
        return app.test_client().post(f"/api/v1/dossiers/{code}/result", json={},
                                      headers={**clerk, "If-Match": etag})

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(press, range(2)))
    assert sorted(a.status_code for a in answers) == [200, 201], [a.get_json() for a in answers]
    assert len({a.get_json()["document_id"] for a in answers}) == 1
    with app.extensions["tokhai"].sessions() as session:
        from storage.models import Dossier as D

        dossier = session.scalar(select(D).where(D.code == code))
        results = session.scalars(select(DossierDocument).where(
            DossierDocument.dossier_id == dossier.id, DossierDocument.kind == "result")).all()
        assert len(results) == 1 and dossier.status == "result_ready"


def test_damaged_uploads_never_crash_the_verifier(client, issued) -> None:
    """Seeded random damage (1 to 5 bytes anywhere): every answer is a report or a 422."""
    import random

    rng = random.Random(20261126)
    seen = set()
    for _ in range(60):
        data = bytearray(issued)
        for _ in range(rng.randint(1, 5)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        answer = upload(client, bytes(data))
        assert answer.status_code in (200, 422), answer.get_json()
        body = answer.get_json()
        seen.add(body.get("code") if answer.status_code == 422 else "report")
        if answer.status_code == 200 and bytes(data) != issued:
            assert not body["valid"] or body["matches_original"] is False
    assert "report" in seen


def test_configuration_mistakes_are_named(test_pki, tmp_path) -> None:
    import yaml

    good = yaml.safe_load(pki.write_signing_config(test_pki, name="base.yaml").read_text())
    cases: list[tuple[dict[str, Any], str]] = [
        ({"trust_anchors": []}, "'trust_anchors' is empty"),
        ({"trust_anchors": ["khong-co.pem"]}, "trust anchor"),
        ({"tsa": {}}, "'tsa.url' is missing"),
        ({"level": "B-X"}, "level 'B-X'"),
        ({"agencies": {"UBND-X": agency_entry("X")}}, "agency UBND-X: give exactly one of"),
        ({"agencies": {"UBND-X": agency_entry("X", pkcs12="signer-a.p12",
                                              password_env=pki.PASSWORD_ENV)}},
         "agency UBND-X: 'seal'"),
    ]
    key = {"seal": "UBND-XA-00004-seal.png", "pkcs12": "signer-a.p12",
           "password_env": pki.PASSWORD_ENV}
    entry = agency_entry("X", **key)
    details: list[tuple[dict[str, Any], str]] = [
        ({k: v for k, v in entry.items() if k != "abbreviation"},
         "agency UBND-X: 'abbreviation' is missing"),
        ({**entry, "abbreviation": "ubnd/x"}, "agency UBND-X: 'abbreviation' 'ubnd/x' must"),
        ({k: v for k, v in entry.items() if k != "locality"},
         "agency UBND-X: 'locality' is missing"),
        ({**{k: v for k, v in entry.items() if k != "locality"}, "place": "Hà Nội"},
         "agency UBND-X: 'place' is no longer read: give 'locality'"),
        ({k: v for k, v in entry.items() if k != "signer"}, "agency UBND-X: 'signer' is missing"),
        ({**entry, "signer": {"title": "CHỦ TỊCH"}}, "agency UBND-X: 'signer.name' is missing"),
        ({**entry, "signer": {"name": "A", "title": "B", "authority": [3]}},
         "agency UBND-X: 'signer.authority'"),
        ({**entry, "grounds": ["Theo luật"]}, "agency UBND-X: 'grounds'"),
        ({**entry, "seal_diameter": 200}, "agency UBND-X: 'seal_diameter'"),
    ]
    cases += [({"agencies": {"UBND-X": agency}}, message) for agency, message in details]
    for change, message in cases:
        path = test_pki.directory / f"case-{abs(hash(message))}.yaml"
        path.write_text(yaml.safe_dump({**good, **change}, allow_unicode=True))
        with pytest.raises(SigningSetupError, match=message):
            Signing.from_file(path)


def test_a_second_signature_is_reported_as_new_signatures(client, issued, app) -> None:
    """Another agency countersigns the issued result in a new field: the first signature
    reports new signatures after it, and stays valid; B-LTA's document timestamp counts
    as a new signature too."""
    signing = app.extensions["tokhai"].signing
    other = signing.agency("UBND-XA-00005")
    writer = IncrementalPdfFileWriter(io.BytesIO(issued))
    countersigned = signers.sign_pdf(writer, signers.PdfSignatureMetadata(
        field_name="ChuKyThuHai", subfilter=fields.SigSeedSubFilter.PADES),
        signer=other.signer, timestamper=signing.timestamper).getvalue()
    body = upload(client, countersigned).get_json()
    first, second = body["signatures"]
    assert first["changes_after_signing"] == "new_signatures" and first["intact"]
    assert second["changes_after_signing"] == "none"
    assert "modified_after_signing" not in codes(body)
    assert body["matches_original"] is False  # these are no longer the bytes issued

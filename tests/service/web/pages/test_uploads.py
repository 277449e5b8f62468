"""Attachments uploaded where nothing digital exists (issue #14, point 4: "attachments chosen
from the citizen's own documents in the repository (upload only where nothing digital
exists)"): the API's upload and a submission referencing it, another citizen's upload refused
at the field, wrong type / empty / too large refused naming the field, the download of a
dossier's attachment by whoever may see the dossier, and the e-form page's file input from
upload to filed dossier."""

from __future__ import annotations

import dataclasses
import hashlib
import html
import io
import re
from typing import Any

import pytest
from sqlalchemy import delete, select

from service.records import drafts
from storage.models import Dossier, FormDraft, PrefillChoice, Upload
from tests.conftest import DEMO_FATHER, _token, citizen_headers, valid_submission
from tests.service.web.pages.conftest import csrf_of, sign_in

FORM = "e-form-tai-len"
AGENCY = "UBND-XA-00004"
OTHER_AGENCY = "UBND-XA-00007"
DAUGHTER = "079199054321"
PDF = b"%PDF-1.4\n% a tiny scan\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
APPLY = f"/procedures/{FORM}/apply"
FILL = f"/procedures/{FORM}/v1/form"
UPLOAD_INPUT = "/giay_to/ban_chup.upload"

DEFINITION = f"""
id: {FORM}
version: 1
title: Đơn đề nghị có kèm bản chụp
legal_basis: Thử nghiệm
procedure_code: local.thu.{FORM}
agency_level: commune
sections:
  - id: nguoi_de_nghi
    title: Người đề nghị
    fields:
      - id: ho_ten
        type: text
        label: Họ và tên
        prefill: {{record: population.full_name, mode: verified}}
      - {{id: ghi_chu, type: text, label: Ghi chú, required: false}}
  - id: giay_to
    title: Giấy tờ kèm theo
    fields:
      - {{id: ban_chup, type: attachment, label: Giấy xác nhận,
         media_types: [application/pdf, image/png], max_files: 2}}
"""


@pytest.fixture
def app(pages):
    designer = {"Authorization": f"Bearer {_token(pages, 'designer')}"}
    api = pages.test_client()
    made = api.post("/api/v1/forms", data=DEFINITION.encode(),
                    headers={**designer, "Content-Type": "application/yaml"})
    assert made.status_code in (201, 409), made.get_json()
    api.post(f"/api/v1/forms/{FORM}/versions/1/publish", headers=designer)
    with pages.extensions["tokhai"].sessions() as s:
        for model in (FormDraft, PrefillChoice):
            s.execute(delete(model).where(model.citizen_id == DEMO_FATHER))
        s.commit()
    return pages


def upload(api: Any, headers: dict[str, str], data: bytes = PDF,
           media_type: str = "application/pdf", name: str = "giay xac nhan.pdf") -> Any:
    return api.post(f"/api/v1/uploads?file_name={name}", data=data,
                    headers={**headers, "Content-Type": media_type})


def submission(api: Any, app: Any, document_ids: list[str]) -> dict[str, Any]:
    data = valid_submission(api, app, FORM)
    data["giay_to"] = {"ban_chup": [{"document_id": d} for d in document_ids]}
    return data


def file(api: Any, headers: dict[str, str], data: dict[str, Any]) -> Any:
    return api.post("/api/v1/dossiers", headers=headers, json={
        "form_id": FORM, "version": 1, "agency_code": AGENCY, "data": data})


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


# -- the API ----------------------------------------------------------------------------------

def test_an_upload_is_referenced_in_a_submission(app) -> None:
    api = app.test_client()
    father = citizen_headers(app, DEMO_FATHER)
    sent = upload(api, father, name="../../etc/giấy\x07 xác nhận.pdf")
    assert sent.status_code == 201, sent.get_json()
    body = sent.get_json()
    assert body["media_type"] == "application/pdf" and body["size"] == len(PDF)
    assert body["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert body["file_name"] == "giấy xác nhận.pdf"  # no directory, no control character
    filed = file(api, father, submission(api, app, [body["document_id"]]))
    assert filed.status_code == 201, filed.get_json()
    assert filed.get_json()["data"]["giay_to"]["ban_chup"] == [
        {"document_id": body["document_id"]}]
    # only citizens upload
    officer = {"Authorization": f"Bearer {_token(app, 'officer', agency_code=AGENCY)}"}
    assert upload(api, officer).status_code == 403


def test_another_citizens_upload_is_refused_at_the_field(app) -> None:
    api = app.test_client()
    theirs = upload(api, citizen_headers(app, DAUGHTER)).get_json()["document_id"]
    father = citizen_headers(app, DEMO_FATHER)
    refused = file(api, father, submission(api, app, [theirs]))
    assert refused.status_code == 422
    assert {(e["field"], e["code"]) for e in refused.get_json()["errors"]} == {
        ("/giay_to/ban_chup/0/document_id", "unknown_document")}


def test_a_wrong_empty_or_too_large_file_is_refused_naming_the_field(app, monkeypatch) -> None:
    api = app.test_client()
    father = citizen_headers(app, DEMO_FATHER)
    for data, code in ((b"just some text", "unsupported_file"), (b"", "empty_file"),
                       (b"GIF89a" + b"\x00" * 10, "unsupported_file")):
        refused = upload(api, father, data)
        assert refused.status_code == 422, (code, refused.get_json())
        answer = refused.get_json()
        assert answer["code"] == code and answer["field"] == "body"
        assert [e["field"] for e in answer["errors"]] == ["body"]
    assert upload(api, father, PDF, "text/plain").status_code == 415
    runtime = app.extensions["tokhai"]
    monkeypatch.setattr(runtime, "settings",
                        dataclasses.replace(runtime.settings, max_upload_bytes=len(PDF) - 1))
    assert upload(api, father, PDF).status_code == 413
    with runtime.sessions() as s:
        assert s.scalar(select(Upload.id).where(Upload.size != len(PDF)).limit(1)) is None


def test_whoever_may_see_the_dossier_downloads_its_attachment(app) -> None:
    api = app.test_client()
    father = citizen_headers(app, DEMO_FATHER)
    kept = upload(api, father, PNG, "image/png", "ảnh chụp.png").get_json()["document_id"]
    other = upload(api, father).get_json()["document_id"]  # never referenced
    filed = file(api, father, submission(api, app, [kept]))
    assert filed.status_code == 201, filed.get_json()
    code = filed.get_json()["code"]
    url = f"/api/v1/dossiers/{code}/attachments/{kept}"
    clerk = {"Authorization": f"Bearer {_token(app, 'officer', agency_code=AGENCY)}"}
    got = api.get(url, headers=clerk)
    assert got.status_code == 200 and got.data == PNG
    assert got.mimetype == "image/png"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E1%BA%A3nh%20ch%E1%BB%A5p.png" in got.headers[
        "Content-Disposition"]
    stranger = {"Authorization": f"Bearer {_token(app, 'officer', agency_code=OTHER_AGENCY)}"}
    assert api.get(url, headers=stranger).status_code == 404
    assert api.get(url, headers=father).status_code == 200
    assert api.get(url, headers=citizen_headers(app, DAUGHTER)).status_code == 404
    auditor = {"Authorization": f"Bearer {_token(app, 'auditor')}"}
    assert api.get(url, headers=auditor).status_code == 200
    # a file the dossier does not reference is not reachable through it
    assert api.get(f"/api/v1/dossiers/{code}/attachments/{other}",
                   headers=clerk).status_code == 404
    assert api.get(url).status_code == 401


# -- the e-form page --------------------------------------------------------------------------

def start(client: Any) -> str:
    page = client.get(APPLY)
    answer = client.post(APPLY, data={"version": "1", "agency": AGENCY, "choice": "use",
                                      "csrf_token": csrf_of(page.get_data(as_text=True))})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(FILL), answer
    return text(client.get(FILL))


def send(client: Any, page: str, files: list[tuple[bytes, str]], action: str = "continue",
         **fields: str) -> Any:
    data: dict[str, Any] = {**fields, "action": action, "csrf_token": csrf_of(page)}
    data[UPLOAD_INPUT] = [(io.BytesIO(content), name) for content, name in files]
    return client.post(FILL, data=data, content_type="multipart/form-data")


def draft_data(app: Any) -> Any:
    with app.extensions["tokhai"].sessions() as s:
        row = drafts.draft_of(s, DEMO_FATHER, FORM, 1)
        return row.data if row is not None else None


def test_the_page_uploads_a_scan_and_files_it(app) -> None:
    client = app.test_client()
    sign_in(client, "citizen_father")
    page = start(client)
    assert 'enctype="multipart/form-data"' in page
    assert re.search(r'<input class="file-upload" id="f-giay_to-ban_chup(--upload)?" '
                     r'name="/giay_to/ban_chup.upload" type="file" '
                     r'accept="application/pdf,image/png,.pdf,.png" multiple', page), page
    assert "Tải lên bản chụp (chỉ khi không có bản điện tử)" in page
    assert "Tệp PDF, PNG, tối đa 10 MB." in page

    sent = send(client, page, [(PDF, "giấy xác nhận cư trú.pdf")], ghi_chu="")
    assert sent.status_code == 302, re.findall(r'<a href="(#[^"]+)">([^<]+)', text(sent))
    review = text(client.get(sent.headers["Location"]))
    assert "giấy xác nhận cư trú.pdf" in review
    chosen = draft_data(app)["giay_to"]["ban_chup"]
    assert len(chosen) == 1 and chosen[0]["file_name"] == "giấy xác nhận cư trú.pdf"
    document_id = chosen[0]["document_id"]
    # the upload is among the choices, checked, on the next render
    again = text(client.get(FILL))
    assert re.search(rf'value="{document_id}" checked', again)

    with app.extensions["tokhai"].sessions() as s:
        key = drafts.draft_of(s, DEMO_FATHER, FORM, 1).idempotency_key  # type: ignore[union-attr]
    done = client.post(f"/procedures/{FORM}/v1/submit",
                       data={"key": key, "csrf_token": csrf_of(review)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/confirmation")
    with app.extensions["tokhai"].sessions() as s:
        dossier = s.scalars(select(Dossier).where(Dossier.form_id == FORM,
                                                  Dossier.citizen_id == DEMO_FATHER)
                            .order_by(Dossier.id.desc())).first()
        assert dossier is not None
        assert dossier.data["giay_to"]["ban_chup"] == [{
            "document_id": document_id, "file_name": "giấy xác nhận cư trú.pdf",
            "media_type": "application/pdf"}]
        stored = s.scalar(select(Upload).where(Upload.document_id == document_id))
        assert stored is not None and stored.owner_id == DEMO_FATHER and stored.content == PDF


@pytest.mark.parametrize(("content", "name", "says"), [
    (b"not a scan at all", "ghi-chu.pdf", "phải là PDF, PNG"),
    (b"", "trong.pdf", "không có nội dung"),
    (b"\xff\xd8\xff\xe0 a jpeg", "anh.jpg", "phải là PDF, PNG"),  # the field takes no JPEG
])
def test_a_refused_file_shows_at_the_field_and_keeps_what_was_typed(app, content, name,
                                                                     says) -> None:
    client = app.test_client()
    sign_in(client, "citizen_father")
    page = start(client)
    refused = send(client, page, [(content, name)], **{"/nguoi_de_nghi/ghi_chu": "Xin cảm ơn"})
    assert refused.status_code == 200
    shown = text(refused)
    assert 'href="#f-giay_to-ban_chup"' in shown  # in the error summary
    assert re.search(r'id="f-giay_to-ban_chup-error">[^<]*<span[^>]*>[^<]*</span>[^<]*'
                     + says, shown), shown
    assert 'value="Xin cảm ơn"' in shown
    assert draft_data(app)["nguoi_de_nghi"]["ghi_chu"] == "Xin cảm ơn"
    assert "ban_chup" not in draft_data(app).get("giay_to", {})


def test_a_file_over_the_limit_is_refused_at_the_field(app, monkeypatch) -> None:
    runtime = app.extensions["tokhai"]
    monkeypatch.setattr(runtime, "settings",
                        dataclasses.replace(runtime.settings, max_upload_bytes=len(PDF) - 1))
    client = app.test_client()
    sign_in(client, "citizen_father")
    page = start(client)
    refused = send(client, page, [(PDF, "lon.pdf")], **{"/nguoi_de_nghi/ghi_chu": "Giữ lại"})
    assert refused.status_code == 200
    shown = text(refused)
    assert 'href="#f-giay_to-ban_chup"' in shown and "lớn quá" in shown
    assert draft_data(app)["nguoi_de_nghi"]["ghi_chu"] == "Giữ lại"


def test_no_more_files_than_the_field_takes(app) -> None:
    client = app.test_client()
    sign_in(client, "citizen_father")
    page = start(client)
    sent = send(client, page, [(PDF, "mot.pdf"), (PNG, "hai.png"), (PDF, "ba.pdf")])
    assert sent.status_code == 200
    shown = text(sent)
    assert "có tối đa 2 tệp" in shown
    assert [a["file_name"] for a in draft_data(app)["giay_to"]["ban_chup"]] == [
        "mot.pdf", "hai.png"]


def test_the_forms_post_has_room_for_a_file(app, monkeypatch) -> None:
    """A page's body is limited to TOKHAI_MAX_REQUEST_BYTES, checked before the view (the
    CSRF check reads the form): the e-form's post with a file may be that plus a file."""
    runtime = app.extensions["tokhai"]
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 20_000)
    monkeypatch.setattr(runtime, "settings", dataclasses.replace(
        runtime.settings, max_request_bytes=20_000, max_upload_bytes=40_000))
    client = app.test_client()
    sign_in(client, "citizen_father")
    page = start(client)
    scan = PDF + b"\x00" * 30_000
    sent = send(client, page, [(scan, "lon-hon-mot-trang.pdf")])
    assert sent.status_code == 302, sent.status_code
    assert [a["file_name"] for a in draft_data(app)["giay_to"]["ban_chup"]] == [
        "lon-hon-mot-trang.pdf"]
    # far beyond: the service's page for a body too large, nothing kept
    too_large = send(client, text(client.get(FILL)), [(scan * 3, "qua-lon.pdf")])
    assert too_large.status_code == 413 and "<html" in too_large.get_data(as_text=True)

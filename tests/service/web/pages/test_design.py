"""The form designers' pages (service/web/pages/design.py): the list of forms, the editor
(every problem at its line and path, the text kept, concurrent saves refused), the preview as
a citizen sees it, the trimming report (the API's figures), the comparison of two versions,
publishing, roles and CSRF."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlalchemy import delete, select

from service.records import drafts
from storage.models import AccessLog, FormDraft, FormVersion, PrefillChoice
from tests.conftest import DEMO_FATHER, _token
from tests.service.web.pages.conftest import csrf_of, sign_in

FORM = "thu-nghiem-thiet-ke"
DEFINITION = """\
# a small form for the designers' pages' tests
id: thu-nghiem-thiet-ke
version: 1
title: Tờ khai thử nghiệm thiết kế
legal_basis: Thông tư thử nghiệm
procedure_code: local.thu-nghiem
agency_level: commune
dropped:
  - {label: Người yêu cầu, section: Chữ ký, reason: signature}
sections:
  - id: nguoi_yeu_cau
    title: Người yêu cầu
    fields:
      - id: ho_ten
        type: text
        label: Họ, chữ đệm, tên
        prefill: {record: population.full_name, mode: verified}
      - {id: ngay_sinh, type: date, label: Ngày sinh, prefill: population.birth_date}
      - {id: dien_thoai, type: phone, label: Số điện thoại, required: false}
      - {id: cam_doan, type: commitment, label: Tôi cam đoan nội dung trên là đúng.}
"""
#: the definition with two mistakes: an unknown type (line 18) and an unknown key (line 19)
BROKEN = (DEFINITION.replace("type: date,", "type: ngay,")
          .replace("      - {id: dien_thoai", "      - {id: dien_thoai, mau: do"))
BIRTH = "to-khai-dang-ky-khai-sinh"


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def textarea(body: str) -> str:
    found = re.search(r'<textarea[^>]*id="definition"[^>]*>\n?(.*?)</textarea>', body, re.S)
    assert found, "no editor on the page"
    return html.unescape(found.group(1))


def digest_of(body: str) -> str:
    found = re.search(r'name="digest" value="([0-9a-f]{64})"', body)
    assert found
    return found.group(1)


def summary(body: str) -> list[str]:
    block = re.search(r'class="error-summary".*?</ul>', body, re.S)
    return re.findall(r'<a href="#definition">([^<]+)</a>', block.group(0)) if block else []


@pytest.fixture(scope="module")
def app(pages):
    """The pages' app with a draft of the test form (version 1), made through the API."""
    client = pages.test_client()
    headers = {"Authorization": f"Bearer {_token(pages, 'designer')}",
               "Content-Type": "application/yaml"}
    made = client.post("/api/v1/forms", data=DEFINITION.encode(), headers=headers)
    assert made.status_code == 201, made.get_json()
    return pages


@pytest.fixture
def designer(app):
    c = app.test_client()
    sign_in(c, "designer")
    return c


def base(version: int = 1) -> str:
    return f"/design/forms/{FORM}/{version}"


def reset_draft(app: Any) -> None:
    """Version 1 back to the test's draft (another test may have changed it)."""
    with app.extensions["tokhai"].sessions() as s:
        row = s.scalar(select(FormVersion).where(FormVersion.form_id == FORM,
                                                 FormVersion.version == 1))
        assert row is not None and row.status == "draft"
        row.source = DEFINITION
        s.commit()


# -- the list and a version -------------------------------------------------------------------

def test_the_list_shows_forms_with_drafts_and_published_versions(designer) -> None:
    page = designer.get("/design")
    assert page.status_code == 200
    body = text(page)
    assert "Tờ khai thử nghiệm thiết kế" in body and "Bản nháp" in body
    assert "Đã công bố" in body and "catalogue" in body  # the catalogue's versions, by whom
    assert "designer:" not in body  # who, by name, not the role's code
    assert f'href="{base()}"' in body
    assert body.index("Tờ khai thử nghiệm thiết kế") < body.index("Tờ khai đăng ký khai sinh")
    version = designer.get(base())
    body = text(version)
    assert version.status_code == 200
    for link in ("/edit", "/preview", "/trimming-report", "/publish", "/new-draft"):
        assert f"{base()}{link}" in body, link


# -- the editor -------------------------------------------------------------------------------

def test_an_error_is_shown_at_its_line_and_path_with_the_text_kept_then_fixed(app,
                                                                              designer) -> None:
    reset_draft(app)
    page = designer.get(f"{base()}/edit")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert textarea(body) == DEFINITION
    broken = designer.post(f"{base()}/edit", data={
        "definition": BROKEN.replace("\n", "\r\n"), "digest": digest_of(body),
        "csrf_token": csrf_of(body)})
    assert broken.status_code == 422
    shown = text(broken)
    problems = summary(shown)
    assert len(problems) == 2, problems
    assert any(p.startswith("Dòng 18, sections[0].fields[1].type:") and "ngay" in p
               for p in problems), problems
    assert any(p.startswith("Dòng 19, sections[0].fields[2].mau:") for p in problems), problems
    assert 'data-line="18"' in shown and 'data-line="19"' in shown
    assert textarea(broken.get_data(as_text=True)) == BROKEN  # nothing typed is lost
    with app.extensions["tokhai"].sessions() as s:  # and nothing saved
        assert s.scalar(select(FormVersion.source).where(
            FormVersion.form_id == FORM, FormVersion.version == 1)) == DEFINITION
    fixed = DEFINITION.replace("label: Số điện thoại", "label: Số điện thoại liên hệ")
    saved = designer.post(f"{base()}/edit", data={
        "definition": fixed, "digest": digest_of(broken.get_data(as_text=True)),
        "csrf_token": csrf_of(body)})
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/edit?saved=1")
    again = designer.get(saved.headers["Location"])
    assert "Đã lưu" in text(again) and textarea(again.get_data(as_text=True)) == fixed


def test_unreadable_yaml_is_shown_at_its_line(app, designer) -> None:
    reset_draft(app)
    body = designer.get(f"{base()}/edit").get_data(as_text=True)
    bad = DEFINITION.replace("title: Tờ khai", "title: [Tờ khai")
    answer = designer.post(f"{base()}/edit", data={
        "definition": bad, "digest": digest_of(body), "csrf_token": csrf_of(body)})
    assert answer.status_code == 422
    problems = summary(text(answer))
    assert len(problems) == 1 and problems[0].startswith("Dòng "), problems
    assert textarea(answer.get_data(as_text=True)) == bad


def test_a_draft_saved_by_someone_else_is_not_overwritten(app, designer) -> None:
    reset_draft(app)
    mine = designer.get(f"{base()}/edit").get_data(as_text=True)
    other = app.test_client()
    sign_in(other, "designer")
    theirs = other.get(f"{base()}/edit").get_data(as_text=True)
    their_text = DEFINITION.replace("Ngày sinh", "Ngày sinh của người yêu cầu")
    assert other.post(f"{base()}/edit", data={
        "definition": their_text, "digest": digest_of(theirs),
        "csrf_token": csrf_of(theirs)}).status_code == 302
    my_text = DEFINITION.replace("Số điện thoại", "Điện thoại")
    refused = designer.post(f"{base()}/edit", data={
        "definition": my_text, "digest": digest_of(mine), "csrf_token": csrf_of(mine)})
    assert refused.status_code == 409
    body = text(refused)
    assert "đã được lưu lại" in body and "Ngày sinh của người yêu cầu" in body  # the difference
    assert textarea(refused.get_data(as_text=True)) == my_text
    with app.extensions["tokhai"].sessions() as s:
        assert s.scalar(select(FormVersion.source).where(
            FormVersion.form_id == FORM, FormVersion.version == 1)) == their_text
    # having seen the difference, saving again replaces it
    again = designer.post(f"{base()}/edit", data={
        "definition": my_text, "digest": digest_of(refused.get_data(as_text=True)),
        "csrf_token": csrf_of(mine)})
    assert again.status_code == 302
    reset_draft(app)


def test_a_published_version_is_read_only(designer) -> None:
    page = designer.get(f"/design/forms/{BIRTH}/1/edit")
    assert page.status_code == 409
    body = text(page)
    assert "đã công bố nên không sửa được" in body and " readonly " in body
    posted = designer.post(f"/design/forms/{BIRTH}/1/edit", data={
        "definition": "id: x", "digest": "0" * 64, "csrf_token": csrf_of(body)})
    assert posted.status_code == 409


# -- the preview ------------------------------------------------------------------------------

def fields_of(body: str) -> str:
    """The e-form's fields as a page renders them, without the links to report a value as
    wrong (a citizen's page only: a designer has nothing to report)."""
    start = body.index('<div class="eform"')
    end = body.index('<div class="button-group">', start)
    fields = re.sub(r'<p class="eform__dispute">.*?</p>', "", body[start:end], flags=re.S)
    return re.sub(r">\s+<", "><", fields).strip()  # whitespace between tags shows nothing


def citizens_form(app: Any) -> str:
    """The birth-registration form as the demo father sees it, using his data."""
    with app.extensions["tokhai"].sessions() as s:
        for model in (FormDraft, PrefillChoice):
            s.execute(delete(model).where(model.citizen_id == DEMO_FATHER))
        s.commit()
    client = app.test_client()
    sign_in(client, "citizen_father")
    start = client.get(f"/procedures/{BIRTH}/apply").get_data(as_text=True)
    chosen = client.post(f"/procedures/{BIRTH}/apply", data={
        "version": "1", "agency": "UBND-XA-00004", "choice": "use",
        "csrf_token": csrf_of(start)})
    assert chosen.status_code == 302
    page = client.get(f"/procedures/{BIRTH}/v1/form")
    assert page.status_code == 200
    with app.extensions["tokhai"].sessions() as s:
        assert drafts.choice_of(s, DEMO_FATHER, BIRTH, 1) == "use"
    return page.get_data(as_text=True)


def test_the_preview_is_the_citizens_form_empty_and_prefilled(app, designer) -> None:
    empty = designer.get(f"/design/forms/{BIRTH}/1/preview")
    assert empty.status_code == 200
    body = empty.get_data(as_text=True)
    assert "Trần Thị Bình" not in body  # the father's wife: nobody's data in an empty preview
    assert 'method="post"' not in body.split('<main', 1)[1]  # files nothing
    assert re.search(r'<button class="button design-preview-submit" type="button" disabled>', body)
    filled = designer.get(f"/design/forms/{BIRTH}/1/preview?citizen=citizen_father")
    assert filled.status_code == 200
    preview = filled.get_data(as_text=True)
    assert "Trần Thị Bình" in html.unescape(preview)
    assert fields_of(preview) == fields_of(citizens_form(app))
    # the designer's look is in the access log, as the API's
    with app.extensions["tokhai"].sessions() as s:
        logged = s.scalars(select(AccessLog).where(
            AccessLog.owner_id == DEMO_FATHER, AccessLog.action == "report_lookup")).all()
        assert any(r.outcome == "allowed" and "demo data" in (r.reason or "") for r in logged)
    assert designer.get(f"/design/forms/{BIRTH}/1/preview?citizen=someone").status_code == 404


def test_a_draft_can_be_previewed(app, designer) -> None:
    reset_draft(app)
    page = designer.get(f"{base()}/preview?citizen=citizen_daughter")
    assert page.status_code == 200
    body = text(page)
    assert "Tờ khai thử nghiệm thiết kế" in body and "Lê Thị Thu Hà" in body


# -- the trimming report ----------------------------------------------------------------------

def test_the_trimming_report_has_the_apis_figures(app, designer) -> None:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {_token(app, 'designer')}"}
    api = client.get(f"/api/v1/forms/{BIRTH}/versions/1/trimming-report", headers=headers)
    father = client.get(f"/api/v1/forms/{BIRTH}/versions/1/trimming-report?personal_id="
                        f"{DEMO_FATHER}", headers=headers).get_json()["actual"]
    report = api.get_json()
    page = designer.get(f"/design/forms/{BIRTH}/1/trimming-report?citizen=citizen_father")
    assert page.status_code == 200
    body = text(page)
    counts = report["counts"]
    assert report["verdict"] in body
    typed = round(100 - report["reduction_percent"], 1)
    assert f"<td>{counts['typed']} / {counts['official_fields']}</td><td>{typed}%</td>" \
           f"<td>{report['reduction_percent']}%</td>" in body
    mine = round(100 - father["reduction_percent"], 1)
    # the citizen's own baseline: the paper form's fields shown for them
    assert f"<td>{father['counts']['typed']} / {father['counts']['official_fields']}</td>" \
           f"<td>{mine}%</td><td>{father['reduction_percent']}%</td>" in body
    assert father["verdict"] in body
    assert f"<td>{counts['official_fields']} / {counts['official_fields']}</td>" \
           "<td>100.0%</td>" in body  # the paper form: everything typed
    assert "<svg" in body and f'width="{typed}"' in body  # the chart, from the same figures
    for f in report["fields"]:
        assert html.unescape(f["label"]) in body
    for d in report["dropped"]:
        assert d["label"] in body and d["reason_label"] in body
    assert "Với Nguyễn Văn An" in body and "Đã điền sẵn" in body
    # what the figure by definition assumes, each stated
    assert report["assumptions"] and "Giả định của số liệu theo định nghĩa" in body
    for a in report["assumptions"]:
        assert f'<li data-code="{a["code"]}">{html.escape(a["text"], quote=False)}</li>' in body
    # in English, the verdicts too (they were the API's Vietnamese sentences)
    designer.get("/language/en")
    english = text(designer.get(f"/design/forms/{BIRTH}/1/trimming-report"
                                "?citizen=citizen_father"))
    designer.get("/language/vi")
    assert f"Target met: {report['reduction_percent']}% fewer fields" in english
    assert "For this citizen" in english
    assert "What the figure by definition assumes" in english
    assert "counts as prefilled, assuming the registers hold a record" in english
    assert "Đạt mục tiêu" not in english and "Với người dân này" not in english


# -- comparing and publishing -----------------------------------------------------------------

def test_two_versions_compared(app, designer) -> None:
    reset_draft(app)
    body = designer.get(base()).get_data(as_text=True)
    made = designer.post(f"{base()}/new-draft", data={"csrf_token": csrf_of(body)})
    assert made.status_code == 302 and made.headers["Location"].endswith(f"{base(2)}/edit")
    editor = designer.get(made.headers["Location"]).get_data(as_text=True)
    copied = textarea(editor)
    assert copied == DEFINITION.replace("version: 1", "version: 2")  # comments kept
    changed = (copied.replace("label: Số điện thoại", "label: Điện thoại di động")
               .replace("      - {id: cam_doan",
                        "      - {id: email, type: email, label: Thư điện tử, required: false}\n"
                        "      - {id: cam_doan"))
    assert designer.post(made.headers["Location"], data={
        "definition": changed, "digest": digest_of(editor),
        "csrf_token": csrf_of(editor)}).status_code == 302
    page = designer.get(f"/design/forms/{FORM}/compare?a=1&b=2")
    assert page.status_code == 200
    shown = text(page)
    assert "nguoi_yeu_cau/email" in shown and "Thêm" in shown
    assert "nguoi_yeu_cau/dien_thoai" in shown and "nhãn" in shown
    assert "Điện thoại di động" in shown and "-      - {id: dien_thoai" not in shown
    assert re.search(r'design-diff__add.*Điện thoại di động', shown, re.S)
    assert re.search(r'design-diff__remove.*label: Số điện thoại,', shown, re.S)
    assert designer.get(f"/design/forms/{FORM}/compare?a=1&b=99").status_code == 200
    assert "Hãy chọn hai phiên bản" in text(designer.get(
        f"/design/forms/{FORM}/compare?a=1&b=99"))


def test_publishing_asks_for_confirmation_then_freezes_the_version(app, designer) -> None:
    page = designer.get(f"{base(2)}/publish")
    if page.status_code == 404:  # run alone: make version 2
        body = designer.get(base()).get_data(as_text=True)
        designer.post(f"{base()}/new-draft", data={"csrf_token": csrf_of(body)})
        page = designer.get(f"{base(2)}/publish")
    assert page.status_code == 200
    body = text(page)
    assert "Công bố là vĩnh viễn" in body and "khóa mãi mãi" in body
    published = designer.post(f"{base(2)}/publish", data={"csrf_token": csrf_of(body)})
    assert published.status_code == 302
    assert published.headers["Location"].endswith(f"{base(2)}?published=1")
    assert "Đã công bố" in text(designer.get(published.headers["Location"]))
    with app.extensions["tokhai"].sessions() as s:
        row = s.scalar(select(FormVersion).where(FormVersion.form_id == FORM,
                                                 FormVersion.version == 2))
        assert row is not None and row.status == "published"
        assert row.published_by == "designer:Người thiết kế biểu mẫu (phát triển)"
    again = designer.get(f"{base(2)}/publish")
    assert again.status_code == 409 and "đã được công bố" in text(again)
    twice = designer.post(f"{base(2)}/publish", data={"csrf_token": csrf_of(body)})
    assert twice.status_code == 409
    frozen = designer.get(f"{base(2)}/edit")
    assert frozen.status_code == 409
    # citizens see it now
    assert app.test_client().get(f"/api/v1/forms/{FORM}/versions/2/schema").status_code == 200


def test_a_refused_publication_is_said_in_words(app, designer, monkeypatch) -> None:
    from service import catalogue
    from service.errors import InvalidData

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise InvalidData("result_value_missing", "Thiếu giá trị cho kết quả.", "Missing.",
                          errors=[{"message": "Không có trường nào cung cấp 'Họ tên'.",
                                   "message_en": "No field provides 'name'."}])

    monkeypatch.setattr(catalogue, "check_result_values", refuse)
    reset_draft(app)
    body = designer.get(f"{base()}/publish").get_data(as_text=True)
    answer = designer.post(f"{base()}/publish", data={"csrf_token": csrf_of(body)})
    assert answer.status_code == 422
    shown = text(answer)
    assert "Thiếu giá trị cho kết quả." in shown and "Không có trường nào cung cấp" in shown
    with app.extensions["tokhai"].sessions() as s:
        assert s.scalar(select(FormVersion.status).where(
            FormVersion.form_id == FORM, FormVersion.version == 1)) == "draft"


# -- who may, and CSRF ------------------------------------------------------------------------

@pytest.mark.parametrize("person", ["citizen_father", "officer", "auditor"])
def test_other_roles_are_refused(app, person) -> None:
    client = app.test_client()
    sign_in(client, person)
    for path in ("/design", base(), f"{base()}/edit", f"{base()}/preview",
                 f"{base()}/trimming-report", f"/design/forms/{FORM}/compare?a=1&b=1",
                 f"{base()}/publish"):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "Bạn không có quyền xem trang này" in text(answer)
    assert app.test_client().get("/design").status_code == 302  # a stranger: sign in first


def test_posts_need_their_csrf_token(app, designer) -> None:
    reset_draft(app)
    for path, data in ((f"{base()}/edit", {"definition": DEFINITION, "digest": "0" * 64}),
                       (f"{base()}/publish", {}), (f"{base()}/new-draft", {})):
        assert designer.post(path, data=data).status_code == 400, path
    with app.extensions["tokhai"].sessions() as s:
        assert s.scalar(select(FormVersion.status).where(
            FormVersion.form_id == FORM, FormVersion.version == 1)) == "draft"


def test_the_trimming_report_names_every_record_an_answer_may_pick(designer) -> None:
    form = "to-khai-cap-ban-sao-trich-luc-ho-tich"
    body = text(designer.get(f"/design/forms/{form}/1/trimming-report"))
    assert "theo câu trả lời:" in body
    # the number: a birth's, a marriage's or a death's, by the event chosen
    for choice in ("Khai sinh – Số đăng ký khai sinh (Cơ sở dữ liệu hộ tịch",
                   "Kết hôn – Số Giấy chứng nhận kết hôn (Cơ sở dữ liệu hộ tịch",
                   "Khai tử – Số trích lục khai tử (Cơ sở dữ liệu hộ tịch"):
        assert choice in body, choice

"""The citizens' pages and the form language's second edition (issue #16): every new field
type renders, is read back from what a browser posts and reads as on paper (times, dates and
times dd/mm/yyyy, identity documents, old identity card numbers, places in Vietnam, abroad or
by a former unit's name, text computed from the answers, text with a pattern); composite
conditions are described for eform.js and in words, and hidden values are dropped; rule errors
land at their fields."""

from __future__ import annotations

import html as htmlmod
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from forms import language
from forms.model import FormDefinition
from service.web.pages import formfields as ff
from tests.conftest import make_app
from tests.service.web.pages.test_formfields import Browser, render

NEW_TYPES = """
id: kieu-truong-moi
version: 1
title: Tờ khai thử các kiểu trường mới
legal_basis: Không
procedure_code: "0.000016"
agency_level: commune
sections:
  - id: chung
    title: Chung
    fields:
      - {id: gio, type: time, label: Giờ xảy ra}
      - {id: luc, type: date_time, label: Thời điểm}
      - {id: giay_to, type: id_document, label: Giấy tờ tùy thân}
      - {id: cmnd, type: personal_id, old_id_card: true, label: Số định danh cá nhân/CMND}
      - {id: noi_sinh, type: place, label: Nơi sinh}
      - {id: que, type: place, places: [current, former], label: Quê quán, required: false}
      - {id: ho_chieu, type: text, label: Số hộ chiếu, required: false,
         pattern: "^[A-Z][0-9]{7}$",
         pattern_message: Số hộ chiếu gồm một chữ cái in hoa và 7 chữ số.}
      - {id: quan_he, type: choice, codes: relationship, label: Quan hệ với người được nhận}
      - {id: ghi_chu, type: text, label: Ghi chú, required: false,
         when: {all: [{field: quan_he, equals: con}, {field: ho_chieu, empty: true}]}}
      - {id: ly_do, type: text, label: Lý do, required: false,
         when: {any: [{field: quan_he, equals: cha}, {not: {field: cmnd}}]}}
      - {id: loi_cam_doan, type: computed, label: Lời cam đoan,
         template: "Tôi cam đoan việc nhận {quan_he} nói trên là đúng sự thật."}
"""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("constructs")
    application = make_app(f"sqlite:///{folder / 'tokhai.db'}", folder, load_catalogue=False)
    with application.test_request_context():
        yield application


@pytest.fixture(scope="module")
def form() -> FormDefinition:
    return language.parse_text(NEW_TYPES, "new.yaml")


FILLED: dict[str, Any] = {
    "gio": "08:05",
    "luc": "2025-05-17T14:30",
    "giay_to": {"type": "ho_chieu", "number": "C1234567"},
    "cmnd": "012345678",
    "noi_sinh": {"kind": "abroad", "country": "JP", "detail": "Thành phố Osaka"},
    "que": {"kind": "former", "text": "Xã Đông Mỹ, huyện Thanh Trì, thành phố Hà Nội"},
    "ho_chieu": "B7654321",
    "quan_he": "cha",
    "ly_do": "Nhận con",
}


def test_each_new_type_renders_and_comes_back_unchanged(app: Flask,
                                                        form: FormDefinition) -> None:
    html = render(ff.view(form, {"chung": FILLED}, {}, {}))
    # a time as hour and minute boxes, a date and time as five; an identity document as a
    # type and a number; a place as its kind and each kind's inputs
    for name in ("/chung/gio.hour", "/chung/gio.minute", "/chung/luc.day", "/chung/luc.year",
                 "/chung/luc.minute", "/chung/giay_to.type", "/chung/giay_to.number",
                 "/chung/noi_sinh.kind", "/chung/noi_sinh.province", "/chung/noi_sinh.country",
                 "/chung/noi_sinh.foreign", "/chung/noi_sinh.former", "/chung/que.former"):
        assert f'name="{name}"' in html, name
    assert 'name="/chung/que.country"' not in html  # not a kind this place takes
    assert 'value="abroad" checked' in html
    assert "12 chữ số (căn cước), hoặc 9 chữ số (chứng minh nhân dân cũ)." in html
    assert "Số hộ chiếu gồm một chữ cái in hoa và 7 chữ số." in html  # the pattern's hint
    # the computed text is shown from the answers, never an input
    assert "Tôi cam đoan việc nhận Cha nói trên là đúng sự thật." in html
    assert 'name="/chung/loi_cam_doan"' not in html
    page = Browser(html)
    ids = set(page.ids)
    for target in re.findall(r'<label[^>]* for="([^"]+)"', html):
        assert target in ids, target
    parsed = ff.parse(form, page.post(), {})
    assert parsed.errors == {} and parsed.unknown == []
    expected = {**FILLED, "loi_cam_doan": "Tôi cam đoan việc nhận Cha nói trên là đúng sự thật."}
    assert parsed.data["chung"] == expected
    # each kind of place comes back too
    for place in ({"kind": "current", "province": "01", "commune": "00004",
                   "detail": "Số 12, phố Hàng Bạc"},
                  {"kind": "former", "text": "Huyện Từ Liêm, Hà Nội"}):
        again = ff.parse(form, Browser(render(ff.view(
            form, {"chung": {**FILLED, "noi_sinh": place}}, {}, {}))).post(), {})
        assert again.data["chung"]["noi_sinh"] == place


def test_what_is_typed_is_read_as_the_api_takes_it(app: Flask, form: FormDefinition) -> None:
    page = Browser(render(ff.view(form, {}, {}, {})))
    typed = ff.parse(form, page.post(**{
        "/chung/gio.hour": "8", "/chung/gio.minute": "5",
        "/chung/luc.day": "7", "/chung/luc.month": "3", "/chung/luc.year": "2024",
        "/chung/luc.hour": "23", "/chung/luc.minute": "0",
        "/chung/giay_to.type": "ho_chieu", "/chung/giay_to.number": " c 1234567 ",
        "/chung/cmnd": "012 345 678",
        # no kind chosen: the only kind typed is the place's kind
        "/chung/noi_sinh.country": "FR", "/chung/noi_sinh.foreign": "Paris",
        # a kind chosen: the other kinds' inputs are not read
        "/chung/que.kind": "current", "/chung/que.province": "01",
        "/chung/que.commune": "00004", "/chung/que.former": "bỏ đi",
        "/chung/loi_cam_doan": "Văn bản giả mạo",
    }), {})
    chung = typed.data["chung"]
    assert chung["gio"] == "08:05"
    assert chung["luc"] == "2024-03-07T23:00"
    assert chung["giay_to"] == {"type": "ho_chieu", "number": "C1234567"}
    assert chung["cmnd"] == "012345678"
    assert chung["noi_sinh"] == {"kind": "abroad", "country": "FR", "detail": "Paris"}
    assert chung["que"] == {"kind": "current", "province": "01", "commune": "00004"}
    # made from the answers (none yet), never the post's
    assert chung["loi_cam_doan"] == "Tôi cam đoan việc nhận … nói trên là đúng sự thật."
    assert typed.unknown == ["/chung/loi_cam_doan"]
    # what cannot be a time, a date and time: kept as typed and said at the field
    bad = ff.parse(form, page.post(**{
        "/chung/gio.hour": "25", "/chung/gio.minute": "00",
        "/chung/luc.day": "30", "/chung/luc.month": "2", "/chung/luc.year": "2024",
        "/chung/luc.hour": "10", "/chung/luc.minute": "",
    }), {})
    assert bad.errors["f-chung-gio"] == (
        "“Giờ xảy ra” phải là giờ và phút có thật, ví dụ 14 giờ 30 phút.")
    assert bad.errors["f-chung-luc"] == "“Thời điểm” phải là một ngày có thật."
    assert bad.data["chung"]["gio"] == "25:00"
    html = render(ff.view(form, bad.data, {}, bad.errors))
    assert 'name="/chung/gio.hour" type="text" inputmode="numeric" value="25"' in html


def test_answers_read_as_on_paper(app: Flask, form: FormDefinition) -> None:
    rows = {r.label: r.text for s in ff.answers(form, {"chung": FILLED}) for r in s.rows}
    assert rows["Giờ xảy ra"] == "08:05"
    assert rows["Thời điểm"] == "14:30 ngày 17/05/2025"
    assert rows["Giấy tờ tùy thân"] == "Hộ chiếu số C1234567"
    assert rows["Số định danh cá nhân/CMND"] == "012345678"
    assert rows["Nơi sinh"] == "Thành phố Osaka, Nhật"  # the nationality list's name
    assert rows["Quê quán"] == "Xã Đông Mỹ, huyện Thanh Trì, thành phố Hà Nội (tên cũ)"
    assert rows["Lời cam đoan"] == "Tôi cam đoan việc nhận Cha nói trên là đúng sự thật."
    current = {**FILLED, "noi_sinh": {"kind": "current", "province": "01",
                                      "commune": "00004", "detail": "Số 1"}}
    rows = {r.label: r.text for s in ff.answers(form, {"chung": current}) for r in s.rows}
    assert rows["Nơi sinh"].startswith("Số 1, ") and rows["Nơi sinh"].endswith("Hà Nội")
    # a field whose composite condition does not hold is not an answer
    assert "Ghi chú" not in rows and "Lý do" in rows


def test_composite_conditions(app: Flask, form: FormDefinition) -> None:
    html = render(ff.view(form, {"chung": FILLED}, {}, {}))
    docs = [json.loads(htmlmod.unescape(d)) for d in re.findall(r'data-when="([^"]+)"', html)]
    assert {"all": [{"name": "/chung/quan_he", "kind": "choice", "equals": "con"},
                    {"name": "/chung/ho_chieu", "kind": "text", "empty": True}]} in docs
    assert {"any": [{"name": "/chung/quan_he", "kind": "choice", "equals": "cha"},
                    {"not": {"name": "/chung/cmnd", "kind": "personal_id",
                             "filled": True}}]} in docs
    assert ("Chỉ điền khi “Quan hệ với người được nhận” là “Con” và không điền "
            "“Số hộ chiếu”.") in html
    assert ("Chỉ điền khi “Quan hệ với người được nhận” là “Cha” hoặc không phải (đã điền "
            "“Số định danh cá nhân/CMND”).") in html
    page = Browser(html)
    # hidden means absent: a value posted for a field whose condition does not hold is dropped
    son = ff.parse(form, page.post(**{"/chung/quan_he": "con", "/chung/ghi_chu": "x",
                                      "/chung/ly_do": "y"}), {})
    assert "ghi_chu" not in son.data["chung"]  # a passport number is given
    assert "ly_do" not in son.data["chung"]  # not the father, and an ID number is given
    assert son.data["chung"]["loi_cam_doan"].startswith("Tôi cam đoan việc nhận Con ")
    no_passport = ff.parse(form, page.post(**{"/chung/quan_he": "con", "/chung/ho_chieu": "",
                                              "/chung/ghi_chu": "x", "/chung/cmnd": "",
                                              "/chung/ly_do": "y"}), {})
    assert no_passport.data["chung"]["ghi_chu"] == "x"
    assert no_passport.data["chung"]["ly_do"] == "y"


def test_problems_land_at_the_new_inputs(app: Flask, form: FormDefinition) -> None:
    def problem(field: str, code: str, message: str = "x") -> dict[str, str]:
        return {"field": field, "code": code, "message": message, "message_en": "in English"}

    abroad = {"chung": {**FILLED}}
    errors = ff.error_map(form, [
        problem("/chung/ho_chieu", "bad_format"),
        problem("/chung/cmnd", "bad_format"),
        problem("/chung/gio", "bad_format"),
        problem("/chung/giay_to/number", "bad_format"),
        problem("/chung/noi_sinh/detail", "required"),
        problem("/chung/que/text", "required"),
        problem("/chung/luc", "not_after", "“Thời điểm” không được sau “Giờ xảy ra”."),
    ], abroad)
    assert errors == {
        "f-chung-ho_chieu": "Số hộ chiếu gồm một chữ cái in hoa và 7 chữ số.",
        "f-chung-cmnd": ("“Số định danh cá nhân/CMND” phải gồm 12 chữ số, hoặc 9 chữ số nếu "
                         "là số chứng minh nhân dân."),
        "f-chung-gio": "“Giờ xảy ra” phải là giờ và phút có thật, ví dụ 14 giờ 30 phút.",
        "f-chung-giay_to--number": (
            "Số giấy tờ của “Giấy tờ tùy thân” không đúng với loại giấy tờ: căn cước 12 chữ "
            "số, chứng minh nhân dân 9 chữ số, hộ chiếu một chữ cái và 7 chữ số."),
        "f-chung-noi_sinh--foreign": "Nhập địa danh ở nước ngoài của “Nơi sinh”.",
        "f-chung-que--former": "Nhập tên đơn vị hành chính cũ của “Quê quán”.",
        # a rule's own message, at its field
        "f-chung-luc": "“Thời điểm” không được sau “Giờ xảy ra”.",
    }
    sections = ff.view(form, abroad, {}, errors)
    html = render(sections)
    ids = set(Browser(html).ids)
    assert set(errors) <= ids, set(errors) - ids
    for message in errors.values():
        assert htmlmod.escape(message, quote=False) in html or message in html
    listed = [e["field"] for e in ff.summary(errors, sections)]
    assert listed == ["f-chung-gio", "f-chung-luc", "f-chung-giay_to--number", "f-chung-cmnd",
                      "f-chung-noi_sinh--foreign", "f-chung-que--former", "f-chung-ho_chieu"]
    # the detail of a place in Vietnam is its own input
    current = {"chung": {**FILLED, "noi_sinh": {"kind": "current", "province": "01"}}}
    assert ff.error_map(form, [problem("/chung/noi_sinh/commune", "required")], current) == {
        "f-chung-noi_sinh--commune": "Chọn xã, phường của “Nơi sinh”."}


def test_a_commune_of_a_place_is_chosen_without_javascript(app: Flask,
                                                          form: FormDefinition) -> None:
    page = Browser(render(ff.view(form, {}, {}, {})))
    parsed = ff.parse(form, page.post(**{"/chung/noi_sinh.kind": "current",
                                         "/chung/noi_sinh.province": "01",
                                         "action": "refresh:/chung/noi_sinh"}), {})
    assert parsed.action == "refresh:/chung/noi_sinh"
    assert parsed.focus == "f-chung-noi_sinh--commune"
    html = render(ff.view(form, parsed.data, {}, {}))
    assert '<option value="00004">' in html


# -- a person the citizen names, rules across fields: the whole page --------------------------

WARD_FORM = """
id: thu-nguoi-duoc-giam-ho
version: 1
title: Tờ khai thử người được giám hộ
legal_basis: Không
procedure_code: "0.000017"
agency_level: commune
rules:
  - {not_after: [nguoi_duoc_giam_ho.ngay_sinh, noi_dung.ngay_bat_dau],
     message: Ngày bắt đầu giám hộ không được trước ngày sinh của người được giám hộ.}
sections:
  - id: nguoi_duoc_giam_ho
    title: Người được giám hộ
    person: {named_by: so_dinh_danh, allowed: [ward]}
    fields:
      - {id: so_dinh_danh, type: personal_id, label: Số định danh cá nhân}
      - {id: ho_ten, type: text, label: "Họ, chữ đệm, tên", prefill: population.full_name}
      - {id: ngay_sinh, type: date, label: "Ngày, tháng, năm sinh",
         prefill: population.birth_date}
  - id: noi_dung
    title: Nội dung
    fields:
      - {id: ngay_bat_dau, type: date, label: Ngày bắt đầu giám hộ}
      - {id: cam_doan, type: commitment, label: Tôi cam đoan việc giám hộ … là đúng.,
         template: "Tôi cam đoan việc giám hộ {nguoi_duoc_giam_ho.ho_ten} là đúng."}
"""
WARD_ID = "thu-nguoi-duoc-giam-ho"
WARD_FILL = f"/procedures/{WARD_ID}/v1/form"
WARD_NAME = "Nguyễn Minh Tâm"  # demo.DEMO_WARD, under the demo father's guardianship
STRANGER_NAME = "Đỗ Thị Mai"  # demo.DEMO_MOTHER: not linked to the demo father


@pytest.fixture
def ward_app(pages: Any) -> Any:
    """The pages' app with the test form published, the demo father starting afresh."""
    from sqlalchemy import delete

    from service import catalogue
    from storage.models import FormDraft, PrefillChoice
    from tests.conftest import DEMO_FATHER

    with pages.app_context(), pages.extensions["tokhai"].sessions() as s:
        if not catalogue.list_versions(s, WARD_ID, include_drafts=True):
            catalogue.create_draft(s, WARD_FORM, "yaml", "designer:test")
            catalogue.publish(s, WARD_ID, 1, "designer:test")
        for model in (FormDraft, PrefillChoice):
            s.execute(delete(model).where(model.citizen_id == DEMO_FATHER,
                                          model.form_id == WARD_ID))
        s.commit()
    return pages


def _ward_client(app: Any) -> Any:
    from tests.service.web.pages.conftest import csrf_of, sign_in

    client = app.test_client()
    sign_in(client, "citizen_father")
    apply = f"/procedures/{WARD_ID}/apply"
    page = client.get(apply)
    answer = client.post(apply, data={"version": "1", "agency": "UBND-XA-00004",
                                      "choice": "use", "csrf_token": csrf_of(page.get_data(
                                          as_text=True))})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(WARD_FILL)
    return client


def _post(client: Any, fields: dict[str, str], action: str) -> Any:
    from tests.service.web.pages.conftest import csrf_of

    page = client.get(WARD_FILL).get_data(as_text=True)
    return client.post(WARD_FILL, data={**fields, "action": action,
                                        "csrf_token": csrf_of(page)})


def _text(response: Any) -> str:
    return htmlmod.unescape(response.get_data(as_text=True))


def test_a_named_ward_is_looked_up_and_a_stranger_is_not_revealed(ward_app: Any) -> None:
    from service.records import demo

    client = _ward_client(ward_app)
    empty = _text(client.get(WARD_FILL))
    lookup = "refresh:/nguoi_duoc_giam_ho/so_dinh_danh"
    assert f'value="{lookup}"' in empty and "Tra cứu" in empty
    assert WARD_NAME not in empty
    # the ward's number, looked up: their records fill the section (the registers link them
    # to the demo father as his ward)
    answer = _post(client, {"/nguoi_duoc_giam_ho/so_dinh_danh": demo.DEMO_WARD}, lookup)
    assert answer.status_code == 302
    assert "looked_up=" in answer.headers["Location"]
    found = _text(client.get(answer.headers["Location"]))
    assert "Đã điền sẵn thông tin của người này từ dữ liệu Nhà nước." in found
    assert f'value="{WARD_NAME}"' in found
    assert 'name="/nguoi_duoc_giam_ho/ngay_sinh.year" type="text" inputmode="numeric" ' \
           'value="2013"' in found
    # the commitment's text is made from the answers
    assert f"Tôi cam đoan việc giám hộ {WARD_NAME} là đúng." in found
    # someone the registers do not link to him: nothing is filled, nothing said about them,
    # and the ward's values filled by the earlier look-up are gone
    answer = _post(client, {"/nguoi_duoc_giam_ho/so_dinh_danh": demo.DEMO_MOTHER,
                            "/nguoi_duoc_giam_ho/ho_ten": WARD_NAME,
                            "/nguoi_duoc_giam_ho/ngay_sinh.day": "9",
                            "/nguoi_duoc_giam_ho/ngay_sinh.month": "4",
                            "/nguoi_duoc_giam_ho/ngay_sinh.year": "2013"}, lookup)
    stranger = _text(client.get(answer.headers["Location"]))
    assert "Không điền sẵn được thông tin nào theo số này." in stranger
    assert STRANGER_NAME not in stranger and "1996" not in stranger
    assert WARD_NAME not in stranger
    # what the citizen types stays
    answer = _post(client, {"/nguoi_duoc_giam_ho/so_dinh_danh": demo.DEMO_MOTHER,
                            "/nguoi_duoc_giam_ho/ho_ten": "Người Tự Nhập"}, lookup)
    assert 'value="Người Tự Nhập"' in _text(client.get(answer.headers["Location"]))


def test_a_rule_across_fields_is_said_at_its_field(ward_app: Any) -> None:
    from service.records import demo

    client = _ward_client(ward_app)
    answer = _post(client, {"/nguoi_duoc_giam_ho/so_dinh_danh": demo.DEMO_WARD,
                            "/nguoi_duoc_giam_ho/ho_ten": WARD_NAME,
                            "/nguoi_duoc_giam_ho/ngay_sinh.day": "9",
                            "/nguoi_duoc_giam_ho/ngay_sinh.month": "4",
                            "/nguoi_duoc_giam_ho/ngay_sinh.year": "2013",
                            "/noi_dung/ngay_bat_dau.day": "1",
                            "/noi_dung/ngay_bat_dau.month": "1",
                            "/noi_dung/ngay_bat_dau.year": "2010",
                            "/noi_dung/cam_doan": "true"}, "continue")
    assert answer.status_code == 200
    body = _text(answer)
    message = "Ngày bắt đầu giám hộ không được trước ngày sinh của người được giám hộ."
    # in the error summary, linking to a field the rule names, and at that field
    links = re.findall(r'<a href="#([^"]+)">([^<]+)</a>', body)
    target = next(fid for fid, words in links if words == message)
    assert target in ("f-nguoi_duoc_giam_ho-ngay_sinh", "f-noi_dung-ngay_bat_dau")
    assert body.count(message) == 2
    assert f'id="{target}"' in body

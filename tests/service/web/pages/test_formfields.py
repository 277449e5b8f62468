"""The e-form's field layer (service/web/pages/formfields.py, templates/eform/_fields.html):
every catalogue form renders and comes back from its own HTML unchanged, verified values cannot
be changed by a post, repeated groups grow and shrink, conditions drop values, the API's
problems land at the inputs rendered, answers read as on paper."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template_string
from markupsafe import escape
from werkzeug.datastructures import MultiDict

from forms import conditions, language, units
from forms.examples import example_submission
from forms.model import FormDefinition
from service.web.pages import formfields as ff
from tests.conftest import make_app

CATALOGUE = sorted((Path(__file__).resolve().parents[4] / "forms" / "catalogue").glob("*.yaml"))
BIRTH = "to-khai-dang-ky-khai-sinh"
FATHER = "001085012345"
MACRO = ('{% from "eform/_fields.html" import fields %}'
         '{{ fields(sections, default_action="continue", dispute_url=dispute_url, '
         'disputed=disputed) }}')
DOCUMENTS = [ff.Document("TL-0001", "Giấy khai sinh số 12", "giay-to.pdf", "application/pdf"),
             ff.Document("TL-0002", "Trích lục kết hôn", "ket-hon.pdf", "application/pdf")]


def catalogue_form(form_id: str) -> FormDefinition:
    path = next(p for p in CATALOGUE if p.stem == form_id)
    return language.parse_text(path.read_text(encoding="utf-8"), path.name)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An application serving the pages (Babel, templates, url_for); no records needed."""
    folder = tmp_path_factory.mktemp("formfields")
    application = make_app(f"sqlite:///{folder / 'tokhai.db'}", folder, load_catalogue=False)
    with application.test_request_context():
        yield application


def render(sections: list[ff.SectionView], dispute_url: str | None = None,
           disputed: Any = ()) -> str:
    return render_template_string(MACRO, sections=sections, dispute_url=dispute_url,
                                  disputed=disputed)


class Browser(HTMLParser):
    """What a browser posts for the rendered fields (no button pressed): named inputs, the
    checked radios and checkboxes, each select's selected option (else its first), textareas.
    Also the ids of every element."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.pairs: list[tuple[str, str]] = []
        self.ids: list[str] = []
        self.readonly_names: list[str] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._option: str | None = None
        self._textarea: str | None = None
        self._text = ""
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "input" and "name" in a:
            kind = a.get("type", "text")
            if kind in ("submit", "button") or (kind in ("radio", "checkbox")
                                               and "checked" not in a):
                return
            self.pairs.append((a["name"], a.get("value", "on")))
        elif tag == "select":
            self._select, self._options = a.get("name"), []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None:
            chosen = [v for v, s in self._options if s] or [v for v, _ in self._options[:1]]
            self.pairs.append((self._select, chosen[0] if chosen else ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = self._text[1:] if self._text.startswith("\n") else self._text
            self.pairs.append((self._textarea, text))
            self._textarea = None

    def post(self, **changes: Any) -> MultiDict[str, str]:
        """The post, with some names' values replaced (a list: several values)."""
        out = MultiDict([(k, v) for k, v in self.pairs if k not in changes])
        for k, v in changes.items():
            for item in (v if isinstance(v, list) else [v]):
                out.add(k, item)
        return out


def round_trip(form: FormDefinition, data: dict[str, Any], **view_kwargs: Any) -> ff.Parsed:
    html = render(ff.view(form, data, {}, {}, **view_kwargs))
    return ff.parse(form, Browser(html).post(), {}, documents=view_kwargs.get("documents", ()))


# -- every form --------------------------------------------------------------------------------

@pytest.mark.parametrize("path", CATALOGUE, ids=[p.stem for p in CATALOGUE])
def test_every_catalogue_form_renders_and_comes_back_unchanged(app: Flask, path: Path) -> None:
    form = language.parse_text(path.read_text(encoding="utf-8"), path.name)
    data = example_submission(form)
    empty = render(ff.view(form, {}, {}, {}))
    assert empty.count("<fieldset class=\"eform__section\"") == len(form.sections)
    parsed = round_trip(form, data, documents=DOCUMENTS)
    # what comes back is what was sent, but for the values of fields the answers hide (an
    # alternative the example also fills: a passport number when a personal ID is given)
    assert parsed.data == conditions.drop_hidden(form, copy.deepcopy(data))
    assert parsed.errors == {} and parsed.unknown == [] and parsed.action is None
    # an empty form posts nothing typed: sections only (and repeated groups' minimum items)
    nothing = ff.parse(form, Browser(empty).post(), {})
    assert all(not _leaves(v) for v in nothing.data.values()), nothing.data


def _leaves(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [x for v in node.values() for x in _leaves(v)]
    if isinstance(node, list):
        return [x for v in node for x in _leaves(v)]
    return [node]


EVERY_TYPE = """
id: moi-kieu-truong
version: 1
title: Tờ khai thử mọi kiểu trường
legal_basis: Không
procedure_code: "0.000001"
agency_level: commune
code_lists:
  mau: [{code: do, label: Đỏ}, {code: xanh, label: Xanh}, {code: vang, label: Vàng}]
sections:
  - id: chung
    title: Chung
    help: Mọi kiểu trường
    fields:
      - {id: ten, type: text, label: Tên, max_length: 30}
      - {id: ghi_chu, type: long_text, label: Ghi chú, required: false}
      - {id: ngay, type: date, label: Ngày sinh}
      - {id: nam, type: partial_date, precision: year, label: Năm}
      - {id: thang, type: partial_date, precision: month, label: Tháng năm}
      - {id: bat_ky, type: partial_date, label: Ngày không đầy đủ}
      - {id: so_dinh_danh, type: personal_id, label: Số định danh}
      - {id: mst, type: tax_code, label: Mã số thuế}
      - {id: dien_thoai, type: phone, label: Điện thoại}
      - {id: thu, type: email, label: Thư điện tử}
      - {id: so, type: integer, minimum: -5, maximum: 50, label: Số}
      - {id: tien, type: money, label: Số tiền}
      - {id: co, type: boolean, label: Có không}
      - {id: mau, type: choice, codes: mau, label: Màu}
      - {id: mau_nhieu, type: choice, codes: mau, multiple: true, label: Các màu}
      - {id: dan_toc, type: choice, codes: ethnicity, label: Dân tộc}
      - {id: quoc_tich, type: choice, codes: nationality, multiple: true, label: Quốc tịch}
      - {id: dia_chi, type: address, detail: required, label: Địa chỉ}
      - {id: que, type: address, detail: none, label: Quê}
      - {id: tep, type: attachment, label: Tệp}
      - {id: tep_nhieu, type: attachment, max_files: 3, label: Các tệp, required: false}
      - id: nhom
        type: group
        label: Nhóm
        fields:
          - {id: a, type: text, label: A}
          - id: lap
            type: group
            label: Lặp trong nhóm
            repeat: {min: 1, max: 3}
            fields:
              - {id: b, type: date, label: B}
              - {id: c, type: boolean, label: C, required: false}
              - {id: d, type: text, label: D, when: {field: c, equals: true}}
      - {id: cam_doan, type: commitment, label: Tôi cam đoan.}
  - id: phu
    title: Phụ
    fields:
      - {id: khi_co, type: text, label: Khi có, required: false,
         when: {field: chung.co, equals: true}}
"""


@pytest.fixture(scope="module")
def every_type() -> FormDefinition:
    return language.parse_text(EVERY_TYPE, "every.yaml")


def test_every_field_type_comes_back_unchanged(app: Flask, every_type: FormDefinition) -> None:
    data = example_submission(every_type)
    data["chung"]["ghi_chu"] = "Dòng một\nDòng hai"
    data["chung"]["quoc_tich"] = ["VN", "FR"]
    data["chung"]["mau_nhieu"] = ["do", "vang"]  # in the list's order, as the boxes are
    data["chung"]["so"] = -3
    data["chung"]["tep_nhieu"] = [{"document_id": "TL-0001", "file_name": "giay-to.pdf",
                                   "media_type": "application/pdf"},
                                  {"document_id": "TL-0002", "file_name": "ket-hon.pdf",
                                   "media_type": "application/pdf"}]
    data["chung"]["nhom"]["lap"] = [{"b": "2024-02-29", "c": True, "d": "x"},
                                    {"b": "2000-12-01", "c": False}]
    for partial in ("1990", "1990-05", "1990-05-17"):
        data["chung"]["bat_ky"] = partial
        parsed = round_trip(every_type, data, documents=DOCUMENTS)
        assert parsed.data == data, partial
        assert parsed.errors == {}


def test_inputs_follow_the_patterns(app: Flask, every_type: FormDefinition) -> None:
    html = render(ff.view(every_type, example_submission(every_type), {}, {},
                          documents=DOCUMENTS))
    # dates as day/month/year boxes; a year alone; month and year
    assert 'name="/chung/ngay.day"' in html and 'name="/chung/ngay.year"' in html
    assert 'name="/chung/nam.year"' in html and 'name="/chung/nam.day"' not in html
    assert 'name="/chung/thang.month"' in html and 'name="/chung/thang.day"' not in html
    # radios for a short list, a select for a long one, checkboxes for several
    assert re.search(r'type="radio" id="f-chung-mau" name="/chung/mau" value="do" checked', html)
    assert '<select class="select" id="f-chung-dan_toc" name="/chung/dan_toc"' in html
    assert html.count('type="checkbox"') >= 4
    # the labels point at their inputs, fieldsets have legends
    ids = set(Browser(html).ids)
    for target in re.findall(r'<label[^>]* for="([^"]+)"', html):
        assert target in ids, target
    assert html.count("<fieldset") == html.count("<legend")
    # Enter submits the page's main button first, not an add/remove button
    assert html.index('value="continue"') < html.index('name="action" value="add:')


# -- verified values ---------------------------------------------------------------------------

def prefilled_birth(pages: Flask) -> tuple[Any, Any]:
    """The birth registration form prefilled for the demo father, as the flow gets it."""
    from service import catalogue as ops
    from service.records import prefill as pf

    runtime = pages.extensions["tokhai"]
    with pages.app_context(), runtime.sessions() as session:
        compiled = ops.published_form(session, BIRTH, 1)
        result = pf.prefill(compiled.definition, FATHER, runtime.sources(session))
    return compiled, result


def check(pages: Flask, compiled: Any, data: dict[str, Any]) -> list[dict[str, str]]:
    from service.dossiers import lifecycle

    runtime = pages.extensions["tokhai"]
    with pages.app_context(), runtime.sessions() as session:
        return lifecycle.check(session, compiled, data, FATHER, runtime.sources(session))


def test_the_birth_form_prefilled_locks_verified_values(pages: Flask) -> None:
    compiled, result = prefilled_birth(pages)
    form = compiled.definition
    assert result.verified, "the demo father's records verify the requester's fields"
    with pages.test_request_context():
        sections = ff.view(form, result.data, result.provenance, {}, verified=result.verified)
        html = render(sections, dispute_url="/bao-sai")
    page = Browser(html)
    names = {n for n, _ in page.pairs}
    for pointer in result.verified:
        # shown read-only with the register named, never an input
        assert not any(n == pointer or n.startswith(pointer + ".") for n in names), pointer
        assert ff.input_id(pointer.strip("/").split("/")) in page.ids
    assert "Lấy từ Cơ sở dữ liệu quốc gia về dân cư; không sửa được" in html
    requester = result.data["nguoi_yeu_cau"]
    assert ff.print_date(requester["ngay_sinh"]) in html  # dd/mm/yyyy
    # the parents' values the registers suggest are editable, with their source
    suggested = [p for p in result.provenance if p not in result.verified]
    assert any(p.startswith("/nguoi_me/") for p in suggested)
    assert "Gợi ý từ Cơ sở dữ liệu quốc gia về dân cư; bạn có thể sửa." in html
    assert 'name="/nguoi_me/ho_ten"' in html
    assert 'href="/bao-sai?field=/nguoi_yeu_cau/ho_ten"' in html  # verified
    assert 'href="/bao-sai?field=/nguoi_me/ho_ten"' in html  # suggested
    assert "Bạn đã báo sai thông tin này." not in html
    with pages.test_request_context():
        reported = render(sections, dispute_url="/bao-sai",
                          disputed={"/nguoi_yeu_cau/ho_ten", "/nguoi_me/ho_ten"})
    assert reported.count("Bạn đã báo sai thông tin này.") == 2
    assert reported.count("Sửa nội dung báo sai") == 2
    # the child's section is typed
    assert 'name="/nguoi_duoc_khai_sinh/ho_ten" type="text" value=""' in html

    # a forged post cannot change a verified value
    forged = page.post(**{"/nguoi_yeu_cau/ho_ten": "Kẻ Giả Mạo",
                          "/nguoi_yeu_cau/ngay_sinh.day": "01",
                          "/nguoi_yeu_cau/noi_cu_tru.province": "01"})
    with pages.test_request_context():
        parsed = ff.parse(form, forged, result.data, verified=result.verified)
    for pointer, value in result.verified.items():
        assert ff.pointers.get(parsed.data, pointer) == value
    assert parsed.unknown == []

    # filled in, the data passes the API's own check; left empty, every problem is at an
    # input the page shows
    child = example_submission(form)["nguoi_duoc_khai_sinh"]
    child_post = {f"/nguoi_duoc_khai_sinh/{k}": v for k, v in {
        "ho_ten": child["ho_ten"], "ngay_sinh.day": "17", "ngay_sinh.month": "5",
        "ngay_sinh.year": "2026", "gioi_tinh": "nu", "dan_toc": "01", "quoc_tich": "VN",
        "noi_sinh.province": child["noi_sinh"]["province"],
        "noi_sinh.commune": child["noi_sinh"]["commune"],
        "que_quan.province": child["que_quan"]["province"],
        "que_quan.commune": child["que_quan"]["commune"]}.items()}
    with pages.test_request_context():
        filled = ff.parse(form, page.post(**child_post, **{
            "/nguoi_yeu_cau/quan_he": "cha", "/cam_doan/lam_tai": "Hà Nội",
            "/cam_doan/cam_doan": "true"}), result.data, verified=result.verified)
    assert filled.errors == {}
    assert filled.data["nguoi_duoc_khai_sinh"]["ngay_sinh"] == "2026-05-17"
    assert check(pages, compiled, filled.data) == []

    with pages.test_request_context():
        empty = ff.parse(form, page.post(), result.data, verified=result.verified)
        problems = check(pages, compiled, empty.data)
        errors = ff.error_map(form, problems)
        rendered = render(ff.view(form, empty.data, result.provenance, errors,
                                  verified=result.verified))
    assert problems and "" not in errors
    shown = set(Browser(rendered).ids)
    assert set(errors) <= shown, set(errors) - shown
    assert "f-nguoi_duoc_khai_sinh-ngay_sinh" in errors
    assert errors["f-cam_doan-cam_doan"] == "Hãy đánh dấu xác nhận lời cam đoan."
    assert errors["f-nguoi_duoc_khai_sinh-gioi_tinh"] == "Chọn “Giới tính”."
    for message in errors.values():
        assert message in rendered
    listed = ff.summary(errors, ff.view(form, empty.data, result.provenance, errors,
                                        verified=result.verified))
    assert [e["field"] for e in listed][0].startswith("f-nguoi_yeu_cau")  # page order


def test_items_with_verified_values_stay(app: Flask) -> None:
    form = catalogue_form("ct01-thay-doi-thong-tin-cu-tru")
    group = _repeated(form)
    data = example_submission(form)
    first_leaf = next(f for f in group.fields if not f.is_group)
    ptr = ff.pointers.join((*group.path, "0", first_leaf.id))
    base = json.loads(json.dumps(data))
    verified = {ptr}
    html = render(ff.view(form, data, {}, {}, verified=verified))
    assert f'value="remove:{ff.pointers.join(group.path)}/0"' not in html
    assert f'value="remove:{ff.pointers.join(group.path)}/1"' in html
    page = Browser(html)
    # removing the verified item, or posting fewer items, keeps it
    for post in (page.post(action=f"remove:{ff.pointers.join(group.path)}/0"),
                 page.post(**{f"{ff.pointers.join(group.path)}.count": "0"})):
        parsed = ff.parse(form, post, base, verified=verified)
        assert ff.pointers.get(parsed.data, ptr) == ff.pointers.get(base, ptr)
        assert parsed.action is None


# -- repeated groups -----------------------------------------------------------------------------

def _repeated(form: FormDefinition) -> Any:
    def walk(fields: Any) -> Iterator[Any]:
        for f in fields:
            if f.is_group and f.repeat:
                yield f
            if f.is_group:
                yield from walk(f.fields)

    return next(f for s in form.sections for f in walk(s.fields))


def test_add_and_remove_items_without_javascript(app: Flask) -> None:
    form = catalogue_form("ct01-thay-doi-thong-tin-cu-tru")
    group = _repeated(form)
    gptr = ff.pointers.join(group.path)
    data = example_submission(form)
    items = ff.pointers.get(data, gptr)
    assert len(items) == 2
    page = Browser(render(ff.view(form, data, {}, {})))

    added = ff.parse(form, page.post(action=f"add:{gptr}"), {})
    assert added.action == f"add:{gptr}"
    assert ff.pointers.get(added.data, gptr) == [*items, {}]
    assert added.focus == ff.input_id((*group.path, "2"))
    again = render(ff.view(form, added.data, {}, {}))
    assert f'name="{gptr}.count" value="3"' in again
    assert f'id="{added.focus}"' in again

    removed = ff.parse(form, page.post(action=f"remove:{gptr}/0"), {})
    assert removed.action == f"remove:{gptr}/0"
    assert ff.pointers.get(removed.data, gptr) == items[1:]

    # a group with no item yet: added from nothing
    empty_page = Browser(render(ff.view(form, {}, {}, {})))
    first = ff.parse(form, empty_page.post(action=f"add:{gptr}"), {})
    assert ff.pointers.get(first.data, gptr) == [{}]

    # never past the maximum, never a group that does not exist, never a forged index
    lo, hi = group.repeat
    full_html = render(ff.view(form, _put(data, gptr, [items[0]] * hi), {}, {}))
    assert f'value="add:{gptr}"' not in full_html
    assert ff.parse(form, Browser(full_html).post(action=f"add:{gptr}"), {}).action is None
    assert lo == 0
    for bad in ("add:/nope/x", f"remove:{gptr}/9", f"remove:{gptr}/x", "add:", "remove:/",
                f"add:{gptr}/0/ho_ten", "unknown:/x"):
        parsed = ff.parse(form, page.post(action=bad), {})
        assert parsed.action is None, bad
        assert ff.pointers.get(parsed.data, gptr) == items


def _put(data: dict[str, Any], pointer: str, value: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(data))
    tokens = ff.pointers.parse(pointer)
    node = out
    for t in tokens[:-1]:
        node = node.setdefault(t, {})
    node[tokens[-1]] = value
    return out


def test_nested_repeated_groups_and_their_conditions(app: Flask,
                                                     every_type: FormDefinition) -> None:
    data = example_submission(every_type)
    data["chung"]["nhom"]["lap"] = [{"b": "2024-02-29", "c": True, "d": "x"},
                                    {"b": "2000-12-01", "c": False}]
    page = Browser(render(ff.view(every_type, data, {}, {})))
    # the second item's condition is false: what is posted for its field is dropped
    parsed = ff.parse(every_type, page.post(**{"/chung/nhom/lap/1/d": "bỏ đi"}), {})
    assert parsed.data["chung"]["nhom"]["lap"][1] == {"b": "2000-12-01", "c": False}
    assert parsed.unknown == []  # rendered (with its hint) although it does not apply
    added = ff.parse(every_type, page.post(action="add:/chung/nhom/lap"), {})
    assert len(added.data["chung"]["nhom"]["lap"]) == 3
    assert added.focus == "f-chung-nhom-lap-2"


# -- conditions ----------------------------------------------------------------------------------

def test_a_condition_that_does_not_hold_drops_the_value(app: Flask) -> None:
    form = catalogue_form(BIRTH)
    data = example_submission(form)
    assert data["cam_doan"]["ban_sao"] is True and data["cam_doan"]["so_luong"] == 1
    html = render(ff.view(form, data, {}, {}))
    # without JavaScript the field is shown, with a hint saying when it applies
    assert "Chỉ điền khi “Đề nghị cấp bản sao” là “Có”." in html
    assert ('data-when="{&#34;equals&#34;: true, &#34;kind&#34;: &#34;boolean&#34;, '
            '&#34;name&#34;: &#34;/cam_doan/ban_sao&#34;}"') in html
    page = Browser(html)
    kept = ff.parse(form, page.post(**{"/cam_doan/so_luong": "3"}), {})
    assert kept.data["cam_doan"]["so_luong"] == 3
    dropped = ff.parse(form, page.post(**{"/cam_doan/ban_sao": "false",
                                          "/cam_doan/so_luong": "3"}), {})
    assert "so_luong" not in dropped.data["cam_doan"]
    no_answer: list[str] = []
    unanswered = ff.parse(form, page.post(**{"/cam_doan/ban_sao": no_answer,
                                             "/cam_doan/so_luong": "3"}), {})
    assert "ban_sao" not in unanswered.data["cam_doan"]
    assert "so_luong" not in unanswered.data["cam_doan"]
    # the check-your-answers page leaves it out too
    rows = [r.label for s in ff.answers(form, dropped.data) for r in s.rows]
    assert "Số lượng" not in rows and "Đề nghị cấp bản sao" in rows


def test_a_condition_on_a_filled_field(app: Flask) -> None:
    form = catalogue_form("to-khai-de-nghi-khoi-phuc-ho-chieu-tk04")
    owner = next(f for _, f in form.leaves() if f.when is not None)
    assert owner.when is not None
    target = form.find(owner.when.field)
    assert target is not None and owner.when.equals is None and owner.when.one_of is None
    data = example_submission(form)
    page = Browser(render(ff.view(form, data, {}, {})))
    tptr = ff.pointers.join(target.path)
    optr = ff.pointers.join(owner.path)
    assert ff.pointers.get(ff.parse(form, page.post(), {}).data, optr) is not None
    cleared = ff.parse(form, page.post(**{tptr: ""}), {})
    assert ff.pointers.get(cleared.data, optr) is None


# -- errors --------------------------------------------------------------------------------------

def test_error_map_puts_each_problem_at_its_input(app: Flask, every_type: FormDefinition) -> None:
    data = example_submission(every_type)
    problems = [
        {"field": "/chung/ten", "code": "required", "message": "x", "message_en": "x"},
        {"field": "/chung/ngay", "code": "bad_format", "message": "x", "message_en": "x"},
        {"field": "/chung/dia_chi/commune", "code": "not_in_list", "message": "x",
         "message_en": "x"},
        {"field": "/chung/dia_chi/detail", "code": "required", "message": "x", "message_en": "x"},
        {"field": "/chung/nhom/lap/0/b", "code": "required", "message": "x", "message_en": "x"},
        {"field": "/chung/nhom/lap", "code": "too_few", "message": "x", "message_en": "x"},
        {"field": "/chung/mau_nhieu/1", "code": "not_in_list", "message": "x",
         "message_en": "x"},
        {"field": "/chung/tep/0/document_id", "code": "unknown_document",
         "message": "Không có tài liệu này", "message_en": "x"},
        {"field": "/chung/so", "code": "too_large", "message": "x", "message_en": "x"},
        {"field": "/chung/la", "code": "unknown_field", "message": "Trường 'la' không có",
         "message_en": "x"},
        {"field": "/", "code": "more_errors", "message": "… và 3 lỗi khác.", "message_en": "x"},
        {"field": "/chung/ten", "code": "too_long", "message": "second", "message_en": "x"},
    ]
    errors = ff.error_map(every_type, problems)
    assert errors == {
        "f-chung-ten": "Nhập “Tên”.",
        "f-chung-ngay": "“Ngày sinh” phải là một ngày có thật.",
        "f-chung-dia_chi--commune": "Xã, phường đã chọn không thuộc tỉnh, thành phố đã chọn.",
        "f-chung-dia_chi--detail": "Nhập số nhà, đường, thôn, xóm của “Địa chỉ”.",
        "f-chung-nhom-lap-0-b": "Nhập “B”.",
        "f-chung-nhom-lap": "“Lặp trong nhóm” cần ít nhất 1 mục.",
        "f-chung-mau_nhieu": "Chọn “Các màu” trong danh sách.",
        "f-chung-tep": "Giấy tờ đã chọn cho “Tệp” không có trong kho dữ liệu của bạn.",
        "f-chung-so": "“Số” không được quá 50.",
        "f-chung": "Trường 'la' không có",
        "": "… và 3 lỗi khác.",
    }
    sections = ff.view(every_type, data, {}, errors, documents=DOCUMENTS)
    html = render(sections)
    shown = set(Browser(html).ids)
    assert set(errors) - {""} <= shown
    for text in errors.values():
        if text != "… và 3 lỗi khác.":
            assert escape(text) in html, text
    assert 'aria-describedby="f-chung-ten-error"' in html
    listed = ff.summary(errors, sections)
    assert listed[0] == {"field": "f-chung", "message": "Trường 'la' không có"}
    assert {"field": "f-chung", "message": "… và 3 lỗi khác."} in listed
    assert [e["field"] for e in listed].index("f-chung-ten") < \
        [e["field"] for e in listed].index("f-chung-nhom-lap-0-b")


def test_errors_in_english(app: Flask, every_type: FormDefinition) -> None:
    from flask import g
    from flask_babel import refresh

    g.lang = "en"
    from flask import session
    session["lang"] = "en"
    refresh()
    try:
        errors = ff.error_map(every_type, [
            {"field": "/chung/ten", "code": "required", "message": "x", "message_en": "x"},
            {"field": "/", "code": "more_errors", "message": "… và 3 lỗi khác.",
             "message_en": "… and 3 more errors."}])
        assert errors == {"f-chung-ten": "Enter “Tên”.", "": "… and 3 more errors."}
    finally:
        session.pop("lang")
        refresh()


def test_what_cannot_be_read_is_kept_and_said(app: Flask, every_type: FormDefinition) -> None:
    data = example_submission(every_type)
    page = Browser(render(ff.view(every_type, data, {}, {})))
    parsed = ff.parse(every_type, page.post(**{
        "/chung/ngay.day": "31", "/chung/ngay.month": "2", "/chung/ngay.year": "2024",
        "/chung/thang.month": "", "/chung/nam.year": "90",
        "/chung/bat_ky.day": "5", "/chung/bat_ky.month": "", "/chung/bat_ky.year": "1990",
        "/chung/so": "hai", "/chung/tien": "1.500.000 đ"}), {})
    assert parsed.data["chung"]["ngay"] == "2024-02-31"
    assert parsed.data["chung"]["tien"] == 1_500_000
    assert parsed.data["chung"]["so"] == "hai"
    assert parsed.errors == {
        "f-chung-ngay": "“Ngày sinh” phải là một ngày có thật.",
        "f-chung-thang": "“Tháng năm” phải có tháng.",
        "f-chung-nam": "Năm của “Năm” phải có 4 chữ số, ví dụ 1990.",
        "f-chung-bat_ky": "“Ngày không đầy đủ”: có ngày thì phải có tháng.",
        "f-chung-so": "“Số” phải là số, ví dụ 2.",
    }
    # the page shows again what was typed, boxes and all
    again = Browser(render(ff.view(every_type, parsed.data, {}, parsed.errors))).post()
    assert again.get("/chung/ngay.day") == "31" and again.get("/chung/ngay.month") == "02"
    assert again.get("/chung/bat_ky.day") == "5" and again.get("/chung/bat_ky.year") == "1990"
    assert again.get("/chung/so") == "hai"


def test_partial_dates(app: Flask, every_type: FormDefinition) -> None:
    page = Browser(render(ff.view(every_type, {}, {}, {})))
    cases = {
        ("", "", "1990"): "1990",
        ("", "5", "1990"): "1990-05",
        ("7", "5", "1990"): "1990-05-07",
    }
    for (day, month, year), expected in cases.items():
        parsed = ff.parse(every_type, page.post(**{
            "/chung/bat_ky.day": day, "/chung/bat_ky.month": month,
            "/chung/bat_ky.year": year, "/chung/thang.month": "5", "/chung/thang.year": "1990",
            "/chung/nam.year": year}), {})
        assert parsed.data["chung"]["bat_ky"] == expected
        assert parsed.data["chung"]["thang"] == "1990-05"
        assert parsed.data["chung"]["nam"] == "1990"
        assert "f-chung-bat_ky" not in parsed.errors
        printed = {r.label: r.text for s in ff.answers(every_type, parsed.data) for r in s.rows}
        assert printed["Ngày không đầy đủ"] == {"1990": "1990", "1990-05": "05/1990",
                                                "1990-05-07": "07/05/1990"}[expected]
        assert printed["Tháng năm"] == "05/1990"


# -- addresses -----------------------------------------------------------------------------------

def test_a_commune_is_chosen_within_its_province(app: Flask, every_type: FormDefinition) -> None:
    hanoi, other = units.provinces()[0], units.provinces()[1]
    hanoi_communes = units.communes(hanoi.code) or ()
    other_communes = units.communes(other.code) or ()
    empty = render(ff.view(every_type, {}, {}, {}))
    # no province yet: no commune offered, a button to update the list
    commune_select = re.search(r'<select[^>]*id="f-chung-dia_chi--commune".*?</select>', empty,
                               re.S)
    assert commune_select and commune_select.group(0).count("<option") == 1
    assert 'value="refresh:/chung/dia_chi"' in empty
    page = Browser(empty)
    refreshed = ff.parse(every_type, page.post(**{"/chung/dia_chi.province": hanoi.code,
                                                  "action": "refresh:/chung/dia_chi"}), {})
    assert refreshed.action == "refresh:/chung/dia_chi"
    assert refreshed.focus == "f-chung-dia_chi--commune"
    assert refreshed.data["chung"]["dia_chi"] == {"province": hanoi.code}
    html = render(ff.view(every_type, refreshed.data, {}, {}))
    commune_select = re.search(r'<select[^>]*id="f-chung-dia_chi--commune".*?</select>', html,
                               re.S)
    assert commune_select is not None
    offered = re.findall(r'<option value="(\d+)"', commune_select.group(0))
    assert offered == [c.code for c in hanoi_communes]
    # a commune of another province (the province changed since) is asked again
    moved = ff.parse(every_type, Browser(html).post(**{
        "/chung/dia_chi.province": other.code,
        "/chung/dia_chi.commune": hanoi_communes[0].code,
        "/chung/dia_chi.detail": "Số 1"}), {})
    assert moved.data["chung"]["dia_chi"] == {"province": other.code, "detail": "Số 1"}
    chosen = ff.parse(every_type, Browser(html).post(**{
        "/chung/dia_chi.province": other.code,
        "/chung/dia_chi.commune": other_communes[3].code}), {})
    assert chosen.data["chung"]["dia_chi"] == {"province": other.code,
                                               "commune": other_communes[3].code}
    # read as names, detail first
    rows = {r.label: r.text for s in ff.answers(every_type, chosen.data) for r in s.rows}
    assert rows["Địa chỉ"] == f"{other_communes[3].name}, {other.name}"


# -- answers -------------------------------------------------------------------------------------

def test_answers_read_as_on_paper(app: Flask, every_type: FormDefinition) -> None:
    data = example_submission(every_type)
    data["chung"]["tien"] = 1_500_000
    data["chung"]["nhom"]["lap"] = [{"b": "2024-02-29", "c": True, "d": "x"}]
    provenance = {"/chung/so_dinh_danh": {"register_title": "Cơ sở dữ liệu quốc gia về dân cư",
                                          "mode": "verified"},
                  "/chung/ten": {"register_title": "Cơ sở dữ liệu hộ tịch điện tử",
                                 "provenance": "result:doc-1", "mode": "suggested"}}
    sections = ff.answers(every_type, data, provenance, verified={"/chung/so_dinh_danh"},
                          documents=DOCUMENTS, result_numbers={"doc-1": "12/2026"})
    rows = {r.label: r for s in sections for r in s.rows}
    assert rows["Ngày sinh"].text == "17/05/1990"
    assert rows["Ngày sinh"].id == "f-chung-ngay"
    assert rows["Màu"].text == "Đỏ"
    assert rows["Dân tộc"].text == "Kinh"
    assert rows["Có không"].text == "Có"
    assert rows["Số tiền"].text == "1.500.000 đồng"
    assert rows["Tôi cam đoan."].text == "Đã xác nhận"
    assert rows["Tệp"].text == "Giấy khai sinh số 12"
    province = units.provinces()[0]
    commune = (units.communes(province.code) or ())[0]
    assert rows["Địa chỉ"].text == f"Số 12, ngõ 34, phố Huế, {commune.name}, {province.name}"
    assert rows["Nhóm – Lặp trong nhóm 1 – B"].text == "29/02/2024"
    assert rows["Nhóm – Lặp trong nhóm 1 – B"].id == "f-chung-nhom-lap-0-b"
    assert rows["Số định danh"].locked
    assert rows["Số định danh"].source == "Cơ sở dữ liệu quốc gia về dân cư"
    assert rows["Tên"].source == "Cơ sở dữ liệu hộ tịch điện tử, theo kết quả số 12/2026"
    assert rows["Ghi chú"].text == "Nguyễn Thị Minh Khai"
    data["chung"].pop("ghi_chu")
    rows = {r.label: r for s in ff.answers(every_type, data) for r in s.rows}
    assert rows["Ghi chú"].text == "Không điền"


def test_suggested_values_name_an_earlier_result(app: Flask, every_type: FormDefinition) -> None:
    data = example_submission(every_type)
    provenance = {"/chung/ten": {"register_title": "Cơ sở dữ liệu hộ tịch điện tử",
                                 "provenance": "result:doc-1", "mode": "suggested"}}
    html = render(ff.view(every_type, data, provenance, {}, result_numbers={"doc-1": "12"}))
    assert "Gợi ý từ Cơ sở dữ liệu hộ tịch điện tử, theo kết quả số 12; bạn có thể sửa." in html
    html = render(ff.view(every_type, data, provenance, {}, verified={"/chung/ten"},
                          result_numbers={"doc-1": "12"}))
    assert ("Lấy từ Cơ sở dữ liệu hộ tịch điện tử, theo kết quả số 12; không sửa được trên "
            "tờ khai.") in html
    assert 'name="/chung/ten"' not in html


def test_a_forged_post_brings_nothing_in(app: Flask, every_type: FormDefinition) -> None:
    page = Browser(render(ff.view(every_type, example_submission(every_type), {}, {},
                                  documents=DOCUMENTS)))
    parsed = ff.parse(every_type, page.post(**{"/chung/la": "x", "/khac/y": "z",
                                               "/chung/ten.day": "1", "csrf_token": "t"}), {},
                      documents=DOCUMENTS)
    assert parsed.unknown == ["/chung/la", "/chung/ten.day", "/khac/y"]
    assert "la" not in parsed.data["chung"] and "khac" not in parsed.data
    assert parsed.data == example_submission(every_type)


# -- in a real browser ---------------------------------------------------------------------------

PAGE = """{% extends "layout.html" %}
{% from "macros.html" import error_summary %}
{% from "eform/_fields.html" import fields %}
{% block title %}{{ title }}{% endblock %}
{% block scripts %}<script src="{{ url_for('static', filename='js/eform.js', v=asset_version) }}"
  defer></script>{% endblock %}
{% block content %}
<h1>{{ title }}</h1>
{{ error_summary(summary) }}
<form method="post" novalidate>
{{ fields(sections, default_action="continue", dispute_url="/bao-sai", disputed=disputed) }}
<button type="submit" class="button" name="action" value="continue">Tiếp tục</button>
</form>
{% endblock %}"""


@pytest.fixture(scope="module")
def fields_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The fields on a page of their own (the layout, eform.js, the pages' security policy),
    served on loopback: GET shows a catalogue form empty, POST reads it back, checks it with
    the API's schema check and shows the errors, or applies a button of the fields."""
    from flask import request

    from forms.compiled import CompiledForm
    from forms.compiler import compile_schema, compile_ui_schema
    from service.records import prefill as pf
    from service.records import submissions
    from service.web.pages.rendering import PAGE_CSP
    from tests.service.web.pages.browser import serve

    folder = tmp_path_factory.mktemp("formfields-browser")
    application = make_app(f"sqlite:///{folder / 'tokhai.db'}", folder, load_catalogue=False)

    def show(form_id: str) -> Any:
        form = (language.parse_text(EVERY_TYPE, "every.yaml") if form_id == "moi-kieu-truong"
                else catalogue_form(form_id))
        data: dict[str, Any] = {}
        errors: dict[str, str] = {}
        if request.method == "POST":
            parsed = ff.parse(form, request.form, {})
            data = parsed.data
            if parsed.action is None:
                compiled = CompiledForm(form, compile_schema(form), compile_ui_schema(form))
                problems = submissions.data_errors(compiled, data,
                                                   pf.PrefillResult({}, {}, [], [], []))
                errors = {**ff.error_map(form, problems), **parsed.errors}
        provenance: dict[str, dict[str, Any]] = {}
        verified: set[str] = set()
        if request.args.get("prefilled"):  # the first section verified, the third suggested
            data = example_submission(form)
            for i, section in enumerate(form.sections[:3]):
                for f in section.fields:
                    if not f.is_group and i != 1:
                        ptr = ff.pointers.join(f.path)
                        provenance[ptr] = {"register_title": "Cơ sở dữ liệu quốc gia về dân cư"}
                        if i == 0:
                            verified.add(ptr)
        sections = ff.view(form, data, provenance, errors, verified=verified)
        html = render_template_string(PAGE, title=form.title, sections=sections, person=None,
                                      disputed=set(sorted(provenance)[:2]),
                                      summary=ff.summary(errors, sections),
                                      error_count=len(errors))
        return html, 200, {"Content-Security-Policy": PAGE_CSP}

    application.add_url_rule("/formfields/<form_id>", "formfields_page", show,
                             methods=["GET", "POST"])
    with serve(application) as live:
        yield live


def test_the_fields_in_a_browser(browser: Any, fields_server: Any) -> None:
    from tests.service.web.pages.browser import check_page, new_page

    page = new_page(browser, fields_server.url)
    try:
        page.goto(f"/formfields/{BIRTH}?prefilled=1")
        check_page(page, "formfields-birth-prefilled")
        assert page.locator("#f-nguoi_yeu_cau-ho_ten").inner_text() == "Nguyễn Thị Minh Khai"
        assert page.locator("input[name='/nguoi_yeu_cau/ho_ten']").count() == 0
        assert page.locator("#f-nguoi_me-ho_ten").input_value() == "Nguyễn Thị Minh Khai"
        page.goto(f"/formfields/{BIRTH}")
        check_page(page, "formfields-birth-empty")
        # a conditional field appears when its condition holds
        quantity = page.locator("#f-cam_doan-so_luong")
        assert quantity.is_hidden()
        page.locator("#f-cam_doan-ban_sao").check()
        assert quantity.is_visible()
        page.locator("#f-cam_doan-ban_sao--false").check()
        assert quantity.is_hidden()
        # the commune list follows the province, without a round trip
        assert page.locator("button[value='refresh:/nguoi_duoc_khai_sinh/noi_sinh']").is_hidden()
        province = units.provinces()[1]
        commune = (units.communes(province.code) or ())[2]
        page.locator("#f-nguoi_duoc_khai_sinh-noi_sinh").select_option(province.code)
        communes = page.locator("#f-nguoi_duoc_khai_sinh-noi_sinh--commune option")
        page.wait_for_function(
            "() => document.querySelectorAll("
            "'#f-nguoi_duoc_khai_sinh-noi_sinh--commune option').length > 1")
        assert communes.count() == len(units.communes(province.code) or ()) + 1
        page.locator("#f-nguoi_duoc_khai_sinh-noi_sinh--commune").select_option(commune.code)
        page.locator("#f-nguoi_duoc_khai_sinh-ngay_sinh").fill("31")
        page.locator("#f-nguoi_duoc_khai_sinh-ngay_sinh--month").fill("2")
        page.locator("#f-nguoi_duoc_khai_sinh-ngay_sinh--year").fill("2026")
        # Enter in a box submits the page's main button
        page.locator("#f-nguoi_duoc_khai_sinh-ho_ten").press("Enter")
        page.wait_for_selector("[data-error-summary]")
        check_page(page, "formfields-birth-errors")
        summary = page.locator("[data-error-summary] a")
        assert summary.count() > 3
        assert page.locator("#f-nguoi_duoc_khai_sinh-ngay_sinh-error").inner_text().endswith(
            "“Ngày, tháng, năm sinh” phải là một ngày có thật.")
        # what was chosen is still there
        assert page.locator("#f-nguoi_duoc_khai_sinh-noi_sinh--commune").input_value() == \
            commune.code
        page.locator("[data-error-summary] a[href='#f-nguoi_duoc_khai_sinh-gioi_tinh']").click()
        focused = page.evaluate("() => document.activeElement.id")
        assert focused == "f-nguoi_duoc_khai_sinh-gioi_tinh"
    finally:
        page.context.close()


def test_every_field_type_in_a_browser(browser: Any, fields_server: Any) -> None:
    from tests.service.web.pages.browser import check_page, new_page

    page = new_page(browser, fields_server.url)
    try:
        # a condition on a verified value (shown, not an input) holds in the browser too
        page.goto("/formfields/moi-kieu-truong?prefilled=1")
        check_page(page, "formfields-every-type-prefilled")
        assert page.locator("input[name='/chung/co']").count() == 0
        assert page.locator("#f-phu-khi_co").is_visible()
        page.goto("/formfields/moi-kieu-truong")
        check_page(page, "formfields-every-type-empty")
        assert page.locator("#f-phu-khi_co").is_hidden()
        page.locator("#f-chung-co").check()
        assert page.locator("#f-phu-khi_co").is_visible()
        page.locator("button[name=action][value=continue]:not(.visually-hidden)").click()
        page.wait_for_selector("[data-error-summary]")
        check_page(page, "formfields-every-type-errors")
    finally:
        page.context.close()


def test_the_fields_without_javascript(browser: Any, fields_server: Any) -> None:
    from tests.service.web.pages.browser import check_page, new_page

    form = catalogue_form("ct01-thay-doi-thong-tin-cu-tru")
    group = _repeated(form)
    gptr = ff.pointers.join(group.path)
    page = new_page(browser, fields_server.url, javascript=False)
    try:
        page.goto(f"/formfields/{BIRTH}")
        check_page(page, "formfields-birth-no-js")
        quantity = page.locator("#f-cam_doan-so_luong")
        assert quantity.is_visible()
        assert "Chỉ điền khi" in page.locator("#f-cam_doan-so_luong-hint").inner_text()
        province = units.provinces()[0]
        page.locator("#f-nguoi_duoc_khai_sinh-noi_sinh").select_option(province.code)
        page.locator("button[value='refresh:/nguoi_duoc_khai_sinh/noi_sinh']").click()
        options = page.locator("#f-nguoi_duoc_khai_sinh-noi_sinh--commune option")
        assert options.count() == len(units.communes(province.code) or ()) + 1
        assert page.locator("[data-error-summary]").count() == 0  # refreshing is no check

        page.goto(f"/formfields/{form.id}")
        items = page.locator(f"fieldset#{ff.input_id(group.path)} > .add-another__item")
        before = items.count()
        page.locator(f"button[value='add:{gptr}']").click()
        assert items.count() == before + 1
        check_page(page, "formfields-add-another-no-js")
        page.locator(f"button[value='remove:{gptr}/0']").click()
        assert items.count() == before
    finally:
        page.context.close()


def test_a_verified_field_the_registers_left_empty_is_typed(app: Flask,
                                                           every_type: FormDefinition) -> None:
    """A field bound as verified that prefill could not fill is an ordinary input, and what
    is typed there is kept."""
    html = render(ff.view(every_type, {}, {}, {}, verified={"/chung/so"}))
    assert 'name="/chung/so"' in html
    parsed = ff.parse(every_type, Browser(html).post(**{"/chung/so": "7"}), {},
                      verified={"/chung/so"})
    assert parsed.data["chung"]["so"] == 7

"""Every catalogue form rendered by react-jsonschema-form (5.x and 6.x, default settings, the
Ajv 8 validator for 2020-12) in Chromium: nothing answered on an empty form, the commune a list
of the chosen province's communes, conditional fields shown only when their condition holds,
attachments as the document chooser, and Ajv accepting a valid instance.

The bundles are built by ``make rjsf`` (``make test`` runs it; the fixture runs it too, a no-op
once built): tests/rjsf/v5 and v6, each pinned by its package-lock.json."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from forms import units
from forms.compiler import DOCUMENT_WIDGET, compile_schema, compile_ui_schema
from forms.examples import example_submission
from forms.language import parse_text
from forms.model import Field, FormDefinition
from service.catalogue import CATALOGUE_DIR
from tests.forms.test_language_schemas import PLACES
from tests.forms.test_rjsf_schema import DEFINITION
from tests.forms.test_rjsf_schema import valid as valid_sample

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = {"v5": "5.", "v6": "6."}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking"]
FILES = sorted(CATALOGUE_DIR.glob("*.yaml"))

#: what the page shows: selects with their value, checked boxes and radios, ids, the data
STATE = """() => ({
  selects: [...document.querySelectorAll('select')].map(s => ({id: s.id, value: s.value,
      options: [...s.options].map(o => o.text)})),
  checked: [...document.querySelectorAll('input[type=checkbox], input[type=radio]')]
      .filter(i => i.checked).map(i => i.id),
  ids: [...document.querySelectorAll('[id]')].map(e => e.id),
  widgets: [...document.querySelectorAll('[data-widget]')].map(e => [e.id, e.dataset.widget]),
  inputs: [...document.querySelectorAll('input[type=text]')].map(i => [i.id, i.placeholder]),
  text: document.body.innerText,
  formData: window.tokhaiRjsf.formData(),
})"""


@pytest.fixture(scope="module")
def bundles() -> dict[str, Path]:
    subprocess.run(["make", "-s", "rjsf"], cwd=ROOT, check=True)
    return {v: ROOT / "tests" / "rjsf" / v / "dist" / "rjsf.js" for v in VERSIONS}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Page:
    """One RJSF build loaded into an empty page; errors the page reports are kept."""

    def __init__(self, browser: Any, bundle: Path):
        self.page = browser.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     else None)
        self.page.set_content('<!doctype html><html lang="vi"><meta charset="utf-8">'
                              '<div id="root"></div></html>')
        self.page.add_script_tag(path=str(bundle))
        self.version = self.page.evaluate("() => window.tokhaiRjsf.version")

    def render(self, schema: dict, ui: dict, data: Any = None) -> dict[str, Any]:
        self.page.evaluate("([s, u, d]) => window.tokhaiRjsf.render(s, u, d ?? undefined)",
                           [schema, ui, data])
        return self.state()

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.page.evaluate(STATE)
        return state

    def ajv(self, schema: dict, data: Any) -> list[dict]:
        errors: list[dict] = self.page.evaluate(
            "([s, d]) => window.tokhaiRjsf.validate(s, d)", [schema, data])
        return errors


@pytest.fixture(scope="module", params=list(VERSIONS))
def rjsf(request: Any, browser: Any, bundles: dict[str, Path]) -> Iterator[Page]:
    page = Page(browser, bundles[request.param])
    assert page.version.startswith(VERSIONS[request.param])
    yield page
    page.page.close()


def dom_id(path: tuple[str, ...]) -> str:
    return "root_" + "_".join(path)


def leaves(value: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """The values in data that are answers (containers are not)."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in leaves(item, (*path, key)).items()}
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return {k: v for i, item in enumerate(value)
                for k, v in leaves(item, (*path, str(i))).items()}
    if value == []:
        return {}
    return {path: value}


def outside_repeats(form: FormDefinition) -> Iterator[Field]:
    """The fields not inside a repeated group (their element ids are fixed)."""
    def walk(fields: tuple[Field, ...]) -> Iterator[Field]:
        for f in fields:
            yield f
            if f.is_group and not f.repeat:
                yield from walk(f.fields)

    for s in form.sections:
        yield from walk(s.fields)


def simple_condition(f: Field) -> bool:
    """A condition that cannot hold on an empty form (has a value, equals, in)."""
    return f.when is not None and bool(f.when.field) and not f.when.empty


def shown(form: FormDefinition, f: Field) -> bool:
    """Outside a repeated group, in no container with a condition."""
    return all(form.find(f.path[:i]) is not None and form.find(f.path[:i]).when is None  # type: ignore[union-attr]
               for i in range(2, len(f.path) + 1))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_empty_form_has_nothing_answered(rjsf: Page, path: Path) -> None:
    form = parse_text(path.read_bytes(), path.name)
    schema, ui = compile_schema(form), compile_ui_schema(form)
    state = rjsf.render(schema, ui)
    assert rjsf.errors == []
    assert [s["id"] for s in state["selects"] if s["value"] != ""] == []
    assert state["checked"] == []
    assert leaves(state["formData"]) == {}
    assert "Option 1" not in state["text"] and "Unsupported" not in state["text"]
    widgets = dict(state["widgets"])
    inputs = dict(state["inputs"])
    for f in outside_repeats(form):
        if not shown(form, f):
            continue
        element = dom_id(f.path)
        if simple_condition(f):
            assert element not in state["ids"], f"{f.path} shown before its condition holds"
        elif f.type == "attachment":
            assert widgets.get(element) == DOCUMENT_WIDGET, f.path
        elif f.type == "partial_date":
            assert inputs.get(element), f"{f.path}: one text input with its format"
        elif f.type == "address":
            assert f"{element}_province" in {s["id"] for s in state["selects"]}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_prefilled_form_shows_the_answers_and_ajv_accepts_them(rjsf: Page, path: Path) -> None:
    form = parse_text(path.read_bytes(), path.name)
    schema, ui = compile_schema(form), compile_ui_schema(form)
    data = example_submission(form)
    assert rjsf.ajv(schema, data) == []
    state = rjsf.render(schema, ui, data)
    assert rjsf.errors == []
    assert leaves(state["formData"]) == leaves(data)  # nothing added, nothing lost
    selects = {s["id"]: s for s in state["selects"]}
    for f in outside_repeats(form):
        if not shown(form, f):
            continue
        element = dom_id(f.path)
        if f.type == "choice" and not f.multiple and f.path[-1] in _parent(data, f.path):
            assert selects[element]["value"] != "", f.path
        if f.type == "address" and f.path[-1] in _parent(data, f.path):
            province = _parent(data, f.path)[f.path[-1]]["province"]
            communes = [c.name for c in units.communes_by_province()[province]]
            assert selects[f"{element}_commune"]["options"] == ["", *communes]
        # the example answers every condition between siblings
        if f.when is not None and f.path[-1] in _parent(data, f.path) and not f.is_group \
                and f.when.field[:-1] == f.path[:-1] and simple_condition(f):
            assert element in state["ids"], f"{f.path} hidden though its condition holds"


def _parent(data: Any, path: tuple[str, ...]) -> dict:
    node = data
    for key in path[:-1]:
        node = node.get(key, {}) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else {}


@pytest.fixture(scope="module")
def sample() -> tuple[FormDefinition, dict, dict]:
    form = parse_text(DEFINITION, "rjsf-thu.yaml")
    return form, compile_schema(form), compile_ui_schema(form)


def test_the_page_answers_like_a_person(rjsf: Page, sample) -> None:
    """Choosing a province lists its communes (titles), another province other communes;
    a conditional field appears when its condition is answered (in the same section and
    another one); the document chooser fills the attachment; Ajv accepts the result and
    refuses a commune of another province."""
    form, schema, ui = sample
    page = rjsf.page
    state = rjsf.render(schema, ui)
    assert {"root_a_ghi_ro", "root_b_so_con"}.isdisjoint(state["ids"])

    page.select_option("#root_a_noi_o_province", label="Thành phố Hà Nội")
    hanoi = [c.name for c in units.communes_by_province()["01"]]
    assert rjsf.state()["selects"][2]["options"] == ["", *hanoi]
    assert page.eval_on_selector("#root_a_noi_o_commune", "s => s.value") == ""
    page.select_option("#root_a_noi_o_province", label="Cao Bằng")
    cao_bang = [c.name for c in units.communes_by_province()["04"]]
    options = page.eval_on_selector_all("#root_a_noi_o_commune option",
                                        "os => os.map(o => o.text)")
    assert options == ["", *cao_bang] and cao_bang != hanoi
    page.select_option("#root_a_noi_o_commune", label=cao_bang[0])

    # a place: no kind chosen, so none of its kinds' inputs; the kind chosen shows its own
    assert page.eval_on_selector("#root_a_noi_sinh_kind", "s => s.value") == ""
    assert {"root_a_noi_sinh_province", "root_a_noi_sinh_country",
            "root_a_noi_sinh_text"}.isdisjoint(rjsf.state()["ids"])
    page.select_option("#root_a_noi_sinh_kind", label="Tên đơn vị hành chính cũ")
    page.wait_for_selector("#root_a_noi_sinh_text")
    assert "root_a_noi_sinh_province" not in rjsf.state()["ids"]
    page.select_option("#root_a_noi_sinh_kind", label="Trong nước")
    page.wait_for_selector("#root_a_noi_sinh_province")
    assert "root_a_noi_sinh_text" not in rjsf.state()["ids"]
    page.select_option("#root_a_noi_sinh_province", label="Thành phố Hà Nội")
    options = page.eval_on_selector_all("#root_a_noi_sinh_commune option",
                                        "os => os.map(o => o.text)")
    assert options == ["", *hanoi]
    page.select_option("#root_a_noi_sinh_commune", label=hanoi[1])

    page.select_option("#root_a_loai", label="Khác")
    page.wait_for_selector("#root_a_ghi_ro")
    page.fill("#root_a_ghi_ro", "Giấy phép lái xe")
    page.check("#root_a_co_con-0")  # Có
    page.wait_for_selector("#root_b_so_con")
    page.fill("#root_b_so_con", "2")
    page.fill("#root_a_nam_sinh", "1990-05-17")
    page.click("#root_a_giay_to button")
    page.check("#root_b_cam_doan")
    data = rjsf.state()["formData"]
    assert data["a"]["giay_to"] == [{"document_id": "TL-0001", "file_name": "tai-lieu-1.pdf",
                                     "media_type": "application/pdf"}]
    assert data["b"]["so_con"] == 2 and data["a"]["co_con"] is True
    assert data["a"]["noi_sinh"] == {"kind": "current", "province": "01",
                                     "commune": units.communes_by_province()["01"][1].code}
    assert rjsf.ajv(schema, data) == []
    data["a"]["noi_o"]["province"] = "01"
    assert [e["property"] for e in rjsf.ajv(schema, data)
            if e["name"] in ("oneOf", "enum")][:1] == [".a.noi_o.commune"]
    assert rjsf.errors == []


def test_ajv_gives_a_place_the_verdicts_of_the_other_validators(rjsf: Page, sample) -> None:
    """Ajv 2020 (RJSF's validator) on the sample's place: valid and invalid values of each
    kind as python-jsonschema, jsonschema-rs and fastjsonschema judge them
    (tests/forms/test_language_schemas.py)."""
    _, schema, _ = sample
    verdicts = []
    for value, _ in PLACES:
        data = valid_sample()
        data["a"]["noi_sinh"] = value
        verdicts.append(rjsf.ajv(schema, data) == [])
    assert verdicts == [ok for _, ok in PLACES]

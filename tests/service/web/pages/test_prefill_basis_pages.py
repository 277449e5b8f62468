"""The prefill basis on the pages (issue #16, "What must hold" 2): the officer's dossier page
says on what basis the records of a person named by the citizen were read (or that nobody
else's were); the citizen's supplement page locks the verified values of a named person's
section as the registers hold them for that person (the dossier's answers name them)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update
from werkzeug.datastructures import MultiDict

from service.records import demo
from storage.models import Dossier
from tests.conftest import _token, citizen_headers
from tests.service.dossiers.test_prefill_basis import DEFINITION, FORM, NOBODY, data
from tests.service.web.pages.conftest import sign_in
from tests.service.web.pages.test_space import form_fields, text_of

FATHER = demo.DEMO_FATHER
DAUGHTER = demo.DEMO_DAUGHTER
WARD = demo.DEMO_WARD
AGENCY = demo.DEMO_AGENCY
BORN = "/nguoi_duoc_giam_ho/ngay_sinh"


def officer(app: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'officer', agency_code=AGENCY)}"}


@pytest.fixture(scope="module")
def filed(pages: Any) -> dict[str, str]:
    """The demo father's dossier about his ward (waiting for a supplement) and the demo
    daughter's about the same ward, who is not hers."""
    api = pages.test_client()
    designer = {"Authorization": f"Bearer {_token(pages, 'designer')}"}
    created = api.post("/api/v1/forms", data=DEFINITION.encode(),
                       headers={**designer, "Content-Type": "application/yaml"})
    assert created.status_code == 201, created.get_json()
    assert api.post(f"/api/v1/forms/{FORM}/versions/1/publish",
                    headers=designer).status_code == 200
    with pages.extensions["tokhai"].sessions() as session:
        population = pages.extensions["tokhai"].sources(session).by_register["population"]
        ward = population.lookup(WARD).data
    codes = {}
    for key, who, born in (("his", FATHER, ward["birth_date"]), ("hers", DAUGHTER, "2013-04-09")):
        answer = api.post("/api/v1/dossiers", headers=citizen_headers(pages, who), json={
            "form_id": FORM, "version": 1, "agency_code": AGENCY,
            "data": data(WARD, ward["full_name"], born)})
        assert answer.status_code == 201, answer.get_json()
        codes[key] = answer.get_json()["code"]
        if key == "his":
            moved = api.post(f"/api/v1/dossiers/{codes[key]}/actions",
                             json={"action": "request_supplement", "reason": "Bổ sung ảnh"},
                             headers={**officer(pages), "If-Match": answer.headers["ETag"]})
            assert moved.status_code == 200, moved.get_json()
    return {**codes, "born": ward["birth_date"]}


def test_the_officer_sees_the_basis(pages: Any, filed: dict[str, str]) -> None:
    client = pages.test_client()
    sign_in(client, "officer")
    his = text_of(client.get(f"/office/dossiers/{filed['his']}"))
    assert ("Căn cứ điền sẵn «Người được giám hộ»: người được giám hộ của người nộp "
            "(Cơ sở dữ liệu quốc gia về dân cư), theo số định danh cá nhân ghi tại "
            "«Số định danh cá nhân»") in his
    hers = text_of(client.get(f"/office/dossiers/{filed['hers']}"))
    assert "Căn cứ điền sẵn Không đọc dữ liệu của người nào khác ngoài người nộp" in hers
    assert "người được giám hộ của người nộp" not in hers

    client.get("/language/en")
    text = text_of(client.get(f"/office/dossiers/{filed['his']}"))
    assert "Prefill basis" in text and "the applicant's ward" in text


def test_the_supplement_page_locks_the_named_persons_verified_values(
        pages: Any, filed: dict[str, str]) -> None:
    client = pages.test_client()
    sign_in(client, "citizen_father")
    action = f"/my/dossiers/{filed['his']}/supplement"
    page = client.get(action)
    html = page.get_data(as_text=True)
    # the ward's birth date, locked as the registers hold it (not a box to type in)
    assert f'data-locked="{BORN}"' in html
    assert "Ngày sinh 09/04/2013 Đã xác thực" in text_of(page)
    fields = form_fields(html, action)
    assert not [n for n, _, _ in fields if n.startswith(BORN)]

    # a correction naming someone the registers do not link to him: the ward's date is not
    # theirs, so it is no longer locked (nor sent): theirs is to be typed
    posted = [(n, v) for n, v, _ in fields if not n.startswith("/nguoi_duoc_giam_ho/")]
    refused = client.post(action, data=MultiDict(posted + [
        ("/nguoi_duoc_giam_ho/so_dinh_danh", NOBODY),
        ("/nguoi_duoc_giam_ho/ho_ten", "Lê Văn Khác"), ("action", "send")]))
    assert refused.status_code == 422, text_of(refused)[:800]
    html = refused.get_data(as_text=True)
    assert f'data-locked="{BORN}"' not in html and "09/04/2013" not in text_of(refused)
    assert [n for n, _, readonly in form_fields(html, action)
            if n.startswith(BORN) and not readonly]


def test_a_dossier_filed_before_the_basis_was_recorded_says_so(pages: Any,
                                                              filed: dict[str, str]) -> None:
    with pages.extensions["tokhai"].sessions() as session:
        session.execute(update(Dossier).where(Dossier.code == filed["hers"])
                        .values(prefill_basis=None))
        session.commit()
    client = pages.test_client()
    sign_in(client, "officer")
    text = text_of(client.get(f"/office/dossiers/{filed['hers']}"))
    assert "Căn cứ điền sẵn Không được ghi lại (hồ sơ nộp trước khi" in text

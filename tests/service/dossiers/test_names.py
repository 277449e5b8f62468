"""The declarant's name kept with a dossier (``names.columns``), for every form of the
catalogue: filing the example submission, prefilled for the demo father, stores his name
wherever the form names the declarant in any way.

Every form of the catalogue names its declarant, so :data:`NAMELESS` (the forms whose
dossiers keep no name and are found by code or personal ID only) is empty. How each does:

- the declarant's own section (bound to no one, or ``person: declarant``) has the field the
  population register fills with the full name: most forms;
- TK04 (passport restoration) prints the surname and the given names apart
  (``population.surname``, ``population.given_names``): the name is the two joined;
- the marriage registration binds both parties' blocks to the declarant by sex
  (``person: {relation: declarant, sex: ...}``): the name is the block whose personal ID is
  the filer's (the demo father: ``ben_nam``).

A form added to the catalogue without any of these (a name typed, not bound to the register)
fails here until it is listed in :data:`NAMELESS` with the reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from forms import pointers
from forms.examples import example_submission
from service import catalogue as ops
from service.dossiers import names
from storage.models import Dossier
from tests.conftest import DEMO_FATHER, citizen_headers, prefill

CATALOGUE = sorted((Path(__file__).resolve().parents[3] / "forms" / "catalogue").glob("*.yaml"))
#: (form id, version) of every catalogue file
FORMS = [(d["id"], d["version"]) for d in (yaml.safe_load(p.read_text(encoding="utf-8"))
                                          for p in CATALOGUE)]
#: the forms that name the declarant nowhere, each with its reason (none: the docstring)
NAMELESS: dict[str, str] = {}
AGENCY = "CA-HN"


@pytest.mark.parametrize(("form", "version"), FORMS, ids=[f"{f}-v{v}" for f, v in FORMS])
def test_every_catalogue_form_stores_the_declarants_name(app, client, people, form, version):
    father = people[DEMO_FATHER]
    data = _submission(client, app, form, version)
    filed = client.post("/api/v1/dossiers", headers=citizen_headers(app, DEMO_FATHER), json={
        "form_id": form, "version": version, "agency_code": AGENCY, "data": data})
    assert filed.status_code == 201, (filed.get_json() or {}).get("errors")
    with app.extensions["tokhai"].sessions() as session:
        row = session.scalars(select(Dossier).where(
            Dossier.code == filed.get_json()["code"])).one()
        stored, key = row.citizen_name, row.citizen_name_key
    if form in NAMELESS:
        assert stored is None and key is None
    else:
        assert stored == father["full_name"], form
        assert key == names.name_key(father["full_name"])


def _submission(client, app, form, version=1):
    """The example submission with the demo father's prefilled values, each field's value
    taken whole (``conftest.valid_submission`` merges into a field's value too: an address
    the register gives without one of its parts keeps the example's part, and a verified
    address then differs from the register's, as CC01's place of birth registration does)."""
    definition = _definition(app, form, version)

    def merge(base, top, path):
        found = definition.find(path) if len(path) > 1 else None
        if isinstance(base, dict) and isinstance(top, dict) and (
                found is None or found.is_group):
            return {**base, **{k: merge(base.get(k), v, (*path, k)) for k, v in top.items()}}
        return top

    prefilled = prefill(client, app, form, version=version)["data"]
    data = {k: merge(v, prefilled.get(k), (k,)) if k in prefilled else v
            for k, v in example_submission(definition).items()}
    # the example's dates are one day; a register's date may come after it: an event the
    # form orders after a prefilled date (a passport lost after it was issued) is that day
    for rule in definition.rules:
        if rule.kind == "not_after":
            earlier, later = (pointers.get(data, "/" + "/".join(p)) for p in rule.fields)
            if isinstance(earlier, str) and isinstance(later, str) and earlier > later:
                _put(data, rule.fields[1], earlier)
    return data


def _put(data, path, value):
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _definition(app, form, version=1):
    with app.extensions["tokhai"].sessions() as session:
        return ops.compiled(ops.get_version(session, form, version,
                                            include_drafts=False)).definition


def test_a_marriage_names_the_party_who_files(app):
    """Both parties' blocks are bound to the declarant by sex: the name is the block's whose
    personal ID is the filer's, whichever block that is; without the filer, none."""
    definition = _definition(app, "to-khai-dang-ky-ket-hon")
    data = example_submission(definition)
    data["ben_nu"].update(ho_ten="Trần  Thị Lan", giay_to="079199054321")
    data["ben_nam"].update(ho_ten="Lê Văn Hùng", giay_to="001085012345")
    assert names.declarant_name(definition, data, "079199054321") == "Trần Thị Lan"
    assert names.declarant_name(definition, data, "001085012345") == "Lê Văn Hùng"
    assert names.declarant_name(definition, data, "001099999999") is None
    assert names.declarant_name(definition, data) is None


def test_a_passport_form_joins_surname_and_given_names(app):
    definition = _definition(app, "to-khai-de-nghi-khoi-phuc-ho-chieu-tk04")
    data = example_submission(definition)
    data["nguoi_de_nghi"].update(ho="Phạm", ten=" Thu  Hà ")
    assert names.columns(definition, data, None) == {
        "citizen_name": "Phạm Thu Hà", "citizen_name_key": "pham thu ha"}


def test_a_linked_persons_name_is_not_the_declarants(app):
    """A birth registration names the declarant in its own section: not the mother's or the
    father's block, not the child's."""
    definition = _definition(app, "to-khai-dang-ky-khai-sinh")
    data = example_submission(definition)
    first = next(s for s in definition.sections if s.person is None)
    data[first.id]["ho_ten"] = "Nguyễn Văn An"
    assert names.declarant_name(definition, data, "001085012345") == "Nguyễn Văn An"

"""Issue #16, point 4: every catalogue form cuts at least 20% of the fields each demo citizen it
applies to types, under the honest rule (forms.trimming.actual_reduction: only the fields
shown for them count, on the paper side as on the e-form side; typed = shown and not
prefilled; a prefilled value about someone the section may not be about does not count).

Who the demo citizens are: the development sign-in's citizens and every person the demo data
fixes by number (``demo.FIXED_IDS``: the deceased grandmother, the ward, the unmarried mother
and her son…). A form applies to one of them when they can plausibly file it:

- prefill finds their population record (the registers know the declarant);
- they are alive (no death date) and of age (18 on the demo's "today"): a declarant acts in
  their own name;
- a form about the declarant's child or ward (a section bound to ``child`` or ``ward`` only,
  shown unconditionally) applies only to someone the registers link such a person to: a
  citizen with no child does not file a passport for their child under 14. A linked child
  whose records are missing still counts (the figure is then low, honestly).

The test prints every pair it checks and fails naming each form and citizen below the target,
with the figures and the fields left to type.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from forms.language import DefinitionError, parse_text
from forms.model import FormDefinition
from forms.registers import REGISTERS
from forms.trimming import TARGET_PERCENT, scope_of
from service.records import demo
from service.records import prefill as pf
from service.records.sources import DatabaseSource
from storage import db
from storage import records as records_store

CATALOGUE = sorted((Path(__file__).resolve().parents[2] / "forms" / "catalogue").glob("*.yaml"))
#: the development sign-in's citizens (service.web.pages.signin) and the demo's fixed people
CITIZENS = sorted({demo.DEMO_FATHER, demo.DEMO_DAUGHTER, *getattr(demo, "FIXED_IDS", ())})
#: relations that make a form about the declarant's dependant
DEPENDANTS = {"child", "ward"}


def _age(born: str, today: date) -> int:
    b = date.fromisoformat(born)
    return today.year - b.year - ((today.month, today.day) < (b.month, b.day))


def applies(form: FormDefinition, result: pf.PrefillResult,
            population: dict[str, Any] | None) -> str | None:
    """None when the form applies to the citizen, else why not."""
    if population is None:
        return "no population record"
    if population.get("death_date"):
        return "deceased"
    if _age(str(population["birth_date"]), demo.TODAY) < 18:
        return "under 18"
    for m in result.missing:
        path = tuple(t for t in m["pointer"].strip("/").split("/") if not t.isdigit())
        scope = scope_of(form, path)
        person = scope.person
        if (m["reason"] != "no_linked_person" or person is None or not person.relations
                or set(person.relations) - DEPENDANTS):
            continue
        if not any((g := form.find(scope.path[:i])) is not None and g.when is not None
                   for i in range(2, len(scope.path) + 1)):
            return f"no {'/'.join(person.relations)} linked"
    return None


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pf.Sources]:
    """The demo registers (30 households) in a database of their own, read as the service
    reads its embedded registers."""
    engine = db.make_engine(f"sqlite:///{tmp_path_factory.mktemp('registers') / 'r.db'}")
    db.upgrade(engine)
    session = db.session_factory(engine)()
    for register, items in demo.generate(30).records.items():
        records_store.upsert_many(session, register, items, "demo")
    session.commit()
    with ThreadPoolExecutor(2) as executor:
        yield pf.Sources({name: DatabaseSource(name, lambda: session) for name in REGISTERS},
                         executor, 30.0)
    session.close()
    engine.dispose()


def figures(sources: pf.Sources) -> list[dict[str, Any]]:
    """Every (form, demo citizen) pair: the actual report, or why the form does not apply."""
    out = []
    for path in CATALOGUE:
        try:
            form = parse_text(path.read_bytes(), path.name)
        except DefinitionError as refused:
            out.append({"form": path.stem, "citizen": "-", "why_not": None,
                        "refused": str(refused)[:300]})
            continue
        for pid in CITIZENS:
            result = pf.prefill(form, pid, sources)
            own = sources.by_register["population"].lookup(pid)
            why_not = applies(form, result, own.data if own else None)
            entry: dict[str, Any] = {"form": form.id, "citizen": pid, "why_not": why_not}
            if why_not is None:
                entry["actual"] = pf.actual_report(form, result)
            out.append(entry)
    return out


def test_every_catalogue_form_meets_the_target_for_each_demo_citizen_it_applies_to(
        sources: pf.Sources) -> None:
    checked = figures(sources)
    misses = []
    for e in checked:
        if e["why_not"] is not None:
            print(f"{e['form']} · {e['citizen']}: does not apply ({e['why_not']})")
            continue
        if "refused" in e:
            misses.append(f"{e['form']}: does not parse: {e['refused']}")
            continue
        a = e["actual"]
        c = a["counts"]
        line = (f"{e['form']} · {e['citizen']}: {a['reduction_percent']}% "
                f"(typed {c['typed']} of {c['official_fields']})")
        print(line)
        if a["reduction_percent"] < TARGET_PERCENT:
            left = [m["field"] + ":" + m["reason"] for m in a["missing"]
                    if m["reason"] != "condition_hidden"]
            misses.append(f"{line}; bound fields left to type: {left}")
    assert sum(e["why_not"] is None for e in checked) >= len(CATALOGUE)
    assert misses == [], "\n".join(misses)

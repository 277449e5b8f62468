"""Prefill: fill every bound field the registers can, and say where each value came from.

The once-only rule: a citizen is never asked again for what the state holds. Prefill reads the
declarant's records and those of the people the population register links to the declarant
(parents, spouse, children, household); it never reads or discloses anyone else's. A source
that is down, slow or answering garbage leaves its fields empty and is named in the answer;
the answer always comes within the deadline.

Lookups run in three rounds, each in parallel across remote sources: the declarant's
population record (it carries the links), the linked people's population records (sex and
identity), then every other register needed for the people the form is about.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from forms import codelists, registers
from forms.model import Field, FormDefinition, Person, Prefill, scope_fields
from forms.trimming import actual_reduction
from service.records.sources import DatabaseSource, RecordSource, SourcedRecord, SourceError
from service.worktime import VIETNAM

DECLARANT = Person(("declarant",))


@dataclass
class Sources:
    """The record sources of a running service, one per register, and how long prefill may
    wait for them."""

    by_register: dict[str, RecordSource]
    executor: ThreadPoolExecutor
    deadline_seconds: float = 3.0

    def fetch(self, wanted: dict[str, set[str]], deadline_at: float, *, links: bool = False,
              ) -> Fetched:
        """Records for ``{register: subjects}``, and the sources that failed with why. Remote
        sources run in parallel within the deadline; embedded registers share one query.

        A register keyed otherwise than by a person (``business``) is asked, for each person
        in ``subjects``, for the records in which that person holds a role; the record found
        is filed under ``(register, person)`` when it is the only one of the first role the
        person holds (owner before legal representative), and that key is in ``several``
        when more than one compete."""
        out = Fetched({}, {}, set())
        pending: list[tuple[RecordSource, bool, Future[Any]]] = []
        embedded: list[DatabaseSource] = []
        embedded_held: list[DatabaseSource] = []
        subjects_needed: set[str] = set()
        people_needed: set[str] = set()
        for register, subjects in wanted.items():
            source = self.by_register.get(register)
            if source is None or not subjects:
                continue
            held = source.reached_by_role
            if isinstance(source, DatabaseSource):
                (embedded_held if held else embedded).append(source)
                (people_needed if held else subjects_needed).update(subjects)
            elif held:
                pending.append((source, True, self.executor.submit(
                    source.lookup_held, sorted(subjects))))
            else:
                pending.append((source, False, self.executor.submit(
                    source.lookup_many, sorted(subjects), links=links)))
        if embedded:
            together = DatabaseSource.lookup_together(embedded, sorted(subjects_needed),
                                                      links=links)
            out.found.update({k: r for k, r in together.items() if k[1] in wanted[k[0]]})
        if embedded_held:
            held_by = DatabaseSource.held_together(embedded_held, sorted(people_needed))
            for (register, person), records in held_by.items():
                if person in wanted[register]:
                    out.file_held(register, person, records)
        for source, held, future in pending:
            try:
                result = future.result(timeout=max(0.0, deadline_at - time.monotonic()))
            except FutureTimeout:
                out.failed[source.name] = "timeout"
                continue
            except SourceError as exc:
                out.failed[exc.source] = exc.reason
                continue
            except Exception:  # noqa: BLE001 - a broken adapter must not break prefill
                out.failed[source.name] = "error"
                continue
            for key, value in result.items():
                if held:
                    out.file_held(source.register, key, value)
                else:
                    out.found[(source.register, key)] = value
        return out


class Fetched(NamedTuple):
    """What :meth:`Sources.fetch` found: records by ``(register, subject)`` (for a register
    reached through roles, by ``(register, person)``), the sources that failed with why, and
    the ``(register, person)`` for which several records compete."""

    found: dict[tuple[str, str], SourcedRecord]
    failed: dict[str, str]
    several: set[tuple[str, str]]

    def file_held(self, register: str, person: str, records: list[SourcedRecord]) -> None:
        """File the one record ``person`` holds a role in, by the register's order of roles
        (several of the first role held: none is chosen)."""
        for role in registers.REGISTERS[register].roles:
            holding = [r for r in records if role in r.roles_of(person)]
            if len(holding) == 1:
                self.found[(register, person)] = holding[0]
                return
            if holding:
                self.several.add((register, person))
                return


@dataclass
class Scope:
    """A section or group whose fields are about one person."""

    person: Person
    pointer: str
    fields: tuple[Field, ...]
    repeated: bool = False
    max_items: int = 0


@dataclass
class PrefillResult:
    data: dict[str, Any]
    provenance: dict[str, dict[str, Any]]
    to_type: list[str]
    failed_sources: list[dict[str, str]]
    #: bound fields left empty, and why: no linked person, no record in the register, or a
    #: failed source
    missing: list[dict[str, Any]]
    #: the pointer of every field whose value is verified (authoritative)
    verified: dict[str, Any] = field(default_factory=dict)


def bound_fields(fields: tuple[Field, ...]) -> Iterator[Field]:
    """Bound fields of a scope (:func:`forms.model.scope_fields` says which are the scope's)."""
    return (f for f in scope_fields(fields) if f.prefill is not None)


def binding(f: Field) -> Prefill:
    """The record a bound field (one of :func:`bound_fields`) is filled from."""
    assert f.prefill is not None, f.path
    return f.prefill


def record_kind(path: str) -> str:
    """The kind of a record path a form binds (the form language refused unknown paths)."""
    found = registers.lookup(path)
    assert found is not None, path
    return found[1]


def scopes(form: FormDefinition) -> Iterator[Scope]:
    """Every section or group bound to a person (the declarant when nothing says otherwise),
    innermost binding winning."""

    def walk(fields: tuple[Field, ...], pointer: str) -> Iterator[Scope]:
        for f in fields:
            if f.is_group and f.person is not None:
                yield Scope(f.person, f"{pointer}/{f.id}", f.fields, bool(f.repeat),
                            f.repeat[1] if f.repeat else 1)
                yield from walk(f.fields, f"{pointer}/{f.id}")
            elif f.is_group:
                yield from walk(f.fields, f"{pointer}/{f.id}")

    for section in form.sections:
        yield Scope(section.person or DECLARANT, f"/{section.id}", section.fields)
        yield from walk(section.fields, f"/{section.id}")


def prefill(form: FormDefinition, declarant: str, sources: Sources, *,
            verified_only: bool = False) -> PrefillResult:
    """Prefill ``form`` for ``declarant``. With ``verified_only``, only the verified fields:
    what checking a submission needs, and no more lookups than that."""
    deadline_at = time.monotonic() + sources.deadline_seconds
    plan = [s for s in scopes(form) if any(
        not verified_only or binding(f).mode == "verified"
        for f in bound_fields(s.fields))]
    records: dict[tuple[str, str], SourcedRecord] = {}
    failed: dict[str, str] = {}
    several: set[tuple[str, str]] = set()

    def fetch(wanted: dict[str, set[str]], links: bool = False) -> None:
        fetched = sources.fetch(wanted, deadline_at, links=links)
        records.update(fetched.found)
        failed.update(fetched.failed)
        several.update(fetched.several)

    used = {r for s in plan for r in s.person.relations}
    population = sources.by_register.get("population")
    candidates: dict[str, list[str]] = {"declarant": [declarant]}
    if isinstance(population, DatabaseSource):
        # embedded register: the links are indexed rows, so one query finds everyone linked,
        # and one more reads every record the form needs for them (steps 1 to 3 at once)
        if used - {"declarant"}:
            candidates.update(population.neighbourhood(declarant))
        everyone = {p for r in used for p in candidates.get(r, [])}
        wanted: dict[str, set[str]] = {"population": set(everyone)}
        for s in plan:
            subjects = {p for r in s.person.relations for p in candidates.get(r, [])}
            for f in bound_fields(s.fields):
                wanted.setdefault(binding(f).record.split(".", 1)[0], set()).update(subjects)
        fetch(wanted)
    else:
        # 1. the declarant's population record, which carries the links
        fetch({"population": {declarant}}, links=True)
        own = records.get(("population", declarant))
        for relation, link_field in registers.LINK_FIELDS.items():
            value = own.data.get(link_field) if own else None
            candidates[relation] = [v for v in (value if isinstance(value, list) else [value])
                                    if v]
        # 2. the population records of the linked people the form is about
        linked = {p for r in used if r != "declarant" for p in candidates[r]}
        fetch({"population": linked - {declarant}})

    def people(person: Person) -> list[str]:
        out: list[str] = []
        for relation in person.relations:
            for subject in candidates.get(relation, []):
                record = records.get(("population", subject))
                if person.sex and (record is None or record.data.get("sex") != person.sex):
                    continue
                if subject not in out:
                    out.append(subject)
        return out

    def why_nobody(person: Person) -> str:
        known = [c for r in person.relations for c in candidates.get(r, [])]
        if any(("population", c) not in records for c in known):
            return "no_record"  # a linked person the population register cannot show
        return "no_linked_person"

    resolved = {id(s): people(s.person) for s in plan}
    unresolved = {id(s): why_nobody(s.person) for s in plan if not resolved[id(s)]}
    if not isinstance(population, DatabaseSource):
        # 3. every other register the form needs, for the people it is about
        rest: dict[str, set[str]] = {}
        for s in plan:
            about = resolved[id(s)] if s.repeated else resolved[id(s)][:1]
            for f in bound_fields(s.fields):
                register = binding(f).record.split(".", 1)[0]
                if register != "population":
                    rest.setdefault(register, set()).update(about)
        fetch(rest)
    names = {register: source.name for register, source in sources.by_register.items()}
    return _fill(form, plan, resolved, unresolved, records, failed, names, several)


def _fill(form: FormDefinition, plan: list[Scope], resolved: dict[int, list[str]],
          unresolved: dict[int, str], records: dict[tuple[str, str], SourcedRecord],
          failed: dict[str, str], names: dict[str, str],
          several: set[tuple[str, str]]) -> PrefillResult:
    result = PrefillResult({s.id: {} for s in form.sections}, {}, [], [], [])
    failed_registers = {r for r, name in names.items() if name in failed}
    for scope in plan:
        subjects = resolved[id(scope)]
        items = subjects[: scope.max_items] if scope.repeated else subjects[:1]
        relation_label = " hoặc ".join(registers.PERSONS[r] for r in scope.person.relations)
        if not items:
            reason = unresolved[id(scope)]
            if reason == "no_record" and "population" in failed_registers:
                reason = "source_failed"
            for f in bound_fields(scope.fields):
                register = ("population" if reason != "no_linked_person"
                            else binding(f).record.split(".")[0])
                result.missing.append({"pointer": f"{scope.pointer}/{relative_path(scope, f)}",
                                       "register": register, "person": relation_label,
                                       "reason": reason})
            continue
        for index, subject in enumerate(items):
            base = f"{scope.pointer}/{index}" if scope.repeated else scope.pointer
            for f in bound_fields(scope.fields):
                bound = binding(f)
                register, _, name = bound.record.partition(".")
                pointer = f"{base}/{relative_path(scope, f)}"
                # a register reached through roles is filed under the person, like the others
                record = records.get((register, subject))
                if record is None:
                    reason = ("source_failed" if register in failed_registers
                              else "several_records" if (register, subject) in several
                              else "no_record")
                    result.missing.append({"pointer": pointer, "register": register,
                                           "person": relation_label, "reason": reason})
                    continue
                value = convert(form, f, record_kind(bound.record), record.data.get(name))
                if value is None:
                    continue
                _put(result.data, pointer, value)
                result.provenance[pointer] = {
                    "source": names.get(register, register),
                    "register": register,
                    "register_title": registers.REGISTERS[register].title,
                    "record": bound.record,
                    "record_id": record.record_id,
                    # in Vietnam time, as every moment the API answers with
                    "retrieved_at": record.retrieved_at.astimezone(VIETNAM).isoformat(),
                    "mode": bound.mode,
                    "person": relation_label,
                    # where this field's value came from: a change of one field (a digitised
                    # document, a result) does not relabel the others
                    **({"provenance": origin} if (origin := record.provenance_of(name)) else {}),
                }
                if bound.mode == "verified":
                    result.verified[pointer] = value
    result.failed_sources = [{"source": name, "reason": reason}
                             for name, reason in sorted(failed.items())]
    result.to_type = [p for p in leaf_pointers(form, result.data) if p not in result.provenance]
    return result


def relative_path(scope: Scope, f: Field) -> str:
    """The path of a bound field below its scope (fields of unbound groups nest further)."""
    return "/".join(f.path[len(scope.pointer.strip("/").split("/")):])


def _put(data: dict[str, Any], pointer: str, value: Any) -> None:
    parts = pointer.strip("/").split("/")
    node: Any = data
    for part, nxt in zip(parts, parts[1:], strict=False):
        key: Any = int(part) if isinstance(node, list) else part
        if isinstance(node, list):
            while len(node) <= key:
                node.append({})
            node = node[key]
        else:
            if key not in node:
                node[key] = [] if nxt.isdigit() else {}
            node = node[key]
    node[parts[-1]] = value


def leaf_pointers(form: FormDefinition, data: dict[str, Any]) -> list[str]:
    """Pointers of every field to fill: repeated groups by their items, or ``-`` (a new item)
    when they have none."""
    out: list[str] = []

    def walk(fields: tuple[Field, ...], pointer: str, node: Any) -> None:
        for f in fields:
            here = f"{pointer}/{f.id}"
            if not f.is_group:
                out.append(here)
                continue
            value = node.get(f.id) if isinstance(node, dict) else None
            if f.repeat:
                items = value if isinstance(value, list) and value else [None]
                for i, item in enumerate(items):
                    walk(f.fields, f"{here}/{i if item is not None else '-'}", item)
            else:
                walk(f.fields, here, value)

    for section in form.sections:
        walk(section.fields, f"/{section.id}", data.get(section.id))
    return out


def convert(form: FormDefinition, f: Field, kind: str, value: Any) -> Any:
    """A record value as the field expects it, or None when it cannot fill the field."""
    if value is None or value == "":
        return None
    if kind.startswith("choice:"):
        list_name = kind.split(":", 1)[1]
        if f.type == "choice":
            return value if any(c.code == value for c in form.codes(f.codes or "")) else None
        labels = {c.code: c.label for c in codelists.lookup(list_name)}
        return labels.get(value)
    if f.type == "partial_date":
        text = str(value)
        if f.precision == "year":
            return text[:4]
        if f.precision == "month":
            return text[:7] if len(text) >= 7 else None
        return text
    if f.type == "address":
        if not isinstance(value, dict):
            return None
        return {k: v for k, v in value.items() if k != "detail" or f.detail != "none"}
    if f.type in ("text", "long_text"):
        text = str(value)
        return text if len(text) <= (f.max_length or 200) else None
    return value


def actual_report(form: FormDefinition, result: PrefillResult,
                  answers: dict[str, Any] | None = None) -> dict[str, Any]:
    """The trimming figures one citizen really gets (:func:`forms.trimming.actual_reduction`):
    the fields shown for their prefilled data (and ``answers``, when given: the answers
    overlaid on the prefilled values), counted by definition (a field of a repeated group is
    prefilled when every shown item of it is), with every bound field left to type and why."""
    data = copy.deepcopy(result.data)
    if answers:
        _overlay(data, answers)
    report = actual_reduction(form, data, result.provenance, result.missing)
    report["failed_sources"] = result.failed_sources
    return report


def _overlay(data: dict[str, Any], answers: dict[str, Any]) -> None:
    """``answers`` over ``data``, objects merged key by key (lists replaced)."""
    for key, value in answers.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            _overlay(data[key], value)
        else:
            data[key] = copy.deepcopy(value)

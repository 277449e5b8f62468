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
import re
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from forms import codelists, conditions, pointers, registers
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


_TYPED_NUMBER = re.compile(r"^[0-9]{12}$")
#: an old identity card (CMND) number: registers are keyed by personal ID numbers, so it
#: cannot be looked up
_OLD_ID_CARD = re.compile(r"^[0-9]{9}$")


@dataclass
class Target:
    """Whom one scope (or one item of a repeated scope) is about, and on what basis: its
    pointer, the people it may be (in order; the first of the right sex is taken), how they
    are named to people, and the basis of a person named or chosen by an answer."""

    base: str
    subjects: list[str]
    label: str
    basis: dict[str, str] | None = None
    #: whether the subjects are still to be filtered by the person's sex
    by_sex: bool = True


def _relation_of(person: Person, answer: Any) -> str | None:
    """The relation a ``relation_by`` answer picks (None: it names nobody)."""
    mapping = (dict(person.relation_map) if person.relation_map
               else codelists.RELATIONSHIP_RELATIONS)
    return mapping.get(answer) if isinstance(answer, str) else None


def _relations_used(plan: list[Scope], answers: dict[str, Any]) -> set[str]:
    """The relations whose links prefill must know: the fixed ones, those the answers pick,
    and the allowed ones of a person whose number is typed."""
    used: set[str] = set()
    for s in plan:
        person = s.person
        if person.named_by is not None:
            if any(_TYPED_NUMBER.match(str(v)) for _, v in _answers_at(
                    answers, s, person.named_by)):
                used.update(person.allowed)
        elif person.relation_by is not None:
            used.update(r for _, v in _answers_at(answers, s, person.relation_by)
                        if (r := _relation_of(person, v)))
        else:
            used.update(person.relations)
    return {link for r in used for link in (registers.linked_by(r) or (r,))}


def _answers_at(answers: dict[str, Any], scope: Scope, path: tuple[str, ...],
                ) -> list[tuple[str, Any]]:
    """For the scope (each item of a repeated one, by the answers' items): its pointer, and
    the answer at ``path`` seen from it."""
    tokens = tuple(pointers.parse(scope.pointer))
    if not scope.repeated:
        return [(scope.pointer, pointers.walk(answers, conditions.concrete(path, tokens)))]
    items = pointers.walk(answers, tokens)
    out = []
    for i in range(min(len(items), scope.max_items) if isinstance(items, list) else 0):
        owner = (*tokens, str(i))
        out.append((pointers.join(owner), pointers.walk(answers, conditions.concrete(
            path, owner))))
    return out


def _targets(scope: Scope, declarant: str, candidates: dict[str, list[str]],
             answers: dict[str, Any]) -> tuple[list[Target], str | None]:
    """Whom the scope is about, or why nobody (``no_answer``: the number or the answer naming
    the person is not given yet; ``old_id_card``: an old 9-digit identity card number was
    given, which no register is keyed by (said from its shape alone: nothing is looked up);
    ``no_linked_person``: the number typed is not linked to the declarant by an allowed
    relation, whether or not anyone has it; None: the scope's person is simply typed, or the
    relations' reason is found later)."""
    person = scope.person
    if person.named_by is not None:
        out: list[Target] = []
        why = "no_answer"
        for base, number in _answers_at(answers, scope, person.named_by):
            if isinstance(number, str) and _OLD_ID_CARD.match(number):
                why = "old_id_card" if why == "no_answer" else why
                continue
            if not (isinstance(number, str) and _TYPED_NUMBER.match(number)):
                continue
            why = "no_linked_person"
            # the registers must link the named person to the declarant by an allowed
            # relation; anyone else's records are never read (submissions.person_checks only
            # verifies what was typed)
            relation = next((r for r in person.allowed
                             if number in _linked(r, declarant, candidates)), None)
            if relation is None:
                continue
            named = pointers.join(conditions.concrete(person.named_by,
                                                      tuple(pointers.parse(base))))
            out.append(Target(base, [number], registers.PERSONS[relation],
                              {"relation": relation, "named_by": named}, by_sex=False))
        return out, (None if out else why)
    if person.relation_by is not None:
        out = []
        answered = False
        for base, answer in _answers_at(answers, scope, person.relation_by):
            relation = _relation_of(person, answer)
            answered = answered or answer not in (None, "")
            if relation is None:
                continue  # an answer naming nobody the registers know: typed
            chosen = pointers.join(conditions.concrete(person.relation_by,
                                                       tuple(pointers.parse(base))))
            out.append(Target(base, _linked(relation, declarant, candidates),
                              registers.PERSONS[relation],
                              {"relation": relation, "relation_by": chosen}))
        return out, (None if out or answered else "no_answer")
    label = " hoặc ".join(registers.PERSONS[r] for r in person.relations)
    subjects: list[str] = []
    for relation in person.relations:
        subjects += [p for p in _linked(relation, declarant, candidates) if p not in subjects]
    return [Target(scope.pointer, subjects, label)], None


def _linked(relation: str, declarant: str, candidates: dict[str, list[str]]) -> list[str]:
    """The people linked to the declarant by ``relation`` (``parent``: the father, then the
    mother)."""
    if relation == "declarant":
        return [declarant]
    return [p for link in registers.linked_by(relation) for p in candidates.get(link, [])]


def prefill(form: FormDefinition, declarant: str, sources: Sources, *,
            answers: dict[str, Any] | None = None, verified_only: bool = False,
            ) -> PrefillResult:
    """Prefill ``form`` for ``declarant``. ``answers`` (form data the citizen has typed so
    far) name the people some sections are about (``person.named_by``: read only when the
    registers link that person to the declarant by an allowed relation; ``relation_by``) and
    pick the record of a binding chosen by an answer (``prefill.by``); no field is filled whose
    condition does not hold for the answers and what prefill found. With ``verified_only``,
    only the verified fields: what checking a submission needs, and no more lookups than
    that."""
    answers = answers if isinstance(answers, dict) else {}
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

    used = _relations_used(plan, answers)
    population = sources.by_register.get("population")
    candidates: dict[str, list[str]] = {"declarant": [declarant]}
    embedded = isinstance(population, DatabaseSource)
    if isinstance(population, DatabaseSource):
        # embedded register: the links are indexed rows, so one query finds everyone linked
        if used - {"declarant"}:
            candidates.update(population.neighbourhood(declarant))
    else:
        # 1. the declarant's population record, which carries the links
        fetch({"population": {declarant}}, links=True)
        own = records.get(("population", declarant))
        for relation, link_field in registers.LINK_FIELDS.items():
            value = own.data.get(link_field) if own else None
            candidates[relation] = [v for v in (value if isinstance(value, list) else [value])
                                    if v]
    resolved: dict[int, list[Target]] = {}
    unresolved: dict[int, str] = {}
    for s in plan:
        resolved[id(s)], why = _targets(s, declarant, candidates, answers)
        if why:
            unresolved[id(s)] = why
    everyone = {p for targets in resolved.values() for t in targets for p in t.subjects}

    def registers_of(s: Scope, t: Target) -> set[str]:
        out = set()
        for f in bound_fields(s.fields):
            path = _record_for(f, t.base, s, answers)
            if path is not None:
                out.add(path.split(".", 1)[0])
        return out

    if embedded:
        # and one more query reads every record the form needs for them
        wanted: dict[str, set[str]] = {"population": set(everyone)}
        for s in plan:
            for t in resolved[id(s)]:
                for register in registers_of(s, t):
                    wanted.setdefault(register, set()).update(t.subjects)
        fetch(wanted)
    else:
        # 2. the population records of the people the form is about
        fetch({"population": everyone - {declarant}})
    for s in plan:
        why = _why_nobody(resolved[id(s)], records)
        for t in resolved[id(s)]:
            t.subjects = _of_sex(s.person, t, records)
        if not any(t.subjects for t in resolved[id(s)]) and id(s) not in unresolved and (
                resolved[id(s)]):
            unresolved[id(s)] = why
    if not embedded:
        # 3. every other register the form needs, for the people it is about
        rest: dict[str, set[str]] = {}
        for s in plan:
            for t in resolved[id(s)]:
                about = t.subjects if s.repeated else t.subjects[:1]
                for register in registers_of(s, t) - {"population"}:
                    rest.setdefault(register, set()).update(about)
        fetch(rest)
    names = {register: source.name for register, source in sources.by_register.items()}
    result = _fill(form, plan, resolved, unresolved, records, failed, names, several, answers)
    _drop_hidden(form, result, answers)
    return result


def _by_answer(f: Field, base: str, scope: Scope, answers: dict[str, Any]) -> Any:
    """The answer to the ``by`` field of a binding chosen by an answer, seen from the field
    in the scope (or item) at ``base``."""
    bound = binding(f)
    assert bound.by is not None
    owner = (*pointers.parse(base), *f.path[len(pointers.parse(scope.pointer)):])
    return pointers.walk(answers, conditions.concrete(bound.by, owner))


def _record_for(f: Field, base: str, scope: Scope, answers: dict[str, Any]) -> str | None:
    """The record path a bound field reads in the scope (or item) at ``base``: its own, or
    the one the answer to its ``by`` field picks (None: not answered, or an answer that names
    none)."""
    bound = binding(f)
    if bound.by is None:
        return bound.record
    return bound.record_for(_by_answer(f, base, scope, answers))


def _of_sex(person: Person, target: Target,
            records: dict[tuple[str, str], SourcedRecord]) -> list[str]:
    if not person.sex or not target.by_sex:
        return target.subjects
    return [p for p in target.subjects if (r := records.get(("population", p))) is not None
            and r.data.get("sex") == person.sex]


def _why_nobody(targets: list[Target], records: dict[tuple[str, str], SourcedRecord]) -> str:
    known = [p for t in targets for p in t.subjects]
    if any(("population", p) not in records for p in known):
        return "no_record"  # a linked person the population register cannot show
    return "no_linked_person"


def _fill(form: FormDefinition, plan: list[Scope], resolved: dict[int, list[Target]],
          unresolved: dict[int, str], records: dict[tuple[str, str], SourcedRecord],
          failed: dict[str, str], names: dict[str, str], several: set[tuple[str, str]],
          answers: dict[str, Any]) -> PrefillResult:
    result = PrefillResult({s.id: {} for s in form.sections}, {}, [], [], [])
    failed_registers = {r for r, name in names.items() if name in failed}
    for scope in plan:
        targets = [t for t in resolved[id(scope)] if t.subjects]
        if not targets:
            reason = unresolved.get(id(scope))
            if reason is None:
                continue  # a person the citizen types (an answer naming nobody we know)
            if reason == "no_record" and "population" in failed_registers:
                reason = "source_failed"
            for f in bound_fields(scope.fields):
                register = ("population" if reason in ("no_record", "source_failed")
                            else binding(f).all_records()[0].split(".")[0])
                result.missing.append({"pointer": f"{scope.pointer}/{relative_path(scope, f)}",
                                       "register": register, "person": _person_label(scope),
                                       "reason": reason})
            continue
        entries = ([(f"{scope.pointer}/{i}", subject, t) for t in targets
                    for i, subject in enumerate(t.subjects[:scope.max_items])]
                   if scope.repeated and targets[0].basis is None
                   else [(t.base, t.subjects[0], t) for t in targets])
        for base, subject, target in entries:
            for f in bound_fields(scope.fields):
                bound = binding(f)
                pointer = f"{base}/{relative_path(scope, f)}"
                path = _record_for(f, base, scope, answers)
                if path is None:
                    if _by_answer(f, base, scope, answers) in (None, ""):
                        result.missing.append({"pointer": pointer,
                                               "register": bound.all_records()[0].split(".")[0],
                                               "person": target.label, "reason": "no_answer"})
                    continue
                register, _, name = path.partition(".")
                # a register reached through roles is filed under the person, like the others
                record = records.get((register, subject))
                if record is None:
                    reason = ("source_failed" if register in failed_registers
                              else "several_records" if (register, subject) in several
                              else "no_record")
                    result.missing.append({"pointer": pointer, "register": register,
                                           "person": target.label, "reason": reason})
                    continue
                value = convert(form, f, record_kind(path), record.data.get(name))
                if value is None:
                    continue
                _put(result.data, pointer, value)
                result.provenance[pointer] = {
                    "source": names.get(register, register),
                    "register": register,
                    "register_title": registers.REGISTERS[register].title,
                    "record": path,
                    "record_id": record.record_id,
                    # in Vietnam time, as every moment the API answers with
                    "retrieved_at": record.retrieved_at.astimezone(VIETNAM).isoformat(),
                    "mode": bound.mode,
                    "person": target.label,
                    # where this field's value came from: a change of one field (a digitised
                    # document, a result) does not relabel the others
                    **({"provenance": origin} if (origin := record.provenance_of(name)) else {}),
                    # why a person the citizen named may be read: their link to the citizen
                    **({"basis": dict(target.basis)} if target.basis else {}),
                }
                if bound.mode == "verified":
                    result.verified[pointer] = value
    result.failed_sources = [{"source": name, "reason": reason}
                             for name, reason in sorted(failed.items())]
    return result


def _person_label(scope: Scope) -> str:
    person = scope.person
    if person.named_by is not None:
        return " hoặc ".join(registers.PERSONS[r] for r in person.allowed)
    if person.relation_by is not None:
        return "Người theo quan hệ đã chọn"
    return " hoặc ".join(registers.PERSONS[r] for r in person.relations)


def _drop_hidden(form: FormDefinition, result: PrefillResult, answers: dict[str, Any]) -> None:
    """Take back what prefill found for fields whose condition does not hold for the answers
    merged with the prefilled data (verified values as the registers hold them): hidden
    means absent, so prefill fills only the branch the answers select."""
    merged = _laid_over(copy.deepcopy(result.data), answers)
    for pointer, value in result.verified.items():
        _put(merged, pointer, value)
    conditions.drop_hidden(form, merged)
    for pointer in [p for p in result.provenance if _hidden(form, merged, p)]:
        del result.provenance[pointer]
        result.verified.pop(pointer, None)
        _remove(result.data, pointer)
    result.missing = [m for m in result.missing if not _hidden(form, merged, m["pointer"])]
    # left to type: the fields shown for the answers and what prefill found, that the
    # registers did not fill (computed text is the service's, never typed)
    result.to_type = [p for p in leaf_pointers(form, result.data)
                      if p not in result.provenance and not _hidden(form, merged, p)]


def _laid_over(base: Any, answers: Any) -> Any:
    """``answers`` laid over ``base`` (objects member by member, lists item by item)."""
    if isinstance(base, dict) and isinstance(answers, dict):
        for key, value in answers.items():
            base[key] = _laid_over(base[key], value) if key in base else copy.deepcopy(value)
        return base
    if isinstance(base, list) and isinstance(answers, list):
        return [_laid_over(base[i], a) if i < len(base) else copy.deepcopy(a)
                for i, a in enumerate(answers)] + base[len(answers):]
    return copy.deepcopy(answers)


def _hidden(form: FormDefinition, data: Any, pointer: str) -> bool:
    """Whether a condition of the field at ``pointer``, or of a group holding it, does not
    hold in ``data``."""
    tokens = pointers.parse(pointer)
    section = next((s for s in form.sections if s.id == tokens[0]), None)
    fields = section.fields if section else ()
    owner: list[str] = [tokens[0]]
    for token in tokens[1:]:
        owner.append(token)
        if token.isdigit() or token == "-":
            continue
        f = next((x for x in fields if x.id == token), None)
        if f is None:
            return False
        if f.when is not None and not conditions.holds(f.when, data, tuple(owner)):
            return True
        fields = f.fields
    return False


def _remove(data: dict[str, Any], pointer: str) -> None:
    tokens = pointers.parse(pointer)
    parent = pointers.walk(data, tokens[:-1])
    if isinstance(parent, dict):
        parent.pop(tokens[-1], None)


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
    """Pointers of every field to fill (computed text is not filled: the service writes it):
    repeated groups by their items, or ``-`` (a new item) when they have none."""
    out: list[str] = []

    def walk(fields: tuple[Field, ...], pointer: str, node: Any) -> None:
        for f in fields:
            here = f"{pointer}/{f.id}"
            if f.type == "computed":
                continue
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
        if not isinstance(value, dict) or value.get("kind", "current") != "current":
            return None
        return {k: v for k, v in value.items()
                if k != "kind" and (k != "detail" or f.detail != "none")}
    if f.type == "place":
        # an address is a place among today's units; a place of a kind the field does not
        # offer cannot fill it
        place = {"kind": "current", **value} if kind == "address" else value
        if not isinstance(place, dict) or place.get("kind") not in (
                f.places or ("current", "abroad", "former")):
            return None
        return dict(place)
    if f.type == "id_document":
        # a personal ID number from the registers is a document of its own type
        return {"type": codelists.PERSONAL_ID_DOCUMENT, "number": str(value)}
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

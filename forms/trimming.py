"""The trimming report: how many of an official form's fields a citizen still types.

The directive asks every procedure to cut at least 20% of the fields a citizen types by reusing
data the state already holds. The baseline is the official paper form: the fields on the e-form
that are marked official, plus the official fields the e-form dropped (derived by the service,
replaced by the electronic signature...). A field the e-form adds (``official: false``) counts
against the reduction when the citizen must type it, so adding fields can never look like
trimming. Every field counts the same way on both sides: a commitment printed on the paper form
is one official field there and one box to tick on the e-form; a ``computed`` field is never
typed, so an official one is a paper field the citizen no longer types, in both figures (in the
baseline when shown, never typed; ``counts.computed`` says how many).

Two figures:

* :func:`trimming_report`, the designer's figure, from the definition alone. It cannot know a
  citizen's records or answers, so it makes assumptions, and says which in ``assumptions``
  (code in English, text in Vietnamese): conditional fields counted as shown, repeated groups
  counted once, bound fields counted as prefilled (records exist), a section about a person
  the citizen names counted as prefilled only when the form allows some relation…
* :func:`actual_reduction`, one citizen's figure, from what prefill really filled. Only the
  fields shown for the citizen's answers and prefilled values count, on the paper side as on
  the e-form side (a field hidden for them is on neither); an answer still to type is taken to
  show as many fields as it can (the worst of its values, so a choice not yet made never hides
  work); typed = shown and not prefilled. Every bound field that is shown but not filled is
  listed in ``missing`` with why (and hidden bound fields with ``condition_hidden``).

Binding a section to the wrong person must not pay. A prefilled value counts only when the
figure can tell it is about the person the section is about:

* a section or group bound to a fixed relation (other than the declarant alone) that also asks
  the citizen to type the person's identity (an unbound ``personal_id`` or ``id_document``
  field) or the person's relationship to the declarant (an unbound ``relationship`` choice) is
  about someone the citizen names, not necessarily that relation: its bound fields count as
  typed (status ``unidentified``) in both figures;
* a section about a named person (``person: {named_by}``) counts as prefilled in the designer's
  figure only when the form allows a relation; per citizen, a value counts only when its
  provenance carries the basis (an allowed relation) and the number the citizen typed is there;
* a section whose relation is chosen by an answer (``relation_by``) counts per citizen only
  once that answer is given.

What the figure cannot see (a section bound to a relation with no typed identity at all, whose
meaning on paper is someone else) stays the designer's responsibility and the reviewer's: the
report names the person of every bound field so that it can be read.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from forms import registers
from forms.model import DROP_REASONS, Condition, Field, FormDefinition, Person

TARGET_PERCENT = 20.0
#: value combinations of the answers still to type tried for one citizen's figure; beyond,
#: each such answer is varied alone and every field any variation shows is counted
MAX_COMBINATIONS = 256

#: What the designer's figure assumes, by code (Vietnamese for designers; the pages translate).
ASSUMPTIONS: dict[str, str] = {
    "records_exist": "Mọi trường gắn với dữ liệu được tính là điền sẵn, giả định cơ sở dữ liệu có "
                     "bản ghi của người được khai; số liệu thực tế của từng người dân có thể "
                     "thấp hơn.",
    "conditional_shown": "Trường có điều kiện được tính như luôn hiển thị (trường hợp người dân "
                         "phải nhập nhiều nhất).",
    "repeated_once": "Nhóm lặp lại được tính một lần (một mục), dù người dân có thể khai nhiều "
                     "mục.",
    "linked_person_exists": "Phần về người thân (cha, mẹ, vợ/chồng, con, chủ hộ, thành viên "
                            "hộ…) được tính là điền sẵn, giả định sổ sách ghi nhận người đó liên "
                            "kết với người kê khai.",
    "named_person_allowed": "Phần về người do người dân nêu (nhập số định danh) chỉ được tính là "
                            "điền sẵn khi biểu mẫu cho phép quan hệ; giả định người được nêu có "
                            "quan hệ đó với người kê khai. Không cho phép quan hệ nào thì chỉ "
                            "đối chiếu, tính là phải nhập.",
    "relation_by_answer": "Phần về người do câu trả lời chọn quan hệ được tính là điền sẵn, giả "
                          "định người dân chọn một quan hệ mà sổ sách ghi nhận.",
    "by_answer_bindings": "Trường có nguồn dữ liệu chọn theo câu trả lời được tính là điền sẵn, "
                          "giả định câu trả lời chọn một nguồn có dữ liệu.",
    "unidentified_person": "Trường gắn với người thân cố định trong phần mà người dân vẫn phải "
                           "nhập số định danh hoặc quan hệ của người được khai được tính là "
                           "phải nhập: người được khai có thể không phải người thân đó.",
    "computed_not_typed": "Trường tự tạo từ câu trả lời không bao giờ tính là phải nhập.",
    "commitment_counted": "Lời cam đoan được tính như mọi trường khác: có trên mẫu giấy thì "
                          "tính ở cả hai phía, và người dân vẫn phải đánh dấu trên tờ khai điện "
                          "tử.",
    "dropped_not_typed": "Trường bỏ khỏi tờ khai điện tử được tính trên mẫu giấy, không tính là "
                         "phải nhập.",
}

#: Why a bound field was not filled for one citizen.
REASONS: dict[str, str] = {
    "no_linked_person": "sổ sách không ghi nhận người này liên kết với người kê khai",
    "no_record": "không có bản ghi",
    "several_records": "có nhiều bản ghi, không xác định được bản ghi nào",
    "source_failed": "nguồn dữ liệu không trả lời",
    "no_value": "bản ghi không có giá trị dùng được cho trường này",
    "no_answer": "chưa có câu trả lời chọn người hoặc nguồn dữ liệu",
    "old_id_card": "số chứng minh nhân dân cũ (9 số) không tra cứu được: sổ sách ghi theo số "
                   "định danh cá nhân",
    "unidentified_person": "không xác định được người được khai đúng là người thân đó",
    "not_attempted": "không tra cứu (trường thuộc nhóm lặp lại không gắn với người nào)",
    "condition_hidden": "trường bị ẩn theo câu trả lời, không tính",
}
_REASONS = REASONS  # the name earlier callers used

#: identity fields: typed in a section bound to a fixed relation, they say the section is
#: about whoever the citizen names
_IDENTITY_TYPES = ("personal_id", "id_document")
_OTHER = "\u0000other"  # an answer none of the conditions names


@dataclass(frozen=True)
class Scope:
    """The person a field is about: the innermost group or section bound to one (None: the
    declarant), and where that binding is."""

    path: tuple[str, ...]
    person: Person | None


def scope_of(form: FormDefinition, path: tuple[str, ...]) -> Scope:
    scope = Scope(path[:1], None)
    for section in form.sections:
        if section.id == path[0] and section.person is not None:
            scope = Scope(path[:1], section.person)
    for i in range(2, len(path)):
        group = form.find(path[:i])
        if group is not None and group.person is not None:
            scope = Scope(path[:i], group.person)
    return scope


def _own_fields(form: FormDefinition, scope: Scope) -> Iterator[Field]:
    """The leaf fields whose person is the scope's (nested scopes left out)."""
    for _, f in form.leaves():
        if f.path[:len(scope.path)] == scope.path and scope_of(form, f.path) == scope:
            yield f


def unidentified(form: FormDefinition) -> dict[tuple[str, ...], str]:
    """Scopes bound to a fixed relation that still ask who the person is, by scope path: the
    code of the typed field that says so (``typed_identity`` or ``typed_relationship``)."""
    out: dict[tuple[str, ...], str] = {}
    seen: set[tuple[str, ...]] = set()
    for _, f in form.leaves():
        scope = scope_of(form, f.path)
        if scope.path in seen:
            continue
        seen.add(scope.path)
        person = scope.person
        if (person is None or person.named_by or person.relation_by
                or set(person.relations) <= {"declarant"}):
            continue
        own = list(_own_fields(form, scope))
        if not any(g.prefill for g in own):
            continue
        if any(g.type in _IDENTITY_TYPES and g.prefill is None for g in own):
            out[scope.path] = "typed_identity"
        elif any(g.type == "choice" and g.codes == "relationship" and g.prefill is None
                 for g in own):
            out[scope.path] = "typed_relationship"
    return out


def _person_label(person: Person | None) -> str:
    if person is None:
        return registers.PERSONS["declarant"]
    if person.named_by:
        return "Người do người dân nêu (số định danh)"
    if person.relation_by:
        return "Người theo quan hệ người dân chọn"
    return (" hoặc ".join(registers.PERSONS.get(r, r) for r in person.relations)
            + {"nam": " (nam)", "nu": " (nữ)"}.get(person.sex or "", ""))


def _person_of(form: FormDefinition, path: tuple[str, ...]) -> dict[str, Any] | None:
    """The linked person whose records fill the field; None means the declarant."""
    person = scope_of(form, path).person
    if person is None:
        return None
    out: dict[str, Any] = {"relation": list(person.relations), "label": _person_label(person)}
    if person.sex:
        out["sex"] = person.sex
    if person.named_by:
        out["named_by"] = "/" + "/".join(person.named_by)
        out["allowed"] = list(person.allowed)
    if person.relation_by:
        out["relation_by"] = "/" + "/".join(person.relation_by)
    return out


def _reduction(baseline: int, typed: int) -> float:
    return round(100.0 * (baseline - typed) / baseline, 1) if baseline else 0.0


def trimming_report(form: FormDefinition) -> dict[str, Any]:
    """The designer's figure: every field as the definition says, under ``assumptions``."""
    fields: list[dict[str, Any]] = []
    typed = prefilled = verified = official = added = computed = 0
    doubts = unidentified(form)
    used: set[str] = set()
    for section, f in form.leaves():
        row: dict[str, Any] = {
            "path": "/" + "/".join(f.path),
            "label": f.label,
            "section": section.title,
            "official": f.official,
            "conditional": f.when is not None or _group_conditional(form, f.path),
            "type": f.type,
        }
        official += f.official
        added += not f.official
        scope = scope_of(form, f.path)
        used.update(_uses(form, f, scope))
        if f.type == "computed":
            row["status"] = "computed"
            computed += 1
        elif f.prefill:
            found = registers.lookup(f.prefill.record)
            row["record"] = f.prefill.record
            row["source"] = found[0].title if found else None
            if f.prefill.by:
                row["by"] = "/" + "/".join(f.prefill.by)
                row["records"] = list(f.prefill.all_records())
                row["choices"] = _choices(form, f)
                row["source"] = " hoặc ".join(dict.fromkeys(c["source"] for c in row["choices"]))
            person = _person_of(form, f.path)
            if person:
                row["person"] = person
            if scope.path in doubts:
                row["status"] = "unidentified"
                row["doubt"] = doubts[scope.path]
                typed += 1
            elif scope.person is not None and scope.person.named_by \
                    and not scope.person.allowed:
                row["status"] = "typed"
                row["doubt"] = "check_only"
                typed += 1
            else:
                row["status"] = f.prefill.mode
                prefilled += 1
                verified += f.prefill.mode == "verified"
        else:
            row["status"] = "typed"
            typed += 1
        fields.append(row)
    dropped = [
        {"label": d.label, "section": d.section, "reason": d.reason,
         "reason_label": DROP_REASONS[d.reason], "note": d.note}
        for d in form.dropped
    ]
    if dropped:
        used.add("dropped_not_typed")
    baseline = official + len(dropped)
    reduction = _reduction(baseline, typed)
    meets = reduction >= TARGET_PERCENT
    verdict = (
        f"Đạt mục tiêu: giảm {reduction}% số trường người dân phải nhập (mục tiêu tối thiểu "
        f"{TARGET_PERCENT:g}%)."
        if meets else
        f"CHƯA ĐẠT mục tiêu: chỉ giảm {reduction}% số trường người dân phải nhập, dưới mức tối "
        f"thiểu {TARGET_PERCENT:g}%. Cần gắn thêm trường với dữ liệu đã số hóa."
    )
    return {
        "form_id": form.id,
        "version": form.version,
        "title": form.title,
        "basis": "definition",
        "counts": {
            "official_fields": baseline,
            "on_eform": official + added,
            "added_by_eform": added,
            "typed": typed,
            "prefilled": prefilled,
            "verified": verified,
            "suggested": prefilled - verified,
            "computed": computed,
            "unidentified": sum(r["status"] == "unidentified" for r in fields),
            "dropped": len(dropped),
        },
        "reduction_percent": reduction,
        "target_percent": TARGET_PERCENT,
        "meets_target": meets,
        "verdict": verdict,
        "assumptions": [{"code": code, "text": text} for code, text in ASSUMPTIONS.items()
                        if code in used],
        "fields": fields,
        "dropped": dropped,
    }


def _choices(form: FormDefinition, f: Field) -> list[dict[str, Any]]:
    """Every record a binding chosen by an answer may read, with the answer that picks it
    (its code and label) and the register's and the record's names."""
    assert f.prefill is not None and f.prefill.by is not None
    by = form.find(f.prefill.by)
    labels = {c.code: c.label for c in form.codes(by.codes or "")} if by is not None else {}
    out = []
    for code, path in f.prefill.records:
        found = registers.lookup(path)
        out.append({"answer": code, "answer_label": labels.get(code, code), "record": path,
                    "source": found[0].title if found else path.split(".", 1)[0],
                    "record_label": found[2] if found else path})
    return out


def _group_conditional(form: FormDefinition, path: tuple[str, ...]) -> bool:
    return any((g := form.find(path[:i])) is not None and g.when is not None
               for i in range(2, len(path)))


def _in_repeat(form: FormDefinition, path: tuple[str, ...]) -> bool:
    return any((g := form.find(path[:i])) is not None and g.repeat is not None
               for i in range(2, len(path)))


def _uses(form: FormDefinition, f: Field, scope: Scope) -> Iterator[str]:
    """The assumptions a field makes the designer's figure rely on."""
    if f.when is not None or _group_conditional(form, f.path):
        yield "conditional_shown"
    if _in_repeat(form, f.path):
        yield "repeated_once"
    if f.type == "computed":
        yield "computed_not_typed"
    if f.type == "commitment":
        yield "commitment_counted"
    if f.prefill is None or f.type == "computed":
        return
    yield "records_exist"
    if f.prefill.by:
        yield "by_answer_bindings"
    person = scope.person
    if person is None:
        return
    if person.named_by:
        yield "named_person_allowed"
    elif person.relation_by:
        yield "relation_by_answer"
    elif set(person.relations) - {"declarant"}:
        yield "linked_person_exists"
        if scope.path in unidentified(form):
            yield "unidentified_person"


# -- one citizen ----------------------------------------------------------------------------

def _tokens(pointer: str) -> tuple[str, ...]:
    return tuple(pointer.strip("/").split("/")) if pointer.strip("/") else ()


def _definition(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """A field's definition path from concrete tokens (ids never are digits)."""
    return tuple(t for t in tokens if not t.isdigit())


def _get(data: Any, tokens: tuple[str, ...]) -> Any:
    node = data
    for t in tokens:
        if isinstance(node, list) and t.isdigit() and int(t) < len(node):
            node = node[int(t)]
        elif isinstance(node, dict):
            node = node.get(t)
        else:
            return None
    return node


def _set(data: dict[str, Any], tokens: tuple[str, ...], value: Any) -> None:
    node: Any = data
    for t in tokens[:-1]:
        node = node[int(t)] if isinstance(node, list) else node.setdefault(t, {})
    if value is None:
        node.pop(tokens[-1], None)
    else:
        node[tokens[-1]] = value


def _expanded(form: FormDefinition, data: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` in which every repeated group holds at least one item (an empty one:
    the group counted once), so that its fields have concrete paths."""
    out = copy.deepcopy(data)

    def walk(fields: tuple[Field, ...], node: dict[str, Any]) -> None:
        for f in fields:
            if not f.is_group:
                continue
            value = node.get(f.id)
            if f.repeat:
                if not isinstance(value, list) or not value:
                    value = node[f.id] = [{}]
                for item in value:
                    if isinstance(item, dict):
                        walk(f.fields, item)
            else:
                if not isinstance(value, dict):
                    value = node[f.id] = {}
                walk(f.fields, value)

    for section in form.sections:
        node = out.get(section.id)
        if not isinstance(node, dict):
            node = out[section.id] = {}
        walk(section.fields, node)
    return out


def _conditioned(form: FormDefinition, data: dict[str, Any],
                 ) -> Iterator[tuple[tuple[str, ...], Condition]]:
    """Every condition of the form with the concrete tokens of the field or group it is on."""

    def walk(fields: tuple[Field, ...], tokens: tuple[str, ...], node: Any,
             ) -> Iterator[tuple[tuple[str, ...], Condition]]:
        for f in fields:
            here = (*tokens, f.id)
            if f.when is not None:
                yield here, f.when
            if not f.is_group:
                continue
            value = node.get(f.id) if isinstance(node, dict) else None
            if f.repeat:
                for i, item in enumerate(value if isinstance(value, list) else []):
                    yield from walk(f.fields, (*here, str(i)), item)
            else:
                yield from walk(f.fields, here, value)

    for section in form.sections:
        yield from walk(section.fields, (section.id,), data.get(section.id))


def _literals(cond: Condition) -> Iterator[tuple[tuple[str, ...], Any]]:
    if cond.field:
        if cond.equals is not None:
            yield cond.field, cond.equals
        for v in cond.one_of or ():
            yield cond.field, v
        yield cond.field, _OTHER
    for c in (*cond.all_of, *cond.any_of, *((cond.negate,) if cond.negate else ())):
        yield from _literals(c)


def _open_answers(form: FormDefinition, data: dict[str, Any]) -> dict[tuple[str, ...], list[Any]]:
    """The answers conditions read that are still empty, each with the values worth trying
    (none, each value a condition names, and some other value)."""
    from forms.conditions import concrete

    out: dict[tuple[str, ...], list[Any]] = {}
    for owner, cond in _conditioned(form, data):
        for path, value in _literals(cond):
            tokens = tuple(concrete(path, owner))
            if _get(data, tokens) not in (None, "", []):
                continue
            target = form.find(_definition(tokens))
            if target is not None and target.type == "boolean" and value is _OTHER:
                value = False
            values = out.setdefault(tokens, [None])
            if value not in values:
                values.append(value)
    return out


def _shown_sets(form: FormDefinition, data: dict[str, Any]) -> Iterator[set[tuple[str, ...]]]:
    """The sets of shown fields (concrete tokens) the citizen may end up with: one per
    combination of the answers still to type (or, past :data:`MAX_COMBINATIONS`, the union
    of varying each alone)."""
    from forms.conditions import shown

    open_answers = _open_answers(form, data)
    keys = list(open_answers)
    combinations = 1
    for values in open_answers.values():
        combinations *= len(values)
    if combinations <= MAX_COMBINATIONS:
        for combo in itertools.product(*(open_answers[k] for k in keys)):
            trial = copy.deepcopy(data)
            for k, v in zip(keys, combo, strict=True):
                _set(trial, k, v)
            yield {tuple(t) for t in shown(form, trial)}
        return
    union: set[tuple[str, ...]] = {tuple(t) for t in shown(form, copy.deepcopy(data))}
    for k in keys:
        for v in open_answers[k]:
            trial = copy.deepcopy(data)
            _set(trial, k, v)
            union |= {tuple(t) for t in shown(form, trial)}
    yield union


def _trusted(form: FormDefinition, data: dict[str, Any], pointer: str,
             entry: dict[str, Any], doubts: dict[tuple[str, ...], str]) -> bool:
    """Whether a prefilled value is known to be about the person its section is about."""
    tokens = _tokens(pointer)
    scope = scope_of(form, _definition(tokens))
    if scope.path in doubts:
        return False
    person = scope.person
    if person is None:
        return True
    if person.named_by:
        basis = entry.get("basis")
        if not isinstance(basis, dict) or basis.get("relation") not in person.allowed:
            return False
        named = basis.get("named_by")
        number = _get(data, _tokens(named)) if isinstance(named, str) else None
        return isinstance(number, str) and number.isdigit()
    if person.relation_by:
        from forms.conditions import concrete

        owner = (*_scope_tokens(tokens, scope), "_")
        return _get(data, tuple(concrete(person.relation_by, owner))) not in (None, "")
    return True


def _scope_tokens(tokens: tuple[str, ...], scope: Scope) -> tuple[str, ...]:
    """The concrete tokens of a field's scope (indexes of its repeated groups kept)."""
    out: list[str] = []
    ids = 0
    for t in tokens:
        if ids == len(scope.path) and not t.isdigit():
            break
        out.append(t)
        ids += not t.isdigit()
    return tuple(out)


def actual_reduction(form: FormDefinition, data: dict[str, Any],
                     provenance: dict[str, dict[str, Any]],
                     missing: list[dict[str, Any]]) -> dict[str, Any]:
    """The reduction one citizen actually gets. ``data`` is the prefilled data (merged with
    the citizen's answers, if any), ``provenance`` the prefilled values' provenance by pointer,
    ``missing`` the bound fields prefill could not fill, and why.

    Counted by field of the definition, among the fields shown (``forms.conditions.shown``):
    a field of a repeated group is prefilled when every shown item of it is; the answers still
    to type take the values that leave the citizen the most to type."""
    expanded = _expanded(form, data)
    doubts = unidentified(form)
    filled = {_tokens(p) for p, entry in provenance.items()
              if _trusted(form, data, p, entry, doubts)}
    distrusted = {_tokens(p) for p in provenance} - filled
    leaves = [f for _, f in form.leaves()]
    best: tuple[float, int, int, int, int, set[tuple[str, ...]]] | None = None
    for shown_set in _shown_sets(form, expanded):
        by_field: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        for tokens in shown_set:
            by_field.setdefault(_definition(tokens), []).append(tokens)
        typed = prefilled = official = computed = 0
        for f in leaves:
            instances = by_field.get(f.path)
            if not instances:
                continue
            official += f.official
            if f.type == "computed":
                # as in the designer's figure: an official computed field is a paper field
                # the citizen no longer types (on the paper side, not typed)
                computed += 1
                continue
            if all(t in filled for t in instances):
                prefilled += 1
            else:
                typed += 1
        baseline = official + len(form.dropped)
        reduction = _reduction(baseline, typed)
        if best is None or (reduction, -typed) < (best[0], -best[2]):
            best = (reduction, baseline, typed, prefilled, computed, shown_set)
    assert best is not None
    reduction, baseline, typed, prefilled, computed, shown_set = best
    meets = reduction >= TARGET_PERCENT
    listed = _missing(form, data, shown_set, filled, distrusted, doubts, missing)
    gaps = sorted({(m["register"], m["person"], m["reason"]) for m in listed
                   if m["reason"] != "condition_hidden"})
    verdict = (f"Với người dân này: giảm {reduction}% số trường phải nhập"
               + (" – đạt mục tiêu." if meets else " – CHƯA ĐẠT mục tiêu 20%."))
    if gaps and not meets:
        verdict += " Thiếu dữ liệu: " + "; ".join(
            f"{registers.REGISTERS[r].title} ({who}: {REASONS.get(why, why)})"
            for r, who, why in gaps)
    return {
        "counts": {"official_fields": baseline, "typed": typed, "prefilled": prefilled,
                   "computed": computed, "shown": len({_definition(t) for t in shown_set}),
                   "not_counted": len(distrusted)},
        "reduction_percent": reduction,
        "meets_target": meets,
        "verdict": verdict,
        "assumptions": [{"code": "open_answers_worst",
                         "text": "Câu trả lời người dân chưa nhập được tính theo giá trị làm "
                                 "hiện nhiều trường phải nhập nhất."}],
        "missing": listed,
    }


def _missing(form: FormDefinition, data: dict[str, Any], shown_set: set[tuple[str, ...]],
             filled: set[tuple[str, ...]], distrusted: set[tuple[str, ...]],
             doubts: dict[tuple[str, ...], str],
             reported: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every bound field left to type, with why; hidden bound fields as ``condition_hidden``."""
    said = {_tokens(str(m.get("pointer", ""))): m for m in reported}
    said_by_field = {_definition(k): m for k, m in said.items()}
    shown_fields = {_definition(t) for t in shown_set}
    out: list[dict[str, Any]] = []
    for _, f in form.leaves():
        if f.prefill is None or f.type == "computed":
            continue
        scope = scope_of(form, f.path)
        label = _person_label(scope.person)
        instances = sorted(t for t in shown_set if _definition(t) == f.path)
        if f.path not in shown_fields:
            instances = []
        for tokens in instances or [f.path]:
            if instances and tokens in filled:
                continue
            m = said.get(tokens) or said_by_field.get(f.path)
            if not instances:
                reason = "condition_hidden"
            elif tokens in distrusted or scope.path in doubts:
                reason = "unidentified_person"
            elif m is not None:
                reason = str(m.get("reason"))
            else:
                reason = _unreported(form, data, f, scope, tokens)
            record = f.prefill.record_for(_get(data, _by_tokens(tokens, f))) \
                if f.prefill.by else f.prefill.record
            register = str(m["register"]) if m and m.get("register") else \
                (record or f.prefill.record).split(".", 1)[0]
            out.append({"pointer": "/" + "/".join(tokens), "field": "/" + "/".join(f.path),
                        "label": f.label, "register": register,
                        "register_title": registers.REGISTERS[register].title,
                        "person": str(m["person"]) if m and m.get("person") else label,
                        "reason": reason})
    return out


def _by_tokens(tokens: tuple[str, ...], f: Field) -> tuple[str, ...]:
    """The concrete tokens of the answer a by-answer binding reads (a path as in ``when``)."""
    from forms.conditions import concrete

    assert f.prefill is not None and f.prefill.by is not None
    return tuple(concrete(f.prefill.by, tokens))


def _unreported(form: FormDefinition, data: dict[str, Any], f: Field, scope: Scope,
                tokens: tuple[str, ...]) -> str:
    """Why prefill did not fill a shown bound field it did not report: the answer choosing the
    person or the record is not given, the field is in a repeated group bound to no one (prefill
    does not try it), or the record had no usable value."""
    assert f.prefill is not None
    if f.prefill.by and f.prefill.record_for(_get(data, _by_tokens(tokens, f))) is None:
        return "no_answer"
    person = scope.person
    if person is not None and (person.named_by or person.relation_by):
        return "no_answer"
    for i in range(len(scope.path) + 1, len(f.path)):
        group = form.find(f.path[:i])
        if group is not None and group.repeat and group.person is None:
            return "not_attempted"
    return "no_value"

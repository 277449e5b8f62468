"""The trimming report: how many of an official form's fields a citizen still types.

The directive asks every procedure to cut at least 20% of the fields a citizen types by reusing
data the state already holds. The baseline is the official paper form: the fields on the e-form
that are marked official, plus the official fields the e-form dropped (derived by the service,
replaced by the electronic signature...). A field the e-form adds (``official: false``) counts
against the reduction when the citizen must type it, so adding fields can never look like
trimming.
"""

from __future__ import annotations

from typing import Any

from forms import registers
from forms.model import DROP_REASONS, FormDefinition

TARGET_PERCENT = 20.0


def trimming_report(form: FormDefinition) -> dict[str, Any]:
    fields: list[dict[str, Any]] = []
    typed = prefilled = verified = official = added = 0
    for section, f in form.leaves():
        row: dict[str, Any] = {
            "path": "/" + "/".join(f.path),
            "label": f.label,
            "section": section.title,
            "official": f.official,
            "conditional": f.when is not None,
        }
        official += f.official
        added += not f.official
        if f.prefill:
            found = registers.lookup(f.prefill.record)
            row["status"] = f.prefill.mode
            row["record"] = f.prefill.record
            row["source"] = found[0].title if found else None
            person = _person_of(form, f.path)
            if person:
                row["person"] = person
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
    baseline = official + len(dropped)
    reduction = round(100.0 * (baseline - typed) / baseline, 1) if baseline else 0.0
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
            "dropped": len(dropped),
        },
        "reduction_percent": reduction,
        "target_percent": TARGET_PERCENT,
        "meets_target": meets,
        "verdict": verdict,
        "fields": fields,
        "dropped": dropped,
    }


def actual_reduction(form: FormDefinition, filled: set[tuple[str, ...]],
                     missing: list[dict[str, Any]]) -> dict[str, Any]:
    """The reduction one citizen actually gets: ``filled`` holds the paths of the fields
    prefill filled for them; ``missing`` the bound fields it could not fill, and why."""
    typed = official = 0
    for _, f in form.leaves():
        official += f.official
        typed += f.path not in filled
    baseline = official + len(form.dropped)
    reduction = round(100.0 * (baseline - typed) / baseline, 1) if baseline else 0.0
    meets = reduction >= TARGET_PERCENT
    gaps = sorted({(m["register"], m["person"], m["reason"]) for m in missing})
    verdict = (f"Với người dân này: giảm {reduction}% số trường phải nhập"
               + (" – đạt mục tiêu." if meets else " – CHƯA ĐẠT mục tiêu 20%."))
    if gaps and not meets:
        verdict += " Thiếu dữ liệu: " + "; ".join(
            f"{registers.REGISTERS[r].title} ({who}: {_REASONS[why]})" for r, who, why in gaps)
    return {
        "counts": {"official_fields": baseline, "typed": typed,
                   "prefilled": len(filled)},
        "reduction_percent": reduction,
        "meets_target": meets,
        "verdict": verdict,
        "missing": [{"register": r, "register_title": registers.REGISTERS[r].title,
                     "person": who, "reason": why} for r, who, why in gaps],
    }


_REASONS = {
    "no_linked_person": "sổ sách không ghi nhận người này liên kết với người kê khai",
    "no_record": "không có bản ghi",
    "several_records": "có nhiều bản ghi, không xác định được bản ghi nào",
    "source_failed": "nguồn dữ liệu không trả lời",
}


def _person_of(form: FormDefinition, path: tuple[str, ...]) -> dict[str, Any] | None:
    """The linked person whose records fill the field: the innermost group or section bound
    to one; None means the declarant."""
    person = None
    for section in form.sections:
        if section.id == path[0]:
            person = section.person
    for i in range(2, len(path)):
        group = form.find(path[:i])
        if group is not None and group.person is not None:
            person = group.person
    if person is None:
        return None
    return {"relation": list(person.relations),
            "label": " hoặc ".join(registers.PERSONS[r] for r in person.relations)
            + {"nam": " (nam)", "nu": " (nữ)"}.get(person.sex or "", ""),
            **({"sex": person.sex} if person.sex else {})}

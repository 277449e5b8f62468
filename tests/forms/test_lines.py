"""Problems at their lines (forms/lines.py) and two versions compared (forms/comparison.py)."""

from __future__ import annotations

import pytest

from forms.comparison import compare, text_diff
from forms.language import DefinitionError, parse_text
from forms.lines import lines_of, node_line, replace_top_level, steps

TEXT = """\
# a comment
id: to-khai-thu
version: 1
title: Tờ khai thử
legal_basis: Thông tư
procedure_code: local.thu
agency_level: commune
sections:
  - id: nguoi
    title: Người yêu cầu
    fields:
      - {id: ho_ten, type: text, label: Họ tên}
      - id: ngay_sinh
        type: ngay
        label: Ngày sinh
      - id: dia_chi
        type: address
        labl: Địa chỉ
"""


def problems(text: str) -> dict[str, int | None]:
    with pytest.raises(DefinitionError) as refused:
        parse_text(text, "thu.yaml")
    return lines_of(text, [p.path for p in refused.value.problems])


def test_steps_of_a_path() -> None:
    assert steps("sections[0].fields[12].prefill.record") == [
        "sections", 0, "fields", 12, "prefill", "record"]
    assert steps("id") == ["id"] and steps("") == []


def test_every_problem_of_the_language_is_at_its_line() -> None:
    found = problems(TEXT)
    assert found == {
        "sections[0].fields[1].type": 14,  # the unknown type's own line
        "sections[0].fields[2].labl": 18,  # the unknown key
        "sections[0].fields[2].label": 16,  # missing: the item that lacks it
    }


def test_paths_past_the_text_and_the_whole_document() -> None:
    found = lines_of(TEXT, ["", "dropped", "dropped[0].reason", "sections[0].fields[9]",
                            "sections[0].title", "sections[0]", "version"])
    assert found == {"": None, "dropped": None, "dropped[0].reason": None,
                     "sections[0].fields[9]": 11, "sections[0].title": 10,
                     "sections[0]": 9, "version": 3}


def test_a_flow_mapping_is_on_its_one_line() -> None:
    assert lines_of(TEXT, ["sections[0].fields[0].label"]) == {
        "sections[0].fields[0].label": 12}


def test_unreadable_text_is_at_the_line_the_reader_gives() -> None:
    broken = TEXT.replace("title: Tờ khai thử", "title: [Tờ khai thử")
    with pytest.raises(DefinitionError) as refused:
        parse_text(broken, "thu.yaml")
    [problem] = refused.value.problems
    line = lines_of(broken, [problem.path])[problem.path]
    assert line is not None and 4 <= line <= 6, problem.path
    assert node_line(None, "line 7, column 3") == 7


def test_a_json_definition_too() -> None:
    text = '{\n  "id": "to-khai-thu",\n  "sections": [\n    {"id": "a",\n     "fields": []}\n  ]\n}'
    assert lines_of(text, ["sections[0].fields", "id"]) == {"sections[0].fields": 5, "id": 2}


def test_hostile_text_is_not_composed() -> None:
    aliases = "a: &x [1, 2]\nb: *x\n"
    assert lines_of(aliases, ["b"]) == {"b": None}
    deep = "[" * 10_000 + "]" * 10_000
    assert lines_of(deep, ["x"]) == {"x": None}


def test_the_version_is_replaced_keeping_comments_and_layout() -> None:
    changed = replace_top_level(TEXT, "version", "7")
    assert changed == TEXT.replace("version: 1", "version: 7")
    assert replace_top_level(TEXT, "missing", "1") is None
    assert replace_top_level("- 1\n", "version", "2") is None


VALID = TEXT.replace("type: ngay", "type: date").replace("labl:", "label:")


def test_two_versions_compared() -> None:
    a = parse_text(VALID, "a.yaml")
    b = parse_text(VALID.replace("version: 1", "version: 2")
                   .replace("label: Ngày sinh", "label: Ngày, tháng, năm sinh")
                   .replace("      - {id: ho_ten, type: text, label: Họ tên}\n",
                            "      - {id: dien_thoai, type: phone, label: Điện thoại}\n")
                   .replace("title: Tờ khai thử", "title: Tờ khai thử mới"), "b.yaml")
    found = {(c.kind, c.path): c for c in compare(a, b)}
    assert set(found) == {("changed", "title"), ("added", "nguoi/dien_thoai"),
                          ("changed", "nguoi/ngay_sinh"), ("removed", "nguoi/ho_ten")}
    assert found[("changed", "nguoi/ngay_sinh")].what == ("label",)
    assert found[("removed", "nguoi/ho_ten")].label == "Họ tên"
    assert compare(a, a) == []


def test_a_line_diff() -> None:
    old = "a\nb\nc\nd\n"
    new = "a\nB\nc\nd\ne\n"
    diff = text_diff(old, new, context=1)
    kinds = [(d.kind, d.text, d.old, d.new) for d in diff]
    assert kinds[0][0] == "hunk"
    assert ("remove", "b", 2, None) in kinds and ("add", "B", None, 2) in kinds
    assert ("add", "e", None, 5) in kinds and ("context", "c", 3, 3) in kinds
    assert text_diff(old, old) == []

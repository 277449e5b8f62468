"""Form definitions are bounded while they are read (issue #10, finding 11): bytes, nodes,
nesting and the number of problems listed, so that 500 KB of hostile YAML is refused in a
fraction of a second instead of costing a worker 11 to 14 s and a 48 MB answer."""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest

from forms.language import (
    MAX_DEFINITION_BYTES,
    MAX_NESTING,
    MAX_NODES,
    MAX_PROBLEMS,
    DefinitionError,
    load_document,
)
from service.catalogue import CATALOGUE_DIR

YAML = {"Content-Type": "application/yaml"}
JSON = {"Content-Type": "application/json"}
HEAD = """id: {id}
version: 1
title: Tờ khai lớn
legal_basis: Thông tư thử nghiệm 01/2026
procedure_code: "1.000001"
agency_level: commune
"""
#: what a refusal may cost; the review measured 11 to 14 s for these documents before the fix
QUICK = 2.0


def head(form_id: str | None = None) -> str:
    return HEAD.format(id=form_id or f"mau-lon-{uuid.uuid4().hex[:8]}")


def fill(prefix: str, line: str, suffix: str = "", size: int = 500 * 1024) -> str:
    """``prefix`` followed by ``line`` repeated up to ``size`` bytes, then ``suffix``."""
    room = size - len(prefix.encode()) - len(suffix.encode())
    return prefix + line * (room // len(line.encode())) + suffix


def codes_of(text: str, fmt: str = "yaml") -> list[str]:
    with pytest.raises(DefinitionError) as info:
        load_document(text, f"x.{fmt}", fmt)
    return [p.code for p in info.value.problems]


def post(client, body: str, headers: dict[str, str]):
    start = time.perf_counter()
    resp = client.post("/api/v1/forms", data=body.encode(), headers=headers)
    return resp, time.perf_counter() - start


# -- the HTTP answer --------------------------------------------------------------------------

@pytest.mark.parametrize("shape", ["block list", "flow list", "flow mappings"])
def test_500_kb_of_yaml_is_refused_quickly_and_briefly(client, designer, shape: str) -> None:
    body = {
        "block list": fill(head() + "sections:\n", "  - 1\n"),
        "flow list": fill(head() + "sections: [", "1,", "1]\n"),
        "flow mappings": fill(head() + "dropped: [", "{a: 1},", "{}]\n"),
    }[shape]
    assert 480 * 1024 < len(body.encode()) <= MAX_DEFINITION_BYTES
    resp, took = post(client, body, {**designer, **YAML})
    assert resp.status_code == 422, resp.get_json()
    problem = resp.get_json()
    assert problem["code"] == "definition_invalid"
    assert [e["code"] for e in problem["errors"]] == ["too_many_nodes"]
    assert re.fullmatch(r"line \d+, column \d+", problem["errors"][0]["path"])
    assert took < QUICK, f"{took:.2f}s"
    assert len(resp.data) < 10_000  # not one problem per node (48 MB before)


def test_a_definition_over_the_byte_limit_is_413(client, designer) -> None:
    body = fill(head() + "description: ", "x", "\n", size=MAX_DEFINITION_BYTES + 1)
    resp, took = post(client, body, {**designer, **YAML})
    assert resp.status_code == 413
    assert resp.get_json()["code"] == "too_large"
    assert took < QUICK


def test_too_many_nodes_in_json_is_refused(client, designer) -> None:
    body = json.dumps({"id": "mau-json", "sections": [1] * (MAX_NODES + 1)})
    resp, took = post(client, body, {**designer, **JSON})
    assert resp.status_code == 422
    assert [e["code"] for e in resp.get_json()["errors"]] == ["too_many_nodes"]
    assert took < QUICK


def test_deep_yaml_is_refused(client, designer) -> None:
    # JSON bodies are refused deeper than TOKHAI_MAX_JSON_DEPTH at the door, before the view
    depth = MAX_NESTING + 5  # deep enough to be refused, not to reach Python's recursion limit
    body = head() + "sections: " + "[" * depth + "]" * depth + "\n"
    resp, _ = post(client, body, {**designer, **YAML})
    assert resp.status_code == 400
    assert resp.get_json()["code"] == "too_deep"


def test_a_billion_laughs_is_refused_quickly(client, designer) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    resp, took = post(client, head() + "\n".join(lines) + "\n", {**designer, **YAML})
    assert resp.status_code == 400
    problem = resp.get_json()
    assert problem["code"] == "malformed"
    assert "bí danh" in problem["errors"][0]["message"]
    assert took < QUICK


def test_problems_listed_are_bounded(client, designer) -> None:
    fields = "".join(f"      - {{id: F{i}, type: text, label: Trường {i}}}\n" for i in range(1000))
    body = head() + "sections:\n  - id: a\n    title: A\n    fields:\n" + fields
    resp, took = post(client, body, {**designer, **YAML})
    assert resp.status_code == 422
    errors = resp.get_json()["errors"]
    assert len(errors) == MAX_PROBLEMS + 1
    assert errors[-1]["code"] == "too_many_problems"
    counted = re.search(r"\d+", errors[-1]["message"])
    assert counted is not None, errors[-1]["message"]
    unlisted = int(counted.group())
    assert unlisted >= 1000 - MAX_PROBLEMS  # the ones not listed are counted
    assert took < QUICK


def test_choice_fields_cannot_multiply_their_code_lists(client, designer) -> None:
    """Within every other limit (160 KB, 399 fields, lists of 1000 codes), a form whose choice
    fields all offer the largest lists compiled to an 18 MB schema in 2.5 s: refused."""
    codes = "\n".join(f"    - {{code: m{i}, label: Mục {i}}}" for i in range(1000))
    lists = "code_lists:\n" + "".join(f"  ds{n}:\n{codes}\n" for n in range(3))
    fields = "".join(f"      - {{id: c{i}, type: choice, label: Chọn {i}, codes: ds{i % 3}}}\n"
                     for i in range(399))
    body = head() + lists + "sections:\n  - id: s\n    title: Phần\n    fields:\n" + fields
    resp, took = post(client, body, {**designer, **YAML})
    assert resp.status_code == 422, resp.get_json()
    assert [e["code"] for e in resp.get_json()["errors"]] == ["too_many_choices"]
    assert took < QUICK


def test_the_largest_catalogue_form_is_answered_quickly(client, designer) -> None:
    largest = max(CATALOGUE_DIR.glob("*.yaml"), key=lambda p: p.stat().st_size)
    form_id = f"mau-lon-{uuid.uuid4().hex[:8]}"
    body = re.sub(r"^id: .*$", f"id: {form_id}", largest.read_text(), count=1, flags=re.M)
    resp, took = post(client, body, {**designer, **YAML})
    assert resp.status_code == 201, resp.get_json()
    assert took < 1.0, f"{took:.2f}s"


# -- the limits, exactly ----------------------------------------------------------------------

def flow_list(count: int) -> str:
    """A mapping holding one list of ``count`` scalars: ``count + 3`` nodes."""
    return "a: [" + ", ".join(["0"] * count) + "]\n"


def test_the_node_limit_is_exact_in_yaml_and_json() -> None:
    at_limit = MAX_NODES - 3
    assert load_document(flow_list(at_limit), "x.yaml")["a"] == [0] * at_limit
    assert codes_of(flow_list(at_limit + 1)) == ["too_many_nodes"]
    assert load_document(json.dumps({"a": [0] * at_limit}), "x.json")["a"] == [0] * at_limit
    assert codes_of(json.dumps({"a": [0] * (at_limit + 1)}), "json") == ["too_many_nodes"]


def test_the_nesting_limit_is_exact_in_yaml_and_json() -> None:
    inner = MAX_NESTING - 1  # the top mapping is the first level
    assert load_document("a: " + "[" * inner + "]" * inner, "x.yaml")
    assert codes_of("a: " + "[" * (inner + 1) + "]" * (inner + 1)) == ["too_deep"]
    assert load_document('{"a": ' + "[" * inner + "]" * inner + "}", "x.json")
    assert codes_of('{"a": ' + "[" * (inner + 1) + "]" * (inner + 1) + "}", "json") == [
        "too_deep"]


def test_very_deep_yaml_is_refused_without_recursion() -> None:
    depth = 200_000  # 400 KB of brackets: far past any recursion limit
    start = time.perf_counter()
    assert codes_of("a: " + "[" * depth + "]" * depth) == ["too_deep"]
    assert time.perf_counter() - start < QUICK


def test_an_alias_is_refused_where_it_is() -> None:
    with pytest.raises(DefinitionError) as info:
        load_document("a: &x [1]\nb: *x\n", "x.yaml")
    (problem,) = info.value.problems
    assert (problem.code, problem.path) == ("malformed", "line 2, column 4")

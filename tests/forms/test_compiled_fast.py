"""The cached validator's fast paths (forms.compiled) take the code lists as the compiler now
writes them (``{"enum": [code], "title"}`` options: nationality, provinces, communes, a place's
kinds) by set membership, with the verdicts of jsonschema's own validator."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from forms.compiled import CompiledForm
from forms.compiler import compile_schema, compile_ui_schema
from forms.language import parse_text

DEFINITION = """
id: thu-nhanh
version: 1
title: Tờ khai thử kiểm tra nhanh
legal_basis: Thông tư thử nghiệm 01/2026
procedure_code: "1.000003"
agency_level: commune
sections:
  - id: a
    title: Phần A
    fields:
      - {id: quoc_tich, type: choice, codes: nationality, label: Quốc tịch}
      - {id: noi_o, type: address, label: Nơi ở}
      - {id: noi_sinh, type: place, label: Nơi sinh}
      - {id: noi_khac, type: place, label: Nơi khác}
"""


@pytest.fixture(scope="module")
def compiled() -> CompiledForm:
    form = parse_text(DEFINITION, "thu-nhanh.yaml")
    return CompiledForm(form, compile_schema(form), compile_ui_schema(form))


def valid() -> dict[str, Any]:
    return {"a": {"quoc_tich": "VN", "noi_o": {"province": "79", "commune": "25747"},
                  "noi_sinh": {"kind": "abroad", "country": "FR"},
                  "noi_khac": {"kind": "current", "province": "01", "commune": "00004"}}}


WRONG = [
    ("quoc_tich", "XX"), ("quoc_tich", 7), ("noi_o", {"province": "01", "commune": "25747"}),
    ("noi_o", {"province": "99", "commune": "25747"}),
    ("noi_sinh", {"kind": "abroad", "country": "VN"}),
    ("noi_sinh", {"kind": "moon", "country": "FR"}),
    ("noi_sinh", {"kind": "former", "text": "Hà Tây", "country": "FR"}),
    ("noi_khac", {"kind": "current", "province": "79", "commune": "00004"}),
]


@pytest.fixture()
def standard_one_of_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many options each oneOf the standard keyword checked a string against had."""
    calls: list[int] = []
    standard = Draft202012Validator.VALIDATORS["oneOf"]

    def counting(validator, subschemas, instance, schema):
        if isinstance(instance, str):
            calls.append(len(subschemas))
        yield from standard(validator, subschemas, instance, schema)

    monkeypatch.setitem(Draft202012Validator.VALIDATORS, "oneOf", counting)
    return calls


def verdict(validator: Any, data: Any) -> list[tuple[list[str], str, str]]:
    return sorted((list(map(str, e.absolute_path)), str(e.validator), str(e.instance))
                  for e in validator.iter_errors(data))


@pytest.mark.parametrize(("field", "value"), [(None, None), *WRONG])
def test_code_lists_are_checked_by_membership_with_the_standard_verdicts(
        compiled: CompiledForm, standard_one_of_calls: list[int], field: str | None,
        value: Any) -> None:
    data = valid()
    if field is not None:
        data["a"][field] = copy.deepcopy(value)
    ours = verdict(compiled.validator, data)
    assert standard_one_of_calls == []  # no code list was tried option by option
    reference = Draft202012Validator(compiled.schema, format_checker=FormatChecker())
    assert ours == verdict(reference, data)
    assert bool(ours) == (field is not None)

"""A compiled form version: its JSON Schema, UI schema and a ready validator, built once.

Building a validator (checking the schema, resolving references, compiling patterns) costs far
more than using one, so compiled forms are cached by form id, version and the digest of the
definition: a published version never changes, and a draft that changes gets a new digest.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from jsonschema.protocols import Validator

from forms.compiler import compile_schema, compile_ui_schema, to_draft07
from forms.model import FormDefinition
from forms.trimming import trimming_report

_FORMATS = FormatChecker()
CACHE_SIZE = 256


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class CompiledForm:
    definition: FormDefinition
    schema: dict[str, Any]
    ui_schema: dict[str, Any]

    @cached_property
    def schema_etag(self) -> str:
        return sha256_hex(canonical_json(self.schema))[:32]

    @cached_property
    def ui_schema_etag(self) -> str:
        return sha256_hex(canonical_json(self.ui_schema))[:32]

    @cached_property
    def draft07(self) -> dict[str, Any]:
        return to_draft07(self.schema)

    @cached_property
    def validator(self) -> Validator:
        return _validator_class()(self.schema, format_checker=_FORMATS)

    @cached_property
    def trimming_report(self) -> dict[str, Any]:
        return trimming_report(self.definition)

    def errors(self, data: Any) -> list[dict[str, str]]:
        """Every error at once, each with a JSON pointer to the offending value."""
        out = []
        for e in sorted(self.validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
            pointer = "".join(f"/{p}" for p in e.absolute_path)
            out.append({"field": pointer or "/", "keyword": str(e.validator),
                        "message": e.message})
        return out


def _string_set(items: Any, key: str | None) -> frozenset[str] | None:
    """The strings of a code list (``oneOf`` options ``[{"enum": [code], "title"}...]``, or
    ``{"const", "title"}`` as older schemas have them; or an enum), or None when the list is
    not made only of distinct strings (then the standard keyword applies)."""
    if key is not None:
        codes = [_option_code(s) for s in items] if isinstance(items, list) else [None]
        if any(c is None for c in codes):
            return None
        items = codes
    if not all(isinstance(v, str) for v in items) or len(set(items)) != len(items):
        return None
    return frozenset(items)


def _option_code(option: Any) -> Any:
    """The one value an option ``{"const": v, "title"?}`` or ``{"enum": [v], "title"?}``
    allows (None when it is not such an option)."""
    if not isinstance(option, dict):
        return None
    if set(option) <= {"const", "title"} and "const" in option:
        return option["const"]
    if set(option) <= {"enum", "title"} and isinstance(option.get("enum"), list) \
            and len(option["enum"]) == 1:
        return option["enum"][0]
    return None


def _validator_class() -> type[Validator]:
    """Draft 2020-12 with ``oneOf``/``enum`` over code lists checked by set membership.

    A code list of 249 nationalities compiles to a ``oneOf`` of 249 one-code branches
    (``{"enum": [code], "title"}``), which the standard implementation tries one by one. When
    every branch allows exactly one distinct string and the value is a string, membership in
    the set of codes gives exactly the same verdict: at most one branch can match. Anything
    else falls back to the standard keyword. The memo lives with the validator, keyed by the
    identity of the list in the schema the validator holds, so it cannot outlive that schema.
    """
    memo: dict[int, tuple[Any, frozenset[str] | None]] = {}
    standard = Draft202012Validator.VALIDATORS

    def lookup(items: Any, key: str | None) -> frozenset[str] | None:
        entry = memo.get(id(items))
        if entry is None or entry[0] is not items:
            entry = (items, _string_set(items, key))
            memo[id(items)] = entry
        return entry[1]

    def one_of(validator, subschemas, instance, schema):
        codes = lookup(subschemas, "const") if isinstance(instance, str) else None
        if codes is None:
            yield from standard["oneOf"](validator, subschemas, instance, schema)
        elif instance not in codes:
            yield ValidationError(f"{instance!r} is not valid under any of the given schemas")

    def enum(validator, enums, instance, schema):
        codes = lookup(enums, None) if isinstance(instance, str) else None
        if codes is None:
            yield from standard["enum"](validator, enums, instance, schema)
        elif instance not in codes:
            yield ValidationError(f"{instance!r} is not one of {enums!r}")

    def all_of(validator, subschemas, instance, schema):
        entry = memo.get(id(subschemas))
        if entry is None or entry[0] is not subschemas:
            entry = (subschemas, _switch(subschemas))
            memo[id(subschemas)] = entry
        switch = entry[1]
        if switch is None or not isinstance(instance, dict):
            yield from standard["allOf"](validator, subschemas, instance, schema)
            return
        key, required, branches = switch
        value = instance.get(key)
        if isinstance(value, str) and all(k in instance for k in required):
            found = branches.get(value)
            if found is not None:
                index, then = found
                yield from validator.descend(instance, then, schema_path=index)

    return validators.extend(Draft202012Validator,
                             {"oneOf": one_of, "enum": enum, "allOf": all_of})


def _switch(subschemas: Any) -> Any:
    """``(key, required, {const: (index, then)})`` when ``subschemas`` is a list of
    ``{"if": {"properties": {key: {"const": c}}, "required": R}, "then": T}`` with one key,
    one R containing the key, and distinct string constants: a switch on ``instance[key]``.

    For an object holding every key of R with a string at ``key``, at most the branch whose
    constant equals that string has a true ``if``; for any other object every ``if`` is false.
    So evaluating that one ``then`` gives the verdict of the whole ``allOf``; non-objects take
    the standard path. The address schema's commune-in-province rule has this shape.
    """
    if not isinstance(subschemas, list) or len(subschemas) < 2:
        return None
    key = required = None
    branches: dict[str, tuple[int, Any]] = {}
    for index, sub in enumerate(subschemas):
        if not isinstance(sub, dict) or set(sub) != {"if", "then"}:
            return None
        cond = sub["if"]
        if not isinstance(cond, dict) or set(cond) != {"properties", "required"}:
            return None
        props = cond["properties"]
        if not isinstance(props, dict) or len(props) != 1:
            return None
        (k, test), = props.items()
        if not isinstance(test, dict) or set(test) != {"const"} or \
                not isinstance(test["const"], str):
            return None
        req = tuple(cond["required"])
        if key is None:
            key, required = k, req
        if k != key or req != required or k not in req or test["const"] in branches:
            return None
        branches[test["const"]] = (index, sub["then"])
    return key, required, branches


_cache: OrderedDict[tuple[str, int, str], CompiledForm] = OrderedDict()
_cache_lock = threading.Lock()


def compile_form(form_id: str, version: int, digest: str,
                 load: Callable[[], FormDefinition]) -> CompiledForm:
    """The compiled form for a version whose definition has the given digest: from the cache
    when it was compiled before, else ``load()``-ed and compiled now."""
    key = (form_id, version, digest)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    definition = load()
    compiled = CompiledForm(definition, compile_schema(definition),
                            compile_ui_schema(definition))
    with _cache_lock:
        _cache[key] = compiled
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return compiled

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
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
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
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

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
        return Draft202012Validator(self.schema, format_checker=_FORMATS)

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

"""JSON pointers into form data (RFC 6901): the one walker every part of tokhai uses.

A pointer is ``""`` (the whole document) or ``/`` followed by reference tokens separated by
``/``; ``~1`` stands for ``/`` and ``~0`` for ``~`` inside a token. A token selects a member
of an object, or the item of an array at a decimal index (``0``, ``12``, never ``012``).
Anything else (a missing member, an index past the end, ``-``, a token on a string or a
number) finds nothing: ``get`` returns its default, it never raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

_INDEX = re.compile(r"0|[1-9][0-9]*")
_MISSING = object()


def parse(pointer: str) -> list[str]:
    """The reference tokens of a pointer, unescaped. Raises ValueError for a pointer that
    neither is empty nor starts with ``/``."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"a JSON pointer starts with '/': {pointer!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def join(tokens: Iterable[Any]) -> str:
    """The pointer of these tokens (``("a", 0, "b")`` gives ``/a/0/b``)."""
    return "".join(f"/{escape(str(t))}" for t in tokens)


def step(node: Any, token: str, default: Any = None) -> Any:
    """One token down from ``node``: an object's member or an array's item."""
    if isinstance(node, dict):
        return node.get(token, default)
    if isinstance(node, list) and _INDEX.fullmatch(token) and int(token) < len(node):
        return node[int(token)]
    return default


def walk(data: Any, tokens: Iterable[str], default: Any = None) -> Any:
    """The value the tokens lead to, or ``default``."""
    node = data
    for token in tokens:
        node = step(node, token, _MISSING)
        if node is _MISSING:
            return default
    return node


def get(data: Any, pointer: str, default: Any = None) -> Any:
    """The value at ``pointer`` in ``data``, or ``default`` when there is none."""
    return walk(data, parse(pointer), default)


def each(data: Any, tokens: Iterable[str], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every value a field's path (tokens without indices) reaches, with its pointer: where
    the path meets an array (a repeated group), each item is followed in turn."""
    tokens = list(tokens)
    if not tokens:
        yield prefix or "", data
        return
    if isinstance(data, list):
        for i, item in enumerate(data):
            yield from each(item, tokens, f"{prefix}/{i}")
        return
    if isinstance(data, dict) and tokens[0] in data:
        yield from each(data[tokens[0]], tokens[1:], f"{prefix}/{escape(tokens[0])}")

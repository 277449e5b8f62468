"""Where a problem is in the text a designer wrote: the line of a path.

The form language reports every problem at a path inside the definition
(``sections[0].fields[3].type``, ``dropped[1].reason``, ``id``), or, when the text cannot be
read, at ``line 3, column 5``. A designer editing the text needs the line: :func:`lines_of`
composes the YAML (or JSON) once into nodes, which carry their position, and follows each path
down to the node it names. A path that goes further than the text (a key that is missing) ends
at the deepest node that exists, the mapping the key should be in.

Pure: no I/O, nothing of the service.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import yaml

from forms.language import _YAML_LOADER, DefinitionError, _scan_yaml

_AT = re.compile(r"^line (\d+)(?:, column \d+)?$")
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def steps(path: str) -> list[str | int]:
    """The keys and indexes of a problem's path: ``sections[0].fields`` -> sections, 0,
    fields."""
    out: list[str | int] = []
    for key, index in _STEP.findall(path):
        out.append(int(index) if index else key)
    return out


def compose(text: str) -> Any | None:
    """The YAML nodes of ``text`` (a JSON text is YAML too), or None when the text cannot be
    read within the form language's limits (no aliases, node count, nesting)."""
    try:
        _scan_yaml(text, "")
        loader = _YAML_LOADER(text)
        try:
            return loader.get_single_node()
        finally:
            loader.dispose()
    except (DefinitionError, yaml.YAMLError, RecursionError):
        return None


def _line(node: Any) -> int:
    return int(node.start_mark.line) + 1


def node_line(root: Any, path: str) -> int | None:
    """The line (1-based) of ``path`` in the composed ``root``: a mapping entry's key line, a
    list item's first line; for a path that goes past the text, the line of the deepest node
    on the way; None for the empty path (the whole definition) and for a top-level key that
    is not there."""
    if not path:
        return None
    found = _AT.match(path)
    if found:
        return int(found.group(1))
    if root is None:
        return None
    node, line = root, None
    for step in steps(path):
        if isinstance(node, yaml.MappingNode) and isinstance(step, str):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == step:
                    node, line = value, _line(key)
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            if step >= len(node.value):
                return line
            node = node.value[step]
            line = _line(node)
        else:
            return line
    return line


def lines_of(text: str, paths: Iterable[str]) -> dict[str, int | None]:
    """The line of each path in ``text`` (composed once)."""
    wanted = list(paths)
    needs_nodes = any(p and not _AT.match(p) for p in wanted)
    root = compose(text) if needs_nodes else None
    return {p: node_line(root, p) for p in wanted}


def replace_top_level(text: str, key: str, value: str) -> str | None:
    """``text`` with the scalar value of the top-level ``key`` replaced by ``value`` (written
    as it is), comments and layout kept; None when there is no such scalar."""
    root = compose(text)
    if not isinstance(root, yaml.MappingNode):
        return None
    for k, v in root.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key and isinstance(v, yaml.ScalarNode):
            start, end = v.start_mark.index, v.end_mark.index
            return text[:start] + value + text[end:]
    return None

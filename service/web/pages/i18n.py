"""The pages' translations: extraction of the Vietnamese strings and the English catalogues.

Each area of pages keeps its English catalogue in ``i18n/<area>/en/LC_MESSAGES/messages.po``
(Flask-Babel merges them); ``make translations`` compiles them to ``.mo``, and the tests check
that every string of the pages has an English translation and that every ``.mo`` is compiled
from its ``.po``."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
METHODS = [("service/web/pages/**.py", "python"),
           ("service/web/pages/templates/**.html", "jinja2")]


def source_strings() -> Iterator[tuple[str, str, int]]:
    """(message, file, line) of every translatable string of the pages."""
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), METHODS, options_map={"**.html": {"extensions": "jinja2.ext.i18n"}}):
        for text in (message if isinstance(message, tuple) else (message,)):
            if text:
                yield text, filename, lineno


def catalogues() -> dict[Path, Catalog]:
    """Every area's English catalogue, by the path of its ``.po``."""
    found = {}
    for po in sorted(HERE.glob("i18n/*/en/LC_MESSAGES/messages.po")):
        with po.open("rb") as f:
            found[po] = read_po(f, locale="en")
    return found


def compiled(catalogue: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalogue)
    return out.getvalue()


def compile_all() -> list[Path]:
    """Write each ``.mo`` from its ``.po``; the paths written."""
    written = []
    for po, catalogue in catalogues().items():
        mo = po.with_suffix(".mo")
        data = compiled(catalogue)
        if not mo.exists() or mo.read_bytes() != data:
            mo.write_bytes(data)
            written.append(mo)
    return written


def missing() -> list[tuple[str, str, int]]:
    """The pages' strings with no English translation in any area's catalogue."""
    translated = {m.id for c in catalogues().values() for m in c
                  if m.id and (m.string if isinstance(m.string, str) else all(m.string or ()))}
    return [(text, f, n) for text, f, n in source_strings() if text not in translated]


def conflicts() -> dict[str, dict[str, str]]:
    """Strings two areas translate differently: Flask-Babel merges the catalogues, so only
    one of the translations would ever be shown, whichever merged last."""
    by_id: dict[str, dict[str, str]] = {}
    for po, catalogue in catalogues().items():
        for m in catalogue:
            if m.id and isinstance(m.id, str):
                by_id.setdefault(m.id, {})[po.parts[-4]] = str(m.string)
    return {k: v for k, v in by_id.items() if len(set(v.values())) > 1}


if __name__ == "__main__":
    for path in compile_all():
        print(f"compiled {path.relative_to(ROOT)}")
    for text, f, n in missing():
        print(f"untranslated: {f}:{n}: {text}")
    for text, areas in conflicts().items():
        print(f"translated differently: {text!r}: {areas}")

"""The sandbox's fork server preloads the PDF import's modules, so that a new child does not
import them on its first import (half a second each time a child is replaced)."""

from __future__ import annotations

import sys

from service.pki import sandbox

IMPORT_MODULES = ["service.imports", "forms.imports.draft", "forms.imports.reader",
                  "pdfplumber", "pypdfium2"]


def loaded(names: list[str]) -> list[str]:
    """The job: which of ``names`` the child had imported before it ran."""
    return [name for name in names if name in sys.modules]


def test_a_new_child_starts_with_the_import_modules_loaded() -> None:
    box = sandbox.Sandbox(max_children=1)
    try:
        got = box.run(loaded, IMPORT_MODULES, budget=sandbox.Budget(30.0, 512 * 1024 * 1024))
    finally:
        box.close()
    assert got == IMPORT_MODULES

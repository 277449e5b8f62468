"""The test tree mirrors the source tree without shadowing it: every test folder is a package
under ``tests``, so ``tests/service/`` is ``tests.service`` and ``service`` is the real one."""

from __future__ import annotations

import sys
from pathlib import Path

import service

ROOT = Path(__file__).resolve().parents[1]


def test_service_is_the_real_package() -> None:
    assert Path(service.__file__).resolve() == ROOT / "service" / "__init__.py"
    assert sys.modules[__name__].__name__ == "tests.test_tree"


def test_every_test_folder_is_a_package() -> None:
    folders = {p.parent for p in (ROOT / "tests").rglob("test_*.py")}
    assert folders and all((f / "__init__.py").exists() for f in folders)
    for f in folders:  # and every folder above it, up to tests/
        for parent in f.relative_to(ROOT).parents[:-1]:
            assert (ROOT / parent / "__init__.py").exists(), parent

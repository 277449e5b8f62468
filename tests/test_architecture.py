"""The layers of docs/architecture.md hold: the import-linter contracts in pyproject.toml,
schemas/ importing only plain-data modules of service/, and imports without side effects."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grimp
import importlinter  # noqa: F401 - the contracts' checker: fails loudly when missing
import pytest

import service

ROOT = Path(__file__).resolve().parent.parent

#: the modules of service/ that schemas/ may import: plain data, importing nothing heavy
SCHEMAS_MAY_IMPORT = {"service.dossiers.states", "service.pki.levels",
                      "service.records.templates"}

#: modules that work with pyHanko (signing, verifying, parsing PDFs under its limits); every
#: other module of service/ outside the web layer and the CLI must not load it
USES_PYHANKO = {
    "service.pki.config", "service.pki.timestamps", "service.pki.signer",
    "service.pki.validation", "service.pki.pdfhex", "service.pki.pdflimits",
    "service.records.digitised", "service.results.issuance",
}
#: the application factory and the command line may load Flask (and everything)
WEB = ("service.web", "service.cli")


def test_the_import_contracts_hold() -> None:
    # in a child process: import-linter configures logging, which would silence the loggers
    # the other tests read
    code = ("import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True))")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "pyproject.toml")], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_schemas_import_only_plain_data_modules_of_service() -> None:
    graph = grimp.build_graph("schemas", "service", cache_dir=None)
    imported = {m for s in graph.find_children("schemas") | {"schemas"}
                for m in graph.find_modules_directly_imported_by(s)
                if m.startswith("service")}
    assert imported <= SCHEMAS_MAY_IMPORT | {"service", "service.dossiers", "service.pki",
                                             "service.records"}, imported
    for module in SCHEMAS_MAY_IMPORT:
        below = graph.find_upstream_modules(module)
        assert not below, f"{module} imports {below}: plain-data modules import nothing"


def _modules() -> list[str]:
    names = ["service"]
    for info in pkgutil.walk_packages(service.__path__, "service."):
        if not info.name.startswith(WEB) and not info.name.endswith("__main__"):
            names.append(info.name)
    return sorted(names)


_PROBE = """
import json, sys, importlib
importlib.import_module(sys.argv[1])
patched = []
if "pyhanko.pdf_utils.generic" in sys.modules:
    from pyhanko.pdf_utils import generic
    if generic.read_hex_string_from_stream.__module__ != "pyhanko.pdf_utils.generic":
        patched.append("pyhanko hex reader")
if "fpdf.output" in sys.modules:
    import fpdf.output, fpdf.syntax, zlib
    from fontTools import subset
    if fpdf.output.ftsubset is not subset or fpdf.syntax.zlib is not zlib:
        patched.append("fpdf2")
print(json.dumps({"flask": "flask" in sys.modules, "pyhanko": "pyhanko" in sys.modules,
                  "patched": patched}))
"""


def _probe(module: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", _PROBE, module], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def test_importing_a_module_loads_only_what_it_needs_and_patches_nothing() -> None:
    modules = _modules()
    assert "service.dossiers.lifecycle" in modules and "service.worktime" in modules
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = dict(zip(modules, pool.map(_probe, modules), strict=True))
    problems = []
    for module, seen in found.items():
        if seen["flask"]:
            problems.append(f"{module} loads Flask")
        if seen["pyhanko"] and module not in USES_PYHANKO:
            problems.append(f"{module} loads pyHanko")
        if seen["patched"]:
            problems.append(f"{module} installs {seen['patched']} when imported")
    assert not problems, problems


@pytest.mark.parametrize("module", ["service.web", "service.cli"])
def test_importing_the_factory_or_the_cli_installs_no_patch(module: str) -> None:
    assert _probe(module)["patched"] == []


#: what the web layer may take from SQLAlchemy: the errors it maps to answers and the types of
#: the runtime's sessions; queries are built by the operations and storage, never by views
WEB_MAY_IMPORT_FROM_SQLALCHEMY = {
    "sqlalchemy.exc": {"DataError", "DBAPIError", "OperationalError", "StatementError"},
    "sqlalchemy": {"Engine"}, "sqlalchemy.orm": {"Session", "sessionmaker"}}


def test_views_build_no_queries() -> None:
    """docs/architecture.md: a request goes view -> operation -> storage; a view neither builds
    a query (select, update, ...) nor runs one on the session itself."""
    import ast

    found = []
    for path in sorted((ROOT / "service" / "web").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                allowed = WEB_MAY_IMPORT_FROM_SQLALCHEMY.get(node.module or "", set())
                found += [f"{path.name}: from {node.module} import {a.name}"
                          for a in node.names if a.name not in allowed]
            elif isinstance(node, ast.Import):
                found += [f"{path.name}: import {a.name}" for a in node.names
                          if a.name.startswith("sqlalchemy")]
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr in {"execute", "scalar", "scalars", "get", "query"}
                  and isinstance(node.func.value, ast.Attribute)
                  and node.func.value.attr == "db"):
                found.append(f"{path.name}:{node.lineno}: db.{node.func.attr}(...)")
    assert not found, found

"""An installed copy runs: the package built from a copy of the sources and installed into a
fresh virtual environment outside the checkout, then, from a directory that is not the
checkout, the documented steps: ``tokhai db upgrade``, ``tokhai forms load``, ``tokhai
secret-key``, ``gunicorn 'service.web:create_app()'`` answering /healthz and /api/v1/forms,
and ``tokhai worker --once``.

To stay fast, the fresh environment has no packages of its own besides tokhai:
it sees the dependencies of the development environment through a ``.pth`` line (which adds
that directory to ``sys.path`` without running its ``.pth`` files, so the editable install of
the checkout stays out of it). The test checks that ``service`` is imported from the new
environment, not from the checkout.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: what the package is built from (pyproject.toml's packages, its readme)
SOURCES = ("pyproject.toml", "README.md", "forms", "schemas", "service", "storage")


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"{args}: {proc.stdout[-2000:]}{proc.stderr[-3000:]}"
    return proc.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - loopback
        return resp.status, resp.read()


def test_an_installed_copy_serves_and_works(tmp_path: Path) -> None:
    import json

    src, venv, work = tmp_path / "src", tmp_path / "venv", tmp_path / "elsewhere"
    src.mkdir()
    work.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy2(path, src / name)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TOKHAI_") and k not in ("DATABASE_URL", "PYTHONPATH")}
    # a fresh environment, then `pip install .` of the copy into it (built as pip builds it:
    # in an isolated build environment from pyproject.toml's build-system)
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env)
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                      "['purelib'])"], tmp_path, env).strip())
    (site / "_tokhai_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
          "--no-deps", "."], src, env)
    where = _run([str(python), "-c", "import service, forms; print(service.__file__); "
                  "print(forms.__file__)"], work, env)
    assert str(ROOT) not in where and all(line.startswith(str(site))
                                          for line in where.splitlines()), where

    tokhai = str(venv / "bin" / "tokhai")
    env["TOKHAI_DATA_DIR"] = str(work / "data")
    assert "Commands:" in _run([tokhai, "--help"], work, env)
    assert "database at revision" in _run([tokhai, "db", "upgrade"], work, env)
    loaded = _run([tokhai, "forms", "load"], work, env)
    catalogue = sorted(p.name for p in (ROOT / "forms" / "catalogue").glob("*.yaml"))
    assert loaded.count(": published") == len(catalogue) > 0, loaded
    assert _run([tokhai, "secret-key"], work, env).startswith("made ")

    port = _free_port()
    server = subprocess.Popen(
        [str(python), "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
         "service.web:create_app()"], cwd=work, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    assert server.stderr is not None  # a pipe: what gunicorn says if it dies
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-3000:]
                assert time.monotonic() < deadline, "gunicorn did not answer in 60 s"
                time.sleep(0.3)
        assert status == 200 and json.loads(body) == {"status": "ok"}
        status, body = _get(f"http://127.0.0.1:{port}/api/v1/forms")
        assert status == 200
        listed = json.loads(body)
        items = listed["items"] if isinstance(listed, dict) else listed
        assert len(items) == len(catalogue)
    finally:
        server.terminate()
        server.wait(timeout=30)
    _run([tokhai, "worker", "--once"], work, env)
    assert sorted(p.name for p in work.iterdir()) == ["data"]  # nothing beside the data

"""Import throughput and memory: 100,000 population records from JSON Lines.

Each import runs in a fresh process so that its peak memory is its own; importing 10,000 and
100,000 records in the same way shows whether memory stays bounded as the file grows.
Usage: python bench/import_records.py [ROWS]   (DATABASE_URL to use PostgreSQL)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import ROOT

CHILD = """
import json, sys, time, logging
logging.disable(logging.INFO)
sys.path.insert(0, {root!r})
from pathlib import Path
from service.web import create_app, prepare
from service.records.importer import import_file
app = create_app()
prepare(app, migrate=True, load_catalogue=True)
rt = app.extensions["tokhai"]
with rt.sessions() as session:
    start = time.perf_counter()
    report = import_file(session, "population", Path({path!r}))
    elapsed = time.perf_counter() - start
# VmHWM, not ru_maxrss: on Linux a child inherits the parent's ru_maxrss across fork and exec
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({{"rows": report.read, "inserted": report.inserted,
                  "unchanged": report.unchanged, "rejected": report.rejected,
                  "seconds": elapsed,
                  "max_rss_mb": int(status["VmHWM"].split()[0]) / 1024}}))
"""


def population_file(rows: int, directory: Path) -> Path:
    from service.records import demo

    generated = demo.generate(max(2, rows // 3 + 2), seed=11)
    path = directory / f"population-{rows}.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for _, data in generated.records["population"][:rows]:
            fh.write(json.dumps(data, ensure_ascii=False) + "\n")
    return path


def run(path: Path, env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT), path=str(path))],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        env = {**os.environ, "TOKHAI_DATA_DIR": tmp, "TOKHAI_LOAD_CATALOGUE": "0"}
        backend = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"
        for n in sorted({rows // 10, rows}):
            path = population_file(n, directory)
            first = run(path, env)
            again = run(path, env)
            print(f"{backend}: {first['rows']:>7} rows: {first['rows'] / first['seconds']:8.0f} "
                  f"rows/s first import ({first['inserted']} inserted), "
                  f"{again['rows'] / again['seconds']:8.0f} rows/s re-import "
                  f"({again['unchanged']} unchanged); peak RSS {first['max_rss_mb']:.0f} MB")
            if backend == "SQLite":
                (directory / "tokhai.db").unlink()
            for extra in ("tokhai.db-wal", "tokhai.db-shm"):
                (directory / extra).unlink(missing_ok=True)


if __name__ == "__main__":
    main()

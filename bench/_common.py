"""Shared by the benchmarks: timing with warm-up, the catalogue, fresh PostgreSQL databases,
and load over HTTP against gunicorn."""

from __future__ import annotations

import http.client
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def per_call(fn: Callable[[], object], *, min_seconds: float = 0.5, rounds: int = 5) -> float:
    """Median seconds per call over ``rounds`` rounds, each long enough to be measurable."""
    fn()
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds / rounds:
            break
        n *= 2
    samples = [elapsed / n]
    for _ in range(rounds - 1):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - start) / n)
    return statistics.median(samples)


def catalogue_files() -> list[Path]:
    return sorted((ROOT / "forms" / "catalogue").glob("*.yaml"))


SERVER = os.environ.get(
    "TOKHAI_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def fresh_postgres(name: str) -> str:
    """A new, empty database ``name`` on the benchmark's PostgreSQL server."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from storage.db import normalise_url

    admin = create_engine(normalise_url(SERVER), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(normalise_url(SERVER)).set(database=name).render_as_string(
        hide_password=False)


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


@dataclass(frozen=True)
class Load:
    method: str
    paths: list[str]
    headers: dict[str, str]
    body: bytes | None
    expect: int


def _client(port: int, load: Load, deadline: float, queue) -> None:
    latencies: list[float] = []
    errors = 0
    i = 0
    while time.time() < deadline:
        start = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request(load.method, load.paths[i % len(load.paths)], body=load.body,
                     headers=load.headers)
        resp = conn.getresponse()
        resp.read()
        conn.close()
        i += 1
        latencies.append(time.perf_counter() - start)
        errors += resp.status != load.expect
    queue.put((latencies, errors))


def gunicorn_load(database_url: str, load: Load, seconds: float, clients: int,
                  worker_args: tuple[str, ...] = ()) -> tuple[float, list[float], int]:
    """Serve the app with gunicorn (2 workers) on a free loopback port and load it from
    ``clients`` processes for ``seconds``: (requests per second, latencies, errors)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": database_url, "TOKHAI_LOG_LEVEL": "WARNING",
           "TOKHAI_LOAD_CATALOGUE": "0"}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", *worker_args, "-b",
                               f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
                              cwd=ROOT, env=env)
    try:
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        queue: multiprocessing.Queue = multiprocessing.Queue()
        _client(port, load, time.time() + 2, queue)  # warm up
        queue.get()
        deadline = time.time() + seconds
        procs = [multiprocessing.Process(target=_client, args=(port, load, deadline, queue))
                 for _ in range(clients)]
        started = time.time()
        for p in procs:
            p.start()
        results = [queue.get() for _ in procs]
        for p in procs:
            p.join()
        elapsed = time.time() - started
    finally:
        server.terminate()
        server.wait()
    latencies = [x for lat, _ in results for x in lat]
    return len(latencies) / elapsed, latencies, sum(e for _, e in results)

"""Prefill latency and throughput.

1. Every catalogue form prefilled for a demo citizen through the Flask test client: p50 and p99.
2. gunicorn with 2 workers against PostgreSQL, loaded over loopback by client processes for a
   fixed time: prefills per second and client-side p50/p99.

Targets (issue 3): p99 under 20 ms, at least 500 prefills per second.
Usage: python bench/prefill.py   (TOKHAI_BENCH_DATABASE_URL: a PostgreSQL server URL; default
the local server, database tokhai_bench_prefill, created afresh)
"""

from __future__ import annotations

import http.client
import logging
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time

from _common import ROOT

SERVER = os.environ.get("TOKHAI_BENCH_DATABASE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DB_NAME = "tokhai_bench_prefill"
HOUSEHOLDS = 3000
SECONDS = 10
CLIENTS = 4
#: extra gunicorn options; the default sync workers did better here than gthread ones
GUNICORN: list[str] = []


def fresh_database() -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from storage.db import normalise_url

    admin = create_engine(normalise_url(SERVER), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}"'))
        conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    return make_url(normalise_url(SERVER)).set(database=DB_NAME).render_as_string(
        hide_password=False)


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def client_loop(port: int, token: str, urls: list[str], deadline: float, queue) -> None:  # type: ignore[no-untyped-def]
    latencies: list[float] = []
    errors = 0
    i = 0
    while time.time() < deadline:
        url = urls[i % len(urls)]
        i += 1
        start = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", url, headers={"Authorization": f"Bearer {token}"})
        resp = conn.getresponse()
        resp.read()
        conn.close()
        latencies.append(time.perf_counter() - start)
        errors += resp.status != 200
    queue.put((latencies, errors))


def main() -> None:
    sys.path.insert(0, str(ROOT))
    logging.disable(logging.INFO)
    url = fresh_database()
    os.environ["TOKHAI_LOG_LEVEL"] = "WARNING"
    from service import create_app, demo
    from service.auth import create_token
    from service.cli import load_demo
    from service.config import Settings

    app = create_app(Settings.from_env(database_url=url, log_level="WARNING"))
    with app.app_context():
        load_demo(demo.generate(HOUSEHOLDS))
    with app.extensions["tokhai"].sessions() as session:
        _, token = create_token(session, "citizen", "bench", personal_id=demo.DEMO_FATHER)
        session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    forms = [f["id"] for f in client.get("/api/v1/forms").get_json()]
    urls = [f"/api/v1/forms/{f}/versions/1/prefill" for f in forms]
    print(f"PostgreSQL, {HOUSEHOLDS} demo households; prefill for demo citizen "
          f"{demo.DEMO_FATHER}")
    print(f"{'form (Flask test client)':58} {'p50 ms':>7} {'p99 ms':>7}")
    worst = 0.0
    for form, u in zip(forms, urls, strict=True):
        for _ in range(20):
            client.get(u, headers=headers)
        times = []
        for _ in range(300):
            start = time.perf_counter()
            resp = client.get(u, headers=headers)
            times.append(time.perf_counter() - start)
            assert resp.status_code == 200
        p99 = percentile(times, 0.99) * 1e3
        worst = max(worst, p99)
        print(f"{form:58} {statistics.median(times) * 1e3:7.2f} {p99:7.2f}")
    print(f"worst p99 through the test client: {worst:.2f} ms (target < 20 ms: "
          f"{'met' if worst < 20 else 'MISSED'})")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": url, "TOKHAI_LOG_LEVEL": "WARNING",
           "TOKHAI_LOAD_CATALOGUE": "0"}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", *GUNICORN, "-b",
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
        warm = time.time() + 2
        queue: multiprocessing.Queue = multiprocessing.Queue()
        client_loop(port, token, urls, warm, queue)
        queue.get()
        deadline = time.time() + SECONDS
        procs = [multiprocessing.Process(target=client_loop,
                                         args=(port, token, urls, deadline, queue))
                 for _ in range(CLIENTS)]
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
    errors = sum(e for _, e in results)
    rate = len(latencies) / elapsed
    print(f"gunicorn -w 2{''.join(' ' + o for o in GUNICORN)}, {CLIENTS} client processes on "
          f"the same "
          f"2 cores, {SECONDS} s: "
          f"{rate:.0f} prefills/s (target >= 500: {'met' if rate >= 500 else 'MISSED'}), "
          f"client-side p50 {statistics.median(latencies) * 1e3:.1f} ms, "
          f"p99 {percentile(latencies, 0.99) * 1e3:.1f} ms, errors {errors}")


if __name__ == "__main__":
    main()

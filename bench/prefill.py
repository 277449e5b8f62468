"""Prefill latency and throughput.

1. Every catalogue form prefilled for a demo citizen through the Flask test client: p50 and p99.
2. gunicorn with 2 workers against PostgreSQL, loaded over loopback by client processes for a
   fixed time: prefills per second and client-side p50/p99.

Targets (issue 3): p99 under 20 ms, at least 500 prefills per second.
Usage: python bench/prefill.py   (TOKHAI_BENCH_DATABASE_URL: a PostgreSQL server URL; default
the local server, database tokhai_bench_prefill, created afresh)
"""

from __future__ import annotations

import logging
import statistics
import sys
import time

from _common import ROOT, Load, fresh_postgres, gunicorn_load, percentile

DB_NAME = "tokhai_bench_prefill"
HOUSEHOLDS = 3000
SECONDS = 10
CLIENTS = 4


def main() -> None:
    sys.path.insert(0, str(ROOT))
    logging.disable(logging.INFO)
    url = fresh_postgres(DB_NAME)
    from service.cli import load_demo
    from service.config import Settings
    from service.records import demo
    from service.tokens import create_token
    from service.web import create_app, prepare

    app = create_app(Settings.from_env(database_url=url, log_level="WARNING"))
    prepare(app, migrate=True, load_catalogue=True)
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

    load = Load("GET", urls, {"Authorization": f"Bearer {token}"}, None, 200)
    rate, latencies, errors = gunicorn_load(url, load, SECONDS, CLIENTS)
    print(f"gunicorn -w 2, {CLIENTS} client processes on the same "
          f"2 cores, {SECONDS} s: "
          f"{rate:.0f} prefills/s (target >= 500: {'met' if rate >= 500 else 'MISSED'}), "
          f"client-side p50 {statistics.median(latencies) * 1e3:.1f} ms, "
          f"p99 {percentile(latencies, 0.99) * 1e3:.1f} ms, errors {errors}")


if __name__ == "__main__":
    main()

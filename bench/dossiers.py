"""Dossier intake throughput, and queue and tracking queries at a million dossiers.

1. Intake: gunicorn with 2 workers, against PostgreSQL and against SQLite, loaded by client
   processes for a fixed time, each submitting a realistic 40-field form (the birth
   registration form with a contact section) for a demo citizen: submissions per second and
   client-side p50/p99. Targets: at least 300 per second, p99 under 50 ms.
2. Queries: with 1,000,000 dossiers in the table (200 agencies, 300,000 citizens), the
   officers' queue (an agency's open dossiers by deadline, a page), the late filter, a
   citizen's own list, and a receipt lookup, each timed over repeated runs, with PostgreSQL's
   EXPLAIN of each. Target: p99 under 50 ms.

Usage: python bench/dossiers.py [DOSSIERS]   (TOKHAI_BENCH_DATABASE_URL: a PostgreSQL server)
"""

from __future__ import annotations

import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

import yaml
from _common import ROOT, Load, fresh_postgres, gunicorn_load, percentile

SECONDS = 10
CLIENTS = int(os.environ.get("TOKHAI_BENCH_CLIENTS", 3))


def prepare(url: str):
    """A database with the catalogue, demo records, a published 40-field form, a citizen
    token and a valid submission body."""
    from validate_submission import EXTRA

    from forms.examples import example_submission
    from service import catalogue as form_ops
    from service.cli import load_demo
    from service.config import Settings
    from service.records import demo
    from service.records import prefill as pf
    from service.tokens import create_token
    from service.web import create_app, prepare

    app = create_app(Settings.from_env(database_url=url, log_level="WARNING"))
    prepare(app, migrate=True, load_catalogue=True)
    rt = app.extensions["tokhai"]
    with app.app_context():
        load_demo(demo.generate(200))
    definition = yaml.safe_load((ROOT / "forms/catalogue/to-khai-dang-ky-khai-sinh.yaml")
                                .read_text())
    definition["id"] = "bench-40-truong"
    definition["sections"].insert(-1, EXTRA)
    with rt.sessions() as session:
        row = form_ops.create_draft(session, json.dumps(definition, ensure_ascii=False),
                                    "json", "bench")
        form_ops.publish(session, row.form_id, row.version, "bench")
        _, token = create_token(session, "citizen", "bench", personal_id=demo.DEMO_FATHER)
        session.commit()
        compiled = form_ops.published_form(session, "bench-40-truong", 1)
        data = example_submission(compiled.definition)
        filled = pf.prefill(compiled.definition, demo.DEMO_FATHER, rt.sources(session)).data
    for section, values in filled.items():
        data[section].update(values)
    body = json.dumps({"form_id": "bench-40-truong", "version": 1, "agency_code": "CA-HN",
                       "data": data}, ensure_ascii=False).encode()
    return token, body


def intake(label: str, url: str) -> None:
    token, body = prepare(url)
    load = Load("POST", ["/api/v1/dossiers"], {"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"}, body, 201)
    rate, latencies, errors = gunicorn_load(url, load, SECONDS, CLIENTS)
    p99 = percentile(latencies, 0.99) * 1e3
    print(f"intake, {label}, gunicorn -w 2, {CLIENTS} clients on the same 2 cores: "
          f"{rate:.0f} submissions/s (target >= 300: {'met' if rate >= 300 else 'MISSED'}), "
          f"p50 {statistics.median(latencies) * 1e3:.1f} ms, p99 {p99:.1f} ms "
          f"(target < 50 ms: {'met' if p99 < 50 else 'MISSED'}), errors {errors}")


def fill(url: str, total: int) -> None:
    """``total`` dossiers written straight to the table (COPY on PostgreSQL)."""
    from sqlalchemy import text

    from storage import db

    engine = db.make_engine(url)
    db.upgrade(engine)
    rng = random.Random(61)
    now = datetime.now(UTC)
    statuses = ["submitted", "accepted", "in_processing", "result_ready", "delivered",
                "rejected", "supplement_requested", "withdrawn"]
    columns = ("code", "agency_code", "form_id", "form_version", "procedure_code",
               "citizen_id", "data", "status", "row_version", "receipt_secret_hash",
               "processing_days", "submitted_at", "accept_deadline", "due_at", "updated_at")

    def rows():
        for i in range(total):
            submitted = now - timedelta(minutes=rng.randint(0, 60 * 24 * 365))
            status = rng.choices(statuses, weights=[10, 10, 20, 10, 40, 4, 3, 3])[0]
            due = submitted + timedelta(hours=rng.randint(8, 200))
            yield (f"CA-{i % 200:03d}-{submitted:%y%m%d}-{i:07d}", f"CA-{i % 200:03d}",
                   "to-khai-dang-ky-khai-sinh", 1, "1.001193",
                   f"0010{rng.randint(0, 299_999):08d}", "{}", status, 1, "0" * 64, 5,
                   submitted, submitted + timedelta(hours=8),
                   None if status in ("result_ready", "delivered", "rejected", "withdrawn")
                   else due, submitted)

    started = time.time()
    if engine.dialect.name == "postgresql":
        import psycopg

        raw = engine.raw_connection()
        try:
            driver = raw.driver_connection
            assert isinstance(driver, psycopg.Connection), "COPY is psycopg's"
            with driver.cursor() as cur, cur.copy(
                    f"COPY dossiers ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows():
                    copy.write_row(row)
            raw.commit()
        finally:
            raw.close()
        with engine.connect() as conn:
            conn.execute(text("ANALYZE dossiers"))
            conn.commit()
    else:
        insert = text(f"INSERT INTO dossiers ({', '.join(columns)}) VALUES "
                      f"({', '.join(':' + c for c in columns)})")
        batch: list[dict] = []
        with engine.begin() as conn:
            for row in rows():
                batch.append(dict(zip(columns, row, strict=True)))
                if len(batch) == 10_000:
                    conn.execute(insert, batch)
                    batch = []
            if batch:
                conn.execute(insert, batch)
            conn.execute(text("ANALYZE"))
    from service.dossiers import counts

    with db.session_factory(engine)() as session:  # the queue's counts, as filing keeps them
        counts.recount(session)
        session.commit()
    print(f"  wrote {total} dossiers in {time.time() - started:.0f} s")
    engine.dispose()


def queries(label: str, url: str) -> None:
    from sqlalchemy import func, select

    from service.dossiers.lifecycle import now
    from storage import db
    from storage.models import Dossier

    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    with sessions() as s:
        some = s.scalars(select(Dossier).where(Dossier.id.in_([1, 5000, 250_000]))).all()
        citizen, code = some[-1].citizen_id, some[-1].code
    at = now()
    open_queue = (select(Dossier).where(Dossier.agency_code == "CA-042",
                                        Dossier.status == "submitted")
                  .order_by(Dossier.due_at.asc().nulls_last(), Dossier.id).limit(50))
    cases = {
        "officer queue: agency, status, by deadline, page 1": open_queue,
        "officer queue: late only": select(Dossier).where(
            Dossier.agency_code == "CA-042", Dossier.due_at < at)
        .order_by(Dossier.due_at.asc(), Dossier.id).limit(50),
        "officer queue: page 20": open_queue.offset(19 * 50),
        "queue total for pagination": select(func.count()).select_from(
            select(Dossier.id).where(Dossier.agency_code == "CA-042",
                                     Dossier.status == "submitted").subquery()),
        "citizen's own dossiers": select(Dossier).where(Dossier.citizen_id == citizen)
        .order_by(Dossier.submitted_at.desc(), Dossier.id.desc()).limit(50),
        "receipt / tracking by code": select(Dossier).where(Dossier.code == code),
    }
    print(f"queries on {label} at a million dossiers ({'p50':>6} {'p99':>6} ms):")
    for name, stmt in cases.items():
        times = []
        with sessions() as s:
            for _ in range(200):
                start = time.perf_counter()
                s.execute(stmt).all()
                times.append(time.perf_counter() - start)
        p99 = percentile(times, 0.99) * 1e3
        print(f"  {name:52} {statistics.median(times) * 1e3:6.2f} {p99:6.2f}"
              f"{'' if p99 < 50 else '  MISSED'}")
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                compiled = stmt.compile(engine, compile_kwargs={"literal_binds": True})
                plan = conn.exec_driver_sql(f"EXPLAIN {compiled}").scalars().all()
            print("      " + "\n      ".join(plan))
    engine.dispose()


def main() -> None:
    sys.path.insert(0, str(ROOT))
    logging.disable(logging.INFO)
    os.environ["TOKHAI_LOG_LEVEL"] = "WARNING"
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    intake("PostgreSQL", fresh_postgres("tokhai_bench_intake"))
    with tempfile.TemporaryDirectory() as tmp:
        intake("SQLite", f"sqlite:///{tmp}/intake.db")
        pg = fresh_postgres("tokhai_bench_queue")
        fill(pg, total)
        queries("PostgreSQL", pg)
        lite = f"sqlite:///{tmp}/queue.db"
        fill(lite, total)
        queries("SQLite", lite)


if __name__ == "__main__":
    main()

"""Database engine, sessions and migrations.

SQLite is the embedded default; PostgreSQL is used when ``DATABASE_URL`` says so. Migrations
run through Alembic with the scripts in ``storage/migrations``; :func:`upgrade` serialises
concurrent start-ups (two gunicorn workers) with an advisory lock on PostgreSQL and a file lock
on SQLite.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_KEY = 727_001  # PostgreSQL advisory lock id for migrations and catalogue loading


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs that do not name a driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str) -> Engine:
    """The engine for ``url``. It never renders SQL parameters (personal IDs, names, hashes of
    secrets) into its exception messages or echo logs: ``hide_parameters``."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    # No pre-ping: it costs a round trip on every request. A connection the server dropped
    # (a restart) fails its request instead; SQLAlchemy then discards the whole pool, and the
    # service answers 503 "retry" (service.web.errors) rather than an error without a cause.
    return create_engine(url, pool_pre_ping=False, pool_recycle=1800, pool_size=5,
                         max_overflow=10, hide_parameters=True)


def prefer_custom_plans(session: Session) -> None:
    """For the current transaction, plan every statement afresh.

    psycopg prepares a statement after a few executions, and PostgreSQL may then keep a
    generic plan made while a table was still small (a sequential scan) until the table is
    next analysed: a bulk import that fills the table would turn quadratic. Reads of a table
    that is already populated are better served by the cached plan, so only writers that grow
    tables ask for this.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def startup_lock(engine: Engine) -> Iterator[None]:
    """Held while one process migrates the schema and loads the catalogue."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
                conn.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    lock_path = f"{database}.lock"
    with open(lock_path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def default_url(data_dir: str) -> str:
    return f"sqlite:///{os.path.abspath(os.path.join(data_dir, 'tokhai.db'))}"

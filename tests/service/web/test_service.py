"""Operability, OpenAPI, tokens, migrations."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from sqlalchemy import inspect, select

from service import logs
from service.catalogue import CATALOGUE_DIR
from service.tokens import hash_token
from storage import db
from storage.models import ApiToken
from tests.conftest import BACKENDS


def test_health_and_readiness(client) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ok", "database": "ok"}


def test_readiness_fails_when_the_database_is_unreachable(tmp_path) -> None:
    from tests.conftest import make_app

    app = make_app("postgresql+psycopg://nobody@127.0.0.1:1/none", tmp_path,
                   auto_migrate=False, load_catalogue=False)
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503 and resp.get_json()["code"] == "database_unavailable"
    assert app.test_client().get("/healthz").status_code == 200


def test_metrics_count_requests_per_endpoint(client) -> None:
    client.get("/api/v1/forms")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'tokhai_http_request_duration_seconds_count{' in text
    assert 'endpoint="forms.Forms"' in text


def test_request_id_is_echoed_and_logged(client) -> None:
    stream = io.StringIO()
    handler = logs.make_handler(stream)
    logging.getLogger().addHandler(handler)
    try:
        resp = client.get("/api/v1/forms", headers={"X-Request-ID": "abc-123"})
        generated = client.get("/healthz").headers["X-Request-ID"]
    finally:
        logging.getLogger().removeHandler(handler)
    assert resp.headers["X-Request-ID"] == "abc-123"
    assert len(generated) == 32
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    mine = [line for line in lines if line.get("request_id") == "abc-123"]
    assert mine and mine[-1]["message"] == "request" and mine[-1]["status"] == 200
    assert all("request_id" in line for line in lines)


def test_hostile_request_id_is_replaced(client) -> None:
    resp = client.get("/healthz", headers={"X-Request-ID": "x\" injected"})
    assert resp.headers["X-Request-ID"] != "x\" injected"


def test_every_route_is_in_the_openapi_document(app, client) -> None:
    from openapi_spec_validator import validate

    spec = client.get("/api/v1/openapi.json").get_json()
    validate(spec)  # a valid OpenAPI 3 document, for the tools that generate clients
    documented = set(spec["paths"])
    from service.web.pages.rendering import PAGE_BLUEPRINTS

    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "api-docs.openapi_json"):
            continue
        if rule.endpoint.split(".")[0] in PAGE_BLUEPRINTS:  # pages live outside the API
            assert not rule.rule.startswith("/api/"), rule.rule
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)  # <int:id> -> {id}
        assert path in documented, path
        assert path.startswith("/api/v1/") or path in ("/healthz", "/readyz", "/metrics")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    error = spec["components"]["schemas"]["Error"]
    assert {"code", "message", "message_en", "field", "errors"} <= set(error["properties"])


def test_tokens_cli_stores_only_a_hash_and_revokes(app, client) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tokens", "create", "--role", "designer", "--label", "Chị Lan"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    with app.extensions["tokhai"].sessions() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
        assert row is not None and row.role == "designer"
        assert token not in json.dumps([r.token_hash for r in session.scalars(select(ApiToken))])
        token_id = row.id
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/forms", headers=auth).status_code == 200
    assert runner.invoke(args=["tokens", "revoke", str(token_id)]).exit_code == 0
    assert client.get("/api/v1/forms", headers=auth).status_code == 401
    assert runner.invoke(args=["tokens", "revoke", str(token_id)]).exit_code != 0


def test_tokens_cli_checks_scopes(app) -> None:
    runner = app.test_cli_runner()
    no_id = runner.invoke(args=["tokens", "create", "--role", "citizen", "--label", "x"])
    assert no_id.exit_code != 0 and "personal-id" in no_id.output
    short = runner.invoke(args=["tokens", "create", "--role", "citizen", "--label", "x",
                                "--personal-id", "12345"])
    assert short.exit_code != 0
    no_agency = runner.invoke(args=["tokens", "create", "--role", "officer", "--label", "x"])
    assert no_agency.exit_code != 0 and "agency" in no_agency.output


def test_forms_cli_report_and_check(app, tmp_path) -> None:
    runner = app.test_cli_runner()
    report = runner.invoke(args=["forms", "report", "to-khai-dang-ky-ket-hon", "--json"])
    assert report.exit_code == 0
    assert json.loads(report.stdout)["form_id"] == "to-khai-dang-ky-ket-hon"
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nversion: 0\n")
    checked = runner.invoke(args=["forms", "check", str(bad)])
    assert checked.exit_code == 1
    assert "bad.yaml: version: [bad_version]" in checked.stderr
    loaded = runner.invoke(args=["forms", "load"])
    assert loaded.exit_code == 0 and "unchanged" in loaded.output


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_migrations_go_up_and_down(database_url) -> None:
    from alembic.script import ScriptDirectory

    engine = db.make_engine(database_url)
    head = ScriptDirectory.from_config(db.alembic_config(engine)).get_current_head()
    db.upgrade(engine)
    assert head is not None and db.current_revision(engine) == head
    assert {"forms", "form_versions", "api_tokens"} <= set(inspect(engine).get_table_names())
    from alembic import command

    command.downgrade(db.alembic_config(engine), "base")
    assert "forms" not in inspect(engine).get_table_names()
    db.upgrade(engine)
    assert db.current_revision(engine) == head
    engine.dispose()


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_the_models_match_the_migrations(database_url) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from storage.models import Base

    engine = db.make_engine(database_url)
    db.upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_letters_issued_before_signing_get_a_document_id(database_url) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import text

    engine = db.make_engine(database_url)
    db.upgrade(engine, "0003")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO dossiers (code, agency_code, form_id, form_version, procedure_code, "
            "citizen_id, data, status, row_version, receipt_secret_hash, processing_days, "
            "submitted_at, accept_deadline, updated_at) VALUES ('X-1', 'A', 'f', 1, 'p', "
            "'001085012345', '{}', 'submitted', 1, 'h', 5, :t, :t, :t)"), {"t": now})
        conn.execute(text(
            "INSERT INTO dossier_documents (dossier_id, kind, media_type, sha256, content, "
            "created_at) SELECT id, 'apology_letter', 'application/pdf', 'abc', :c, :t "
            "FROM dossiers"), {"c": b"%PDF-", "t": now})
    db.upgrade(engine)
    with engine.connect() as conn:
        (document_id,) = conn.execute(text("SELECT document_id FROM dossier_documents")).one()
    engine.dispose()
    assert document_id and len(document_id) == 36


def _start_ups(code: str, env: dict[str, str], count: int = 2) -> list[str]:
    """``count`` processes running ``code`` at once, from the checkout; their stderr."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, cwd=root,
                              stderr=subprocess.PIPE) for _ in range(count)]
    errs = []
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()[-2000:]
        errs.append(err.decode())
    return errs


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_concurrent_start_ups_migrate_and_load_once(database_url, tmp_path) -> None:
    """Two gunicorn workers (wsgi.py) configured to migrate and load the catalogue, starting
    at once on an empty database, both come up, and the catalogue is published exactly once
    (the start-up lock)."""
    import os
    import subprocess
    import sys

    from sqlalchemy import func

    from storage.models import FormVersion

    env = {**os.environ, "DATABASE_URL": database_url, "TOKHAI_DATA_DIR": str(tmp_path),
           "TOKHAI_AUTO_MIGRATE": "1", "TOKHAI_LOAD_CATALOGUE": "1"}
    code = "import wsgi"
    del subprocess, sys
    _start_ups(code, env)
    engine = db.make_engine(database_url)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(FormVersion)).scalar_one()
    engine.dispose()
    assert total == _catalogue_files()


def test_a_lost_database_connection_is_a_503_to_retry(tmp_path) -> None:
    """After a database restart the first request on a dropped connection fails; it must say
    'retry' in the error shape, not 500."""
    from sqlalchemy.exc import OperationalError

    from tests.conftest import make_app

    app = make_app(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)

    @app.get("/api/v1/boom")
    def boom():
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    @app.get("/boom-page")
    def boom_page():
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    resp = app.test_client().get("/api/v1/boom")
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "2"
    assert resp.get_json()["code"] == "database_unavailable"
    # a person's browser gets a page saying the same, with the same status and header
    page = app.test_client().get("/boom-page", headers={"Accept": "text/html"})
    assert page.status_code == 503 and page.headers["Retry-After"] == "2"
    assert page.mimetype == "text/html" and "Dịch vụ tạm thời gián đoạn" in page.text


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_the_factory_wires_and_does_not_act(database_url, tmp_path) -> None:
    """create_app() on an empty database: no migration, no catalogue, no file written (no
    secret-key, no documents folder); the explicit steps do it."""
    from click.testing import CliRunner

    from service.cli import main
    from service.config import Settings
    from service.web import create_app

    data_dir = tmp_path / "data"
    app = create_app(Settings.from_env(database_url=database_url, data_dir=str(data_dir),
                                       signing_config=None))
    rt = app.extensions["tokhai"]
    assert db.current_revision(rt.engine) is None
    assert inspect(rt.engine).get_table_names() == []
    assert [p for p in tmp_path.rglob("*") if p.is_file()
            and not p.name.startswith("tokhai.db")] == []
    assert not (data_dir / "secret-key").exists() and not (data_dir / "documents").exists()
    # the explicit steps
    runner = CliRunner()
    with app.app_context():
        assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
        loaded = runner.invoke(main, ["forms", "load"])
    assert loaded.exit_code == 0, loaded.output
    assert db.current_revision(rt.engine) is not None
    assert loaded.output.count(": published") == _catalogue_files()
    rt.engine.dispose()


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_wsgi_migrates_only_when_configured(database_url, tmp_path) -> None:
    """The worker path (wsgi.py) takes the start-up steps only when TOKHAI_AUTO_MIGRATE /
    TOKHAI_LOAD_CATALOGUE say so; by default it leaves the database as it is."""
    import os

    env = {**os.environ, "DATABASE_URL": database_url, "TOKHAI_DATA_DIR": str(tmp_path)}
    for name in ("TOKHAI_AUTO_MIGRATE", "TOKHAI_LOAD_CATALOGUE", "TOKHAI_SECRET_KEY"):
        env.pop(name, None)
    _start_ups("import wsgi", env, count=1)
    engine = db.make_engine(database_url)
    assert db.current_revision(engine) is None
    env["TOKHAI_AUTO_MIGRATE"] = "1"
    _start_ups("import wsgi", env, count=1)
    assert db.current_revision(engine) is not None
    from sqlalchemy import func

    from storage.models import FormVersion

    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(FormVersion)).scalar_one() == 0
    engine.dispose()


def test_production_without_a_secret_refuses_to_start_with_one_line(tmp_path) -> None:
    """Production mode, no TOKHAI_SECRET_KEY and no secret-key file: one line, exit status 1,
    and no file made; with the file (tokhai secret-key) it starts."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "TOKHAI_DATA_DIR": str(tmp_path), "TOKHAI_PRODUCTION": "1",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
           # shared counts, as production wants (nothing connects at start-up)
           "TOKHAI_RATE_LIMIT_STORAGE": "redis://127.0.0.1:9/0"}
    env.pop("TOKHAI_SECRET_KEY", None)
    proc = subprocess.run([sys.executable, "-c", "import wsgi"], env=env, cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"tokhai cannot start: no installation secret: set TOKHAI_SECRET_KEY or run "
        f"`tokhai secret-key` (makes {tmp_path / 'secret-key'})"]
    assert not (tmp_path / "secret-key").exists()
    made = subprocess.run([sys.executable, "-m", "service.cli", "secret-key"], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "secret-key").stat().st_mode & 0o077 == 0
    started = subprocess.run([sys.executable, "-c", "import wsgi"], env=env, cwd=root,
                             capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr


def test_development_without_a_secret_says_so_and_writes_nothing(tmp_path, caplog) -> None:
    from service.config import Settings
    from service.web import create_app

    settings = Settings.from_env(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
                                 data_dir=str(tmp_path), signing_config=None, secret_key=None,
                                 production=False)
    with caplog.at_level(logging.WARNING, logger="tokhai"):
        first = create_app(settings).extensions["tokhai"].secret_key
    assert any("no installation secret" in r.getMessage() for r in caplog.records)
    assert first and not (tmp_path / "secret-key").exists()
    (tmp_path / "secret-key").write_text("the installation's secret\n")
    assert create_app(settings).extensions["tokhai"].secret_key == "the installation's secret"


def _catalogue_files() -> int:
    """The catalogue's files: the newest version of each form, and the versions they
    replaced (``earlier/``), each published on a new installation."""
    return len([*CATALOGUE_DIR.glob("*.yaml"), *CATALOGUE_DIR.glob("earlier/*.yaml")])

"""Fixtures: the application against SQLite, and against PostgreSQL when
``TOKHAI_TEST_DATABASE_URL`` names a server (``.ci/run`` sets it)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service import patches
from service.config import Settings
from service.web import create_app, prepare
from storage.db import normalise_url
from tests import pki

# the third-party patches, as the service runs with them (tests/service/test_patches.py also runs
# without them)
patches.install()

#: Field lists of the official forms (copied from ../shared/forms, checked to be identical).
OFFICIAL_FORMS = Path(__file__).resolve().parent / "fixtures" / "official-forms"
SHARED_FORMS = Path(__file__).resolve().parents[2] / "shared" / "forms"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TOKHAI_TEST_DATABASE_URL") else [])


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    return normalise_url(os.environ["TOKHAI_TEST_DATABASE_URL"])


def _fresh_postgres(server_url: str) -> Iterator[str]:
    """A new, empty database on the test server, dropped afterwards."""
    name = f"tokhai_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of the backend the test is parametrised with (default SQLite)."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'tokhai.db'}"
    else:
        yield from _fresh_postgres(request.getfixturevalue("postgres_server_url"))


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pki.TestPki]:
    """The certomancer PKI (CAs, agency signers, TSA, OCSP, CRLs) served on loopback."""
    served = pki.start(tmp_path_factory.mktemp("pki"))
    os.environ[pki.PASSWORD_ENV] = pki.P12_PASSWORD
    yield served
    served.close()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[dict[str, object]]:
    """moto's S3 server on a free loopback port (object lock enforced), unless
    ``TOKHAI_TEST_S3_ENDPOINT`` names a real one (MinIO)."""
    endpoint = os.environ.get("TOKHAI_TEST_S3_ENDPOINT")
    if endpoint:
        yield {"endpoint": endpoint, "access_key": os.environ["TOKHAI_TEST_S3_ACCESS_KEY"],
               "secret_key": os.environ["TOKHAI_TEST_S3_SECRET_KEY"], "server": None}
        return
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield {"endpoint": f"{host}:{port}", "access_key": "tokhai-test",
           "secret_key": "tokhai-test-secret", "server": server}
    server.stop()


def s3_overrides(s3: dict[str, object], bucket: str) -> dict[str, object]:
    return {"store": "s3", "s3_endpoint": s3["endpoint"], "s3_access_key": s3["access_key"],
            "s3_secret_key": s3["secret_key"], "s3_bucket": bucket, "s3_secure": False,
            "s3_timeout": 2.0}


@pytest.fixture(scope="session")
def signing_config(test_pki: pki.TestPki) -> str:
    """A signing configuration for the test agencies: PKCS#12 keys, the loopback TSA."""
    return str(pki.write_signing_config(test_pki))


#: the installation secret of the tests' applications (create_app writes no secret-key file)
TEST_SECRET_KEY = "tokhai-tests-installation-secret"


def make_app(url: str, data_dir: Path, **overrides: object):
    """An application as the documented start builds it: ``create_app`` (which takes no step),
    then the explicit steps ``tokhai db upgrade`` and ``tokhai forms load`` take, unless
    ``auto_migrate=False`` / ``load_catalogue=False`` say not to."""
    overrides.setdefault("signing_config", None)
    overrides.setdefault("secret_key", TEST_SECRET_KEY)
    settings = Settings.from_env(database_url=url, data_dir=str(data_dir), **overrides)
    app = create_app(settings)
    prepare(app, migrate=bool(overrides.get("auto_migrate", True)),
            load_catalogue=bool(overrides.get("load_catalogue", True)))
    app.config["TESTING"] = True
    return app


@dataclass
class DemoApp:
    """An application of its own (SQLite) with the demo records, and the headers of the
    demo father and of an officer of ``agency``."""

    app: Any
    client: Any
    father: dict[str, str]
    clerk: dict[str, str]


def demo_app(data_dir: Path, name: str, agency: str, **overrides: object) -> DemoApp:
    from service.cli import load_demo
    from service.records import demo

    application = make_app(f"sqlite:///{data_dir / f'{name}.db'}", data_dir, **overrides)
    with application.app_context():
        load_demo(demo.generate(30))
    return DemoApp(application, application.test_client(),
                   citizen_headers(application, DEMO_FATHER),
                   {"Authorization": f"Bearer {_token(application, 'officer', agency_code=agency)}"})


@pytest.fixture(scope="module", params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        signing_config: str):
    """One application (migrated, catalogue loaded, test agencies' keys) per backend and
    test module."""
    data_dir = tmp_path_factory.mktemp("data")
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'tokhai.db'}"
        yield make_app(url, data_dir, signing_config=signing_config)
        return
    server = normalise_url(os.environ["TOKHAI_TEST_DATABASE_URL"])
    for url in _fresh_postgres(server):
        application = make_app(url, data_dir, signing_config=signing_config)
        yield application
        application.extensions["tokhai"].engine.dispose()


@pytest.fixture(scope="module")
def people(app):
    """The demo records (30 households), loaded once per module; population records by ID."""
    from service.cli import load_demo
    from service.records import demo

    generated = demo.generate(30)
    with app.app_context():
        load_demo(generated)
    return dict(generated.records["population"])


@pytest.fixture
def client(app):
    return app.test_client()


def _token(app, role: str, **kwargs: str) -> str:
    from service.tokens import create_token

    with app.extensions["tokhai"].sessions() as session:
        _, token = create_token(session, role, f"test {role}", **kwargs)
        session.commit()
    return token


@pytest.fixture
def designer(app) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'designer')}"}


@pytest.fixture
def father(app, people) -> dict[str, str]:
    """The demo father's citizen token (the demo records loaded)."""
    return citizen_headers(app, DEMO_FATHER)


@pytest.fixture
def officer(app) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'officer', agency_code='UBND-XA-00004')}"}


@pytest.fixture
def citizen(app) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'citizen', personal_id='001090000001')}"}


def sample_definition(form_id: str | None = None, version: int = 1) -> str:
    """A small but complete definition: every kind of binding, a condition, a repeated group."""
    form_id = form_id or f"mau-thu-{uuid.uuid4().hex[:8]}"
    return f"""
id: {form_id}
version: {version}
title: Tờ khai thử nghiệm
legal_basis: Thông tư thử nghiệm 01/2026
procedure_code: "1.000001"
agency_level: commune
code_lists:
  loai_giay_to:
    - {{code: cccd, label: Thẻ căn cước}}
    - {{code: khac, label: Khác}}
dropped:
  - {{label: Kính gửi, reason: derived}}
  - {{label: Người khai ký, reason: signature}}
sections:
  - id: nguoi_ke_khai
    title: Người kê khai
    fields:
      - {{id: ho_ten, type: text, label: "Họ, chữ đệm và tên", prefill: {{record: population.full_name, mode: verified}}}}
      - {{id: ngay_sinh, type: date, label: Ngày sinh, prefill: population.birth_date}}
      - {{id: gioi_tinh, type: choice, codes: sex, label: Giới tính, prefill: {{record: population.sex, mode: verified}}}}
      - {{id: loai, type: choice, codes: loai_giay_to, label: Loại giấy tờ}}
      - {{id: ghi_ro, type: text, label: Ghi rõ loại giấy tờ, when: {{field: loai, equals: khac}}}}
      - {{id: noi_o, type: address, label: Nơi ở hiện tại}}
      - {{id: dien_thoai, type: phone, label: Số điện thoại, required: false}}
  - id: me
    title: Người mẹ
    person: mother
    fields:
      - {{id: ho_ten, type: text, label: Họ tên mẹ, prefill: population.full_name}}
      - {{id: nam_sinh, type: partial_date, precision: year, label: Năm sinh, prefill: population.birth_year}}
  - id: thanh_vien
    title: Thành viên
    fields:
      - id: ds
        type: group
        label: Danh sách thành viên
        repeat: {{max: 5}}
        fields:
          - {{id: ten, type: text, label: Tên}}
          - {{id: co_giay_to, type: boolean, label: Có giấy tờ}}
          - {{id: so, type: personal_id, label: Số định danh, when: co_giay_to}}
      - {{id: cam_doan, type: commitment, label: Tôi cam đoan những điều khai trên là đúng sự thật.}}
"""


def valid_data() -> dict:
    return {
        "nguoi_ke_khai": {
            "ho_ten": "Nguyễn Văn An", "ngay_sinh": "1990-05-17", "gioi_tinh": "nam",
            "loai": "cccd", "noi_o": {"province": "01", "commune": "00004", "detail": "Số 1"},
        },
        "me": {"ho_ten": "Trần Thị Bình", "nam_sinh": "1965"},
        "thanh_vien": {"ds": [{"ten": "An", "co_giay_to": False}], "cam_doan": True},
    }


def node_paths(data, path=()):
    """The path (keys and indexes) of every node in a JSON-like value, the root included."""
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from node_paths(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from node_paths(value, (*path, i))


DEMO_FATHER = "001085012345"


def citizen_headers(app, personal_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'citizen', personal_id=personal_id)}"}


def prefill(client, app, form: str, who: str = DEMO_FATHER, *, version: int = 1):
    resp = client.get(f"/api/v1/forms/{form}/versions/{version}/prefill",
                      headers=citizen_headers(app, who))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def valid_submission(client, app, form: str, who: str = DEMO_FATHER) -> dict:
    """Prefilled data completed with example values for the fields still to type."""
    from forms.examples import example_submission
    from service import catalogue as ops

    with app.extensions["tokhai"].sessions() as session:
        definition = ops.compiled(ops.get_version(session, form, 1,
                                                  include_drafts=False)).definition
    data = example_submission(definition)
    body = prefill(client, app, form, who)

    def merge(base, top):
        if isinstance(base, dict) and isinstance(top, dict):
            return {**base, **{k: merge(base.get(k), v) for k, v in top.items()}}
        return top

    return merge(data, body["data"])


# -- the logs of the whole run hold nothing secret or personal (issue #10, requirement 4) -----
#
# Every record logged in this process during the run is also written, through the service's
# own formatter (service.logs), to one file; at the end the run fails if that file holds a
# personal ID of the demo data or of a test, a name of the demo data, an access token, a
# download-link token, a receipt secret or any other value made by secrets.token_urlsafe (or
# its SHA-256, as stored), or SQL parameter text. Records of subprocesses are not seen.

_RUN_LOG: dict[str, Any] = {}
_STANDALONE_NUMBER = r"(?<![0-9A-Za-z-])\d{9,12}(?![0-9A-Za-z])"


@pytest.fixture(scope="session", autouse=True)
def _logs_of_the_whole_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    import logging
    import secrets

    from service import logs

    path = tmp_path_factory.getbasetemp() / "logs-of-the-run.jsonl"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logs.make_formatter())
    handler.addFilter(logs.RequestIdFilter())
    made: list[str] = []
    original = secrets.token_urlsafe

    def recorded(nbytes: int | None = None) -> str:
        value = original(nbytes)
        made.append(value)
        return value

    secrets.token_urlsafe = recorded
    logging.getLogger().addHandler(handler)
    _RUN_LOG.update(path=path, secrets=made)
    yield
    logging.getLogger().removeHandler(handler)
    handler.close()
    secrets.token_urlsafe = original


class _Forbidden:
    """What must not appear in a log line: values (IDs and names of the demo data and the
    tests, every secret made during the run and its SHA-256) and patterns."""

    PATTERNS = [
        (r"tk_[A-Za-z0-9_-]{4,}", "an access token"),
        (r"/repository/links/(?!\*\*\*)[^/?\s\"']+", "a download-link token"),
        (r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+", "a signed token"),
        (r"\[parameters: |DETAIL: |Failing row contains", "SQL parameters or row values"),
        (r"(?i)\b(secret|personal_id)=(?!\*\*\*)", "a secret query parameter"),
        (_STANDALONE_NUMBER, "a personal number"),
    ]

    def __init__(self, secrets_made: list[str]) -> None:
        import hashlib
        import re

        from service.records import demo

        self.names: set[str] = set()
        #: personal IDs, secrets and hashes by length: looked up in the runs of token
        #: characters of a line (a substring search for thousands of values would be slow)
        self.by_length: dict[int, set[str]] = {}
        values: set[str] = set()
        for households, seed in ((30, 2026), (3, 2026), (40, 7)):
            for pid, data in demo.generate(households, seed=seed).records["population"]:
                values.add(pid)
                if str(data.get("full_name", "")).count(" ") >= 2:
                    self.names.add(data["full_name"])
        for source in Path(__file__).parent.rglob("*.py"):
            values.update(re.findall(r"[\"'](\d{12})[\"']", source.read_text(encoding="utf-8")))
        for secret in secrets_made:
            if len(secret) >= 16:
                values.update({secret, hashlib.sha256(secret.encode()).hexdigest(),
                               hashlib.sha256(f"tk_{secret}".encode()).hexdigest()})
        for value in values:
            self.by_length.setdefault(len(value), set()).add(value)
        self.runs = re.compile(r"[A-Za-z0-9_-]{9,}")
        self.patterns = [(re.compile(p), meaning) for p, meaning in self.PATTERNS]

    def found_in(self, text: str) -> list[str]:
        found = [f"name {n!r}" for n in self.names if n in text]
        for run in self.runs.findall(text):
            for length, values in self.by_length.items():
                found += [f"value {run[i:i + length]!r}" for i in range(len(run) - length + 1)
                          if run[i:i + length] in values]
        found += [f"{meaning} ({m.group(0)!r})" for pattern, meaning in self.patterns
                  for m in [pattern.search(text)] if m]
        return found


def _strings(value: Any) -> list[str]:
    """The keys and texts of a decoded JSON value (numbers are not personal numbers)."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (str(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def _leaks_in_logs(path: Path, secrets_made: list[str]) -> list[str]:
    """The log lines of ``path`` that carry something forbidden, each with what it carries."""
    import json

    forbidden = _Forbidden(secrets_made)
    leaks = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            texts = _strings(json.loads(line))
        except ValueError:
            texts = [line]
        found = forbidden.found_in("\n".join(texts))
        if found:
            leaks.append(f"{'; '.join(found)}\n    {line[:600]}")
    return leaks


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = _RUN_LOG.get("path")
    if path is None or not Path(path).exists():
        return
    leaks = _leaks_in_logs(Path(path), _RUN_LOG["secrets"])
    if not leaks:
        return
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", f"{len(leaks)} log lines carry secrets or personal data",
                           red=True)
        for leak in leaks[:30]:
            reporter.write_line(leak)


def file_and_process(client, citizen: dict[str, str], clerk: dict[str, str], form: str,
                     data: dict, agency: str) -> tuple[str, str]:
    """File a dossier as ``citizen``, then accept it and start processing as ``clerk``: its
    code and ETag, ready for a result."""
    filed = client.post("/api/v1/dossiers", headers=citizen, json={
        "form_id": form, "version": 1, "agency_code": agency, "data": data})
    assert filed.status_code == 201, filed.get_json()
    code, etag = filed.get_json()["code"], filed.headers["ETag"]
    for action in ("accept", "start_processing"):
        moved = client.post(f"/api/v1/dossiers/{code}/actions", json={"action": action},
                            headers={**clerk, "If-Match": etag})
        assert moved.status_code == 200, moved.get_json()
        etag = moved.headers["ETag"]
    return code, etag

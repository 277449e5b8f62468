"""The short fuzz run CI makes (issue #10, requirement 7; ``make fuzz`` is the long one), and a
check that the run does report what it looks for."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BACKENDS, _fresh_postgres
from tests.fuzz.run import ROLES, World, build_world, fuzz

#: seconds of fuzzing per database backend in the test suite
SECONDS = float(os.environ.get("FUZZ_SHORT_SECONDS", 25))


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          ) -> Iterator[World]:
    work = tmp_path_factory.mktemp("fuzz")
    if request.param == "sqlite":
        yield build_world(work, f"sqlite:///{work / 'tokhai.db'}")
        return
    for url in _fresh_postgres(os.environ["TOKHAI_TEST_DATABASE_URL"]):
        built = build_world(work, url)
        yield built
        built.app.extensions["tokhai"].engine.dispose()


def test_no_server_error_nor_schema_mismatch(world: World, tmp_path: Path) -> None:
    report = fuzz(world, seconds=SECONDS, examples=1, out=tmp_path, log=lambda _: None,
                  whole_round=True)
    assert report.rounds >= 1, report.text()  # every operation, role and strategy was tried
    assert set(report.by_role) == set(ROLES)
    assert report.statuses[200] > 0 and report.statuses[201] > 0  # real objects were reached
    assert not report.failures, report.text()


def test_the_run_reports_server_errors_and_answers_off_schema(world: World, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              ) -> None:
    app = world.app.wsgi_app

    def broken(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"] == "/healthz":
            start_response("500 INTERNAL SERVER ERROR", [("Content-Type", "application/json")])
            return [b'{"code": "internal_error"}']
        if environ["PATH_INFO"] == "/api/v1/administrative-units/provinces":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps({"not": "a list"}).encode()]
        return app(environ, start_response)

    monkeypatch.setattr(world.app, "wsgi_app", broken)
    report = fuzz(world, seconds=3, only=r"^GET /(healthz|api/v1/administrative-units/provinces)$",
                  out=tmp_path, log=lambda _: None)
    found = {(f.operation, f.status): f for f in report.failures.values()}
    assert set(found) == {("GET /healthz", 500),
                          ("GET /api/v1/administrative-units/provinces", 200)}, report.text()
    assert "Server error" in found["GET /healthz", 500].titles
    assert any("schema" in t.lower() for t in
               found["GET /api/v1/administrative-units/provinces", 200].titles)
    assert "curl -X GET" in report.text()

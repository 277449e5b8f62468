"""The domain speaks in domain errors (issue #11): operations raise a kind of
service.errors.DomainError and name no HTTP status; the web layer maps each kind to its status
in one table, the command line to an exit code in another."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import service
from service import cli
from service import errors as domain
from service.web import errors as web

#: the HTTP status of each kind, as the API has always answered
STATUSES = {
    domain.Malformed: 400,
    domain.Unauthenticated: 401,
    domain.NotAllowed: 403,
    domain.NotFound: 404,
    domain.Conflict: 409,
    domain.Gone: 410,
    domain.VersionMismatch: 412,
    domain.TooLarge: 413,
    domain.InvalidData: 422,
    domain.PreconditionRequired: 428,
    domain.TooManyRequests: 429,
    domain.Unavailable: 503,
}

EXIT_CODES = {
    domain.Malformed: 2, domain.TooLarge: 2, domain.InvalidData: 2,
    domain.NotFound: 3, domain.Gone: 3,
    domain.Conflict: 4, domain.VersionMismatch: 4, domain.PreconditionRequired: 4,
    domain.Unavailable: 5, domain.TooManyRequests: 5,
    domain.NotAllowed: 6, domain.Unauthenticated: 6,
}


def _kinds() -> list[type[domain.DomainError]]:
    return [c for _, c in inspect.getmembers(domain, inspect.isclass)
            if issubclass(c, domain.DomainError) and c is not domain.DomainError]


def test_every_kind_of_domain_error_has_its_http_status_and_exit_code() -> None:
    assert set(_kinds()) == set(STATUSES) == set(web.STATUS) == set(EXIT_CODES)
    for kind, status in STATUSES.items():
        err = kind("some_code", "Thông báo.", "Message.")
        assert web.status_of(err) == status, kind
        assert cli.exit_code(err) == EXIT_CODES[kind], kind
    # only what is unavailable says when to come back, unless told
    assert domain.Unavailable("x", "x", "x").retry_after == 5
    assert domain.Conflict("x", "x", "x").retry_after is None


def test_a_busy_pdf_parser_is_unavailable_not_invalid() -> None:
    from service.pki.pdflimits import PdfBusy, PdfRefused

    busy = PdfBusy("pdf_busy", "Bận.", "Busy.")
    assert isinstance(busy, PdfRefused)
    assert web.status_of(busy) == 503 and busy.retry_after == 5 and cli.exit_code(busy) == 5
    refused = PdfRefused("not_a_pdf", "Không phải PDF.", "Not a PDF.")
    assert web.status_of(refused) == 422 and refused.retry_after is None


def test_an_operation_raises_a_domain_error(app) -> None:
    from service import catalogue, tokens

    with app.extensions["tokhai"].sessions() as session, \
            pytest.raises(domain.Unauthenticated) as refused:
        tokens.authenticate(session, "Basic abc")
    assert not isinstance(refused.value, web.ApiError)
    with pytest.raises(domain.Malformed):
        catalogue.check_source(b"id: [", "yaml", "x.yaml")


def test_the_domain_errors_answer_as_before(client) -> None:
    resp = client.get("/api/v1/forms", headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="tokhai"'
    assert resp.get_json()["code"] == "unauthenticated"


#: a raise naming an HTTP status: ``raise X(404, ...`` or ``status=503``
_HTTP_RAISE = re.compile(r"raise\s+[\w.]+\(\s*[1-5]\d\d\b|\bstatus\s*=\s*[1-5]\d\d\b|ApiError\(")


def test_no_operation_names_an_http_status_when_it_refuses() -> None:
    root = Path(service.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        if "web" in path.relative_to(root).parts:
            continue
        source = path.read_text(encoding="utf-8")
        offenders += [f"{path.relative_to(root)}: {m.group(0)}"
                      for m in _HTTP_RAISE.finditer(source)]
    assert not offenders, offenders


def test_the_command_line_exits_with_the_code_of_the_refusal(app, tmp_path) -> None:
    (tmp_path / "bad.yaml").write_text("id: x\nversion: 0\n")
    loaded = app.test_cli_runner().invoke(args=["forms", "load", "--dir", str(tmp_path)])
    assert loaded.exit_code == 2  # invalid data (it was 1 before the table)
    assert "definition_invalid: " in loaded.stderr and "[bad_version]" in loaded.stderr

"""The standing fuzz run (issue #10, requirement 7): schemathesis generates requests from the
OpenAPI document, valid and invalid, and sends them to the application in-process (WSGI) with
the token of each role; every answer must be below 500, arrive within a time bound, and match
the status codes, media types and schemas the document declares.

The application is populated as in development: the demo records, a dossier carried through to
a signed result (development keys), a digitised birth certificate, a consent and a download
link, so that generated requests also reach real objects (their ids are given to half of the
generated cases) rather than only 404s. The two operations that take a PDF get their own
strategy (:mod:`tests.fuzz.pdfs`): real signed results and mutations of them.

    python -m tests.fuzz.run [--seconds 300] [--seed 0] [--examples 2] [--database-url URL]

Every case is generated from a fixed seed (the seed of round ``r`` is ``seed + r``), so a run
of the same length on the same tree sends the same requests. Failures are listed with a curl
command to reproduce them (tokens shown as ``$TOKEN_<ROLE>``; PDF bodies are written under
``--out``), and the exit status is 1 if there is any.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import re
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.errors import InvalidSchema
from schemathesis.core.result import Ok, Result
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.transport.serialization import serialize_binary

from tests.fuzz.pdfs import pdf_bodies

AGENCY = "UBND-XA-00004"
FORM = "to-khai-dang-ky-khai-sinh"
ROLES = ("none", "designer", "citizen", "officer", "auditor")
PDF_OPERATIONS = ("POST /api/v1/verifications", "POST /api/v1/digitised-documents")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
#: an answer slower than this is reported (a worker must never block long on one request)
SLOW_SECONDS = 10.0


@schemathesis.serializer("application/pdf")
def _pdf(_ctx: schemathesis.SerializationContext, value: Any) -> bytes:
    return serialize_binary(value)


@dataclass
class World:
    """A populated application, the headers of each role, ids of real objects, and PDFs."""

    app: Any
    headers: dict[str, dict[str, str]]
    ids: dict[str, Any]
    pdfs: list[bytes]


def build_world(work: Path, database_url: str) -> World:
    from service.cli import load_demo
    from service.pki import devpki
    from service.records import demo
    from tests.conftest import DEMO_FATHER, _token, citizen_headers, make_app
    from tests.service.records.test_digitised import birth_certificate, pdf_of
    from tests.service.results.test_results import in_processing, issue

    signing = devpki.create(work / "dev-pki", {AGENCY: ("Ủy ban nhân dân xã Demo", "Hà Nội")},
                            "http://127.0.0.1:5000")
    app = make_app(database_url, work, signing_config=str(signing), log_level="ERROR")
    with app.app_context():
        load_demo(demo.generate(30))

    def bearer(role: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {_token(app, role, **extra)}"}

    father = citizen_headers(app, DEMO_FATHER)
    officer = bearer("officer", agency_code=AGENCY)
    headers = {"none": {}, "designer": bearer("designer"), "citizen": father,
               "officer": officer, "auditor": bearer("auditor")}
    client = app.test_client()

    def ok(resp: Any, what: str) -> Any:
        if resp.status_code >= 300:
            raise RuntimeError(f"setting up the fuzz run: {what} answered "
                               f"{resp.status_code}: {resp.get_data(as_text=True)[:500]}")
        return resp.get_json() if resp.is_json else resp.data

    code, etag = in_processing(client, app, father, officer)
    issued = ok(issue(client, officer, code, etag), "issuing a result")
    result = ok(client.get(f"/api/v1/dossiers/{code}/result", headers=father), "the result")
    app.test_cli_runner().invoke(args=["worker", "--once"])  # archived in the repository
    in_progress, _ = in_processing(client, app, father, officer)
    digitised = ok(client.post("/api/v1/digitised-documents",
                               query_string={"kind": "birth_certificate"},
                               data=pdf_of(birth_certificate()),
                               headers={**officer, "Content-Type": "application/pdf"}),
                   "a digitised document")
    consent = ok(client.post("/api/v1/consents", headers=father, json={
        "agency_code": AGENCY, "purpose_kind": "dossier", "purpose": in_progress,
        "expires_at": (datetime.now(UTC) + timedelta(days=7)).isoformat()}), "a consent")
    link = ok(client.post(f"/api/v1/repository/documents/{issued['document_id']}/links",
                          headers=father), "a download link")
    ids = {"form_id": FORM, "version": 1, "code": in_progress, "document_id":
           issued["document_id"], "doc_id": digitised["id"], "consent_id": consent["id"],
           "token": link["url"].rsplit("/", 1)[1], "issued_code": code}
    return World(app, headers, ids, [result, pdf_of(birth_certificate())])


def known_ids(path: str, world: World) -> dict[str, Any] | None:
    """Real values for the path parameters of ``path``, or None if it has none."""
    names = re.findall(r"{(\w+)}", path)
    if not names:
        return None
    ids = dict(world.ids)
    if path.startswith("/api/v1/administrative-units"):
        ids["code"] = "01"
    elif path.endswith("/result") or path.startswith("/api/v1/receipts"):
        ids["code"] = ids["issued_code"]
    return {name: ids[name] for name in names if name in ids}


@dataclass
class Failure:
    operation: str
    role: str
    variant: str
    titles: list[str]
    status: int | None
    reproduce: str
    server_error: str = ""
    count: int = 1


@dataclass
class Report:
    seconds: float = 0.0
    rounds: int = 0
    calls: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    by_role: dict[str, Counter[int]] = field(default_factory=dict)
    failures: dict[tuple[str, str, str], Failure] = field(default_factory=dict)

    def add(self, failure: Failure) -> None:
        key = (failure.operation, ";".join(failure.titles), str(failure.status))
        seen = self.failures.get(key)
        if seen is None:
            self.failures[key] = failure
        else:
            seen.count += 1

    def text(self) -> str:
        lines = [f"fuzz: {self.calls} requests in {self.seconds:.0f} s ({self.rounds} full "
                 f"rounds); statuses {dict(sorted(self.statuses.items()))}"]
        lines += [f"  {role}: {dict(sorted(counts.items()))}"
                  for role, counts in self.by_role.items()]
        for f in self.failures.values():
            lines += ["", f"FAILED {f.operation} as {f.role} ({f.variant}), status {f.status}, "
                          f"{f.count} time(s): {'; '.join(f.titles)}", f"  {f.reproduce}"]
            if f.server_error:
                lines.append("  server: " + f.server_error.replace("\n", "\n  "))
        lines.append("")
        lines.append(f"fuzz: {len(self.failures)} distinct failure(s)")
        return "\n".join(lines)


class _ServerErrors(logging.Handler):
    """Keeps the last traceback the application logged, to show beside a 500."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.last = "".join(traceback.format_exception(*record.exc_info)[-6:]).strip()


def _variants(operation: Any, world: World) -> Iterator[tuple[str, Callable[[], Any]]]:
    """The strategies each operation is fuzzed with, by name."""
    ids = known_ids(operation.path, world)
    modes = [("positive", GenerationMode.POSITIVE), ("negative", GenerationMode.NEGATIVE)]
    for name, mode in modes:
        yield name, partial(operation.as_strategy, generation_mode=mode)
        if ids:
            yield f"{name}, real ids", partial(operation.as_strategy, generation_mode=mode,
                                               path_parameters=ids)
    if operation.label in PDF_OPERATIONS:
        bodies = pdf_bodies(world.pdfs)

        def with_pdf() -> Any:
            return st.tuples(operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
                             bodies).map(_set_pdf)

        yield "PDF mutations", with_pdf


def _operation(result: Result[APIOperation, InvalidSchema]) -> APIOperation:
    """An operation of the document; a part schemathesis cannot read stops the run."""
    if isinstance(result, Ok):
        return result.ok()
    raise result.err()


def _set_pdf(pair: tuple[Any, bytes]) -> Any:
    case, body = pair
    case.body = body
    case.media_type = "application/pdf"
    return case


def _reproduce(case: Any, role: str, headers: dict[str, str], out: Path) -> str:
    """A curl command for a failing case, against a server on 127.0.0.1:5000 (``make run``)."""
    curl = case.as_curl_command(headers=headers, base_url="http://127.0.0.1:5000")
    curl = curl.replace("'Authorization: [Filtered]'",
                        f'"Authorization: Bearer $TOKEN_{role.upper()}"')
    if isinstance(case.body, bytes | bytearray):
        body = bytes(case.body)
        out.mkdir(parents=True, exist_ok=True)
        name = out / f"body-{hashlib.sha256(body).hexdigest()[:16]}.pdf"
        name.write_bytes(body)
        curl = re.sub(r" -d \$?'(?:[^'\\]|\\.)*'", lambda _: f" --data-binary @{name}", curl,
                      flags=re.S)
    return curl if len(curl) < 2000 else curl[:2000] + " …"


def fuzz(world: World, *, seconds: float, base_seed: int = 0, examples: int = 2,
         only: str = "", out: Path | None = None, log: Callable[[str], None] = print,
         whole_round: bool = False) -> Report:
    """Fuzz every operation (or those whose label matches the regular expression ``only``) with
    every role, round after round, until ``seconds`` pass; with ``whole_round``, the first
    round is finished whatever the time (a busy machine must not leave operations untried)."""
    out = out or Path(tempfile.mkdtemp(prefix="tokhai-fuzz-"))
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", world.app)
    operations = [op for op in map(_operation, schema.get_all_operations())
                  if re.search(only, op.label)]
    report = Report()
    errors = _ServerErrors()
    logging.getLogger().addHandler(errors)
    impossible: set[tuple[str, str]] = set()
    started = time.monotonic()
    deadline = started + seconds

    def out_of_time() -> bool:
        return time.monotonic() >= deadline and (report.rounds > 0 or not whole_round)

    try:
        while not out_of_time():
            complete = True
            for operation in operations:
                for variant, strategy in _variants(operation, world):
                    if (operation.label, variant) in impossible:
                        continue
                    for role in ROLES:
                        if out_of_time():
                            complete = False
                            break
                        try:
                            _one(operation, variant, strategy(), role, world, report, errors,
                                 base_seed + report.rounds, examples, out)
                        except Unsatisfiable:  # nothing to negate in this operation
                            impossible.add((operation.label, variant))
                            break
            if complete:
                report.rounds += 1
                log(f"fuzz: round {report.rounds} done, {report.calls} requests, "
                    f"{len(report.failures)} distinct failure(s)")
    finally:
        logging.getLogger().removeHandler(errors)
    report.seconds = time.monotonic() - started
    return report


def _one(operation: Any, variant: str, strategy: Any, role: str, world: World, report: Report,
         errors: _ServerErrors, round_seed: int, examples: int, out: Path) -> None:
    headers = world.headers[role]

    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @seed(round_seed)
    @given(strategy)
    def run(case: Any) -> None:
        if headers and case.operation.schema.is_security_param_negated(case):
            return  # a case without the token: the role "none" sends those
        errors.last = ""
        report.calls += 1
        begun = time.monotonic()
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # the transport, or the application raising through it
            report.add(Failure(operation.label, role, variant, [type(exc).__name__], None,
                               _reproduce(case, role, headers, out),
                               "".join(traceback.format_exception(exc)[-6:]).strip()))
            return
        took = time.monotonic() - begun
        report.statuses[response.status_code] += 1
        report.by_role.setdefault(role, Counter())[response.status_code] += 1
        titles: list[str] = []
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except BaseExceptionGroup as exc:  # schemathesis' FailureGroup: one per failed check
            titles = [getattr(f, "title", str(f)) for f in getattr(exc, "exceptions", [exc])]
        if took > SLOW_SECONDS:
            titles.append(f"Slow answer ({took:.1f} s > {SLOW_SECONDS:.0f} s)")
        if titles:
            report.add(Failure(operation.label, role, variant, titles, response.status_code,
                               _reproduce(case, role, headers, out),
                               errors.last if response.status_code >= 500 else ""))

    run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--examples", type=int, default=2,
                        help="generated cases per operation, role and strategy in each round")
    parser.add_argument("--only", default="",
                        help="a regular expression: fuzz only the operations it matches, e.g. "
                             "'POST /api/v1/(verifications|digitised-documents)'")
    parser.add_argument("--database-url", default=None,
                        help="an empty database (default: SQLite in a temporary folder)")
    parser.add_argument("--out", type=Path, default=Path("var") / "fuzz",
                        help="where bodies of failing requests are written")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="tokhai-fuzz-"))
    world = build_world(work, args.database_url or f"sqlite:///{work / 'tokhai.db'}")
    report = fuzz(world, seconds=args.seconds, base_seed=args.seed, examples=args.examples,
                  only=args.only, out=args.out,
                  log=lambda line: print(line, file=sys.stderr, flush=True))
    print(report.text())
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())

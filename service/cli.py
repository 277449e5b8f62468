"""The ``tokhai`` command line: database, forms, tokens, and the embedded development set-up."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup, FlaskGroup, with_appcontext
from sqlalchemy import select

from forms.language import DefinitionError, parse_text
from forms.records import subject_field
from forms.registers import REGISTERS
from service import catalogue as ops
from service import tokens
from service.errors import ApiError
from service.records import demo, importer, prefill
from service.web.runtime import current_runtime
from storage import db
from storage import records as records_store
from storage.models import ApiToken


@click.group("db", help="Database schema (Alembic migrations).", cls=AppGroup)
def db_cli() -> None:
    pass


@db_cli.command("upgrade", help="Apply every migration not applied yet.")
def db_upgrade() -> None:
    rt = current_runtime()
    with db.startup_lock(rt.engine):
        db.upgrade(rt.engine)
    click.echo(f"database at revision {db.current_revision(rt.engine)}")


@db_cli.command("current", help="Print the applied migration revision.")
def db_current() -> None:
    click.echo(db.current_revision(current_runtime().engine) or "(empty)")


@click.group("forms", help="Form definitions, the catalogue and trimming reports.", cls=AppGroup)
def forms_cli() -> None:
    pass


@forms_cli.command("load", help="Publish the catalogue forms missing from the database.")
@click.option("--dir", "directory", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=ops.CATALOGUE_DIR, show_default=True)
def forms_load(directory: Path) -> None:
    rt = current_runtime()
    with rt.sessions() as session:
        try:
            outcomes = ops.load_catalogue(session, directory)
        except ApiError as exc:
            session.rollback()
            _print_problems(exc.errors)
            sys.exit(1)
        session.commit()
    for name, outcome in outcomes:
        click.echo(f"{name}: {outcome}")


@forms_cli.command("check", help="Check definition files without storing them.")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def forms_check(files: tuple[str, ...]) -> None:
    failed = False
    for name in files:
        try:
            form = parse_text(Path(name).read_bytes(), name)
        except DefinitionError as exc:
            failed = True
            _print_problems([p.as_dict() for p in exc.problems])
            continue
        click.echo(f"{name}: ok ({form.id} version {form.version})")
    sys.exit(1 if failed else 0)


@forms_cli.command("report", help="Print the trimming report of a stored form version.")
@click.argument("form_id")
@click.argument("version", type=int, required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--for", "personal_id", help="Add what prefill actually fills for this citizen.")
def forms_report(form_id: str, version: int | None, as_json: bool,
                 personal_id: str | None) -> None:
    rt = current_runtime()
    with rt.sessions() as session:
        rows = ops.list_versions(session, form_id, include_drafts=True)
        if version is not None:
            rows = [r for r in rows if r.version == version]
        if not rows:
            raise click.ClickException(f"no form {form_id!r}" +
                                       (f" version {version}" if version else ""))
        compiled = ops.compiled(rows[-1])
        report = dict(compiled.trimming_report)
        if personal_id:
            result = prefill.prefill(compiled.definition, personal_id, rt.sources(session))
            report["actual"] = prefill.actual_report(compiled.definition, result)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    c = report["counts"]
    click.echo(f"{report['title']} ({report['form_id']} v{report['version']})")
    click.echo(f"  official fields: {c['official_fields']}  typed: {c['typed']}  "
               f"prefilled: {c['prefilled']} (verified {c['verified']}, suggested "
               f"{c['suggested']})  dropped: {c['dropped']}  added by e-form: "
               f"{c['added_by_eform']}")
    click.echo(f"  {report['verdict']}")
    if "actual" in report:
        click.echo(f"  {report['actual']['verdict']}")
    for row in report["fields"]:
        where = f" <- {row['record']}" if "record" in row else ""
        who = f" [{row['person']['label']}]" if "person" in row else ""
        click.echo(f"  {row['status']:9} {row['path']}  {row['label']}{where}{who}")
    for d in report["dropped"]:
        click.echo(f"  dropped   {d['label']} ({d['reason_label']})")


def _print_problems(problems: list[dict[str, str]]) -> None:
    for p in problems:
        click.echo(f"{p.get('file')}: {p.get('path') or '-'}: [{p.get('code')}] "
                   f"{p.get('message')}", err=True)


@click.group("tokens", help="API bearer tokens (only their hash is stored).", cls=AppGroup)
def tokens_cli() -> None:
    pass


@tokens_cli.command("create", help="Create a token and print it once.")
@click.option("--role", type=click.Choice(tokens.ROLES), required=True)
@click.option("--label", required=True, help="Who or what the token is for.")
@click.option("--agency", "agency_code", help="Agency code (officer tokens).")
@click.option("--personal-id", help="12-digit personal ID number (citizen tokens).")
def tokens_create(role: str, label: str, agency_code: str | None,
                  personal_id: str | None) -> None:
    rt = current_runtime()
    with rt.sessions() as session:
        try:
            row, token = tokens.create_token(session, role, label, agency_code, personal_id)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        session.commit()
        click.echo(f"token id {row.id} ({role}, {label}):", err=True)
    click.echo(token)


@tokens_cli.command("revoke", help="Revoke a token by its id.")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    rt = current_runtime()
    with rt.sessions() as session:
        if not tokens.revoke_token(session, token_id):
            raise click.ClickException(f"no active token with id {token_id}")
        session.commit()
    click.echo(f"token {token_id} revoked")


@tokens_cli.command("list", help="List tokens (never the tokens themselves).")
def tokens_list() -> None:
    rt = current_runtime()
    with rt.sessions() as session:
        for row in session.scalars(select(ApiToken).order_by(ApiToken.id)):
            state = "revoked" if row.revoked_at else "active"
            scope = row.agency_code or row.personal_id or ""
            click.echo(f"{row.id}\t{row.role}\t{state}\t{scope}\t{row.label}")


@click.group("records", help="Digitised records of the embedded registers.", cls=AppGroup)
def records_cli() -> None:
    pass


@records_cli.command("import", help="Import records of one register from CSV or JSON Lines.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--register", type=click.Choice(list(REGISTERS)), required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]),
              help="Default: from the file name (.csv, else JSON Lines).")
@click.option("--rejects", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the rejected rows report here (JSON).")
def records_import(path: Path, register: str, fmt: str | None, rejects: Path | None) -> None:
    rt = current_runtime()
    with rt.sessions() as session, click.progressbar(
            length=path.stat().st_size, label=f"{path.name} -> {register}",
            file=sys.stderr) as bar:
        try:
            report = importer.import_file(session, register, path, fmt, bar.update)
        except importer.ImportError_ as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"read {report.read}, inserted {report.inserted}, updated {report.updated}, "
               f"unchanged {report.unchanged}, rejected {report.rejected}")
    for r in report.rejections:
        click.echo(f"  line {r['line']}: {'; '.join(r['reasons'])}", err=True)
    if report.rejected > len(report.rejections):
        click.echo(f"  … and {report.rejected - len(report.rejections)} more", err=True)
    if rejects:
        rejects.write_text(json.dumps(report.rejections, ensure_ascii=False, indent=1))
    if report.rejected:
        sys.exit(2)


@records_cli.command("demo", help="Generate synthetic demo records (seeded, reproducible).")
@click.option("--households", type=click.IntRange(2, 1_000_000), default=50, show_default=True)
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Write one JSON Lines file per register here instead of loading them.")
def records_demo(households: int, seed: int, out: Path | None) -> None:
    generated = demo.generate(households, seed)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for register, items in generated.records.items():
            key = subject_field(register)
            with (out / f"{register}.jsonl").open("w", encoding="utf-8") as fh:
                for subject, data in items:
                    fh.write(json.dumps({key: subject, **data}, ensure_ascii=False) + "\n")
        click.echo(f"wrote {generated.count()} records to {out}")
        return
    click.echo(f"loaded {load_demo(generated)} demo records")


def load_demo(generated: demo.DemoSet) -> int:
    rt = current_runtime()
    with rt.sessions() as session:
        for register, items in generated.records.items():
            records_store.upsert_many(session, register, items, "demo")
        session.commit()
    return generated.count()


#: the demo agency of the development set-up: Phường Ba Đình, Hà Nội (commune 00004)
DEV_AGENCY = "UBND-00004"


@click.command("dev-setup", help="Prepare the embedded development set-up (used by make run).")
@with_appcontext
def dev_setup() -> None:
    from forms import units
    from service.pki import devpki

    rt = current_runtime()
    data_dir = Path(rt.settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    load_demo(demo.generate(50))
    tokens_file = data_dir / "dev-tokens.json"
    dev_tokens = json.loads(tokens_file.read_text()) if tokens_file.exists() else {}
    wanted = [("designer", "designer", {}), ("auditor", "auditor", {}),
              ("citizen_father", "citizen", {"personal_id": demo.DEMO_FATHER}),
              ("citizen_daughter", "citizen", {"personal_id": demo.DEMO_DAUGHTER}),
              (f"officer_{DEV_AGENCY}", "officer", {"agency_code": DEV_AGENCY})]
    missing = [w for w in wanted if w[0] not in dev_tokens]
    if missing:
        with rt.sessions() as session:
            for name, role, extra in missing:
                dev_tokens[name] = tokens.create_token(session, role, f"DEVELOPMENT {name}",
                                                       **extra)[1]
            session.commit()
        tokens_file.write_text(json.dumps(dev_tokens, indent=2) + "\n")
        tokens_file.chmod(0o600)
    pki_config = data_dir / "dev-pki" / "signing.yaml"
    if not pki_config.exists():
        commune = units.name("00004")
        devpki.create(pki_config.parent,
                      {DEV_AGENCY: (f"Ủy ban nhân dân {commune}", "Hà Nội")},
                      f"http://{os.environ.get('HOST', '127.0.0.1')}:"
                      f"{os.environ.get('PORT', '5000')}")
    click.echo(f"database: {rt.settings.database_url}")
    click.echo(f"development tokens (not for production): {tokens_file}")
    click.echo(f"development signing keys (NOT legally valid): {pki_config}")


@click.command("verify", help="Verify a signed PDF: integrity, signer, trust, revocation, "
                                "timestamp, PAdES level, changes after signing, and whether "
                                "it is the original tokhai issued. Exit 0 valid, 1 not valid, "
                                "2 not verifiable.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
@with_appcontext
def verify_cli(path: Path, as_json: bool) -> None:
    from service.pki import validation as verification
    from service.results import issuance

    rt = current_runtime()
    if path.stat().st_size > rt.settings.verify_max_bytes:
        raise click.ClickException(f"file_too_large: over {rt.settings.verify_max_bytes} bytes")
    with rt.sessions() as session:
        try:
            report = verification.verify(path.read_bytes(), verification.trust_of(rt.signing),
                                         max_pages=rt.settings.verify_max_pages,
                                         original=issuance.original_finder(session),
                                         limits=verification.PdfLimits.from_settings(
                                             rt.settings))
        except verification.VerificationRefused as e:
            click.echo(f"{e.code}: {e.message} ({e.message_en})", err=True)
            sys.exit(2)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        verdict = "HỢP LỆ" if report["valid"] else "KHÔNG HỢP LỆ"
        legal = "có giá trị pháp lý" if report["legally_valid"] else "không có giá trị pháp lý"
        click.echo(f"{path.name}: {verdict} ({legal}); sha256 {report['sha256']}")
        for sig in report["signatures"]:
            signer = (sig["signer"] or {}).get("common_name")
            click.echo(f"  {sig['field']}: {signer}; level {sig['level']}; "
                       f"trusted {sig['trusted']}; revocation {sig['revocation']}; "
                       f"signed {sig['signing_time']}; changes {sig['changes_after_signing']}")
        if report["issued_by_tokhai"]:
            click.echo(f"  issued by tokhai as {report['document_id']}; matches original: "
                       f"{report['matches_original']}")
        for problem in report["problems"]:
            click.echo(f"  {problem['code']}: {problem['message']}")
    sys.exit(0 if report["valid"] else 1)


@click.command("worker", help="Archive documents waiting in the outbox into the document "
                              "store, again and again (or once with --once).")
@click.option("--once", is_flag=True, help="One pass, then exit (status 1 if any is left).")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between passes.")
@click.option("--batch", default=100, show_default=True, help="Documents per pass.")
@with_appcontext
def worker_cli(once: bool, interval: float, batch: int) -> None:
    import time

    from service.repository import documents as repository
    from storage.documents import StoreUnavailable

    rt = current_runtime()
    ready = False  # the bucket checked (or made) since the store last answered
    while True:
        try:
            if not ready:
                rt.store.ensure_ready(production=rt.settings.production)
                ready = True
            stored, pending = repository.archive_pending(rt.sessions, rt.store, batch)
            if stored or pending:
                click.echo(f"archived {stored}, still pending {pending}")
        except StoreUnavailable as e:
            ready, pending = False, -1
            click.echo(f"store unavailable: {e}", err=True)
        if once:
            sys.exit(0 if pending == 0 else 1)
        time.sleep(interval)


repository_cli = AppGroup("repository", help="The document repository.")


@repository_cli.command("verify", help="Compare the store with the index: recompute every "
                                       "stored object's sha256 and list missing, extra and "
                                       "altered objects. Exit 1 when anything is wrong.")
@click.option("--repair", is_flag=True,
              help="Upload missing objects again from the database's copies.")
def repository_verify(repair: bool) -> None:
    from service.repository import documents as repository
    from storage.documents import StoreUnavailable, sha256_of
    from storage.models import DossierDocument

    rt = current_runtime()
    store = rt.store
    problems = 0
    indexed: dict[str, tuple[int, str, bool]] = {}
    with rt.sessions() as session:
        for doc_id, key, sha, stored in session.execute(select(
                DossierDocument.id, DossierDocument.storage_key, DossierDocument.sha256,
                DossierDocument.stored_at.is_not(None)).where(
                DossierDocument.storage_key.is_not(None))):
            indexed[key] = (doc_id, sha, stored)
    keys = set(store.keys())
    for key, (doc_id, sha, stored) in sorted(indexed.items()):
        if key not in keys:
            if stored:
                problems += 1
                click.echo(f"missing: {key}")
                if repair:
                    with rt.sessions() as session:
                        row = session.get(DossierDocument, doc_id)
                        row.stored_at = None  # type: ignore[union-attr]
                        session.commit()
                        try:
                            ok = repository.archive(session, store, doc_id)
                        except StoreUnavailable:
                            ok = False
                    click.echo(f"  re-uploaded: {ok}")
            continue
        actual = sha256_of(store.get(key))
        if actual != sha:
            problems += 1
            click.echo(f"altered: {key} (index {sha[:12]}…, store {actual[:12]}…)")
    for key in sorted(keys - set(indexed)):
        problems += 1
        click.echo(f"extra: {key} (in the store, not in the index)")
    pending = sum(1 for _, _, stored in indexed.values() if not stored)
    click.echo(f"{len(indexed)} indexed, {len(keys)} stored, {pending} pending, "
               f"{problems} problem(s)")
    sys.exit(1 if problems else 0)


def register(app: Flask) -> None:
    for command in (db_cli, forms_cli, tokens_cli, records_cli, dev_setup, verify_cli,
                    worker_cli, repository_cli):
        app.cli.add_command(command)


def _create_app() -> Flask:
    from service import patches
    from service.pki.config import SigningSetupError
    from service.web import create_app
    from service.web.ratelimit import RateLimitMisconfigured
    from storage.documents import StoreMisconfigured

    patches.install()  # the commands render, sign and verify as the service does
    try:
        return create_app()
    except (SigningSetupError, StoreMisconfigured, RateLimitMisconfigured) as e:
        raise SystemExit(f"tokhai cannot start: {e}") from None


main = FlaskGroup(create_app=_create_app, add_default_commands=True,
                  help="tokhai: electronic declaration forms for Vietnamese procedures.")

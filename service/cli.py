"""The ``tokhai`` command line: database, forms, tokens, and the embedded development set-up.

Only the commands that need the running application build it (``create_app``, through flask's
``with_appcontext``); the database commands open just an engine, and ``forms check`` and
``--help`` open nothing: they answer in well under a second and create no file. Heavy modules
are imported inside the commands for the same reason.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from forms.registers import REGISTERS
from service import errors as domain

if TYPE_CHECKING:
    from flask import Flask
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from service.records import demo

#: the exit code of a command an operation refused (the first kind that fits; 1 otherwise), as
#: the web layer has its table of HTTP statuses (service.web.errors.STATUS)
EXIT_CODES: tuple[tuple[type[domain.DomainError] | tuple[type[domain.DomainError], ...], int],
                  ...] = (
    ((domain.Unavailable, domain.TooManyRequests), 5),
    ((domain.InvalidData, domain.Malformed, domain.TooLarge), 2),
    ((domain.NotFound, domain.Gone), 3),
    ((domain.Conflict, domain.VersionMismatch, domain.PreconditionRequired), 4),
    ((domain.NotAllowed, domain.Unauthenticated), 6),
)


def exit_code(err: domain.DomainError) -> int:
    return next((code for kinds, code in EXIT_CODES if isinstance(err, kinds)), 1)


def refused(err: domain.DomainError) -> NoReturn:
    """An operation's refusal: its code and messages on stderr, the exit code of its kind."""
    click.echo(f"{err.code}: {err.message} ({err.message_en})", err=True)
    sys.exit(exit_code(err))


#: the roles of API tokens (service.tokens.ROLES; a test checks they are the same)
ROLES = ("designer", "officer", "citizen", "auditor")
#: the catalogue shipped with the package (service.catalogue.CATALOGUE_DIR)
CATALOGUE_DIR = Path(__file__).resolve().parent.parent / "forms" / "catalogue"


def with_appcontext(f: Callable[..., Any]) -> Callable[..., Any]:
    """As flask's ``with_appcontext``: the command runs inside the application, built when the
    command runs (or the one already current, as under ``app.test_cli_runner()``); importing
    this module imports no flask."""

    @click.pass_context
    def decorator(ctx: click.Context, /, *args: Any, **kwargs: Any) -> Any:
        from flask import current_app

        if not current_app:
            ctx.with_resource(_script_info(ctx).load_app().app_context())
        return ctx.invoke(f, *args, **kwargs)

    return functools.update_wrapper(decorator, f)


def _script_info(ctx: click.Context):
    """flask's ScriptInfo for this command line: how to build the application."""
    from flask.cli import ScriptInfo

    root = ctx.find_root()
    if not isinstance(root.obj, ScriptInfo):
        root.obj = ScriptInfo(create_app=_create_app)
        root.obj.tokhai_own = True  # builds the whole application: not "given" (_given_app)
    return root.obj


def _runtime():
    from service.web.runtime import current_runtime

    return current_runtime()


def _given_app():
    """The application these commands were given, if any: the current one, or the one of a
    ScriptInfo the caller passed (``flask --app wsgi:app ...``, ``app.test_cli_runner()``).
    None under ``tokhai``, whose database commands build no application."""
    from flask import current_app
    from flask.cli import ScriptInfo

    if current_app:
        return current_app._get_current_object()
    ctx = click.get_current_context(silent=True)
    info = ctx.find_root().obj if ctx else None
    if isinstance(info, ScriptInfo) and not getattr(info, "tokhai_own", False):
        return info.load_app()
    return None


@contextmanager
def _database() -> Iterator[tuple[Engine, sessionmaker[Session]]]:
    """The database alone, without the application: the given application's when there is
    one, else the one the environment names (DATABASE_URL, TOKHAI_DATA_DIR)."""
    from storage import db

    app = _given_app()
    if app is not None:
        rt = app.extensions["tokhai"]
        yield rt.engine, rt.sessions
        return
    engine = db.make_engine(_settings().database_url)
    try:
        yield engine, db.session_factory(engine)
    finally:
        engine.dispose()


def _sqlite_file_missing(url: str) -> str | None:
    """The SQLite file ``url`` names when it does not exist (opening it would create it)."""
    from storage.db import normalise_url

    url = normalise_url(url)
    if not url.startswith("sqlite"):
        return None
    name = url.split("///", 1)[-1]
    if not name or name == ":memory:" or Path(name).exists():
        return None
    return name


@click.group("db", help="Database schema (Alembic migrations).")
def db_cli() -> None:
    pass


@db_cli.command("upgrade", help="Apply every migration not applied yet (under the start-up "
                                "lock: concurrent runs apply each migration once).")
def db_upgrade() -> None:
    from storage import db

    with _database() as (engine, _):
        with db.startup_lock(engine):
            db.upgrade(engine)
        click.echo(f"database at revision {db.current_revision(engine)}")


@db_cli.command("current", help="Print the applied migration revision of the database as it "
                                "is (nothing is migrated or created).")
def db_current() -> None:
    from storage import db

    missing = _sqlite_file_missing(_settings().database_url)
    if missing:  # said without opening it: opening would create the file and its directory
        click.echo(f"(empty: no database file {missing})")
        return
    with _database() as (engine, _):
        click.echo(db.current_revision(engine) or "(empty: no migration applied)")


@click.group("forms", help="Form definitions, the catalogue and trimming reports.")
def forms_cli() -> None:
    pass


@forms_cli.command("load", help="Publish the catalogue forms missing from the database (under "
                                 "the start-up lock; run `tokhai db upgrade` first).")
@click.option("--dir", "directory", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=CATALOGUE_DIR, show_default=True)
def forms_load(directory: Path) -> None:
    from service import catalogue as ops
    from storage import db

    with _database() as (engine, sessions), db.startup_lock(engine), sessions() as session:
        try:
            outcomes = ops.load_catalogue(session, directory)
        except domain.DomainError as exc:
            session.rollback()
            _print_problems(exc.errors)
            refused(exc)
        session.commit()
    for name, outcome in outcomes:
        click.echo(f"{name}: {outcome}")


@forms_cli.command("check", help="Check definition files without storing them.")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def forms_check(files: tuple[str, ...]) -> None:
    from forms.language import DefinitionError, parse_text

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
@with_appcontext
def forms_report(form_id: str, version: int | None, as_json: bool,
                 personal_id: str | None) -> None:
    from service import catalogue as ops
    from service.records import prefill

    rt = _runtime()
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


@forms_cli.command("import-pdf", help="Read an official form's PDF as a draft definition to "
                                       "review (written to --out, else printed); the findings "
                                       "go to stderr. Stores nothing.")
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the draft here (an existing file only with --force).")
@click.option("--force", is_flag=True, help="Overwrite the --out file.")
def forms_import_pdf(pdf: Path, out: Path | None, force: bool) -> None:
    from service import imports

    if out is not None and out.exists() and not force:
        raise click.ClickException(f"{out} exists; use --force to overwrite it")
    try:
        if pdf.stat().st_size > imports.MAX_BYTES:  # not even read
            raise imports.too_large(pdf.stat().st_size)
        draft = imports.import_pdf(pdf.read_bytes())
    except domain.DomainError as exc:
        refused(exc)
    for f in draft.findings:
        sure = f" ({f.confidence:.0%})" if f.confidence is not None else ""
        click.echo(f"{pdf.name}: {f.path or '-'}: [{f.code}]{sure} {f.message}", err=True)
    if draft.from_ocr:
        click.echo(f"{pdf.name}: the text was read by OCR: check every label", err=True)
    if out is None:
        click.echo(draft.yaml, nl=not draft.yaml.endswith("\n"))
        return
    out.write_text(draft.yaml, encoding="utf-8")
    click.echo(f"{out}: draft written ({len(draft.findings)} findings to review); check it "
               f"with `tokhai forms check {out}`", err=True)


def _print_problems(problems: list[dict[str, str]]) -> None:
    for p in problems:
        click.echo(f"{p.get('file')}: {p.get('path') or '-'}: [{p.get('code')}] "
                   f"{p.get('message')}", err=True)


@click.group("tokens", help="API bearer tokens (only their hash is stored).")
def tokens_cli() -> None:
    pass


@tokens_cli.command("create", help="Create a token and print it once.")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--label", required=True, help="Who or what the token is for.")
@click.option("--agency", "agency_code", help="Agency code (officer tokens).")
@click.option("--personal-id", help="12-digit personal ID number (citizen tokens).")
def tokens_create(role: str, label: str, agency_code: str | None,
                  personal_id: str | None) -> None:
    from service import tokens

    with _database() as (_, sessions), sessions() as session:
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
    from service import tokens

    with _database() as (_, sessions), sessions() as session:
        if not tokens.revoke_token(session, token_id):
            raise click.ClickException(f"no active token with id {token_id}")
        session.commit()
    click.echo(f"token {token_id} revoked")


@tokens_cli.command("list", help="List tokens (never the tokens themselves).")
def tokens_list() -> None:
    from sqlalchemy import select

    from storage.models import ApiToken

    with _database() as (_, sessions), sessions() as session:
        for row in session.scalars(select(ApiToken).order_by(ApiToken.id)):
            state = "revoked" if row.revoked_at else "active"
            scope = row.agency_code or row.personal_id or ""
            click.echo(f"{row.id}\t{row.role}\t{state}\t{scope}\t{row.label}")


@click.group("staff", help="Staff roles from sign-in: which identity-provider subjects are "
                            "officers (of an agency), form designers or auditors.")
def staff_cli() -> None:
    pass


def _actor() -> str:
    """Who grants, as the mapping records it: the operating-system user of the command."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _agency_warning(agency_code: str) -> str | None:
    """Why an officer's agency may not be usable (not in the signing configuration, or no
    configuration to check against), or None. A warning, not a refusal: an agency's keys may
    be configured after its officers are named, and without them the officer can handle the
    agency's dossiers but cannot issue results."""
    from service.pki.config import SigningConfig, SigningSetupError

    path = _settings().signing_config
    if not path:
        return (f"no signing configuration (TOKHAI_SIGNING_CONFIG) to check agency "
                f"{agency_code!r} against")
    try:
        agencies = SigningConfig.load(path).agencies
    except SigningSetupError as e:
        return f"the signing configuration cannot be read ({e}): agency not checked"
    if agency_code not in agencies:
        return (f"agency {agency_code!r} is not in the signing configuration {path} (it has "
                f"{', '.join(sorted(agencies)) or 'none'}): the officer can handle its "
                "dossiers but not issue results until it is added")
    return None


@staff_cli.command("grant", help="Give a subject of the identity provider a staff role (again: "
                                 "replace its role, agency and name; their open sessions end "
                                 "at their next request when the role or agency changes).")
@click.option("--issuer", required=True, help="The provider's issuer URL (TOKHAI_OIDC_ISSUER).")
@click.option("--subject", required=True, help="The person's subject (the 'sub' claim; the "
                                               "no-role page shows it to them).")
@click.option("--role", type=click.Choice(["officer", "designer", "auditor"]), required=True)
@click.option("--agency", "agency_code", help="Agency code (officers only).")
@click.option("--name", help="A name to show when the provider gives none.")
def staff_grant(issuer: str, subject: str, role: str, agency_code: str | None,
                name: str | None) -> None:
    from service import staff

    settings = _settings()
    if settings.oidc_issuer and staff.normalise_issuer(issuer) != staff.normalise_issuer(
            settings.oidc_issuer):
        click.echo(f"warning: the configured provider is {settings.oidc_issuer}, not "
                   f"{issuer}: this mapping applies only to people signing in through "
                   f"{issuer}", err=True)
    with _database() as (_, sessions), sessions() as session:
        try:
            row, outcome = staff.grant(session, issuer, subject, role, agency_code, name,
                                       _actor())
        except domain.DomainError as e:
            refused(e)
        session.commit()
    if role == "officer" and agency_code:
        warning = _agency_warning(agency_code)
        if warning:
            click.echo(f"warning: {warning}", err=True)
    scope = f" of {row.agency_code}" if row.agency_code else ""
    click.echo(f"{outcome}: {row.subject} at {row.issuer} is {row.role}{scope}")


@staff_cli.command("revoke", help="Take a subject's staff role away; their open sessions end at "
                                  "their next request.")
@click.option("--issuer", required=True, help="The provider's issuer URL.")
@click.option("--subject", required=True, help="The person's subject (the 'sub' claim).")
def staff_revoke(issuer: str, subject: str) -> None:
    from service import staff

    with _database() as (_, sessions), sessions() as session:
        try:
            row = staff.revoke(session, issuer, subject)
        except domain.DomainError as e:
            refused(e)
        session.commit()
    click.echo(f"revoked: {row.subject} at {row.issuer} ({row.role})")


@staff_cli.command("list", help="List the staff roles granted (a table).")
def staff_list() -> None:
    from service import staff

    with _database() as (_, sessions), sessions() as session:
        rows = [(r.role, r.agency_code or "-", r.subject, r.issuer, r.name or "-",
                 f"{r.granted_by} {r.granted_at:%Y-%m-%d %H:%M}") for r in
                staff.list_roles(session)]
    if not rows:
        click.echo("no staff role granted", err=True)
        return
    header = ("ROLE", "AGENCY", "SUBJECT", "ISSUER", "NAME", "GRANTED")
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    for line in (header, *rows):
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


@click.group("records", help="Digitised records of the embedded registers.")
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
    from service.records import importer

    with _database() as (_, sessions), sessions() as session, click.progressbar(
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
    from forms.records import subject_field
    from service.records import demo

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
    from storage import records as records_store

    with _database() as (_, sessions), sessions() as session:
        for register, items in generated.records.items():
            records_store.upsert_many(session, register, items, "demo")
        session.commit()
    return generated.count()


def _demo_dossiers() -> None:
    """A few demo dossiers at the development officer's agency (service.dossiers.demo), filed
    through an application built as ``make run`` serves it; none when it has dossiers."""
    from service.dossiers import demo as demo_dossiers
    from service.records import demo
    from service.web import create_app

    app = _given_app() or create_app(_settings())
    rt = app.extensions["tokhai"]
    with app.app_context(), rt.sessions() as session:
        codes = demo_dossiers.file_demo_dossiers(
            session, demo.DEMO_AGENCY,
            {"father": demo.DEMO_FATHER, "daughter": demo.DEMO_DAUGHTER}, rt.sources(session),
            rt.calendar_for(demo.DEMO_AGENCY), rt.settings.default_processing_days,
            rt.secret_key)
        session.commit()
    if codes:
        click.echo(f"demo dossiers at {demo.DEMO_AGENCY}: {', '.join(codes)}")


def _settings():
    """The given application's settings, else the environment's."""
    app = _given_app()
    if app is not None:
        return app.extensions["tokhai"].settings
    from service.config import Settings

    return Settings.from_env()


#: the installation's secret in the data directory, when TOKHAI_SECRET_KEY does not give it
SECRET_KEY_FILE = "secret-key"


def make_secret_key(data_dir: str | Path) -> tuple[Path, bool]:
    """Make the installation's secret file once (mode 0600); concurrent runs all keep the
    same one. Returns its path and whether this call made it."""
    import contextlib
    import secrets

    from storage.documents import create_once

    path = Path(data_dir) / SECRET_KEY_FILE
    if path.exists():
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # another process was first
        create_once(path, secrets.token_urlsafe(48).encode(), 0o600)
        return path, True
    return path, False


@click.command("secret-key", help="Make the installation's secret (signs download links, keys "
                                  "the logs' hashes and the rate limits) in TOKHAI_DATA_DIR, "
                                  "unless it exists or TOKHAI_SECRET_KEY gives it.")
def secret_key_cli() -> None:
    settings = _settings()
    if settings.secret_key:
        click.echo("TOKHAI_SECRET_KEY is set: no file needed")
        return
    path, made = make_secret_key(settings.data_dir)
    click.echo(f"{'made' if made else 'kept'} {path}")


@click.command("dev-setup", help="Prepare the embedded development set-up (used by make run, "
                                 "after `tokhai db upgrade` and `tokhai forms load`).")
def dev_setup() -> None:
    from forms import units
    from service import tokens
    from service.pki import devpki
    from service.records import demo

    settings = _settings()
    data_dir = Path(settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    if not settings.secret_key:
        make_secret_key(data_dir)
    load_demo(demo.generate(50))
    tokens_file = data_dir / "dev-tokens.json"
    dev_tokens = json.loads(tokens_file.read_text()) if tokens_file.exists() else {}
    wanted = [("designer", "designer", {}), ("auditor", "auditor", {}),
              ("citizen_father", "citizen", {"personal_id": demo.DEMO_FATHER}),
              ("citizen_daughter", "citizen", {"personal_id": demo.DEMO_DAUGHTER}),
              ("citizen_mother", "citizen", {"personal_id": demo.DEMO_MOTHER}),
              (f"officer_{demo.DEMO_AGENCY}", "officer", {"agency_code": demo.DEMO_AGENCY})]
    missing = [w for w in wanted if w[0] not in dev_tokens]
    if missing:
        with _database() as (_, sessions), sessions() as session:
            for name, role, extra in missing:
                dev_tokens[name] = tokens.create_token(session, role, f"DEVELOPMENT {name}",
                                                       **extra)[1]
            session.commit()
        tokens_file.write_text(json.dumps(dev_tokens, indent=2) + "\n")
        tokens_file.chmod(0o600)
    pki_config = data_dir / "dev-pki" / "signing.yaml"
    if not pki_config.exists():
        commune = units.name("00004") or "Phường Ba Đình"
        devpki.create(pki_config.parent,  # the place on its documents: the ward's own name
                      {demo.DEMO_AGENCY: (f"Ủy ban nhân dân {commune}", devpki.locality(commune))},
                      f"http://{os.environ.get('HOST', '127.0.0.1')}:"
                      f"{os.environ.get('PORT', '5000')}")
    _demo_dossiers()
    click.echo(f"database: {settings.database_url}")
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

    rt = _runtime()
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
            refused(e)  # 2 (5 when every verifying process is busy)
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
                              "store, repair stored documents found missing or changed, and "
                              "e-mail citizens about their dossiers (SMTP, or the mail folder "
                              "TOKHAI_MAIL_DIR), again and again (or once with --once).")
@click.option("--once", is_flag=True, help="One pass, then exit (status 1 if any document is "
                                           "left pending or not repaired).")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between passes.")
@click.option("--batch", default=100, show_default=True, help="Documents per pass.")
@with_appcontext
def worker_cli(once: bool, interval: float, batch: int) -> None:
    import time

    from service.repository import documents as repository
    from service.repository import integrity
    from storage.documents import BucketMissing, StoreUnavailable

    rt = _runtime()
    ready = False  # the bucket checked (or made) since the store last answered
    check_all = False  # every stored document to check: the bucket was made again
    while True:
        _notify(rt, batch)
        left = 0
        try:
            if not ready:
                if _store_lost(rt, rt.store.ensure_ready(production=rt.settings.production)):
                    check_all = True
                    click.echo("the document store had lost its documents (bucket or folder "
                               "made again): checking every stored document", err=True)
                ready = True
            with rt.sessions() as session:
                flagged = None if check_all else integrity.flagged_ids(session, batch)
            if flagged is None or flagged:
                left += _report_checks(integrity.check_documents(
                    rt.sessions, rt.store, repair_them=True, ids=flagged), worker=True)
                check_all = False
            stored, pending = repository.archive_pending(rt.sessions, rt.store, batch)
            left += pending
            if stored or pending:
                click.echo(f"archived {stored}, still pending {pending}")
        except StoreUnavailable as e:
            ready, left = False, -1
            click.echo(f"store unavailable: {e}", err=True)
        except BucketMissing as e:
            ready, left = False, -1
            click.echo(f"the bucket is gone ({e}): it is made again at the next pass, and "
                       "every stored document checked and restored", err=True)
        if once:
            sys.exit(0 if left == 0 else 1)
        time.sleep(interval)


def _notify(rt, batch: int) -> None:
    """One pass of the e-mail outbox: the new dossier events become notifications, and the
    due ones are sent (with no sender configured they wait in the outbox). A failure is
    said and tried again at the next pass; it never stops the archiving."""
    from sqlalchemy.exc import SQLAlchemyError

    from service import mail
    from service.dossiers import notifications

    try:
        with rt.sessions() as session:
            read, written = notifications.collect(session, batch * 5,
                                                  public_url=rt.settings.public_url)
        sender = mail.make_sender(rt.settings)
        if sender is None:
            if written:
                click.echo(f"{written} notifications kept unsent: no TOKHAI_SMTP_SERVER nor "
                           "TOKHAI_MAIL_DIR", err=True)
            return
        done = notifications.send_pending(rt.sessions, sender, batch)
    except SQLAlchemyError as e:
        click.echo(f"notifications not handled this pass: {type(e).__name__}", err=True)
        return
    if done.sent or done.retrying or done.failed:
        click.echo(f"e-mails: sent {done.sent}, to retry {done.retrying}, given up "
                   f"{done.failed}", err=bool(done.retrying or done.failed))


def _store_lost(rt, created: bool) -> bool:
    """Whether the store has lost documents it held: its bucket (or folder) had to be
    ``created`` while documents are recorded as stored, or the last stored document is gone
    (the bucket made again by someone else, or by a service's start-up)."""
    from sqlalchemy import select

    from service.repository import integrity
    from storage.models import DossierDocument

    with rt.sessions() as session:
        last = session.execute(select(
            DossierDocument.storage_key, DossierDocument.sha256, DossierDocument.size,
            DossierDocument.store_version_id).where(
            DossierDocument.stored_at.is_not(None), DossierDocument.storage_key.is_not(None),
            DossierDocument.size.is_not(None))
            .order_by(DossierDocument.id.desc()).limit(1)).first()
    if last is None:
        return False  # nothing stored yet (a new installation): nothing lost
    return created or integrity.check(rt.store, *last).state == integrity.MISSING


def _report_checks(outcomes, worker: bool = False) -> int:
    """Print what the checks found and what was repaired, naming every document; returns
    how many are still not as issued afterwards."""
    from service.repository import integrity

    left = 0
    for o in outcomes:
        if o.found.state != integrity.OK:
            click.echo(f"{o.found.state}: {o.key} (document {o.document_id})"
                       + (f": {o.found.detail}" if o.found.detail else ""))
        if o.repaired == "pinned":
            click.echo(f"pinned: {o.key} (document {o.document_id}) to the version that "
                       f"holds it, {o.after.version_id}")
        elif o.repaired:
            click.echo(f"  {o.repaired}: document {o.document_id} from the verified copy; now "
                       f"{o.after.state}")
        if o.error:
            click.echo(f"  not repaired: document {o.document_id}: {o.error}", err=worker)
        if o.after.state != integrity.OK:
            left += 1
    return left


@click.group("repository", help="The document repository.")
def repository_cli() -> None:
    pass


@repository_cli.command("verify", help="Compare the store with the index: read every stored "
                                       "document by its pinned version, check its sha256, and "
                                       "list objects missing, altered, shadowed by a newer "
                                       "version, hidden by a delete marker, and extra. Exit 1 "
                                       "when anything is wrong (after --repair: still wrong).")
@click.option("--repair", is_flag=True,
              help="Restore missing, altered, shadowed and hidden objects from the database's "
                   "verified copies, with their original retention.")
@with_appcontext
def repository_verify(repair: bool) -> None:
    from collections import Counter

    from sqlalchemy import select

    from service.repository import integrity
    from storage.documents import BucketMissing, StoreError, StoreMisconfigured
    from storage.models import DossierDocument

    rt = _runtime()
    store = rt.store

    def stored_keys(say: bool = False) -> set[str]:
        try:
            return set(store.keys())
        except BucketMissing:
            if say:
                click.echo("the bucket is gone: every stored document is missing")
            return set()

    try:
        stored_keys(say=True)
        if repair:
            store.ensure_ready(production=rt.settings.production)
    except StoreMisconfigured as e:
        click.echo(f"cannot repair: {e}", err=True)
    except StoreError as e:
        click.echo(f"store unavailable: {e}", err=True)
        sys.exit(5)
    with rt.sessions() as session:
        indexed: dict[str, bool] = {key: stored for key, stored in session.execute(select(
            DossierDocument.storage_key, DossierDocument.stored_at.is_not(None)).where(
            DossierDocument.storage_key.is_not(None)))}
    try:
        outcomes = list(integrity.check_documents(rt.sessions, store, repair_them=repair))
    except BucketMissing as e:
        click.echo(f"cannot repair: the bucket is gone ({e})", err=True)
        sys.exit(1)
    remaining = _report_checks(outcomes)
    found = Counter(o.found.state for o in outcomes if o.found.state != integrity.OK)
    repaired = sum(1 for o in outcomes if o.repaired in ("restored", "unhidden"))
    keys = stored_keys()
    for key in sorted(keys - set(indexed)):
        remaining += 1
        found["extra"] += 1
        click.echo(f"extra: {key} (in the store, not in the index)")
    pending = sum(1 for stored in indexed.values() if not stored)
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(found.items()))
    kinds = f" ({kinds})" if kinds else ""
    counts = f"{len(indexed)} indexed, {len(keys)} stored, {pending} pending"
    if repair:  # the counts and the exit code describe the state after the repair
        click.echo(f"{counts}; found {found.total()} problem(s){kinds}, repaired {repaired}; "
                   f"after repair: {remaining} problem(s)")
    else:
        click.echo(f"{counts}: {remaining} problem(s){kinds}")
    sys.exit(1 if remaining else 0)


COMMANDS = (db_cli, forms_cli, tokens_cli, staff_cli, records_cli, secret_key_cli, dev_setup,
            verify_cli, worker_cli, repository_cli)


def register(app: Flask) -> None:
    """The commands under ``flask --app wsgi:app ...`` too."""
    for command in COMMANDS:
        app.cli.add_command(command)


def _create_app() -> Flask:
    from service import patches
    from service.web import create_app, startup_errors

    patches.install()  # the commands render, sign and verify as the service does
    try:
        return create_app()
    except startup_errors() as e:
        raise SystemExit(f"tokhai cannot start: {e}") from None


#: flask's own commands, kept as they were under FlaskGroup (imported only when asked for)
FLASK_COMMANDS = ("routes", "run", "shell")


class _Main(click.Group):
    """A plain group: unlike flask's FlaskGroup it does not build the application to list or
    find commands; the commands that need it build it (``with_appcontext``)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *FLASK_COMMANDS])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except domain.DomainError as e:
            refused(e)
        except Exception as e:
            # a database without tokhai's tables (a fresh machine before `make run`); the
            # database layer is imported only by the commands that use it
            exc = sys.modules.get("sqlalchemy.exc")
            if exc is not None and isinstance(e, exc.ProgrammingError | exc.OperationalError) \
                    and ("no such table" in str(e.orig) or "does not exist" in str(e.orig)):
                raise SystemExit("tokhai: the database has no tokhai tables yet; run "
                                 "`tokhai db upgrade` (or `make run`) first.") from None
            raise

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in FLASK_COMMANDS:
            from flask import cli as flask_cli

            _script_info(ctx)
            return getattr(flask_cli, f"{cmd_name}_command")
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Main, help="tokhai: electronic declaration forms for Vietnamese procedures.")
def main() -> None:
    pass


for _command in COMMANDS:
    main.add_command(_command)


if __name__ == "__main__":
    main()

"""The ``tokhai`` command line: database, forms, tokens, and the embedded development set-up."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext
from sqlalchemy import select

from forms.language import DefinitionError, parse_text
from service import auth
from service import forms as ops
from service.errors import ApiError
from storage import db
from storage.models import ApiToken


def _runtime():  # type: ignore[no-untyped-def]
    return current_app.extensions["tokhai"]


@click.group("db", help="Database schema (Alembic migrations).", cls=AppGroup)
def db_cli() -> None:
    pass


@db_cli.command("upgrade", help="Apply every migration not applied yet.")
def db_upgrade() -> None:
    rt = _runtime()
    with db.startup_lock(rt.engine):
        db.upgrade(rt.engine)
    click.echo(f"database at revision {db.current_revision(rt.engine)}")


@db_cli.command("current", help="Print the applied migration revision.")
def db_current() -> None:
    click.echo(db.current_revision(_runtime().engine) or "(empty)")


@click.group("forms", help="Form definitions, the catalogue and trimming reports.", cls=AppGroup)
def forms_cli() -> None:
    pass


@forms_cli.command("load", help="Publish the catalogue forms missing from the database.")
@click.option("--dir", "directory", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=ops.CATALOGUE_DIR, show_default=True)
def forms_load(directory: Path) -> None:
    rt = _runtime()
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
def forms_report(form_id: str, version: int | None, as_json: bool) -> None:
    rt = _runtime()
    with rt.sessions() as session:
        rows = ops.list_versions(session, form_id, include_drafts=True)
        if version is not None:
            rows = [r for r in rows if r.version == version]
        if not rows:
            raise click.ClickException(f"no form {form_id!r}" +
                                       (f" version {version}" if version else ""))
        report = ops.compiled(rows[-1]).trimming_report
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
@click.option("--role", type=click.Choice(auth.ROLES), required=True)
@click.option("--label", required=True, help="Who or what the token is for.")
@click.option("--agency", "agency_code", help="Agency code (officer tokens).")
@click.option("--personal-id", help="12-digit personal ID number (citizen tokens).")
def tokens_create(role: str, label: str, agency_code: str | None,
                  personal_id: str | None) -> None:
    rt = _runtime()
    with rt.sessions() as session:
        try:
            row, token = auth.create_token(session, role, label, agency_code, personal_id)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        session.commit()
        click.echo(f"token id {row.id} ({role}, {label}):", err=True)
    click.echo(token)


@tokens_cli.command("revoke", help="Revoke a token by its id.")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    rt = _runtime()
    with rt.sessions() as session:
        if not auth.revoke_token(session, token_id):
            raise click.ClickException(f"no active token with id {token_id}")
        session.commit()
    click.echo(f"token {token_id} revoked")


@tokens_cli.command("list", help="List tokens (never the tokens themselves).")
def tokens_list() -> None:
    rt = _runtime()
    with rt.sessions() as session:
        for row in session.scalars(select(ApiToken).order_by(ApiToken.id)):
            state = "revoked" if row.revoked_at else "active"
            scope = row.agency_code or row.personal_id or ""
            click.echo(f"{row.id}\t{row.role}\t{state}\t{scope}\t{row.label}")


@click.command("dev-setup", help="Prepare the embedded development set-up (used by make run).")
@with_appcontext
def dev_setup() -> None:
    rt = _runtime()
    data_dir = Path(rt.settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    tokens_file = data_dir / "dev-tokens.json"
    if not tokens_file.exists():
        with rt.sessions() as session:
            created = {role: auth.create_token(session, role, f"DEVELOPMENT {role}")[1]
                       for role in ("designer", "auditor")}
            session.commit()
        tokens_file.write_text(json.dumps(created, indent=2) + "\n")
        tokens_file.chmod(0o600)
    click.echo(f"database: {rt.settings.database_url}")
    click.echo(f"development tokens (not for production): {tokens_file}")


def register(app: Flask) -> None:
    for command in (db_cli, forms_cli, tokens_cli, dev_setup):
        app.cli.add_command(command)


def _create_app() -> Flask:
    from service import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app, add_default_commands=True,
                  help="tokhai: electronic declaration forms for Vietnamese procedures.")

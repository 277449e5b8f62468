"""Staff roles from sign-in (#15, point 1): the mappings of identity-provider subjects to
roles (service.staff) and ``tokhai staff grant|revoke|list``, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service import errors, staff, tokens
from service.cli import EXIT_CODES
from tests.conftest import BACKENDS, _fresh_postgres, make_app

ISSUER = "https://id.example.gov.vn"


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path: Path, signing_config: str) -> Iterator[Any]:
    """A migrated application of each backend (no catalogue), the test agencies' keys."""
    if request.param == "sqlite":
        yield make_app(f"sqlite:///{tmp_path / 'tokhai.db'}", tmp_path,
                       signing_config=signing_config, load_catalogue=False)
        return
    for url in _fresh_postgres(request.getfixturevalue("postgres_server_url")):
        application = make_app(url, tmp_path, signing_config=signing_config,
                               load_catalogue=False)
        yield application
        application.extensions["tokhai"].engine.dispose()


@pytest.fixture
def db(app: Any) -> Iterator[Any]:
    with app.extensions["tokhai"].sessions() as session:
        yield session


def test_grant_role_of_regrant_and_revoke(db: Any) -> None:
    assert staff.role_of(db, ISSUER, "cb-01") is None
    row, outcome = staff.grant(db, ISSUER, "cb-01", "officer", "UBND-XA-00004", "Trần Văn Bình",
                               "cli:admin")
    db.commit()
    assert outcome == "granted"
    assert (row.role, row.agency_code, row.name, row.granted_by) == (
        "officer", "UBND-XA-00004", "Trần Văn Bình", "cli:admin")
    # the issuer with or without its trailing slash is the same provider
    found = staff.role_of(db, ISSUER + "/", "cb-01")
    assert found is not None and found.id == row.id
    assert staff.role_of(db, ISSUER, "CB-01") is None  # subjects are exact
    assert staff.role_of(db, "https://other.example", "cb-01") is None
    # the same grant again changes nothing; another one replaces the row
    assert staff.grant(db, ISSUER + "/", "cb-01", "officer", "UBND-XA-00004", "Trần Văn Bình",
                       "cli:admin")[1] == "unchanged"
    again, outcome = staff.grant(db, ISSUER, "cb-01", "auditor", None, None, "cli:other")
    db.commit()
    assert outcome == "updated" and again.id == row.id
    assert (again.role, again.agency_code, again.name, again.granted_by) == (
        "auditor", None, None, "cli:other")
    assert [r.subject for r in staff.list_roles(db)] == ["cb-01"]
    removed = staff.revoke(db, ISSUER + "/", "cb-01")
    db.commit()
    assert removed.subject == "cb-01"
    assert staff.role_of(db, ISSUER, "cb-01") is None
    with pytest.raises(errors.NotFound):
        staff.revoke(db, ISSUER, "cb-01")


def test_list_is_ordered(db: Any) -> None:
    staff.grant(db, ISSUER, "z", "designer", None, None, "t")
    staff.grant(db, ISSUER, "a", "officer", "CA-HN", None, "t")
    staff.grant(db, "http://127.0.0.1:9", "m", "auditor", None, None, "t")
    db.commit()
    assert [(r.issuer, r.subject) for r in staff.list_roles(db)] == [
        ("http://127.0.0.1:9", "m"), (ISSUER, "z"), (ISSUER, "a")]


@pytest.mark.parametrize(("issuer", "subject", "role", "agency", "name", "field"), [
    (ISSUER, "s", "citizen", None, None, "role"),
    (ISSUER, "s", "admin", None, None, "role"),
    (ISSUER, "s", "officer", None, None, "agency_code"),
    (ISSUER, "s", "officer", "UBND 00004", None, "agency_code"),
    (ISSUER, "s", "officer", "UBND-00004\n", None, "agency_code"),
    (ISSUER, "s", "officer", "X" * 41, None, "agency_code"),
    (ISSUER, "s", "designer", "UBND-00004", None, "agency_code"),
    (ISSUER, "s", "auditor", "UBND-00004", None, "agency_code"),
    ("development", "officer", "officer", "UBND-00004", None, "issuer"),
    ("id.example.gov.vn", "s", "auditor", None, None, "issuer"),
    ("https://id.example.gov.vn/a b", "s", "auditor", None, None, "issuer"),
    ("https://" + "x" * 300, "s", "auditor", None, None, "issuer"),
    (ISSUER, "", "auditor", None, None, "subject"),
    (ISSUER, " s", "auditor", None, None, "subject"),
    (ISSUER, "s\n", "auditor", None, None, "subject"),
    (ISSUER, "s" * 256, "auditor", None, None, "subject"),
    (ISSUER, "s", "auditor", None, "n" * 201, "name"),
])
def test_grant_refuses_what_is_not_a_mapping(db: Any, issuer: str, subject: str, role: str,
                                             agency: str | None, name: str | None,
                                             field: str) -> None:
    with pytest.raises(errors.InvalidData) as refused:
        staff.grant(db, issuer, subject, role, agency, name, "t")
    assert refused.value.field == field
    assert refused.value.message and refused.value.message_en
    assert staff.list_roles(db) == []


def test_a_name_with_a_control_character_is_refused_for_that(db: Any) -> None:
    """Not as too long (the message named the wrong problem)."""
    with pytest.raises(errors.InvalidData) as refused:
        staff.grant(db, ISSUER, "s", "auditor", None, "A\x01B", "t")
    assert refused.value.field == "name" and "điều khiển" in refused.value.message
    assert "200" not in refused.value.message


def test_the_longest_values_are_taken(db: Any) -> None:
    issuer = "https://" + "x" * 292
    row, _ = staff.grant(db, issuer, "s" * 255, "officer", "A" * 40, "n" * 200, "a" * 300)
    db.commit()
    assert len(row.issuer) == 300 and len(row.granted_by) == 120
    assert staff.role_of(db, issuer, "s" * 255) is not None


def test_the_agency_code_is_the_tokens_one() -> None:
    assert staff.AGENCY_CODE.pattern == tokens.AGENCY_CODE.pattern
    assert set(staff.STAFF_ROLES) == set(tokens.ROLES) - {"citizen"}


# -- the command line ---------------------------------------------------------------------------


def _exit(kind: type[errors.DomainError]) -> int:
    return next(code for kinds, code in EXIT_CODES if issubclass(kind, kinds))


def test_staff_grant_list_revoke(app: Any, db: Any) -> None:
    runner = app.test_cli_runner()
    granted = runner.invoke(args=["staff", "grant", "--issuer", ISSUER + "/", "--subject",
                                  "cb-01", "--role", "officer", "--agency", "UBND-XA-00004",
                                  "--name", "Trần Văn Bình"])
    assert granted.exit_code == 0, granted.output
    assert f"granted: cb-01 at {ISSUER} is officer of UBND-XA-00004" in granted.stdout
    assert "warning" not in granted.stderr  # the agency has keys
    row = staff.role_of(db, ISSUER, "cb-01")
    assert row is not None and row.granted_by.startswith("cli")
    runner.invoke(args=["staff", "grant", "--issuer", ISSUER, "--subject", "tk-02", "--role",
                        "designer"])
    listed = runner.invoke(args=["staff", "list"])
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["ROLE", "AGENCY", "SUBJECT", "ISSUER", "NAME", "GRANTED"]
    assert lines[1].split()[:4] == ["designer", "-", "tk-02", ISSUER]
    assert lines[2].split()[:4] == ["officer", "UBND-XA-00004", "cb-01", ISSUER]
    assert "Trần Văn Bình" in lines[2]
    revoked = runner.invoke(args=["staff", "revoke", "--issuer", ISSUER, "--subject", "cb-01"])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked: cb-01" in revoked.stdout
    db.expire_all()
    assert staff.role_of(db, ISSUER, "cb-01") is None
    # again: nothing to revoke, the exit code of a NotFound
    again = runner.invoke(args=["staff", "revoke", "--issuer", ISSUER, "--subject", "cb-01"])
    assert again.exit_code == _exit(errors.NotFound) == 3
    assert "staff_role_not_found" in again.stderr


def test_staff_grant_refusals_and_warnings(app: Any, db: Any) -> None:
    runner = app.test_cli_runner()
    no_agency = runner.invoke(args=["staff", "grant", "--issuer", ISSUER, "--subject", "x",
                                    "--role", "officer"])
    assert no_agency.exit_code == _exit(errors.InvalidData) == 2
    assert "invalid_staff_role" in no_agency.stderr and "agency" in no_agency.stderr
    citizen = runner.invoke(args=["staff", "grant", "--issuer", ISSUER, "--subject", "x",
                                  "--role", "citizen"])
    assert citizen.exit_code == 2  # click's usage error: not a staff role
    assert staff.list_roles(db) == []
    # an agency without keys: granted, with a warning saying what it means
    unknown = runner.invoke(args=["staff", "grant", "--issuer", ISSUER, "--subject", "x",
                                  "--role", "officer", "--agency", "UBND-99999"])
    assert unknown.exit_code == 0, unknown.output
    assert "warning: agency 'UBND-99999' is not in the signing configuration" in unknown.stderr
    assert "CA-HN" in unknown.stderr


def test_staff_grant_warns_of_another_provider(tmp_path: Path) -> None:
    other = make_app(f"sqlite:///{tmp_path / 't.db'}", tmp_path, load_catalogue=False,
                     oidc_issuer="https://id.example.gov.vn/", oidc_client_id="c",
                     oidc_client_secret="s")
    runner = other.test_cli_runner()
    same = runner.invoke(args=["staff", "grant", "--issuer", ISSUER, "--subject", "x",
                               "--role", "auditor"])
    assert same.exit_code == 0 and "warning" not in same.stderr
    elsewhere = runner.invoke(args=["staff", "grant", "--issuer", "https://idp.example",
                                    "--subject", "x", "--role", "auditor"])
    assert elsewhere.exit_code == 0
    assert "warning: the configured provider is" in elsewhere.stderr
    # no signing configuration to check an officer's agency against: said
    officer = runner.invoke(args=["staff", "grant", "--issuer", ISSUER, "--subject", "y",
                                  "--role", "officer", "--agency", "UBND-00004"])
    assert officer.exit_code == 0
    assert "no signing configuration" in officer.stderr


def test_staff_commands_from_the_shell(tmp_path: Path) -> None:
    """``tokhai staff`` as an administrator runs it: against the database the environment
    names, without building the application."""
    from tests.service.test_cli import _tokhai

    env = {"TOKHAI_DATA_DIR": str(tmp_path / "data")}
    assert _tokhai("db", "upgrade", cwd=tmp_path, env=env)[0].returncode == 0
    proc, _ = _tokhai("staff", "grant", "--issuer", ISSUER, "--subject", "kt-9", "--role",
                      "auditor", "--name", "Kiểm toán", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    proc, _ = _tokhai("staff", "list", cwd=tmp_path, env=env)
    assert "kt-9" in proc.stdout and "auditor" in proc.stdout
    proc, _ = _tokhai("staff", "revoke", "--issuer", ISSUER, "--subject", "nobody", cwd=tmp_path,
                      env=env)
    assert proc.returncode == 3
    assert "staff_role_not_found" in proc.stderr

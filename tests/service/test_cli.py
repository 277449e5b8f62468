"""The command line, as `make run` and operators use it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service import tokens
from service.dossiers import queries
from tests.conftest import BACKENDS, make_app


def test_dev_setup_makes_tokens_keys_and_demo_data_once(tmp_path: Path) -> None:
    """`make run` starts with `tokhai dev-setup`: development tokens of every role, a
    development signing key for the demo agency, demo records, demo dossiers for the
    development officer; a second run keeps them and adds nothing."""
    app = make_app(f"sqlite:///{tmp_path / 't.db'}", tmp_path)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["dev-setup"])
    assert first.exit_code == 0, first.output
    made = json.loads((tmp_path / "dev-tokens.json").read_text())
    assert set(made) == {"designer", "auditor", "citizen_father", "citizen_daughter",
                         "citizen_mother",
                         "officer_UBND-00004"}
    assert (tmp_path / "dev-tokens.json").stat().st_mode & 0o077 == 0
    assert (tmp_path / "dev-pki" / "signing.yaml").exists()
    with app.extensions["tokhai"].sessions() as session:
        father = tokens.authenticate(session, f"Bearer {made['citizen_father']}")
        assert father is not None and father.personal_id == "001085012345"
        # the officers' queue has the demo dossiers, in the states an officer meets first
        counts = queries.state_counts(session, "UBND-00004")
    assert counts == {"submitted": 1, "accepted": 1, "in_processing": 1,
                      "supplement_requested": 1}
    assert "demo dossiers at UBND-00004" in first.output
    _demo_data_is_plausible(app)
    again = runner.invoke(args=["dev-setup"])
    assert again.exit_code == 0, again.output
    assert json.loads((tmp_path / "dev-tokens.json").read_text()) == made
    with app.extensions["tokhai"].sessions() as session:
        assert queries.state_counts(session, "UBND-00004") == counts  # filed once


def _demo_data_is_plausible(app) -> None:
    """The demo dossiers' typed data makes sense: each child born after both parents, within
    the last month, named and sexed alike, the father declaring as "Cha", the form made at a
    ward (not a person's name); the marriage's parties both named, of age, apart."""
    from datetime import date, datetime, timedelta

    from sqlalchemy import select

    from forms import units
    from service.dossiers import demo
    from service.worktime import VIETNAM
    from storage.models import Dossier

    today = datetime.now(VIETNAM).date()
    with app.extensions["tokhai"].sessions() as session:
        rows = session.scalars(select(Dossier).order_by(Dossier.code)).all()
        dossiers = [(row.form_id, row.citizen_name, row.data) for row in rows]
    births = [d for form, _name, d in dossiers if form == "to-khai-dang-ky-khai-sinh"]
    assert len(births) == 3
    wards = {u.name for us in units.communes_by_province().values() for u in us}
    for data in births:
        child = data["nguoi_duoc_khai_sinh"]
        born = date.fromisoformat(child["ngay_sinh"])
        for parent in ("nguoi_me", "nguoi_cha"):
            assert date.fromisoformat(data[parent]["nam_sinh"][:10]) < born, parent
        assert today - timedelta(days=31) <= born <= today
        assert (child["ho_ten"].split(maxsplit=1)[1], child["gioi_tinh"]) in demo.CHILDREN
        assert child["ho_ten"].split()[0] == data["nguoi_cha"]["ho_ten"].split()[0]
        assert data["nguoi_yeu_cau"]["quan_he"] == "cha"
        assert data["cam_doan"]["lam_tai"].split(",")[0] in wards
    assert len({d["nguoi_duoc_khai_sinh"]["ho_ten"] for d in births}) == 3
    (marriage,) = [(name, d) for form, name, d in dossiers if form == "to-khai-dang-ky-ket-hon"]
    name, data = marriage
    assert name == data["ben_nu"]["ho_ten"]  # the bride (the demo daughter) filed
    groom = data["ben_nam"]
    assert groom["ho_ten"] != data["ben_nu"]["ho_ten"]
    assert date.fromisoformat(groom["ngay_sinh"]) <= today.replace(year=today.year - 20)
    assert groom["giay_to"] != data["ben_nu"]["giay_to"]
    assert data["cam_doan"]["lam_tai"].split(",")[0] in wards


def _tokhai(*args: str, cwd: Path, env: dict[str, str] | None = None):
    """``tokhai ARGS`` as a shell runs it, from ``cwd``, and its wall time."""
    import os
    import subprocess
    import sys
    import time

    exe = Path(sys.executable).parent / "tokhai"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TOKHAI_")
               and k != "DATABASE_URL"}
    started = time.perf_counter()
    proc = subprocess.run([str(exe), *args], cwd=cwd, env={**environ, **(env or {})},
                          capture_output=True, text=True, timeout=120)
    return proc, time.perf_counter() - started


CT01 = Path(__file__).resolve().parents[2] / "forms" / "catalogue" / \
    "ct01-thay-doi-thong-tin-cu-tru.yaml"


def test_help_and_forms_check_are_fast_and_create_nothing(tmp_path: Path) -> None:
    """`tokhai --help` and `tokhai forms check FILE` build no application and open no
    database: under a second, and the (empty) directory they run in stays empty."""
    for args in (["--help"], ["forms", "check", str(CT01)]):
        best = None
        for _ in range(3):  # the best of three: the machine may be busy
            proc, seconds = _tokhai(*args, cwd=tmp_path)
            assert proc.returncode == 0, proc.stderr
            best = seconds if best is None else min(best, seconds)
        assert best is not None and best < 1.0, (args, best)
        assert list(tmp_path.iterdir()) == [], args
    assert "ct01-thay-doi-thong-tin-cu-tru version" in proc.stdout


def test_importing_the_command_line_imports_no_flask_nor_the_application() -> None:
    import subprocess
    import sys

    code = ("import sys, service.cli; "
            "print(sorted(m for m in ('flask', 'service.web', 'storage.db', 'pyhanko') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_db_current_reports_the_database_as_it_is(tmp_path: Path) -> None:
    """On a database that does not exist or was never migrated it says so (it used to say
    the head: the command line migrated before answering), and creates nothing."""
    from storage import db as storage_db

    env = {"TOKHAI_DATA_DIR": str(tmp_path / "data")}
    proc, _ = _tokhai("db", "current", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("(empty: no database file ")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "tokhai.db").touch()
    proc, _ = _tokhai("db", "current", cwd=tmp_path, env=env)
    assert proc.stdout.strip() == "(empty: no migration applied)"
    proc, _ = _tokhai("db", "upgrade", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    engine = storage_db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tokhai.db'}")
    head = storage_db.current_revision(engine)
    engine.dispose()
    proc, _ = _tokhai("db", "current", cwd=tmp_path, env=env)
    assert head and proc.stdout.strip() == head


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_a_command_on_a_database_without_tables_says_what_to_run(database_url: str,
                                                                tmp_path: Path) -> None:
    """Not a traceback: the database exists but was never migrated."""
    proc, _ = _tokhai("forms", "report", "to-khai-dang-ky-khai-tu", cwd=tmp_path,
                      env={"DATABASE_URL": database_url, "TOKHAI_DATA_DIR": str(tmp_path)})
    assert proc.returncode != 0
    assert "tokhai db upgrade" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_db_current_on_an_empty_database_of_each_backend(database_url: str,
                                                         tmp_path: Path) -> None:
    proc, _ = _tokhai("db", "current", cwd=tmp_path, env={"DATABASE_URL": database_url,
                                                          "TOKHAI_DATA_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() in ("(empty: no migration applied)",
                                   f"(empty: no database file {tmp_path / 'tokhai.db'})")
    assert list(tmp_path.iterdir()) == []


def test_secret_key_is_made_once_by_an_explicit_step(tmp_path: Path) -> None:
    env = {"TOKHAI_DATA_DIR": str(tmp_path)}
    first, _ = _tokhai("secret-key", cwd=tmp_path, env=env)
    assert first.returncode == 0 and first.stdout.startswith("made "), first.stderr
    secret = (tmp_path / "secret-key").read_text()
    assert len(secret) > 40 and (tmp_path / "secret-key").stat().st_mode & 0o077 == 0
    again, _ = _tokhai("secret-key", cwd=tmp_path, env=env)
    assert again.stdout.startswith("kept ") and (tmp_path / "secret-key").read_text() == secret
    given, _ = _tokhai("secret-key", cwd=tmp_path, env={**env, "TOKHAI_SECRET_KEY": "given"})
    assert "TOKHAI_SECRET_KEY is set" in given.stdout


def test_the_command_line_knows_the_roles_and_the_catalogue() -> None:
    from service import catalogue, cli

    assert cli.ROLES == tokens.ROLES
    assert cli.CATALOGUE_DIR == catalogue.CATALOGUE_DIR


def test_verify_exits_0_valid_1_not_valid_2_not_verifiable(tmp_path: Path,
                                                           signing_config: str) -> None:
    """`tokhai verify FILE`: 0 for a valid signed PDF, 1 for one whose signed bytes changed,
    2 for a PDF that cannot be verified (no signature); `--json` prints the report."""
    from service.pki.signer import Signing
    from service.results import rendering
    from tests.service.pki.test_signing import render, sign

    signing = Signing.from_file(signing_config)
    try:
        signed = sign(signing, render("doc-cli-1")).pdf
    finally:
        signing.close()
    changed = bytearray(signed)
    changed[signed.index(b"<tokhai:Template>") + len(b"<tokhai:Template>")] ^= 0x20
    files = {"valid.pdf": signed, "changed.pdf": bytes(changed),
             "unsigned.pdf": bytes(rendering.document("Không ký").output())}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    app = make_app(f"sqlite:///{tmp_path / 't.db'}", tmp_path, signing_config=signing_config,
                   load_catalogue=False)
    runner = app.test_cli_runner()

    valid = runner.invoke(args=["verify", str(tmp_path / "valid.pdf")])
    assert valid.exit_code == 0, valid.output
    assert "valid.pdf: HỢP LỆ" in valid.output and "level B-LT" in valid.output
    as_json = runner.invoke(args=["verify", "--json", str(tmp_path / "valid.pdf")])
    assert as_json.exit_code == 0 and json.loads(as_json.output)["valid"] is True

    changed_run = runner.invoke(args=["verify", str(tmp_path / "changed.pdf")])
    assert changed_run.exit_code == 1, changed_run.output
    assert "KHÔNG HỢP LỆ" in changed_run.output and "not_intact" in changed_run.output

    unsigned = runner.invoke(args=["verify", str(tmp_path / "unsigned.pdf")])
    assert unsigned.exit_code == 2, unsigned.output
    assert "no_signature" in unsigned.output


# -- forms import-pdf -------------------------------------------------------------------------

def _fake_import(monkeypatch: pytest.MonkeyPatch, outcome: tuple[str, object]) -> list[bytes]:
    """service.imports' job replaced (the last test runs the real one)."""
    from service import imports

    given: list[bytes] = []

    def job(function: object, data: bytes) -> tuple[str, object]:
        given.append(data)
        return outcome

    monkeypatch.setattr(imports, "run_job", job)
    return given


def test_forms_import_pdf_prints_the_draft_and_its_findings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`tokhai forms import-pdf FILE.pdf`: the draft on stdout (or in --out, never over an
    existing file without --force), the findings on stderr; no application, no database."""
    from click.testing import CliRunner

    from service.cli import main
    from tests.service.web.test_api_imports import PDF, draft

    given = _fake_import(monkeypatch, ("draft", draft()))
    pdf = tmp_path / "mau.pdf"
    pdf.write_bytes(PDF)
    runner = CliRunner()
    printed = runner.invoke(main, ["forms", "import-pdf", str(pdf)])
    assert printed.exit_code == 0, printed.output
    assert printed.stdout == draft().yaml
    assert ("mau.pdf: sections[0].fields[1].type: [type_guessed] (60%) Kiểu đoán từ nhãn: date"
            in printed.stderr)
    assert "read by OCR" in printed.stderr
    out = tmp_path / "draft.yaml"
    written = runner.invoke(main, ["forms", "import-pdf", str(pdf), "--out", str(out)])
    assert written.exit_code == 0, written.output
    assert out.read_text(encoding="utf-8") == draft().yaml and written.stdout == ""
    assert "1 findings to review" in written.stderr
    out.write_text("# mine\n")
    kept = runner.invoke(main, ["forms", "import-pdf", str(pdf), "--out", str(out)])
    assert kept.exit_code == 1 and "--force" in kept.stderr
    assert out.read_text() == "# mine\n"
    forced = runner.invoke(main, ["forms", "import-pdf", str(pdf), "--out", str(out),
                                  "--force"])
    assert forced.exit_code == 0 and out.read_text(encoding="utf-8") == draft().yaml
    assert given == [PDF] * 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["draft.yaml", "mau.pdf"]


def test_forms_import_pdf_refuses_bad_input_with_exit_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from service import imports
    from service.cli import main

    given = _fake_import(monkeypatch, ("refused", (
        "encrypted", "Tệp PDF được mã hóa.", "The PDF is encrypted.")))
    runner = CliRunner()
    pdf = tmp_path / "khoa.pdf"
    pdf.write_bytes(b"%PDF-1.7\n")
    out = tmp_path / "draft.yaml"
    refused = runner.invoke(main, ["forms", "import-pdf", str(pdf), "--out", str(out)])
    assert refused.exit_code == 2
    assert refused.stderr == "encrypted: Tệp PDF được mã hóa. (The PDF is encrypted.)\n"
    assert not out.exists()
    big = tmp_path / "lon.pdf"
    with big.open("wb") as f:
        f.truncate(imports.MAX_BYTES + 1)
    too_large = runner.invoke(main, ["forms", "import-pdf", str(big)])
    assert too_large.exit_code == 2 and too_large.stderr.startswith("too_large: ")
    assert "10 MiB" in too_large.stderr
    empty = tmp_path / "rong.pdf"
    empty.write_bytes(b"")
    nothing = runner.invoke(main, ["forms", "import-pdf", str(empty)])
    assert nothing.exit_code == 2 and nothing.stderr.startswith("empty: ")
    assert given == [b"%PDF-1.7\n"]  # neither the large file nor the empty one was imported


def test_forms_import_pdf_reads_a_real_printed_form(tmp_path: Path) -> None:
    """The real importer on a PDF made with fpdf2: the draft written passes `forms check`; a
    form in English is refused with exit 2."""
    from click.testing import CliRunner

    from service.cli import main
    from tests.service.web.test_api_imports import ENGLISH, form_pdf

    runner = CliRunner()
    (tmp_path / "mau.pdf").write_bytes(form_pdf())
    out = tmp_path / "draft.yaml"
    made = runner.invoke(main, ["forms", "import-pdf", str(tmp_path / "mau.pdf"),
                                "--out", str(out)])
    assert made.exit_code == 0, made.output
    checked = runner.invoke(main, ["forms", "check", str(out)])
    assert checked.exit_code == 0, checked.output
    assert "to-khai-dang-ky-thu-nghiem version 1" in checked.stdout
    (tmp_path / "en.pdf").write_bytes(form_pdf(ENGLISH))
    english = runner.invoke(main, ["forms", "import-pdf", str(tmp_path / "en.pdf")])
    assert english.exit_code == 2 and english.stderr.startswith("not_vietnamese: ")
    assert english.stdout == ""

"""The command line, as `make run` and operators use it."""

from __future__ import annotations

import json
from pathlib import Path

from service import tokens
from tests.conftest import make_app


def test_dev_setup_makes_tokens_keys_and_demo_data_once(tmp_path: Path) -> None:
    """`make run` starts with `tokhai dev-setup`: development tokens of every role, a
    development signing key for the demo agency, demo records; a second run keeps them."""
    app = make_app(f"sqlite:///{tmp_path / 't.db'}", tmp_path)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["dev-setup"])
    assert first.exit_code == 0, first.output
    made = json.loads((tmp_path / "dev-tokens.json").read_text())
    assert set(made) == {"designer", "auditor", "citizen_father", "citizen_daughter",
                         "officer_UBND-00004"}
    assert (tmp_path / "dev-tokens.json").stat().st_mode & 0o077 == 0
    assert (tmp_path / "dev-pki" / "signing.yaml").exists()
    with app.extensions["tokhai"].sessions() as session:
        father = tokens.authenticate(session, f"Bearer {made['citizen_father']}")
        assert father is not None and father.personal_id == "001085012345"
    again = runner.invoke(args=["dev-setup"])
    assert again.exit_code == 0, again.output
    assert json.loads((tmp_path / "dev-tokens.json").read_text()) == made

"""The fraud command line: the help lists every command without importing the packages, the short help written
in the root matches each command's own, keys are created once and revoked, and fraud serve refuses what would
serve wrong or unsafe."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scoring_api.cli import COMMANDS, app, load_commands

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "numba", "numpy", "pyarrow", "sklearn", "great_expectations", "scoring_api.pipeline")


def test_help_imports_none_of_the_packages() -> None:
    code = (
        "import sys\n"
        "from scoring_api.cli import main\n"
        "sys.argv = ['fraud', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "[]", f"fraud --help imported {lines[-1]}"
    for name in COMMANDS:
        assert name in result.stdout


@pytest.mark.parametrize("module", sorted({module for module, _ in COMMANDS.values()}))
def test_the_listed_help_is_each_commands_own(module: str) -> None:
    registered = load_commands(module)
    listed = {name for name, (owner, _) in COMMANDS.items() if owner == module}
    assert set(registered) == listed
    for name, command in registered.items():
        assert command.get_short_help_str(1_000) == COMMANDS[name][1]


def test_keys_are_created_once_listed_and_revoked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAUD_SCORING_DATABASE_URL", f"sqlite:///{tmp_path}/service.sqlite")
    runner = CliRunner()
    created = runner.invoke(app, ["keys", "create", "--role", "analyst", "--name", "fraud desk"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[0]
    assert key.startswith("fsk_")
    _, key_id, secret = key.split("_", 2)  # the secret may hold "_" itself
    listed = runner.invoke(app, ["keys", "list"])
    assert key_id in listed.stdout
    assert "analyst" in listed.stdout
    assert "fraud desk" in listed.stdout
    assert secret not in listed.stdout, "the secret is shown once, when created"
    revoked = runner.invoke(app, ["keys", "revoke", key_id])
    assert revoked.exit_code == 0
    assert "revoked" in revoked.stdout
    assert "revoked" in runner.invoke(app, ["keys", "list"]).stdout
    again = runner.invoke(app, ["keys", "revoke", key_id])
    assert again.exit_code == 1
    assert "already revoked" in again.output
    assert runner.invoke(app, ["keys", "create", "--role", "root"]).exit_code == 2


def test_serve_refuses_placeholder_secrets_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAUD_ENVIRONMENT", "production")
    monkeypatch.delenv("FRAUD_CARD_TOKEN_KEY", raising=False)
    result = CliRunner().invoke(app, ["serve", "--port", "0"])
    assert result.exit_code == 2
    assert "FRAUD_CARD_TOKEN_KEY" in result.output
    assert "development-only" not in result.output, "the placeholder's value is never printed"


def test_serve_refuses_several_workers_over_the_embedded_feature_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRAUD_REDIS_URL", raising=False)
    result = CliRunner().invoke(app, ["serve", "--workers", "2", "--port", "0"])
    assert result.exit_code == 2
    assert "FRAUD_REDIS_URL" in result.output
    assert "different part of every card's history" in result.output

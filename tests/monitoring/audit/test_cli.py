"""``fraud audit`` and the audited ``fraud models`` commands, end to end through the real command line: every
promotion (refused ones too) and rollback is recorded with actor, reason and ticket; the history shows them;
verification finds tampering; exports and evidence bundles verify on their own."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lifecycle.registry.registry import ModelRegistry
from monitoring.audit import Signer
from scoring_api.cli import app
from tests.lifecycle.registry import support as registry_support
from tests.monitoring.audit import support

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "FRAUD_ENVIRONMENT": "test",
        "FRAUD_REGISTRY_URL": f"sqlite:///{tmp_path}/registry.sqlite",
        "FRAUD_MODEL_STORE": str(tmp_path / "store"),
        "FRAUD_MODEL_SIGNING_KEY": registry_support.KEY.get_secret_value(),
        "FRAUD_AUDIT_URL": f"sqlite:///{tmp_path}/audit.sqlite",
        "FRAUD_AUDIT_ARCHIVE_DIR": str(tmp_path / "archive"),
        "FRAUD_AUDIT_SIGNING_KEY": support.SIGNING_KEY_HEX,
        "FRAUD_ACTOR": "alice",
    }


def models(tmp_path: Path) -> tuple[str, str, str]:
    """Two blessed versions and a refused one, registered through the library (training is tested elsewhere)."""
    data = registry_support.make_data()
    registry = ModelRegistry(
        f"sqlite:///{tmp_path}/registry.sqlite", tmp_path / "store", signing_key=registry_support.KEY
    )
    ids = []
    for seed, good in ((1, True), (2, True), (3, False)):
        artifact = registry_support.forest_artifact(tmp_path / f"a{seed}", data, seed=seed)
        version = registry.register(artifact, name="rf", lineage=registry_support.lineage())
        # Judged against the first, which is champion by the time the others are promoted.
        champion = ids[0] if ids else None
        registry_support.judge_and_record(registry, version.content_id, data, good=good, champion=champion)
        ids.append(version.content_id)
    registry.close()
    return ids[0], ids[1], ids[2]


def fraud(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Exit status and everything printed (the registry commands name their registry on stderr)."""
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


def fraud_json_lines(env: dict[str, str], *args: str) -> list[dict[str, object]]:
    """What a command printed on stdout, one JSON document a line."""
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_promotions_refusals_and_rollbacks_are_audited_and_shown(tmp_path: Path, env: dict[str, str]) -> None:
    one, two, refused = models(tmp_path)
    assert fraud(env, "models", "promote", one, "--reason", "first champion", "--ticket", "CHG-1")[0] == 0
    code, output = fraud(env, "models", "promote", one, "--reason", "again")
    assert (code, "nothing changed" in output) == (0, True)
    assert fraud(env, "models", "promote", two, "--reason", "better AP", "--ticket", "CHG-2")[0] == 0
    code, output = fraud(env, "models", "promote", refused, "--reason", "trust me")
    assert (code, "not blessed" in output) == (1, True)
    code, output = fraud(env, "models", "rollback", "--reason", "complaints", "--ticket", "INC-1")
    assert (code, one in output) == (0, True)
    code, output = fraud(env, "models", "promote", two)
    assert code == 2  # a promotion needs its reason
    assert "--reason" in output

    history = fraud_json_lines(env, "models", "history", "--json")
    assert [(h["action"], h["changed_by"], h["reason"], h["ticket"]) for h in history] == [
        ("deploy", "alice", "first champion", "CHG-1"),
        ("deploy", "alice", "better AP", "CHG-2"),
        ("rollback", "alice", "complaints", "INC-1"),
    ]
    (record,) = fraud_json_lines(env, "audit", "show", refused, "--kind", "deployment")
    payload = record["payload"]
    assert isinstance(payload, dict)
    assert payload["refused"] is True
    assert record["actor"] == "alice"
    assert "not blessed" in payload["refusal"]
    assert fraud(env, "audit", "verify")[0] == 0


def test_verify_export_and_bundles_from_the_command_line(tmp_path: Path, env: dict[str, str]) -> None:
    one, _, _ = models(tmp_path)
    assert fraud(env, "models", "promote", one, "--reason", "first champion")[0] == 0
    with support.open_log(env["FRAUD_AUDIT_URL"], tmp_path / "archive") as log:
        log.append([*support.decisions(30), *support.every_kind(1)])

    code, output = fraud(env, "audit", "export", "--out", str(tmp_path / "all"), "--format", "jsonl,csv")
    assert (code, "exported" in output) == (0, True), output
    code, output = fraud(env, "audit", "verify-bundle", str(tmp_path / "all"))
    assert (code, output.startswith("verified")) == (0, True), output
    other = Signer.from_hex("99" * 32).public_key_hex
    assert fraud(env, "audit", "verify-bundle", str(tmp_path / "all"), "--public-key", other)[0] == 1
    code, _ = fraud(
        env,
        "audit",
        "export",
        "--out",
        str(tmp_path / "decisions"),
        "--kind",
        "decision",
        "--since",
        "2000-01-01",
        "--format",
        "parquet",
    )
    assert code == 0
    manifest = json.loads((tmp_path / "decisions" / "manifest.json").read_text())
    assert manifest["kinds"] == {"decision": 31}
    assert fraud(env, "audit", "export", "--out", str(tmp_path / "x"), "--format", "xml")[0] == 1

    code, output = fraud(env, "models", "evidence", "champion", "--out", str(tmp_path / "evidence"))
    assert code == 0, output
    assert fraud(env, "audit", "verify-bundle", str(tmp_path / "evidence"))[0] == 0

    code, output = fraud(env, "audit", "retention")
    assert (code, "archived: none; deleted: none") == (0, output.strip())
    assert json.loads(fraud(env, "audit", "verify", "--json")[1])["ok"] is True
    # The exports and the verifications were themselves recorded, by whom.
    accesses = fraud_json_lines(env, "audit", "show", "audit log")
    assert {a["payload"]["event_type"] for a in accesses} == {"audit_verify"}  # type: ignore[index]
    assert {a["actor"] for a in accesses} == {"alice"}

    with sqlite3.connect(tmp_path / "audit.sqlite") as connection:
        connection.execute("DELETE FROM audit_records WHERE seq = 5")
    code, output = fraud(env, "audit", "verify")
    assert code == 1
    assert "records 5..5 are missing" in output

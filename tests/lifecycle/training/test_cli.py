"""``fraud train`` end to end from Parquet files (transactions and a late label feed), then
``fraud models list|show|lineage|promote``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingest.simulator import SimulatorConfig, simulate
from scoring_api.cli import app

pytestmark = pytest.mark.slow


def test_train_then_inspect_and_promote(tmp_path: Path) -> None:
    data = simulate(SimulatorConfig.preset("realistic", days=28, seed=5, n_customers=400, n_terminals=800))
    # Transactions without their labels, and the late label feed beside them: training learns only the frauds
    # reported by its cutoff.
    source = tmp_path / "transactions.parquet"
    data.transactions.drop(columns=["is_fraud", "fraud_scenario"]).to_parquet(source)
    labels = tmp_path / "labels.parquet"
    data.labels.to_parquet(labels)
    # The registry named on the command line; the settings (environment) name another one that stays unused.
    env = {
        "FRAUD_REGISTRY_URL": f"sqlite:///{tmp_path}/unused/registry.sqlite",
        "FRAUD_MODEL_STORE": str(tmp_path / "unused" / "store"),
        "FRAUD_MODEL_SIGNING_KEY": "cli-test-signing-key-0123456789",
        "FRAUD_AUDIT_URL": f"sqlite:///{tmp_path}/audit.sqlite",
        "FRAUD_AUDIT_ARCHIVE_DIR": str(tmp_path / "archive"),
        "FRAUD_ACTOR": "ml-engineer",
    }
    where = ["--registry", f"sqlite:///{tmp_path}/registry.sqlite", "--model-store", str(tmp_path / "store")]
    runner = CliRunner()
    args = [
        "train",
        "--data",
        str(source),
        "--labels",
        str(labels),
        "--fast",
        "--families",
        "random_forest",
        "--train-days",
        "14",
        "--calibration-days",
        "4",
        "--alert-rate",
        "0.05",
        *where,
    ]
    trained = runner.invoke(app, [*args, "--run-dir", str(tmp_path / "run")], env=env)
    # Exit 0: blessed; 3: refused by the gate. Either way a version is registered with its verdict.
    assert trained.exit_code in (0, 3), trained.output
    assert (tmp_path / "run" / "report.html").exists()
    assert f"registry sqlite:///{tmp_path}/registry.sqlite, models in {tmp_path / 'store'}" in trained.stderr
    assert not (tmp_path / "unused").exists()

    listed = runner.invoke(app, ["models", "list", *where], env=env)
    assert listed.exit_code == 0, listed.output
    assert "random_forest" in listed.stdout
    assert "registry sqlite:///" in listed.stderr

    versions = list((tmp_path / "store" / "sha256").iterdir())
    assert len(versions) == 1
    content_id = f"sha256:{versions[0].name}"
    summary = runner.invoke(app, ["models", "show", content_id, *where], env=env)
    assert summary.exit_code == 0, summary.output
    assert content_id in summary.stdout
    assert "calibration" in summary.stdout
    assert "skipped  change:auc_roc" in summary.stdout  # no champion yet: listed with its reason
    shown = json.loads(runner.invoke(app, ["models", "show", content_id, "--json", *where], env=env).stdout)
    assert shown["verdict"]["checks"]
    assert shown["lineage"]["calibration"]["method"] in ("isotonic", "sigmoid")
    lineage = json.loads(runner.invoke(app, ["models", "lineage", content_id, *where], env=env).stdout)
    assert lineage["feature_spec_version"]
    assert lineage["data"]["fingerprint"]
    # The label feed decided which frauds training knew of: its fingerprint is part of the lineage.
    assert lineage["data"]["labels_fingerprint"]
    assert lineage["data"]["labels_fingerprint"] != lineage["data"]["fingerprint"]

    promoted = runner.invoke(app, ["models", "promote", content_id, "--reason", "weekly retrain", *where], env=env)
    if trained.exit_code == 0:
        assert promoted.exit_code == 0, promoted.output
        assert (
            json.loads(runner.invoke(app, ["models", "show", "champion", "--json", *where], env=env).stdout)[
                "content_id"
            ]
            == content_id
        )
    else:
        assert promoted.exit_code == 1
        assert "not blessed" in promoted.output

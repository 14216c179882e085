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
    env = {
        "FRAUD_REGISTRY_URL": f"sqlite:///{tmp_path}/registry.sqlite",
        "FRAUD_MODEL_STORE": str(tmp_path / "store"),
        "FRAUD_MODEL_SIGNING_KEY": "cli-test-signing-key-0123456789",
    }
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
        "--alert-rate",
        "0.05",
    ]
    trained = runner.invoke(app, [*args, "--run-dir", str(tmp_path / "run")], env=env)
    # Exit 0: blessed; 3: refused by the gate. Either way a version is registered with its verdict.
    assert trained.exit_code in (0, 3), trained.output
    assert (tmp_path / "run" / "report.html").exists()

    listed = runner.invoke(app, ["models", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "random_forest" in listed.output

    versions = list((tmp_path / "store").iterdir())
    assert len(versions) == 1
    content_id = versions[0].name.replace("sha256-", "sha256:")
    shown = json.loads(runner.invoke(app, ["models", "show", content_id], env=env).output)
    assert shown["verdict"]["checks"]
    lineage = json.loads(runner.invoke(app, ["models", "lineage", content_id], env=env).output)
    assert lineage["feature_spec_version"]
    assert lineage["data"]["fingerprint"]
    # The label feed decided which frauds training knew of: its fingerprint is part of the lineage.
    assert lineage["data"]["labels_fingerprint"]
    assert lineage["data"]["labels_fingerprint"] != lineage["data"]["fingerprint"]

    promoted = runner.invoke(app, ["models", "promote", content_id], env=env)
    if trained.exit_code == 0:
        assert promoted.exit_code == 0, promoted.output
        assert (
            json.loads(runner.invoke(app, ["models", "show", "champion"], env=env).output)["content_id"] == content_id
        )
    else:
        assert promoted.exit_code == 1
        assert "not blessed" in promoted.output

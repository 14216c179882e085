"""A training configuration refuses candidate families it does not know, in code and on the command line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from lifecycle.training import TrainingError
from lifecycle.training.pipeline import TrainingConfig
from scoring_api.cli import app


@pytest.mark.parametrize("families", [("random_forest", "randon_forest"), ("xgboost",), ()])
def test_unknown_or_no_family_is_refused(families: tuple[str, ...]) -> None:
    with pytest.raises(TrainingError, match=r"unknown candidate families.*known: \['logistic_regression'"):
        TrainingConfig(families=families)


def test_the_command_line_names_an_unknown_family_in_one_line(tmp_path: Path) -> None:
    source = tmp_path / "transactions.parquet"
    pd.DataFrame({"transaction_id": ["t1"], "is_fraud": [False]}).to_parquet(source)
    env = {"FRAUD_REGISTRY_URL": f"sqlite:///{tmp_path}/registry.sqlite", "FRAUD_MODEL_STORE": str(tmp_path / "s")}
    result = CliRunner().invoke(app, ["train", "--data", str(source), "--families", "randon_forest"], env=env)
    assert result.exit_code == 2, result.output  # a bad option: usage, not a failure
    assert "unknown candidate families ['randon_forest']" in result.output
    assert not (tmp_path / "registry.sqlite").exists()


def test_the_command_line_takes_another_gate_policy_and_names_an_unreadable_one(tmp_path: Path) -> None:
    source = tmp_path / "transactions.parquet"
    pd.DataFrame({"transaction_id": ["t1"], "is_fraud": [False]}).to_parquet(source)
    env = {"FRAUD_REGISTRY_URL": f"sqlite:///{tmp_path}/registry.sqlite", "FRAUD_MODEL_STORE": str(tmp_path / "s")}
    args = ["train", "--data", str(source), "--gate-thresholds", str(tmp_path / "strict.toml")]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 2, result.output
    assert "cannot read gate thresholds" in result.output
    assert "strict.toml" in result.output

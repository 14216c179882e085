"""``fraud features build``: features beside the input columns, under the handbook's names with its mapping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from features import HANDBOOK_NAMES, OfflineFeatureEngine, baseline_feature_set, default_feature_set
from ingest.mappings import apply_mapping
from scoring_api.cli import app
from tests.features.synthetic import random_transactions


def _handbook_like(n: int = 300) -> pd.DataFrame:
    tx = random_transactions(13, n=n)
    return pd.DataFrame(
        {
            "TRANSACTION_ID": np.arange(n),
            "TX_DATETIME": tx["timestamp"].dt.tz_localize(None),
            "CUSTOMER_ID": tx["card_token"].str.removeprefix("card").astype(int),
            "TERMINAL_ID": tx["terminal_id"].str.removeprefix("term").astype(int),
            "TX_AMOUNT": tx["amount"],
            "TX_FRAUD": tx["is_fraud"].astype(int),
            "TX_FRAUD_SCENARIO": tx["is_fraud"].astype(int),
        }
    )


def test_build_with_the_handbook_mapping_keeps_inputs_and_uses_handbook_names(tmp_path: Path) -> None:
    raw = _handbook_like()
    source, out = tmp_path / "raw.parquet", tmp_path / "features.parquet"
    raw.to_parquet(source)
    result = CliRunner().invoke(app, ["features", "build", str(source), "--out", str(out), "--mapping", "handbook"])
    assert result.exit_code == 0, result.output
    built = pd.read_parquet(out)
    renamed = [HANDBOOK_NAMES.get(n, n) for n in default_feature_set().names]
    assert list(built.columns) == [*raw.columns, *renamed]
    pd.testing.assert_frame_equal(built[raw.columns], raw)
    expected = OfflineFeatureEngine(default_feature_set()).compute_array(apply_mapping(raw, "handbook"))
    np.testing.assert_array_equal(built[renamed].to_numpy(), expected)


def test_build_reports_a_missing_source(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["features", "build", str(tmp_path / "nope.parquet"), "--out", "x.parquet"])
    assert result.exit_code == 1
    assert "does not exist" in result.output


def test_build_with_the_baseline_set_and_an_unknown_set(tmp_path: Path) -> None:
    raw = _handbook_like(60)
    source, out = tmp_path / "raw.parquet", tmp_path / "baseline.parquet"
    raw.to_parquet(source)
    args = ["features", "build", str(source), "--out", str(out), "--mapping", "handbook"]
    result = CliRunner().invoke(app, [*args, "--feature-set", "baseline"])
    assert result.exit_code == 0, result.output
    handbook = [HANDBOOK_NAMES[name] for name in baseline_feature_set().names]
    assert list(pd.read_parquet(out).columns) == [*raw.columns, *handbook]
    unknown = CliRunner().invoke(app, [*args, "--feature-set", "nope"])
    assert unknown.exit_code == 1
    assert "unknown feature set 'nope'" in unknown.output

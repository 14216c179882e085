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
    assert result.exit_code == 2
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
    assert unknown.exit_code == 2
    assert "unknown feature set 'nope'" in unknown.output


def _contract_batch(tmp_path: Path, n: int = 60) -> tuple[pd.DataFrame, Path]:
    from ingest.validation import records_to_frame
    from tests.ingest.validation.corpus import good_rows

    frame = records_to_frame(good_rows(n, seed=31)).assign(is_fraud=[i % 10 == 0 for i in range(n)])
    return frame, tmp_path / "batch.parquet"


def test_build_refuses_the_rows_that_validate_rejects(tmp_path: Path) -> None:
    # Issue 12, point 9: features were computed from negative amounts and duplicate ids that `fraud validate`
    # rejects. The same suite now admits the rows first; nothing is written.
    frame, source = _contract_batch(tmp_path)
    frame.loc[4, "amount"] = -12.0
    frame.loc[8, "transaction_id"] = frame.loc[9, "transaction_id"]
    frame.to_parquet(source)
    out = tmp_path / "features.parquet"
    result = CliRunner().invoke(app, ["features", "build", str(source), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "3 of 60 rows" in result.output
    assert "amount.range: 1" in result.output
    assert "transaction_id.unique: 2" in result.output
    assert not out.exists()


def test_build_never_copies_a_card_number_into_its_output(tmp_path: Path) -> None:
    # Issue 12, point 5: every input column, a card number included, was copied into the output in clear.
    pan = "4111111111111111"
    frame, source = _contract_batch(tmp_path)
    frame["pan"] = [pan if i == 5 else "" for i in range(len(frame))]
    frame.to_parquet(source)
    out = tmp_path / "features.parquet"
    result = CliRunner().invoke(app, ["features", "build", str(source), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "pan.not_card_number: 1" in result.output
    assert pan not in result.output
    assert not out.exists()
    clean = frame.drop(columns=["pan"])
    clean.to_parquet(source)
    built = CliRunner().invoke(app, ["features", "build", str(source), "--out", str(out)])
    assert built.exit_code == 0, built.output


def test_build_writes_atomically_never_over_its_input_nor_an_existing_file(tmp_path: Path) -> None:
    # Issue 12, point 8.
    frame, source = _contract_batch(tmp_path)
    frame.to_parquet(source)
    before = source.read_bytes()
    over_input = CliRunner().invoke(app, ["features", "build", str(source), "--out", str(source), "--force"])
    assert over_input.exit_code == 2
    assert "also an input" in over_input.output
    assert source.read_bytes() == before
    out = tmp_path / "deeper" / "features.parquet"  # a folder that does not exist yet
    assert CliRunner().invoke(app, ["features", "build", str(source), "--out", str(out)]).exit_code == 0
    again = CliRunner().invoke(app, ["features", "build", str(source), "--out", str(out)])
    assert again.exit_code == 2
    assert "pass --force" in again.output
    assert CliRunner().invoke(app, ["features", "build", str(source), "--out", str(out), "--force"]).exit_code == 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["features.parquet"]

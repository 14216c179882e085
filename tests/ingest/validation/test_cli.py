"""``fraud validate``: learning a reference, validating good and bad files, the HTML report."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ingest.validation import CompiledChecker, DatasetStatistics, records_to_frame
from scoring_api.cli import app
from tests.ingest.validation.corpus import Corpus, contract_only, good_rows

runner = CliRunner()


@pytest.fixture(scope="module")
def reference_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("reference")
    train = folder / "train.parquet"
    records_to_frame(good_rows(300, seed=1)).to_parquet(train)
    stats = folder / "stats.json"
    result = runner.invoke(app, ["validate", "--learn", str(train), "--out", str(stats)])
    assert result.exit_code == 0, result.output
    assert "learned statistics of 300 rows" in result.output
    return stats


def test_a_good_batch_passes_and_gets_its_report(tmp_path: Path, reference_file: Path) -> None:
    batch = tmp_path / "batch.parquet"
    records_to_frame(good_rows(200, seed=2)).to_parquet(batch)
    out = tmp_path / "out"
    result = runner.invoke(app, ["validate", str(batch), "--reference", str(reference_file), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "all expectations passed" in result.output
    assert (out / "data_docs" / "index.html").exists()
    pages = list((out / "data_docs" / "validations").rglob("*.html"))
    assert {page.parent.parent.parent.name for page in pages} == {"transactions", "daily_volume"}
    saved = CompiledChecker.from_suite_file(out / "suite.json")  # what a stream worker loads
    assert {rule.name for rule in saved.rules} >= {"amount.range", "amount.quantiles", "channel.vocabulary"}
    assert DatasetStatistics.load(out / "statistics.json").row_count == 200
    assert pd.read_parquet(out / "rejected.parquet").empty
    verdict = json.loads((out / "verdict.json").read_text())
    assert verdict["success"] is True
    assert verdict["rows"] == 200
    assert {e["name"] for e in verdict["expectations"]} >= {"amount.range", "amount.quantiles"}


def test_floats_in_the_summary_are_not_taken_for_card_numbers() -> None:
    from ingest.validation.cli import _detail
    from ingest.validation.runner import ExpectationResult

    observed = {"quantiles": [0.25, 0.5], "values": [10.368000000000002, 4111111111111111.0]}
    item = ExpectationResult("amount.quantiles", "q", "critical", False, None, observed=observed)
    assert "10.368000000000002" in _detail(item)
    sampled = ExpectationResult("x", "t", "critical", False, None, unexpected_count=2, sample=("4111111111111111", 2.5))
    assert "411111******1111" in _detail(sampled)
    assert "4111111111111111'" not in _detail(sampled)


def test_a_bad_csv_batch_fails_and_keeps_its_rejected_rows(tmp_path: Path, corpus: Corpus) -> None:
    batch = tmp_path / "batch.csv"
    frame = corpus.frame.copy()
    frame["timestamp"] = frame["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    frame.to_csv(batch, index=False)
    out = tmp_path / "out"
    result = runner.invoke(app, ["validate", str(batch), "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output
    rejected = pd.read_parquet(out / "rejected.parquet")
    assert "amount.range" in set(rejected["reason"])
    # Exactly the rows that break the contract are held back, each with a reason; the one kind a CSV file
    # cannot carry is an id sent as a number (4242 is the valid text "4242" once written).
    expected = {row for row, fails in enumerate(corpus.expected) if contract_only(fails)}
    expected.discard(corpus.kinds.index("transaction_id_not_a_string"))
    assert set(rejected.index) == expected
    assert (rejected["reason"].str.len() > 0).all()
    assert (out / "data_docs" / "index.html").exists()


def test_validate_needs_exactly_one_of_data_and_learn(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "either a DATA file" in result.output


def test_an_unreadable_batch_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "missing.parquet"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "no batch file at" in result.output


def test_an_unknown_mapping_is_a_clear_error(tmp_path: Path) -> None:
    batch = tmp_path / "batch.parquet"
    records_to_frame(good_rows(5)).to_parquet(batch)
    result = runner.invoke(app, ["validate", str(batch), "--mapping", "nope", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "unknown column mapping 'nope'" in result.output


def test_relative_paths_work_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 12, point 1: `fraud validate tx.parquet --out out` crashed: the relative report folder reached
    # great-expectations' site writer, which accepts absolute paths only.
    monkeypatch.chdir(tmp_path)
    records_to_frame(good_rows(50, seed=3)).to_parquet("tx.parquet")
    result = runner.invoke(app, ["validate", "tx.parquet", "--out", "out"])
    assert result.exit_code == 0, result.output
    assert Path("out/data_docs/index.html").exists()
    learned = runner.invoke(app, ["validate", "--learn", "tx.parquet", "--out", "stats.json"])
    assert learned.exit_code == 0, learned.output


def test_outputs_are_never_written_over_without_force(tmp_path: Path) -> None:
    # Issue 12, point 8: the reference statistics were written in place, over whatever was there.
    batch = tmp_path / "batch.parquet"
    records_to_frame(good_rows(50, seed=3)).to_parquet(batch)
    stats = tmp_path / "stats.json"
    stats.write_text("a reference someone keeps")
    refused = runner.invoke(app, ["validate", "--learn", str(batch), "--out", str(stats)])
    assert refused.exit_code == 2
    assert "pass --force" in refused.output
    assert stats.read_text() == "a reference someone keeps"
    over_input = runner.invoke(app, ["validate", "--learn", str(batch), "--out", str(batch), "--force"])
    assert over_input.exit_code == 2
    assert "also an input" in over_input.output
    assert runner.invoke(app, ["validate", "--learn", str(batch), "--out", str(stats), "--force"]).exit_code == 0
    assert DatasetStatistics.load(stats).row_count == 50
    out = tmp_path / "out"
    assert runner.invoke(app, ["validate", str(batch), "--out", str(out)]).exit_code == 0
    again = runner.invoke(app, ["validate", str(batch), "--out", str(out)])
    assert again.exit_code == 2
    assert "pass --force" in again.output
    assert runner.invoke(app, ["validate", str(batch), "--out", str(out), "--force"]).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch.parquet", "out", "stats.json"]


@pytest.mark.parametrize("timestamps", ["text", "naive"])
def test_the_compiled_checker_rejects_timestamps_it_cannot_compare(tmp_path: Path, timestamps: str) -> None:
    # Issue 12, point 7: timestamps written as text, or without a time zone, raised a TypeError in the compiled
    # checker, and rejected.parquet was not written.
    frame = records_to_frame(good_rows(30, seed=4))
    stamps = frame["timestamp"]
    frame["timestamp"] = stamps.astype(str) if timestamps == "text" else stamps.dt.tz_localize(None)
    batch = tmp_path / "batch.parquet"
    frame.to_parquet(batch)
    result = runner.invoke(app, ["validate", str(batch), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    rejected = pd.read_parquet(tmp_path / "out" / "rejected.parquet")
    assert len(rejected) == 30
    assert rejected["reason"].str.contains("timestamp.").all()

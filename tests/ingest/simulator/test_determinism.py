"""Same seed, same bytes; another seed, another stream."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ingest.contract import LABEL_SCHEMA, TRANSACTION_COLUMNS, pandas_dtypes
from ingest.simulator import SIMULATED_SCHEMA, SimulatorConfig, labels_path, simulate
from ingest.simulator.data import CONFIG_METADATA_KEY

SMALL = {"days": 6, "n_customers": 600, "n_terminals": 1_200}


def _write(tmp_path: Path, name: str, preset: str, seed: int) -> tuple[bytes, bytes]:
    data = simulate(SimulatorConfig.preset(preset, seed=seed, **SMALL))
    tx, labels = data.write_parquet(tmp_path / f"{name}.parquet")
    assert labels == labels_path(tx) == tmp_path / f"{name}.labels.parquet"
    return tx.read_bytes(), labels.read_bytes()


@pytest.mark.parametrize("preset", ["handbook", "realistic"])
def test_same_seed_gives_identical_files(tmp_path: Path, preset: str) -> None:
    assert _write(tmp_path, "a", preset, 5) == _write(tmp_path, "b", preset, 5)


@pytest.mark.parametrize("preset", ["handbook", "realistic"])
def test_another_seed_gives_other_files(tmp_path: Path, preset: str) -> None:
    first, second = _write(tmp_path, "a", preset, 5), _write(tmp_path, "b", preset, 6)
    assert first[0] != second[0]
    assert first[1] != second[1]


def test_written_files_carry_the_schemas_and_the_config(tmp_path: Path) -> None:
    config = SimulatorConfig.preset("realistic", seed=3, **SMALL)
    tx_path, label_path = simulate(config).write_parquet(tmp_path / "run.parquet")
    tx_schema, label_schema = pq.read_schema(tx_path), pq.read_schema(label_path)
    assert tx_schema.remove_metadata().equals(SIMULATED_SCHEMA)
    assert label_schema.remove_metadata().equals(LABEL_SCHEMA)
    assert tx_schema.metadata[CONFIG_METADATA_KEY].decode() == config.to_json()


@pytest.mark.parametrize("preset", ["handbook", "realistic"])
def test_frames_have_contract_columns_and_dtypes(preset: str) -> None:
    data = simulate(SimulatorConfig.preset(preset, seed=1, **SMALL))
    frame = data.transactions
    assert tuple(frame.columns) == (*TRANSACTION_COLUMNS, "is_fraud", "fraud_scenario")
    expected = {**pandas_dtypes(), "is_fraud": "bool", "fraud_scenario": "int8"}
    assert {c: str(t) for c, t in frame.dtypes.items()} == expected
    assert frame["timestamp"].is_monotonic_increasing
    assert frame["transaction_id"].is_unique
    assert list(data.labels.columns) == LABEL_SCHEMA.names
    assert str(data.labels["reported_at"].dtype) == "datetime64[us, UTC]"

"""Training sources: Parquet files or folders (contract columns or a named mapping) and label files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lifecycle.training.errors import TrainingError
from lifecycle.training.sources import attach_labels, read_labels, read_parquet_source


def test_folder_of_handbook_files_maps_onto_the_contract(tmp_path: Path) -> None:
    raw = pd.DataFrame(
        {
            "TRANSACTION_ID": [1, 2],
            "TX_DATETIME": pd.to_datetime(["2018-04-01 00:00:31", "2018-04-01 00:02:10"]),
            "CUSTOMER_ID": [596, 4961],
            "TERMINAL_ID": [3156, 3412],
            "TX_AMOUNT": [57.16, 81.51],
            "TX_FRAUD": [0, 1],
            "TX_FRAUD_SCENARIO": [0, 1],
        }
    )
    raw.iloc[:1].to_parquet(tmp_path / "transactions-2018-04a.parquet")
    raw.iloc[1:].to_parquet(tmp_path / "transactions-2018-04b.parquet")
    frame = read_parquet_source([tmp_path], mapping="handbook")
    assert frame["card_token"].tolist() == ["596", "4961"]
    assert frame["is_fraud"].tolist() == [False, True]
    assert str(frame["timestamp"].dt.tz) == "UTC"


def test_labels_are_attached_by_transaction_id(tmp_path: Path) -> None:
    labels = pd.DataFrame(
        {
            "transaction_id": ["b", "c"],
            "card_token": ["x", "y"],
            "is_fraud": [True, False],
            "reported_at": pd.to_datetime(["2024-01-05", "2024-01-06"], utc=True),
        }
    )
    labels.to_parquet(tmp_path / "labels.parquet")
    tx = pd.DataFrame({"transaction_id": ["a", "b", "c"]})
    out = attach_labels(tx, read_labels(tmp_path / "labels.parquet"))
    assert out["is_fraud"].tolist() == [False, True, False]


def test_missing_source_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="no such file"):
        read_parquet_source([tmp_path / "absent.parquet"])
    with pytest.raises(TrainingError, match="no Parquet files"):
        read_parquet_source([tmp_path])

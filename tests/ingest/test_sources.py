"""Transaction sources: which files a folder yields (one rule for every command), handbook files mapped onto the
contract, label feeds attached by transaction id, and clear errors for what cannot be read."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ingest.sources import (
    SourceError,
    attach_labels,
    read_labels,
    read_parquet_files,
    read_transactions,
    transaction_files,
)


def _handbook_rows() -> pd.DataFrame:
    return pd.DataFrame(
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


def test_folder_of_handbook_files_maps_onto_the_contract(tmp_path: Path) -> None:
    raw = _handbook_rows()
    raw.iloc[:1].to_parquet(tmp_path / "transactions-2018-04a.parquet")
    raw.iloc[1:].to_parquet(tmp_path / "transactions-2018-04b.parquet")
    frame = read_transactions([tmp_path], mapping="handbook")
    assert frame["card_token"].tolist() == ["596", "4961"]
    assert frame["is_fraud"].tolist() == [False, True]
    assert str(frame["timestamp"].dt.tz) == "UTC"


def test_a_folder_yields_its_transaction_files_in_name_order_and_nothing_else(tmp_path: Path) -> None:
    names = ["b.parquet", "a.parquet", "a.labels.parquet", "labels.parquet", "features-golden-2018-07.parquet"]
    for i, name in enumerate(names):
        pd.DataFrame({"i": [i]}).to_parquet(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not data")
    assert [p.name for p in transaction_files([tmp_path])] == ["a.parquet", "b.parquet"]
    assert read_parquet_files([tmp_path])["i"].tolist() == [1, 0]
    # A file named explicitly is read whatever its name.
    assert transaction_files([tmp_path / "labels.parquet"]) == [tmp_path / "labels.parquet"]


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


def test_what_cannot_be_read_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        read_transactions([tmp_path / "absent.parquet"])
    with pytest.raises(SourceError, match=r"no transaction \.parquet files"):
        read_transactions([tmp_path])
    pd.DataFrame({"x": [1]}).to_parquet(tmp_path / "features-x.parquet")
    with pytest.raises(SourceError, match=r"skipped: features-x.parquet"):
        read_transactions([tmp_path])
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(SourceError, match="not a readable Parquet file"):
        read_transactions([tmp_path])
    pd.DataFrame({"transaction_id": ["a"]}).to_parquet(tmp_path / "few.parquet")
    with pytest.raises(SourceError, match=r"lacks columns \['is_fraud', 'reported_at'\]"):
        read_labels(tmp_path / "few.parquet")
    with pytest.raises(SourceError, match="does not exist"):
        read_labels(tmp_path / "absent.parquet")

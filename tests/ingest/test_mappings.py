"""Column mappings: external data onto the contract, checked on a small frame and on the real handbook data."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ingest.contract import OPTIONAL_DEFAULTS, TRANSACTION_COLUMNS, Transaction, pandas_dtypes
from ingest.errors import IngestError
from ingest.mappings import HANDBOOK_MAPPING, ColumnMapping, MappingError, apply_mapping, get_mapping


def handbook_like(rows: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "TRANSACTION_ID": range(rows),
            "TX_DATETIME": pd.date_range("2018-04-01 00:00:31", periods=rows, freq="37min"),
            "CUSTOMER_ID": [596, 4961, 2][:rows],
            "TERMINAL_ID": [3156, 3412, 1365][:rows],
            "TX_AMOUNT": [57.16, 81.51, 146.0][:rows],
            "TX_TIME_SECONDS": [31, 2251, 4471][:rows],
            "TX_TIME_DAYS": [0, 0, 0][:rows],
            "TX_FRAUD": [0, 1, 0][:rows],
            "TX_FRAUD_SCENARIO": [0, 2, 0][:rows],
        }
    )


def test_handbook_mapping_renames_derives_and_fills_defaults() -> None:
    frame = apply_mapping(handbook_like(), HANDBOOK_MAPPING)
    assert list(frame.columns) == [*TRANSACTION_COLUMNS, "is_fraud", "fraud_scenario"]
    assert frame["transaction_id"].tolist() == ["0", "1", "2"]
    assert frame["customer_id"].tolist() == ["596", "4961", "2"]
    assert frame["card_token"].tolist() == frame["customer_id"].tolist(), "one card per customer"
    assert frame["terminal_id"].tolist() == ["3156", "3412", "1365"]
    assert frame["amount"].tolist() == [57.16, 81.51, 146.0]
    assert frame["timestamp"].iloc[0] == pd.Timestamp("2018-04-01 00:00:31", tz="UTC")
    assert frame["is_fraud"].tolist() == [False, True, False]
    assert frame["fraud_scenario"].tolist() == [0, 2, 0]
    for column, default in OPTIONAL_DEFAULTS.items():
        assert (frame[column] == default).all()
    assert (frame["device_id"] == "").all()


def test_mapped_frame_has_the_contract_dtypes() -> None:
    frame = apply_mapping(handbook_like(), "handbook")
    dtypes = {c: str(t) for c, t in frame.dtypes.items()}
    assert dtypes == {**pandas_dtypes(), "is_fraud": "bool", "fraud_scenario": "int8"}


def test_mapped_rows_are_valid_contract_records() -> None:
    frame = apply_mapping(handbook_like(), HANDBOOK_MAPPING).drop(columns=["is_fraud", "fraud_scenario"])
    for row in frame.to_dict(orient="records"):
        Transaction.model_validate(row)


def test_label_columns_are_optional() -> None:
    frame = apply_mapping(handbook_like().drop(columns=["TX_FRAUD", "TX_FRAUD_SCENARIO"]), HANDBOOK_MAPPING)
    assert list(frame.columns) == list(TRANSACTION_COLUMNS)


def test_missing_required_source_columns_are_named() -> None:
    with pytest.raises(MappingError, match=r"needs source columns \['TX_AMOUNT'\]"):
        apply_mapping(handbook_like().drop(columns=["TX_AMOUNT"]), HANDBOOK_MAPPING)


def test_unknown_mapping_lists_the_known_ones() -> None:
    with pytest.raises(MappingError, match=r"known mappings: \['handbook'\]") as caught:
        get_mapping("visa")
    assert isinstance(caught.value, IngestError)


def test_naive_times_are_read_in_the_mapping_time_zone() -> None:
    brussels = ColumnMapping(name="local", renames=HANDBOOK_MAPPING.renames, timestamp_timezone="Europe/Brussels")
    frame = apply_mapping(handbook_like(1), brussels)
    assert frame["timestamp"].iloc[0] == pd.Timestamp("2018-03-31 22:00:31", tz="UTC")  # CEST is UTC+2
    assert str(frame["timestamp"].dtype) == "datetime64[us, UTC]"


def test_aware_times_are_converted_not_relabelled() -> None:
    source = handbook_like(1)
    source["TX_DATETIME"] = source["TX_DATETIME"].dt.tz_localize("America/New_York")
    frame = apply_mapping(source, HANDBOOK_MAPPING)
    assert frame["timestamp"].iloc[0] == pd.Timestamp("2018-04-01 04:00:31", tz="UTC")


def test_unmapped_source_columns_are_dropped_or_kept_on_request() -> None:
    assert "TX_TIME_DAYS" not in apply_mapping(handbook_like(), HANDBOOK_MAPPING).columns
    keeping = ColumnMapping(name="keep", renames=HANDBOOK_MAPPING.renames, keep_source_columns=True)
    frame = apply_mapping(handbook_like(), keeping)
    assert list(frame.columns[-2:]) == ["TX_TIME_SECONDS", "TX_TIME_DAYS"]
    assert frame["TX_TIME_SECONDS"].tolist() == [31, 2251, 4471]


def test_whole_number_ids_stored_as_floats_keep_their_integer_text() -> None:
    source = handbook_like()
    source["CUSTOMER_ID"] = [596.0, math.nan, 2.0]  # a column with a gap is read as floats
    frame = apply_mapping(source, HANDBOOK_MAPPING)
    assert frame["customer_id"].iloc[[0, 2]].tolist() == ["596", "2"]
    assert frame["customer_id"].isna().tolist() == [False, True, False], "a missing id stays missing"


def test_fractional_ids_are_refused() -> None:
    source = handbook_like()
    source["TERMINAL_ID"] = [3156.0, 3412.5, 1365.0]
    with pytest.raises(MappingError, match="terminal_id holds fractional numbers"):
        apply_mapping(source, HANDBOOK_MAPPING)


@pytest.mark.parametrize(
    ("labels", "bad"),
    [([0, math.nan, 1], "1 of 3 rows are not (first at row 1)"), ([0, 2, 1], "1 of 3 rows are not (first at row 1)"),
     (["0", "1", "0"], "3 of 3 rows are not (first at row 0)")],
    ids=["missing", "two", "text"],
)  # fmt: skip
def test_fraud_labels_other_than_zero_or_one_are_refused(labels: list[Any], bad: str) -> None:
    source = handbook_like()
    source["TX_FRAUD"] = labels
    with pytest.raises(MappingError, match=re.escape(f"is_fraud must be 0/1 or True/False; {bad}")):
        apply_mapping(source, HANDBOOK_MAPPING)


def test_boolean_fraud_labels_are_taken_as_they_are() -> None:
    source = handbook_like()
    source["TX_FRAUD"] = [False, True, False]
    assert apply_mapping(source, HANDBOOK_MAPPING)["is_fraud"].tolist() == [False, True, False]


@pytest.mark.parametrize("scenarios", [[0, 300, 0], [0, math.nan, 0], [0, -1, 0], [0, 1.5, 0]])
def test_scenario_ids_outside_int8_or_missing_are_refused_not_wrapped(scenarios: list[Any]) -> None:
    source = handbook_like()
    source["TX_FRAUD_SCENARIO"] = scenarios
    with pytest.raises(MappingError, match=r"fraud_scenario must be a whole number from 0 to 127; 1 of 3 rows .*row 1"):
        apply_mapping(source, HANDBOOK_MAPPING)


@pytest.mark.parametrize(
    ("renames", "message"),
    [
        ({**HANDBOOK_MAPPING.renames, "TX_AMOUNT": ("amount_eur",)}, r"unknown columns \['amount_eur'\]"),
        ({k: v for k, v in HANDBOOK_MAPPING.renames.items() if k != "TX_AMOUNT"}, r"required columns \['amount'\]"),
        ({**HANDBOOK_MAPPING.renames, "CARD": ("card_token",)}, r"several source columns into \['card_token'\]"),
    ],
    ids=["unknown-target", "required-unfed", "two-sources-one-column"],
)
def test_inconsistent_mappings_are_refused_when_declared(renames: dict[str, tuple[str, ...]], message: str) -> None:
    with pytest.raises(MappingError, match=message):
        ColumnMapping(name="broken", renames=renames)


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("TX_AMOUNT", ["57,16", "81.51", "146.0"], "cannot read the amounts as numbers"),
        ("TX_DATETIME", ["yesterday", "2018-04-01 00:00:31", "2018-04-01 00:37:31"], "cannot read the timestamps"),
    ],
)
def test_unreadable_amounts_and_times_are_mapping_errors(column: str, values: list[str], message: str) -> None:
    source = handbook_like()
    source[column] = values
    with pytest.raises(MappingError, match=message):
        apply_mapping(source, HANDBOOK_MAPPING)


@pytest.mark.handbook
def test_real_handbook_month_maps_onto_the_contract(handbook_dir: Path) -> None:
    raw = pd.read_parquet(handbook_dir / "transactions-2018-04.parquet")
    frame = apply_mapping(raw, HANDBOOK_MAPPING)
    assert len(frame) == len(raw)
    assert {c: str(t) for c, t in frame.dtypes.items()} == {
        **pandas_dtypes(),
        "is_fraud": "bool",
        "fraud_scenario": "int8",
    }
    assert frame["transaction_id"].is_unique
    assert frame["timestamp"].is_monotonic_increasing
    assert frame["timestamp"].min() >= pd.Timestamp("2018-04-01", tz="UTC")
    assert frame["timestamp"].max() < pd.Timestamp("2018-05-01", tz="UTC")
    assert (frame["card_token"] == frame["customer_id"]).all()
    assert frame["is_fraud"].sum() == raw["TX_FRAUD"].sum()
    assert (frame["amount"] >= 0).all()
    sample = frame.drop(columns=["is_fraud", "fraud_scenario"]).sample(500, random_state=0)
    for row in sample.to_dict(orient="records"):
        Transaction.model_validate(row)

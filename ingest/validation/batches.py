"""Reading a batch file (Parquet or CSV) for validation, optionally through a column mapping."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ingest.contract import TRANSACTION_COLUMNS, TRANSACTION_FIELDS, holds_card_number
from ingest.mappings import apply_mapping
from ingest.validation.errors import BatchReadError

_STRING_COLUMNS = tuple(spec.name for spec in TRANSACTION_FIELDS if pa.types.is_string(spec.arrow_type))


def read_batch(path: Path, mapping: str | None = None) -> pd.DataFrame:
    """The batch at ``path`` (``.parquet``/``.pq`` or ``.csv``), mapped onto the contract if ``mapping`` names
    one (``handbook``). Without a mapping the file must already use the contract's column names.

    CSV cells are read as text for the contract's string columns (so an empty device id stays ``""`` and a
    leading zero in an MCC survives); a timestamp column that parses as ISO 8601 becomes UTC (times without
    an offset are taken as UTC), otherwise it stays text and fails the timestamp type expectation.
    """
    if not path.exists():
        raise BatchReadError(f"no batch file at {path}")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif suffix == ".csv":
            frame = _read_csv(path, mapping is None)
        else:
            raise BatchReadError(f"cannot read {path}: use a .parquet or .csv file")
    except (OSError, ValueError, pa.ArrowException) as error:
        raise BatchReadError(f"cannot read {path}: {error}") from error
    refuse_card_numbers_in_names(frame, str(path))
    if mapping is not None:
        return apply_mapping(frame, mapping)
    return frame


def refuse_card_numbers_in_names(frame: pd.DataFrame, source: str) -> None:
    """Refuse a batch whose column names hold a card number: a name is copied into every report and output."""
    named = sum(holds_card_number(str(column)) for column in frame.columns)
    if named:
        raise BatchReadError(
            f"{named} column name(s) of {source} hold a card number in clear; rename those columns first"
        )


def contract_view(frame: pd.DataFrame) -> pd.DataFrame:
    """The contract's columns of ``frame`` that it has, in contract order (labels and extras left out)."""
    return frame[[column for column in TRANSACTION_COLUMNS if column in frame.columns]]


def _read_csv(path: Path, contract_names: bool) -> pd.DataFrame:
    if not contract_names:
        return pd.read_csv(path)
    frame = pd.read_csv(
        path,
        dtype=dict.fromkeys(_STRING_COLUMNS, "str"),
        keep_default_na=False,
        na_values={"amount": [""], "timestamp": [""]},
    )
    if "timestamp" in frame.columns:
        # Unparseable timestamps stay text on purpose: the type expectation reports them, naming the column.
        with contextlib.suppress(ValueError, TypeError):
            frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601").astype(
                "datetime64[us, UTC]"
            )
    return frame

"""Decoded records (dicts from Kafka messages or API payloads) as a contract-typed frame for validation.

The coercions are the lax ones the pydantic contract accepts and nothing more: an amount may arrive as an
int, a float or a numeric string and becomes a float; a timestamp may arrive as a time-zone-aware datetime
or an ISO 8601 string with an offset and becomes a UTC pandas Timestamp. Anything else is kept as it came,
so that the validation suite rejects it with the name of the failed expectation instead of it being
silently turned into something else. Missing optional fields take the contract's defaults; missing required
fields become nulls (and fail their not-null expectation).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ingest.contract import OPTIONAL_DEFAULTS, TRANSACTION_COLUMNS


def normalise_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record's contract fields with defaults filled and the amount and timestamp coerced (see module)."""
    out = {column: record.get(column, OPTIONAL_DEFAULTS.get(column)) for column in TRANSACTION_COLUMNS}
    out["amount"] = coerce_amount(out["amount"])
    out["timestamp"] = coerce_timestamp(out["timestamp"])
    return out


def records_to_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A frame of the contract's columns: typed (float64, UTC timestamps) where every value coerces, object
    columns where some do not (their rows then fail the type expectation one by one)."""
    rows = [normalise_record(record) for record in records]
    columns: dict[str, Any] = {}
    for column in TRANSACTION_COLUMNS:
        values = [row[column] for row in rows]
        columns[column] = _typed(column, values)
    return pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))


def coerce_amount(value: Any) -> Any:
    """An int, float or numeric string as a float; anything else (booleans included) unchanged."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def coerce_timestamp(value: Any) -> Any:
    """A time-zone-aware datetime or ISO 8601 string as a UTC Timestamp; naive times and others unchanged."""
    if isinstance(value, str):
        try:
            parsed = pd.Timestamp(value)
        except ValueError:
            return value
        # Text without an offset stays text: the type expectation then names the problem.
        return parsed.tz_convert("UTC") if parsed.tzinfo is not None else value
    if isinstance(value, datetime) and value.tzinfo is not None and not pd.isna(value):
        return pd.Timestamp(value).tz_convert("UTC")
    return value


def _typed(column: str, values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    if column == "amount" and all(isinstance(v, float) for v in present):
        return np.array([np.nan if v is None else v for v in values], dtype="float64")
    if column == "timestamp" and all(isinstance(v, pd.Timestamp) for v in present):
        return pd.array(values, dtype="datetime64[us, UTC]")
    return pd.array(values, dtype=object)

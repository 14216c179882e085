"""Turning contract DataFrames into the arrays the kernels read: times, entity keys, label times."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from features.errors import FeatureInputError
from features.kernels import NEVER
from features.plan import KEY_SEPARATOR
from features.spec import Entity


def require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Refuse a frame that lacks any of ``columns``, saying how to map a source onto the contract."""
    missing = sorted(set(columns) - set(frame.columns))
    if missing:
        raise FeatureInputError(
            f"{what} lack columns {missing}; map the source onto the transaction contract first "
            "(ingest.mappings.apply_mapping, or `fraud features build --mapping NAME`)"
        )


def timestamps_us(values: pd.Series) -> NDArray[np.int64]:
    """UTC microseconds since the epoch of a time zone-aware timestamp column."""
    if not isinstance(values.dtype, pd.DatetimeTZDtype):
        raise FeatureInputError(
            f"column {values.name!r} must hold time zone-aware timestamps (UTC), got dtype {values.dtype}"
        )
    if values.isna().any():
        raise FeatureInputError(f"column {values.name!r} has missing timestamps; drop or repair those rows")
    utc = values.dt.tz_convert("UTC").dt.as_unit("us")
    return np.ascontiguousarray(utc.to_numpy(dtype="datetime64[us]").view(np.int64))


def amounts(values: pd.Series) -> NDArray[np.float64]:
    """The amount column as contiguous float64, refusing missing or non-finite amounts."""
    out = np.ascontiguousarray(values.to_numpy(dtype=np.float64))
    if not np.isfinite(out).all():
        raise FeatureInputError("column 'amount' has missing or non-finite values; repair them before computing")
    return out


def entity_keys(frame: pd.DataFrame, entity: Entity, cache: dict[str, list[str]] | None = None) -> list[str]:
    """The string key of each row for ``entity`` (columns joined by a control character).

    ``cache`` keeps each column's strings between entities of one batch (the card column serves several).
    """
    cache = {} if cache is None else cache
    columns = []
    for column in entity.columns:
        if column not in cache:
            if frame[column].isna().any():  # astype(str) would turn them into one entity called "nan"
                raise FeatureInputError(f"column {column!r} has missing values; every transaction needs one")
            cache[column] = frame[column].astype(str).tolist()
        columns.append(cache[column])
    if len(columns) == 1:
        return columns[0]
    return [KEY_SEPARATOR.join(parts) for parts in zip(*columns, strict=True)]


def entity_codes(frame: pd.DataFrame, entity: Entity) -> NDArray[np.int64]:
    """Dense integer codes of ``entity`` per row (equal keys, equal codes)."""
    code = np.zeros(len(frame), dtype=np.int64)
    for number, column in enumerate(entity.columns):
        values = frame[column]
        if values.isna().any():
            raise FeatureInputError(f"column {column!r} has missing values; every transaction needs one")
        part, uniques = pd.factorize(values, sort=False)
        code = code * np.int64(len(uniques)) + part.astype(np.int64)
        if number > 0:  # keep combined codes dense so that they cannot overflow
            code = pd.factorize(code, sort=False)[0].astype(np.int64)
    return code


def fraud_flags(values: pd.Series) -> NDArray[np.bool_]:
    """A fraud-flag column as booleans: True/False or 1/0; a missing or other value is refused, not guessed."""
    if values.isna().any():
        raise FeatureInputError(f"column {values.name!r} has missing fraud flags; drop those rows or label them")
    if not pd.api.types.is_bool_dtype(values.dtype) and not values.isin([0, 1]).all():
        raise FeatureInputError(f"column {values.name!r} must hold True/False (or 1/0) fraud flags")
    return values.to_numpy(dtype=bool)


def label_times(
    transactions: pd.DataFrame, ts_us: NDArray[np.int64], labels: pd.DataFrame | None, label_delay: timedelta
) -> NDArray[np.int64]:
    """When each transaction's fraud label became known (:data:`NEVER` when it is not a known fraud).

    Without ``labels`` the handbook's rule applies: a fraud is known ``label_delay`` after the transaction.
    With ``labels`` (transaction_id, is_fraud, reported_at) the earliest fraud report counts; reports of
    "not fraud" leave the fraud-share state alone.
    """
    out = np.full(len(transactions), NEVER, dtype=np.int64)
    if labels is None:
        require_columns(transactions, ["is_fraud"], "transactions (labels=None needs their is_fraud column)")
        fraud = fraud_flags(transactions["is_fraud"])
        out[fraud] = ts_us[fraud] + int(label_delay // timedelta(microseconds=1))
        return out
    require_columns(labels, ["transaction_id", "is_fraud", "reported_at"], "labels")
    require_columns(transactions, ["transaction_id"], "transactions (a label file is matched by transaction_id)")
    frauds = labels[fraud_flags(labels["is_fraud"])]
    reported = pd.Series(timestamps_us(frauds["reported_at"]), index=frauds["transaction_id"].astype(str).to_numpy())
    earliest = reported.groupby(level=0).min()
    ids = pd.Index(transactions["transaction_id"].astype(str))
    if not ids.is_unique:
        raise FeatureInputError("transaction_id repeats in the transactions; labels need unique transaction ids")
    positions = ids.get_indexer(earliest.index)
    known = positions >= 0
    np.minimum.at(out, positions[known], earliest.to_numpy()[known])
    return out

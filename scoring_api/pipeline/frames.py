"""Contract records as a typed frame (the scorer's batch path), and the columns the later stages read.

:func:`transactions_frame` is the fast way from already-validated :class:`~ingest.contract.Transaction` records
(the API's batches) to the frame the compiled checker and the online features read: column by column, typed as
the contract's pandas dtypes, with no per-record coercion (the records are typed already).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ingest.contract import TRANSACTION_COLUMNS, Transaction
from ingest.validation.rules import text_array
from scoring_api.decisions.policy import DecisionInputs
from scoring_api.pipeline.idempotency import FINGERPRINT_FIELDS, canonical, fingerprint, fingerprints

_EPOCH_US = pd.Timestamp(0, tz="UTC")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _text(value: Any) -> str:
    return value.value if isinstance(value, Enum) else str(value)


def transactions_frame(transactions: Sequence[Transaction]) -> pd.DataFrame:
    """A frame of the contract's columns (timestamps UTC in microseconds, amounts float64, text as str)."""
    return transactions_frame_from_columns(
        {column: [getattr(tx, column) for tx in transactions] for column in TRANSACTION_COLUMNS}
    )


def transactions_frame_from_columns(columns: dict[str, list[Any]]) -> pd.DataFrame:
    """The contract frame of typed values column by column (datetimes, floats, text or enums)."""
    out: dict[str, Any] = {}
    n = len(columns["transaction_id"])
    for column in TRANSACTION_COLUMNS:
        values = columns[column]
        if column == "timestamp":
            out[column] = pd.DatetimeIndex(values).tz_convert("UTC").as_unit("us")
        elif column == "amount":
            out[column] = np.asarray(values, dtype=np.float64)
        else:
            out[column] = pd.array([_text(v) for v in values], dtype="str")
    return pd.DataFrame(out, index=pd.RangeIndex(n))


def decision_inputs(frame: pd.DataFrame) -> DecisionInputs:
    """The rule and segment columns of a contract frame."""
    return DecisionInputs(
        card_token=texts(frame["card_token"]),
        customer_id=texts(frame["customer_id"]),
        terminal_id=texts(frame["terminal_id"]),
        device_id=texts(frame["device_id"]),
        country=texts(frame["country"]),
        channel=texts(frame["channel"]),
        mcc=texts(frame["mcc"]),
        amount=frame["amount"].to_numpy(dtype=np.float64).tolist(),
    )


def texts(column: pd.Series) -> list[str]:
    """A text column's values as Python strings (a column of another dtype through ``str``)."""
    if isinstance(column.dtype, pd.StringDtype) and not column.hasnans:
        return list(column.tolist())
    return list(column.astype(str).tolist())


def frame_fingerprints(frame: pd.DataFrame) -> list[str]:
    """The fingerprint of each row of a contract frame (see :func:`~scoring_api.pipeline.idempotency.fingerprint`)."""
    micros = ((frame["timestamp"] - _EPOCH_US) // pd.Timedelta(microseconds=1)).to_numpy(dtype=np.int64)
    columns: list[list[str] | pa.Array] = []
    for field in FINGERPRINT_FIELDS:
        if field == "timestamp_us":
            columns.append(pa.array(micros).cast(pa.string()))  # an integer's decimal digits, as str()
        elif field == "amount":
            columns.append([canonical(a) for a in frame["amount"].to_numpy(dtype=np.float64).tolist()])
        else:
            columns.append(arrow_texts(frame[field]))
    return fingerprints(columns)


def arrow_texts(column: pd.Series) -> pa.Array:
    """:func:`texts` as an Arrow array (a column Arrow holds already is handed over without copying)."""
    array = text_array(column)
    if array is not None and array.null_count == 0:
        return array
    return pa.array(texts(column), type=pa.large_string())


def transaction_fingerprint(tx: Transaction) -> str:
    """The fingerprint of one transaction, equal to :func:`frame_fingerprints` of a frame holding it."""
    micros = (tx.timestamp - _EPOCH) // _MICROSECOND
    values = (tx.transaction_id, micros, tx.card_token, tx.customer_id, tx.terminal_id, float(tx.amount))
    codes = (tx.currency, tx.mcc, _text(tx.channel), _text(tx.entry_mode), tx.country, tx.device_id)
    return fingerprint(values + codes)


def transaction_inputs(tx: Transaction) -> DecisionInputs:
    """The rule and segment columns of one transaction."""
    return DecisionInputs(
        card_token=[tx.card_token],
        customer_id=[tx.customer_id],
        terminal_id=[tx.terminal_id],
        device_id=[tx.device_id],
        country=[tx.country],
        channel=[_text(tx.channel)],
        mcc=[tx.mcc],
        amount=[float(tx.amount)],
    )

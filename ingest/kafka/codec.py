"""The wire format of transactions on Kafka, and fast conversions to and from it.

One message is one transaction:

* **key**: the card token, UTF-8. Kafka's default partitioner hashes it, so every transaction of a card lands
  in one partition and one consumer of a group owns that card's state.
* **value**: a JSON object (written by orjson) with exactly the contract's fields
  (:data:`ingest.contract.TRANSACTION_COLUMNS`), optional ones always present. ``timestamp`` is an integer,
  microseconds since the Unix epoch in UTC (exact, compact and vectorisable, unlike ISO-8601 text);
  ``amount`` a number in the currency's major unit. Label columns never travel with a transaction: labels
  arrive later on their own topic.

Decoding does only what the wire format itself defines: each message must be a JSON object with the contract's
field names and, per field, the wire type (text, integer microseconds, a number); a message that is not is
rejected with a reason, never dropped silently. Whether the values respect the contract (amount range, time
range, string lengths and patterns, allowed codes, no card number in clear) is the compiled checker's call
(:mod:`ingest.validation.checker`), the one place that enforces the contract on batches.

>>> import pandas as pd
>>> frame = pd.DataFrame({"transaction_id": ["t1"], "timestamp": [pd.Timestamp("2018-04-01 10:00", tz="UTC")],
...                       "card_token": ["c1"], "customer_id": ["u1"], "terminal_id": ["m1"], "amount": [12.5]})
>>> keys, values = encode_frame(frame)
>>> keys[0], values[0][:40]
(b'c1', b'{"transaction_id":"t1","timestamp":15225')
>>> decoded = decode_values(values)
>>> decoded.frame.loc[0, "amount"], decoded.rejected
(np.float64(12.5), [])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest.contract import (
    MIN_PAN_DIGITS,
    OPTIONAL_DEFAULTS,
    REQUIRED_COLUMNS,
    TRANSACTION_COLUMNS,
    Transaction,
    looks_like_pan,
)
from ingest.kafka.errors import EncodeError
from ingest.validation.masking import mask_card_numbers

_STRING_COLUMNS: Final = tuple(c for c in TRANSACTION_COLUMNS if c not in ("timestamp", "amount"))
_ALL_FIELDS: Final = frozenset(TRANSACTION_COLUMNS)
_REQUIRED_FIELDS: Final = frozenset(REQUIRED_COLUMNS)
_DEFAULTS: Final[dict[str, str]] = {**OPTIONAL_DEFAULTS, "device_id": ""}
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
# Exact Python types accepted per column (bool is an int subclass, and is refused as a timestamp or an amount).
_STR: Final = frozenset({str})
_INT: Final = frozenset({int})
_NUMBER: Final = frozenset({int, float})
_PAN_SHAPE: Final = rf"^[0-9 \-]{{{MIN_PAN_DIGITS},}}$"
#: The wire's integer microseconds are int64: a larger integer is not a timestamp the wire can carry.
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1


@dataclass(frozen=True)
class RejectedValue:
    """A message value that is not a valid transaction, with the reason; ``index`` is its place in the batch."""

    index: int
    reason: str


@dataclass
class DecodedBatch:
    """The valid transactions of a batch as a contract DataFrame, plus the rejected values with reasons.

    ``frame`` has a column ``batch_index`` giving each row's place in the input, so callers can match rows back
    to their Kafka messages (partition, offset).
    """

    frame: pd.DataFrame
    rejected: list[RejectedValue] = field(default_factory=list)


# -- encoding --------------------------------------------------------------------------------------------------
def timestamp_micros(value: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (the wire form of ``timestamp``)."""
    return (value.astimezone(UTC) - _EPOCH) // pd.Timedelta(microseconds=1)


def encode_transaction(tx: Transaction) -> tuple[bytes, bytes]:
    """Key and value of one validated transaction."""
    record: dict[str, Any] = tx.model_dump(mode="python")
    record["timestamp"] = timestamp_micros(tx.timestamp)
    record["channel"] = tx.channel.value
    record["entry_mode"] = tx.entry_mode.value
    return tx.card_token.encode(), orjson.dumps(record)


def encode_frame(frame: pd.DataFrame) -> tuple[list[bytes], list[bytes]]:
    """Keys and values of a DataFrame in contract columns (missing optional columns take their defaults).

    Refuses, with the offending row count and the first row, frames the wire cannot carry faithfully (a missing
    required column, naive or missing timestamps, amounts that are not finite numbers, missing text) and card
    numbers in clear, which must never reach a topic. The contract's bounds are the consumer's checker's call.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise EncodeError(f"the frame lacks the required contract columns {missing}; it has {list(frame.columns)}")
    n = len(frame)
    stamps = frame["timestamp"]
    if not isinstance(stamps.dtype, pd.DatetimeTZDtype):
        raise EncodeError(f"column 'timestamp' must be timezone-aware (UTC), not {stamps.dtype}")
    micros = _micros(stamps)
    amount = frame["amount"].to_numpy(dtype="float64", na_value=np.nan)
    _refuse(~np.isfinite(amount), frame, "amount", "a finite number")
    _refuse(stamps.isna().to_numpy(), frame, "timestamp", "a time")
    _refuse(_card_numbers(pa.array(frame["card_token"].astype(str).tolist(), pa.string())), frame, "card_token",
            "a token, not a card number in clear; tokenise it first (ingest.pan.CardTokenizer)")  # fmt: skip
    columns: list[list[Any]] = []
    for name in TRANSACTION_COLUMNS:
        if name == "timestamp":
            columns.append(micros.tolist())
        elif name == "amount":
            columns.append(amount.tolist())
        elif name in frame.columns:
            series = frame[name]
            _refuse(series.isna().to_numpy(), frame, name, "a string")
            columns.append(series.astype(str).tolist() if series.dtype != object else series.tolist())
        else:
            columns.append([_DEFAULTS[name]] * n)
    dumps = orjson.dumps
    names = TRANSACTION_COLUMNS
    values = [dumps(dict(zip(names, row, strict=True))) for row in zip(*columns, strict=True)]
    card = TRANSACTION_COLUMNS.index("card_token")
    keys = [token.encode() for token in columns[card]]
    return keys, values


def _micros(stamps: pd.Series) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Epoch microseconds of a timezone-aware column (NaT becomes the int64 minimum)."""
    naive = stamps.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
    micros: np.ndarray[Any, np.dtype[np.int64]] = naive.to_numpy().view("int64")
    return micros


def _refuse(bad: np.ndarray[Any, np.dtype[np.bool_]], frame: pd.DataFrame, column: str, expected: str) -> None:
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        # The value is quoted masked: the refused value may be the very card number that must not leak.
        shown = mask_card_numbers(repr(frame[column].iloc[first]))
        raise EncodeError(
            f"{int(bad.sum())} row(s) have an invalid {column!r} (expected {expected}); first at row {first}: "
            f"{shown}. Fix or drop them before producing."
        )


# -- decoding --------------------------------------------------------------------------------------------------
def decode_transaction(value: bytes) -> Transaction:
    """One message value as a strictly validated :class:`~ingest.contract.Transaction` (pydantic)."""
    record = orjson.loads(value)
    if isinstance(record, dict) and isinstance(record.get("timestamp"), int):
        record["timestamp"] = pd.Timestamp(record["timestamp"], unit="us", tz="UTC").to_pydatetime()
    return Transaction.model_validate(record)


def decode_values(values: Sequence[bytes | None]) -> DecodedBatch:
    """Decode a micro-batch of message values into a contract DataFrame, rejecting the messages that do not have
    the wire format's shape (see the module docstring) with a reason.

    Fast path: a JSON object with exactly as many fields as the contract goes straight to column building, where
    the field names and each column's Python types are checked in bulk; only when that check fails are the
    records examined one by one to find and reject the culprits.
    """
    records: list[dict[str, Any]] = []
    positions: list[int] = []
    rejected: list[RejectedValue] = []
    loads = orjson.loads
    field_count = len(TRANSACTION_COLUMNS)
    for index, value in enumerate(values):
        if value is None:
            rejected.append(RejectedValue(index, "empty message (tombstone)"))
            continue
        try:
            record = loads(value)
        except orjson.JSONDecodeError as exc:
            rejected.append(RejectedValue(index, f"not JSON: {exc}"))
            continue
        if type(record) is not dict or len(record) != field_count:
            reason = _shape_problem(record)  # also fills in omitted optional fields
            if reason is not None:
                rejected.append(RejectedValue(index, reason))
                continue
        records.append(record)
        positions.append(index)
    table = _to_table(records, positions)
    if table is None:
        kept: list[dict[str, Any]] = []
        kept_positions: list[int] = []
        for record, index in zip(records, positions, strict=True):
            reason = _shape_problem(record)
            if reason is None:
                kept.append(record)
                kept_positions.append(index)
            else:
                rejected.append(RejectedValue(index, reason))
        table = _to_table(kept, kept_positions)
        assert table is not None, "records that pass the shape check one by one pass it in bulk"
    rejected.sort(key=lambda r: r.index)
    return DecodedBatch(frame=table.to_pandas(), rejected=rejected)


def _shape_problem(record: Any) -> str | None:
    """Why ``record`` does not have the wire format's shape (None when it does). Reasons never quote values or
    field names a sender chose: they end up in logs and on the dead-letter topic."""
    if type(record) is not dict:
        return f"not a JSON object but {type(record).__name__}"
    keys = record.keys()
    if keys != _ALL_FIELDS:
        missing = sorted(_REQUIRED_FIELDS - keys)
        if missing:
            return f"missing required fields {missing}"
        unknown = keys - _ALL_FIELDS
        if unknown:
            return f"{len(unknown)} unknown field(s); the contract's fields are {list(TRANSACTION_COLUMNS)}"
        for name in _ALL_FIELDS - keys:
            record[name] = _DEFAULTS[name]
    stamp = record["timestamp"]
    if type(stamp) is not int:
        return f"timestamp must be integer epoch microseconds, got {type(stamp).__name__}"
    if not _INT64_MIN <= stamp <= _INT64_MAX:
        return "timestamp does not fit in 64 bits: not epoch microseconds"
    amount = record["amount"]
    if type(amount) is not float and type(amount) is not int:
        return f"amount must be a number, got {type(amount).__name__}"
    if type(amount) is int and not -(2**1023) < amount < 2**1023:
        return "amount is too large to be a number of the currency's major unit"
    for name in _STRING_COLUMNS:
        if type(record[name]) is not str:
            return f"{name} must be a string, got {type(record[name]).__name__}"
    return None


def _to_table(records: list[dict[str, Any]], positions: list[int]) -> pa.Table | None:
    """The records as an Arrow table, or None when a field is missing or a column holds a wrong Python type (or
    an integer the wire's types cannot hold)."""
    try:
        columns = {name: [r[name] for r in records] for name in TRANSACTION_COLUMNS}
    except KeyError:
        return None
    for name in _STRING_COLUMNS:
        if not set(map(type, columns[name])) <= _STR:
            return None
    if not set(map(type, columns["timestamp"])) <= _INT or not set(map(type, columns["amount"])) <= _NUMBER:
        return None
    try:
        arrays = {name: pa.array(columns[name], pa.string()) for name in _STRING_COLUMNS}
        arrays["timestamp"] = pa.array(columns["timestamp"], pa.int64()).cast(pa.timestamp("us", tz="UTC"))
        arrays["amount"] = pa.array(columns["amount"], pa.float64())
    except (OverflowError, pa.ArrowException):
        return None
    ordered = {name: arrays[name] for name in TRANSACTION_COLUMNS}
    return pa.table({**ordered, "batch_index": pa.array(positions, pa.int64())})


def _card_numbers(tokens: pa.Array | pa.ChunkedArray) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Which tokens are card numbers in clear: a vectorised pre-filter (digits, spaces, dashes only), then the
    contract's own card-number rule (``looks_like_pan``) on the few candidates."""
    candidates = pc.match_substring_regex(tokens, pattern=_PAN_SHAPE).to_numpy(zero_copy_only=False)
    found = np.zeros(len(tokens), dtype=bool)
    for index in np.flatnonzero(candidates):
        found[index] = looks_like_pan(str(tokens[int(index)].as_py()))
    return found

"""The wire format of transactions on Kafka, and fast conversions to and from it.

One message is one transaction:

* **key**: the card token, UTF-8. Kafka's default partitioner hashes it, so every transaction of a card lands
  in one partition and one consumer of a group owns that card's state.
* **value**: a JSON object (written by orjson) with exactly the contract's fields
  (:data:`ingest.contract.TRANSACTION_COLUMNS`), optional ones always present. ``timestamp`` is an integer,
  microseconds since the Unix epoch in UTC (exact, compact and vectorisable, unlike ISO-8601 text);
  ``amount`` a number in the currency's major unit. Label columns never travel with a transaction: labels
  arrive later on their own topic.

Decoding is built for micro-batches: each message is parsed and its shape checked on its own (a bad message is
rejected with a reason, never dropped silently), then the contract's bounds (amount range, time range, string
lengths, allowed codes) are checked column-wise over the whole batch.

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

import re
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
    EARLIEST_TIMESTAMP,
    LATEST_TIMESTAMP,
    MAX_AMOUNT,
    MIN_PAN_DIGITS,
    OPTIONAL_DEFAULTS,
    REQUIRED_COLUMNS,
    TRANSACTION_COLUMNS,
    TRANSACTION_FIELDS,
    Transaction,
    looks_like_pan,
)
from ingest.kafka.errors import EncodeError

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
_EARLIEST_US: Final = (EARLIEST_TIMESTAMP - _EPOCH) // pd.Timedelta(microseconds=1)
_LATEST_US: Final = (LATEST_TIMESTAMP - _EPOCH) // pd.Timedelta(microseconds=1)


@dataclass(frozen=True)
class _StringRule:
    min_length: int
    max_length: int | None
    pattern: re.Pattern[str] | None
    allowed: tuple[str, ...] | None


def _string_rules() -> dict[str, _StringRule]:
    """The contract's string constraints, read from the pydantic model so that both paths enforce the same ones."""
    rules: dict[str, _StringRule] = {}
    allowed = {spec.name: spec.allowed for spec in TRANSACTION_FIELDS}
    for name in _STRING_COLUMNS:
        info = Transaction.model_fields[name]
        min_length, max_length, pattern = 0, None, None
        for item in info.metadata:
            min_length = getattr(item, "min_length", None) or min_length
            max_length = getattr(item, "max_length", None) or max_length
            pattern = getattr(item, "pattern", None) or pattern
        rules[name] = _StringRule(min_length, max_length, re.compile(pattern) if pattern else None, allowed[name])
    return rules


_STRING_RULES: Final = _string_rules()


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

    Refuses, with the offending row count and an example, frames that would put invalid transactions on the wire.
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
    _refuse(~np.isfinite(amount) | (amount < 0) | (amount > MAX_AMOUNT), frame, "amount", "finite, 0..MAX_AMOUNT")
    _refuse(stamps.isna().to_numpy() | (micros < _EARLIEST_US) | (micros >= _LATEST_US), frame, "timestamp", "")
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
        what = f" (expected {expected})" if expected else " (outside the contract's bounds)"
        raise EncodeError(
            f"{int(bad.sum())} row(s) have an invalid {column!r}{what}; first at row {first}: "
            f"{frame[column].iloc[first]!r}. Fix or drop them before producing."
        )


# -- decoding --------------------------------------------------------------------------------------------------
def decode_transaction(value: bytes) -> Transaction:
    """One message value as a strictly validated :class:`~ingest.contract.Transaction` (pydantic)."""
    record = orjson.loads(value)
    if isinstance(record, dict) and isinstance(record.get("timestamp"), int):
        record["timestamp"] = pd.Timestamp(record["timestamp"], unit="us", tz="UTC").to_pydatetime()
    return Transaction.model_validate(record)


def decode_values(values: Sequence[bytes | None]) -> DecodedBatch:
    """Decode a micro-batch of message values into a contract DataFrame, rejecting invalid ones with a reason.

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
    reasons = _bounds_problems(table)
    bad = reasons != ""
    if bad.any():
        indices = table.column("batch_index").to_numpy()
        rejected.extend(RejectedValue(int(i), str(r)) for i, r in zip(indices[bad], reasons[bad], strict=True))
        table = table.filter(pa.array(~bad))
    rejected.sort(key=lambda r: r.index)
    return DecodedBatch(frame=table.to_pandas(), rejected=rejected)


def _shape_problem(record: Any) -> str | None:
    if type(record) is not dict:
        return f"not a JSON object but {type(record).__name__}"
    keys = record.keys()
    if keys != _ALL_FIELDS:
        missing = sorted(_REQUIRED_FIELDS - keys)
        if missing:
            return f"missing required fields {missing}"
        unknown = sorted(keys - _ALL_FIELDS)
        if unknown:
            return f"unknown fields {unknown}"
        for name in _ALL_FIELDS - keys:
            record[name] = _DEFAULTS[name]
    stamp = record["timestamp"]
    if type(stamp) is not int:
        return f"timestamp must be integer epoch microseconds, got {type(stamp).__name__}"
    amount = record["amount"]
    if type(amount) is not float and type(amount) is not int:
        return f"amount must be a number, got {type(amount).__name__}"
    for name in _STRING_COLUMNS:
        if type(record[name]) is not str:
            return f"{name} must be a string, got {type(record[name]).__name__}"
    return None


def _to_table(records: list[dict[str, Any]], positions: list[int]) -> pa.Table | None:
    """The records as an Arrow table, or None when a field is missing or a column holds a wrong Python type."""
    try:
        columns = {name: [r[name] for r in records] for name in TRANSACTION_COLUMNS}
    except KeyError:
        return None
    for name in _STRING_COLUMNS:
        if not set(map(type, columns[name])) <= _STR:
            return None
    if not set(map(type, columns["timestamp"])) <= _INT or not set(map(type, columns["amount"])) <= _NUMBER:
        return None
    arrays = {name: pa.array(columns[name], pa.string()) for name in _STRING_COLUMNS}
    arrays["timestamp"] = pa.array(columns["timestamp"], pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    arrays["amount"] = pa.array(columns["amount"], pa.float64())
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


def _bounds_problems(table: pa.Table) -> np.ndarray[Any, np.dtype[np.object_]]:
    """The first broken contract bound of each row ("" when none), checked column-wise in Arrow."""
    reasons: np.ndarray[Any, np.dtype[np.object_]] = np.full(table.num_rows, "", dtype=object)
    if table.num_rows == 0:
        return reasons

    def mark(bad: pa.Array | np.ndarray[Any, Any], text: str) -> None:
        mask = bad.to_numpy(zero_copy_only=False) if isinstance(bad, pa.Array | pa.ChunkedArray) else bad
        reasons[np.asarray(mask, dtype=bool) & (reasons == "")] = text

    amount = table.column("amount").to_numpy()
    mark(~np.isfinite(amount) | (amount < 0) | (amount > MAX_AMOUNT), f"amount outside 0..{MAX_AMOUNT:g}")
    micros = table.column("timestamp").cast(pa.int64()).to_numpy()
    mark((micros < _EARLIEST_US) | (micros >= _LATEST_US), "timestamp outside the accepted years")
    mark(_card_numbers(table.column("card_token")), "card_token looks like a card number in clear")
    for name, rule in _STRING_RULES.items():
        column = table.column(name)
        lengths = pc.utf8_length(column).to_numpy()
        if rule.min_length:
            mark(lengths < rule.min_length, f"{name} is empty")
        if rule.max_length is not None:
            mark(lengths > rule.max_length, f"{name} longer than {rule.max_length} characters")
        if rule.allowed is not None:
            known = pc.is_in(column, value_set=pa.array(rule.allowed))
            mark(pc.invert(known), f"{name} not one of {list(rule.allowed)}")
        if rule.pattern is not None:
            matched = pc.match_substring_regex(column, pattern=rule.pattern.pattern)
            mark(pc.invert(matched), f"{name} does not match {rule.pattern.pattern}")
    return reasons

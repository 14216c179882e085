"""The great-expectations suite of a transaction batch, derived from the contract and a learned reference.

Two sources feed one suite, and every expectation carries a stable name in ``meta["name"]`` (the name a
rejected record's reason shows) and its origin in ``meta["origin"]``:

* **contract** (severity critical): every column exists, has its type, is never null; string lengths and
  patterns, no card number in clear where the contract refuses one (every identifier and the device id: a
  regex expectation with :data:`~ingest.contract.PAN_PATTERN`, the contract's own rule), allowed sets, amount within
  ``[0, MAX_AMOUNT]`` (which also refuses infinities), timestamps within
  ``[EARLIEST_TIMESTAMP, LATEST_TIMESTAMP)``, unique transaction ids. Patterns, lengths and amount bounds
  are read from the pydantic :class:`~ingest.contract.Transaction` model, allowed sets and maximum lengths
  from :data:`~ingest.contract.TRANSACTION_FIELDS`, so the suite cannot drift from the contract. Columns a
  batch carries beside the contract's (:func:`extra_columns`: labels, a source's own columns) must hold no
  card number: nowhere in their values as text (:data:`~ingest.contract.CARD_NUMBER_RUN_PATTERN`), and, in
  numeric columns, no number of a card number's size (:data:`~ingest.contract.CARD_SIZED_NUMBER`).
* **reference** (severity warning, learned with :func:`~ingest.validation.statistics.learn_statistics`):
  amount quantiles within a band of the learned quantile function, and code columns (currency, mcc,
  channel, entry mode, country) within the learned vocabulary for all but a tolerated share of rows.

The daily volume is a property of days, not rows: :func:`daily_volume_suite` checks a per-day table built
by :func:`daily_volume_frame`.

great-expectations is imported inside the functions: it takes seconds to import, and the stream worker
that only runs the compiled checker from a saved suite never needs it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pandas as pd
import pyarrow as pa

from ingest.contract import (
    CARD_NUMBER_RUN_PATTERN,
    CARD_SIZED_NUMBER,
    EARLIEST_TIMESTAMP,
    LATEST_TIMESTAMP,
    NO_CARD_NUMBER,
    PAN_PATTERN,
    TRANSACTION_COLUMNS,
    TRANSACTION_FIELDS,
    FieldSpec,
    Transaction,
)
from ingest.validation.statistics import DatasetStatistics, daily_counts

if TYPE_CHECKING:
    import great_expectations as gx

CRITICAL: Final = "critical"
WARNING: Final = "warning"
DAILY_VOLUME_COLUMN: Final = "transactions"


@dataclass(frozen=True)
class ReferenceTolerance:
    """How far a batch may sit from the reference before a learned expectation fails.

    ``quantile_band``: the batch's amount quantile at p must lie between the reference quantiles at
    p - band and p + band (a band in probability, so it is wide where the distribution is spread out).
    ``vocabulary_share``: share of rows that may carry a code value the reference never saw.
    ``daily_volume_factor``: a complete day's count must lie in [min * (1 - f), max * (1 + f)] of the
    reference's complete days.
    """

    quantiles: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
    quantile_band: float = 0.05
    vocabulary_share: float = 0.01
    daily_volume_factor: float = 0.5


def build_suite(
    reference: DatasetStatistics | None = None,
    tolerance: ReferenceTolerance = ReferenceTolerance(),
    name: str = "transactions",
    extra_columns: Sequence[ExtraColumn] = (),
) -> gx.ExpectationSuite:
    """The suite for transaction batches: the contract's expectations (and no card number in the
    ``extra_columns`` a batch carries beside the contract's), plus the learned ones if a reference."""
    import great_expectations as gx

    expectations = contract_expectations() + extra_column_expectations(extra_columns)
    if reference is not None:
        expectations += reference_expectations(reference, tolerance)
    return gx.ExpectationSuite(name=name, expectations=expectations)


def contract_expectations() -> list[Any]:
    """One expectation per rule of the transaction contract (see the module docstring)."""
    import great_expectations as gx

    E: Any = gx.expectations  # great-expectations' own annotations do not export these names
    out: list[Any] = []
    models = Transaction.model_fields
    for spec in TRANSACTION_FIELDS:
        column = spec.name
        metadata = models[column].metadata
        out.append(E.ExpectColumnToExist(column=column, meta=_meta(column, "exists")))
        out.append(E.ExpectColumnValuesToBeOfType(column=column, type_=_pandas_type(spec), meta=_meta(column, "type")))
        out.append(E.ExpectColumnValuesToNotBeNull(column=column, meta=_meta(column, "not_null")))
        if pa.types.is_string(spec.arrow_type):
            low = _constraint(metadata, "min_length")
            high = _constraint(metadata, "max_length") or spec.max_length
            if low is not None or high is not None:
                out.append(
                    E.ExpectColumnValueLengthsToBeBetween(
                        column=column, min_value=low, max_value=high, meta=_meta(column, "length")
                    )
                )
            pattern = _constraint(metadata, "pattern")
            if pattern is not None:
                out.append(
                    E.ExpectColumnValuesToMatchRegex(
                        column=column, regex=_whole_string(pattern), meta=_meta(column, "pattern")
                    )
                )
            if NO_CARD_NUMBER in metadata:
                out.append(
                    E.ExpectColumnValuesToNotMatchRegex(
                        column=column, regex=PAN_PATTERN, meta=_meta(column, "not_card_number")
                    )
                )
            if spec.allowed is not None:
                allowed, meta = list(spec.allowed), _meta(column, "allowed")
                out.append(E.ExpectColumnValuesToBeInSet(column=column, value_set=allowed, meta=meta))
        elif pa.types.is_floating(spec.arrow_type):
            low_value = _constraint(metadata, "ge")
            high_value = _constraint(metadata, "le")
            out.append(
                E.ExpectColumnValuesToBeBetween(
                    column=column, min_value=low_value, max_value=high_value, meta=_meta(column, "range")
                )
            )
        elif pa.types.is_timestamp(spec.arrow_type):
            out.append(
                E.ExpectColumnValuesToBeBetween(
                    column=column,
                    min_value=EARLIEST_TIMESTAMP,
                    max_value=LATEST_TIMESTAMP,
                    strict_max=True,
                    meta=_meta(column, "range"),
                )
            )
    out.append(E.ExpectColumnValuesToBeUnique(column="transaction_id", meta=_meta("transaction_id", "unique")))
    return out


@dataclass(frozen=True)
class ExtraColumn:
    """A column a batch carries beside the contract's, and whether it holds numbers (else it is read as text)."""

    name: str
    numeric: bool


def extra_columns(frame: pd.DataFrame) -> tuple[ExtraColumn, ...]:
    """The columns of ``frame`` outside the contract (labels, a source's own columns), in frame order."""
    return tuple(
        ExtraColumn(
            str(column),
            pd.api.types.is_numeric_dtype(frame[column].dtype) and not pd.api.types.is_bool_dtype(frame[column].dtype),
        )
        for column in frame.columns
        if column not in TRANSACTION_COLUMNS
    )


def extra_column_expectations(columns: Sequence[ExtraColumn]) -> list[Any]:
    """No card number in columns outside the contract: in numbers, none of a card number's size; elsewhere,
    none anywhere in the value written as text."""
    import great_expectations as gx

    E: Any = gx.expectations
    out = []
    for column in columns:
        meta = _meta(column.name, "not_card_number")
        if column.numeric:
            bound = CARD_SIZED_NUMBER
            out.append(
                E.ExpectColumnValuesToBeBetween(
                    column=column.name, min_value=-bound, max_value=bound, strict_min=True, strict_max=True, meta=meta
                )
            )
        else:
            out.append(
                E.ExpectColumnValuesToNotMatchRegex(column=column.name, regex=CARD_NUMBER_RUN_PATTERN, meta=meta)
            )
    return out


def reference_expectations(reference: DatasetStatistics, tolerance: ReferenceTolerance) -> list[Any]:
    """Expectations learned from a reference's statistics (see :class:`ReferenceTolerance`)."""
    import great_expectations as gx

    E: Any = gx.expectations  # great-expectations' own annotations do not export these names
    out: list[Any] = []
    amount = reference.numeric.get("amount")
    if amount is not None and amount.quantiles:
        band = tolerance.quantile_band
        ranges = [
            [amount.quantile(max(0.0, p - band)), amount.quantile(min(1.0, p + band))] for p in tolerance.quantiles
        ]
        out.append(
            E.ExpectColumnQuantileValuesToBeBetween(
                column="amount",
                quantile_ranges={"quantiles": list(tolerance.quantiles), "value_ranges": ranges},
                severity=WARNING,
                meta=_meta("amount", "quantiles", origin="reference"),
            )
        )
    for spec in vocabulary_fields():
        strings = reference.strings.get(spec.name)
        if strings is None or strings.vocabulary is None:
            continue
        out.append(
            E.ExpectColumnValuesToBeInSet(
                column=spec.name,
                value_set=list(strings.vocabulary),
                mostly=1.0 - tolerance.vocabulary_share,
                severity=WARNING,
                meta=_meta(spec.name, "vocabulary", origin="reference"),
            )
        )
    return out


def daily_volume_suite(
    reference: DatasetStatistics, tolerance: ReferenceTolerance = ReferenceTolerance(), name: str = "daily_volume"
) -> gx.ExpectationSuite | None:
    """Suite over :func:`daily_volume_frame`: each complete day's count near the reference's range.

    None when the reference has no complete day to learn from.
    """
    import great_expectations as gx

    volume = reference.daily_volume
    if volume is None or volume.min is None or volume.max is None:
        return None
    factor = tolerance.daily_volume_factor
    E: Any = gx.expectations
    expectation = E.ExpectColumnValuesToBeBetween(
        column=DAILY_VOLUME_COLUMN,
        min_value=float(volume.min) * (1.0 - factor),
        max_value=float(volume.max) * (1.0 + factor),
        severity=WARNING,
        meta=_meta("daily", "volume", origin="reference"),
    )
    return gx.ExpectationSuite(name=name, expectations=[expectation])


def daily_volume_frame(frame: pd.DataFrame, timestamp_column: str = "timestamp") -> pd.DataFrame:
    """One row per complete UTC day of ``frame``: the day and its number of transactions."""
    counts = daily_counts(frame[timestamp_column])
    return pd.DataFrame({"day": counts.index, DAILY_VOLUME_COLUMN: counts.to_numpy(dtype="int64")})


def vocabulary_fields() -> tuple[FieldSpec, ...]:
    """Contract fields that hold codes from a small set (allowed values or codes of at most 4 characters)."""
    return tuple(
        spec
        for spec in TRANSACTION_FIELDS
        if pa.types.is_string(spec.arrow_type)
        and (spec.allowed is not None or (spec.max_length is not None and spec.max_length <= 4))
    )


def save_suite(suite: Any, path: Path) -> Path:
    """Write ``suite`` as JSON (timestamps as ISO 8601 text), the form :meth:`CompiledChecker.from_suite_file`
    reads without importing great-expectations."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(suite.to_json_dict(), indent=2, default=_json_default) + "\n", encoding="utf-8")
    return path


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} into a suite file")


def expectation_name(configuration: Any) -> str:
    """The stable name of an expectation (its ``meta["name"]``, else its type and column)."""
    meta = configuration.meta or {}
    if "name" in meta:
        return str(meta["name"])
    column = configuration.kwargs.get("column")
    return f"{column}.{configuration.type}" if column else str(configuration.type)


def _constraint(metadata: list[Any], attribute: str) -> Any:
    # pydantic keeps a field's constraints as small metadata objects (MinLen, MaxLen, Ge, Le, pattern holders).
    return next((getattr(m, attribute) for m in metadata if getattr(m, attribute, None) is not None), None)


def _meta(column: str, check: str, origin: str = "contract") -> dict[str, str]:
    return {"name": f"{column}.{check}", "origin": origin}


def _pandas_type(spec: FieldSpec) -> str:
    # great-expectations compares these names with a pandas column's dtype (or, for object columns, with each
    # value's Python type): the contract's UTC timestamps are pandas Timestamps, amounts floats, ids strings.
    if pa.types.is_timestamp(spec.arrow_type):
        return "Timestamp"
    if pa.types.is_floating(spec.arrow_type):
        return "float"
    return "str"


def _whole_string(pattern: str) -> str:
    # great-expectations searches (re.search); "$" would also accept a trailing newline, "\Z" does not.
    return re.sub(r"\$$", r"\\Z", pattern)

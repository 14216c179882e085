"""Dataset statistics: the reference that expectations are learned from and that drift monitoring compares to.

:func:`learn_statistics` summarises a batch of transactions column by column (the role of TFX's
StatisticsGen): counts and nulls everywhere; mean, standard deviation, a 1 % quantile grid, min/max and an
equal-width histogram for numeric columns; distinct counts, lengths, the most frequent values and, for
low-cardinality columns, the complete vocabulary for strings (card numbers among these values masked, see
:mod:`ingest.validation.masking`); the range and hour/weekday profile of
timestamps; and the number of transactions per complete day.

The statistics travel as a JSON document whose layout is versioned (``format`` and ``version`` at the top)
and documented in ``docs/statistics-format.md``. :meth:`DatasetStatistics.load` refuses other formats or
versions with a message instead of guessing.

>>> import pandas as pd
>>> frame = pd.DataFrame({"amount": [1.0, 2.0, 3.0], "channel": ["pos", "pos", "ecom"]})
>>> stats = learn_statistics(frame)
>>> stats.numeric["amount"].quantile(0.5), stats.strings["channel"].vocabulary
(2.0, ('ecom', 'pos'))
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from ingest.outputs import atomic_output
from ingest.validation.errors import StatisticsFormatError
from ingest.validation.masking import card_sized, mask_card_numbers

STATISTICS_FORMAT: Final = "fraud-scoring/dataset-statistics"
STATISTICS_VERSION: Final = 1
#: Quantiles are kept on a 1 % grid: fine enough to derive tolerance bands and drift bins from.
QUANTILE_GRID: Final[tuple[float, ...]] = tuple(i / 100 for i in range(101))
HISTOGRAM_BINS: Final = 20
TOP_VALUES: Final = 20
#: A string column with at most this many distinct values keeps its full vocabulary.
VOCABULARY_LIMIT: Final = 1000


@dataclass(frozen=True)
class Histogram:
    """Equal-width histogram of the finite values: ``len(edges) == len(counts) + 1``."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class NumericStatistics:
    """Summary of a numeric column. Moments, quantiles and the histogram use finite values only."""

    count: int
    null_count: int
    infinite_count: int
    distinct_count: int
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    quantiles: tuple[float, ...]  # on QUANTILE_GRID; empty when the column has no finite value
    histogram: Histogram
    #: Values with a card number's digits (see :func:`~ingest.validation.masking.card_sized`): left out of the
    #: moments, quantiles, extremes and histogram, which would otherwise repeat them.
    card_number_count: int = 0

    def quantile(self, probability: float) -> float:
        """The learned quantile at ``probability``, interpolated linearly on the 1 % grid."""
        if not self.quantiles:
            raise StatisticsFormatError("this column had no finite value when learned; it has no quantiles")
        return float(np.interp(probability, QUANTILE_GRID, self.quantiles))


@dataclass(frozen=True)
class ValueCount:
    value: str
    count: int
    frequency: float  # share of the non-null values


@dataclass(frozen=True)
class StringStatistics:
    """Summary of a string column; ``vocabulary`` is the sorted set of values when it is small enough."""

    count: int
    null_count: int
    distinct_count: int
    min_length: int | None
    max_length: int | None
    mean_length: float | None
    top: tuple[ValueCount, ...]
    vocabulary: tuple[str, ...] | None


@dataclass(frozen=True)
class TimestampStatistics:
    """Range of a timestamp column (ISO 8601, UTC) and its hour-of-day and weekday (Monday = 0) profile."""

    count: int
    null_count: int
    min: str | None
    max: str | None
    hour_counts: tuple[int, ...]
    weekday_counts: tuple[int, ...]


@dataclass(frozen=True)
class DailyVolume:
    """Transactions per complete day (the first and last day of the data are partial and left out)."""

    days: int
    min: int | None
    max: int | None
    mean: float | None
    std: float | None


@dataclass(frozen=True)
class DatasetStatistics:
    """Statistics of one dataset, per column, plus its daily volume. See the module docstring."""

    row_count: int
    numeric: dict[str, NumericStatistics]
    strings: dict[str, StringStatistics]
    timestamps: dict[str, TimestampStatistics]
    daily_volume: DailyVolume | None
    source: str = ""
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (format and version first)."""
        body = asdict(self)
        return {"format": STATISTICS_FORMAT, "version": STATISTICS_VERSION, **body}

    def save(self, path: Path) -> Path:
        """Write the JSON document to ``path`` (parents created; written aside, then renamed over what was
        there, so a reader never meets half a reference) and return the path."""
        document = json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"
        with atomic_output(path) as partial:
            partial.write_text(document, encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> DatasetStatistics:
        """Read a statistics file written by :meth:`save`."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise StatisticsFormatError(f"cannot read statistics file {path}: {error}") from error
        return cls.from_dict(document, origin=str(path))

    @classmethod
    def from_dict(cls, document: Any, origin: str = "document") -> DatasetStatistics:
        """Rebuild statistics from their JSON document, refusing unknown formats and versions."""
        if not isinstance(document, dict) or document.get("format") != STATISTICS_FORMAT:
            raise StatisticsFormatError(
                f"{origin} is not a statistics file (expected format {STATISTICS_FORMAT!r}); "
                "learn one with `fraud validate --learn TRAIN.parquet --out STATS.json`"
            )
        if document.get("version") != STATISTICS_VERSION:
            raise StatisticsFormatError(
                f"{origin} has statistics version {document.get('version')!r}; this code reads version "
                f"{STATISTICS_VERSION}: learn the reference again with this version"
            )
        try:
            daily = document["daily_volume"]
            return cls(
                row_count=int(document["row_count"]),
                numeric={name: _numeric_from(body) for name, body in document["numeric"].items()},
                strings={name: _strings_from(body) for name, body in document["strings"].items()},
                timestamps={name: _timestamps_from(body) for name, body in document["timestamps"].items()},
                daily_volume=None if daily is None else DailyVolume(**daily),
                source=str(document.get("source", "")),
                created_at=str(document["created_at"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise StatisticsFormatError(f"{origin} is a damaged statistics file: {error!r}") from error


def learn_statistics(
    frame: pd.DataFrame, *, source: str = "", timestamp_column: str = "timestamp"
) -> DatasetStatistics:
    """Summarise every column of ``frame`` by its kind (numeric, string, timestamp); others are skipped."""
    numeric: dict[str, NumericStatistics] = {}
    strings: dict[str, StringStatistics] = {}
    timestamps: dict[str, TimestampStatistics] = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column.dtype):
            continue  # labels and flags: not part of the input contract's statistics
        if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(column.dtype):
            timestamps[str(name)] = _timestamp_statistics(column)
        elif pd.api.types.is_numeric_dtype(column.dtype):
            numeric[str(name)] = _numeric_statistics(column)
        elif pd.api.types.is_string_dtype(column.dtype) or column.dtype == object:
            strings[str(name)] = _string_statistics(column)
    daily = _daily_volume(frame[timestamp_column]) if timestamp_column in timestamps else None
    return DatasetStatistics(len(frame), numeric, strings, timestamps, daily, source=source)


def daily_counts(stamps: pd.Series) -> pd.Series:
    """Transactions per complete UTC day: the first and last day present are dropped as partial."""
    days = stamps.dropna().dt.floor("D")
    counts: pd.Series = days.value_counts().sort_index()
    return counts.iloc[1:-1] if len(counts) > 2 else counts.iloc[0:0]


def _numeric_statistics(column: pd.Series) -> NumericStatistics:
    values = column.to_numpy(dtype="float64", na_value=np.nan)
    nulls = np.isnan(values)
    card_numbers = card_sized(values)
    finite = values[np.isfinite(values) & ~card_numbers]
    infinite = int(np.isinf(values).sum())
    if finite.size:
        low, high = float(finite.min()), float(finite.max())
        # Near the float64 limits the range, the sum or an interpolation overflows: summarise the values divided
        # by a power of two (exact) and scale the results back; all but the deviation lie within [low, high].
        exponent = math.frexp(max(abs(low), abs(high)))[1] if _overflows(low, high, finite.size) else 0
        scaled = np.ldexp(finite, -exponent)
        quantiles = tuple(math.ldexp(float(q), exponent) for q in np.quantile(scaled, QUANTILE_GRID))
        counts, edges = np.histogram(scaled, bins=HISTOGRAM_BINS)
        histogram = Histogram(tuple(_unscaled_edge(float(e), exponent) for e in edges), tuple(int(c) for c in counts))
        mean = math.ldexp(float(scaled.mean()), exponent)
        deviation = float(scaled.std(ddof=1)) if finite.size > 1 else 0.0
        std = math.ldexp(deviation, exponent) if math.frexp(deviation)[1] + exponent <= 1024 else None  # beyond float64
    else:
        quantiles, histogram, mean, std, low, high = (), Histogram((), ()), None, None, None, None
    return NumericStatistics(
        count=int((~nulls).sum()),
        null_count=int(nulls.sum()),
        infinite_count=infinite,
        distinct_count=int(pd.unique(values[~nulls]).size),
        mean=mean,
        std=std,
        min=low,
        max=high,
        quantiles=quantiles,
        histogram=histogram,
        card_number_count=int(card_numbers.sum()),
    )


def _unscaled_edge(edge: float, exponent: int) -> float:
    """A histogram edge scaled back; the half-unit margin NumPy puts around a single value may pass float64's
    largest value, where the edge stops."""
    return (
        math.ldexp(edge, exponent)
        if math.frexp(edge)[1] + exponent <= 1024
        else math.copysign(sys.float_info.max, edge)
    )


def _overflows(low: float, high: float, count: int) -> bool:
    """Whether the range of ``[low, high]`` or a sum of ``count`` values in it can leave the float64 range."""
    return not math.isfinite((high - low) * count) or not math.isfinite(max(abs(low), abs(high)) * count)


def _string_statistics(column: pd.Series) -> StringStatistics:
    present = column.dropna().astype(str)
    counts = present.value_counts()
    lengths = present.str.len()
    total = len(present)
    vocabulary_size = len(counts) <= VOCABULARY_LIMIT
    shown = _masked_counts(counts if vocabulary_size else counts.head(TOP_VALUES))
    top = tuple(
        ValueCount(str(value), int(count), float(count) / total) for value, count in shown.head(TOP_VALUES).items()
    )
    return StringStatistics(
        count=total,
        null_count=int(column.isna().sum()),
        distinct_count=len(counts),
        min_length=int(lengths.min()) if total else None,
        max_length=int(lengths.max()) if total else None,
        mean_length=float(lengths.mean()) if total else None,
        top=top,
        vocabulary=tuple(sorted(str(v) for v in shown.index)) if vocabulary_size else None,
    )


def _masked_counts(counts: pd.Series) -> pd.Series:
    """Value counts whose values are shown in the statistics, with card numbers masked (counts of values that
    mask alike merged), so that a card number in a source never reaches the statistics file in clear."""
    masked = counts.index.map(lambda value: mask_card_numbers(str(value)))
    if (masked == counts.index).all():
        return counts
    merged: pd.Series = counts.groupby(masked, sort=False).sum()
    return merged.sort_values(ascending=False, kind="stable")


def _timestamp_statistics(column: pd.Series) -> TimestampStatistics:
    stamps = column.dropna()
    if stamps.dt.tz is None:
        stamps = stamps.dt.tz_localize("UTC")
    stamps = stamps.dt.tz_convert("UTC")
    hours = np.bincount(stamps.dt.hour.to_numpy(), minlength=24)
    weekdays = np.bincount(stamps.dt.day_of_week.to_numpy(), minlength=7)
    return TimestampStatistics(
        count=len(stamps),
        null_count=int(column.isna().sum()),
        min=stamps.min().isoformat() if len(stamps) else None,
        max=stamps.max().isoformat() if len(stamps) else None,
        hour_counts=tuple(int(c) for c in hours),
        weekday_counts=tuple(int(c) for c in weekdays),
    )


def _daily_volume(stamps: pd.Series) -> DailyVolume:
    counts = daily_counts(stamps).to_numpy()
    if not counts.size:
        return DailyVolume(0, None, None, None, None)
    std = float(counts.std(ddof=1)) if counts.size > 1 else 0.0
    return DailyVolume(int(counts.size), int(counts.min()), int(counts.max()), float(counts.mean()), std)


def _numeric_from(body: dict[str, Any]) -> NumericStatistics:
    histogram = body["histogram"]
    return NumericStatistics(
        count=int(body["count"]),
        null_count=int(body["null_count"]),
        infinite_count=int(body["infinite_count"]),
        distinct_count=int(body["distinct_count"]),
        mean=_optional_float(body["mean"]),
        std=_optional_float(body["std"]),
        min=_optional_float(body["min"]),
        max=_optional_float(body["max"]),
        quantiles=tuple(float(q) for q in body["quantiles"]),
        histogram=Histogram(tuple(float(e) for e in histogram["edges"]), tuple(int(c) for c in histogram["counts"])),
        card_number_count=int(body.get("card_number_count", 0)),
    )


def _strings_from(body: dict[str, Any]) -> StringStatistics:
    vocabulary = body["vocabulary"]
    return StringStatistics(
        count=int(body["count"]),
        null_count=int(body["null_count"]),
        distinct_count=int(body["distinct_count"]),
        min_length=body["min_length"],
        max_length=body["max_length"],
        mean_length=_optional_float(body["mean_length"]),
        top=tuple(ValueCount(str(t["value"]), int(t["count"]), float(t["frequency"])) for t in body["top"]),
        vocabulary=None if vocabulary is None else tuple(str(v) for v in vocabulary),
    )


def _timestamps_from(body: dict[str, Any]) -> TimestampStatistics:
    return TimestampStatistics(
        count=int(body["count"]),
        null_count=int(body["null_count"]),
        min=body["min"],
        max=body["max"],
        hour_counts=tuple(int(c) for c in body["hour_counts"]),
        weekday_counts=tuple(int(c) for c in body["weekday_counts"]),
    )


def _optional_float(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"non-finite statistic {value!r}")
    return number

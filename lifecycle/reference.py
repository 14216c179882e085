"""The reference profile: what the model's inputs, the raw transaction fields and the score looked like on the
training run's evaluated period, saved with the model's lineage so that monitoring can tell when serving
traffic stops looking like it.

The profile is binned, not raw: every numeric column keeps quantile edges of its reference values (up to
:data:`NUMERIC_BINS` bins; a column with few distinct values gets one bin per value) and the counts per bin;
every text column keeps its vocabulary (the most frequent :data:`MAX_CATEGORIES` values) with counts. A
serving window is binned the same way (:func:`bin_indices`), so drift tests compare counts on identical bins
and the monitor's memory does not grow with the stream. The profile also keeps two calibration maps fitted on
the period's labels (isotonic, :class:`CalibrationMap`): transaction scores to fraud probabilities and card-day
maximum scores to the probability that the card is fraudulent that day; label-free performance estimation
needs calibrated probabilities.

The evaluated (test) period is the reference rather than the training period: its scores are out of sample,
as serving scores are, and its feature windows are warm.

>>> import numpy as np, pandas as pd
>>> profile = build_reference_profile(
...     pd.DataFrame({"amount": [1.0, 2.0, 3.0, 4.0], "channel": ["pos", "pos", "ecom", "pos"]}),
...     scores=np.array([0.1, 0.2, 0.3, 0.9]), inputs=("amount",), fields=("amount", "channel"))
>>> profile.column("channel").categories, profile.column("channel").counts
(('pos', 'ecom'), (3, 1, 0, 0, 0))
>>> ReferenceProfile.from_json(profile.to_json()) == profile
True
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from lifecycle.errors import LifecycleError

#: The version of the JSON form; bumped when a field changes meaning.
PROFILE_FORMAT: Final = 1
#: Quantile bins of a numeric column (fewer when values repeat).
NUMERIC_BINS: Final = 100
#: A numeric column with at most this many distinct reference values is tested as categorical (one bin each).
MAX_DISCRETE_LEVELS: Final = 10
#: Values of a text column kept by name; the rest count as "other".
MAX_CATEGORIES: Final = 200
#: The score column of a scored frame and of the profile.
SCORE: Final = "score"
#: The raw contract fields profiled by default: amounts and the categorical descriptions of a payment.
DEFAULT_FIELDS: Final = ("amount", "currency", "mcc", "channel", "entry_mode", "country")

Group = Literal["field", "input", "score"]
Test = Literal["ks", "chi2"]


class ReferenceProfileError(LifecycleError):
    """A reference profile cannot be built or read; the message says which column or field is wrong."""


@dataclass(frozen=True)
class ColumnProfile:
    """One column's reference distribution on fixed bins.

    Numeric columns (``edges`` set): bin ``i`` holds values in ``(edges[i-1], edges[i]]``, the first bin
    everything up to ``edges[0]``, the last everything above ``edges[-1]``. Text columns (``categories`` set):
    one bin per category, then "other" (a reference value outside the kept vocabulary) and "unseen" (a value
    the reference never had, always 0 here). Every column ends with a missing-value bin.
    """

    name: str
    groups: tuple[Group, ...]
    test: Test
    counts: tuple[int, ...]
    edges: tuple[float, ...] | None = None
    categories: tuple[str, ...] | None = None
    #: Clock-driven columns (time-of-day and weekend flags): their mix follows the window's span, not the data.
    time_dependent: bool = False

    @property
    def total(self) -> int:
        return int(sum(self.counts))

    @property
    def bins(self) -> int:
        return len(self.counts)

    @functools.cached_property
    def edge_array(self) -> npt.NDArray[np.float64]:
        """The edges as a read-only array (binning runs on every monitored batch: built once)."""
        edges = np.asarray(self.edges if self.edges is not None else (), dtype=np.float64)
        edges.setflags(write=False)
        return edges

    def bin_label(self, index: int) -> str:
        """A readable name for a bin (``<= 12.5``, ``(12.5, 14]``, ``pos``, ``unseen``, ``missing``)."""
        if not 0 <= index < self.bins:
            raise IndexError(f"column {self.name!r} has {self.bins} bins, not {index + 1}")
        if index == self.bins - 1:
            return "missing"
        if self.categories is not None:
            return (*self.categories, "other", "unseen")[index]
        assert self.edges is not None
        if index == 0:
            return f"<= {self.edges[0]:.6g}"
        if index == len(self.edges):
            return f"> {self.edges[-1]:.6g}"
        return f"({self.edges[index - 1]:.6g}, {self.edges[index]:.6g}]"


@dataclass(frozen=True)
class CalibrationMap:
    """A monotone map from raw scores to probabilities: linear interpolation between isotonic knots."""

    knots: tuple[float, ...]
    probabilities: tuple[float, ...]

    def apply(self, scores: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The calibrated probability of each score (clipped to the knots' range at both ends)."""
        return np.interp(np.asarray(scores, dtype=np.float64), self.knots, self.probabilities)


@dataclass(frozen=True)
class ReferenceProfile:
    """The reference of one model: its columns' binned distributions, calibration maps and metrics."""

    rows: int
    inputs: tuple[str, ...]
    columns: tuple[ColumnProfile, ...]
    period: tuple[str, str] | None = None
    calibration: CalibrationMap | None = None
    card_calibration: CalibrationMap | None = None
    #: The period's realised metrics (auc_roc, average_precision, card_precision_at_100), when labelled.
    metrics: Mapping[str, float] = field(default_factory=dict)

    def column(self, name: str) -> ColumnProfile:
        for column in self.columns:
            if column.name == name:
                return column
        raise ReferenceProfileError(f"the reference profile has no column {name!r}; it has {self.names}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PROFILE_FORMAT,
            "rows": self.rows,
            "inputs": list(self.inputs),
            "period": None if self.period is None else list(self.period),
            "columns": [_column_to_dict(c) for c in self.columns],
            "calibration": _calibration_to_dict(self.calibration),
            "card_calibration": _calibration_to_dict(self.card_calibration),
            "metrics": dict(self.metrics),
        }

    def to_json(self) -> str:
        """The stable JSON form (sorted keys)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> ReferenceProfile:
        if doc.get("format") != PROFILE_FORMAT:
            raise ReferenceProfileError(
                f"reference profile format {doc.get('format')!r} is not {PROFILE_FORMAT}; retrain the model to "
                "record a current profile"
            )
        try:
            return cls(
                rows=int(doc["rows"]),
                inputs=tuple(doc["inputs"]),
                period=None if doc.get("period") is None else (str(doc["period"][0]), str(doc["period"][1])),
                columns=tuple(_column_from_dict(c) for c in doc["columns"]),
                calibration=_calibration_from_dict(doc.get("calibration")),
                card_calibration=_calibration_from_dict(doc.get("card_calibration")),
                metrics={str(k): float(v) for k, v in (doc.get("metrics") or {}).items()},
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ReferenceProfileError(f"the reference profile is damaged ({error!r}); retrain the model") from None

    @classmethod
    def from_json(cls, text: str) -> ReferenceProfile:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_lineage(cls, lineage: Any) -> ReferenceProfile:
        """The profile recorded in a model's lineage (:class:`lifecycle.registry.Lineage`, or its JSON form)."""
        doc = lineage.get("reference") if isinstance(lineage, Mapping) else getattr(lineage, "reference", None)
        if not doc:
            raise ReferenceProfileError(
                "this model's lineage holds no reference profile (it was trained before profiles were recorded); "
                "retrain it with `fraud train` to monitor it"
            )
        return cls.from_dict(doc)


def bin_indices(column: ColumnProfile, values: npt.ArrayLike | pd.Series) -> npt.NDArray[np.intp]:
    """The bin of each value, on the column's reference bins (the last bin is "missing")."""
    if column.categories is not None:
        # The batch's distinct values are found once (pandas' hash table) and looked up by name: the work per
        # row is the factorisation, whatever the size of the vocabulary.
        series = pd.Series(values, copy=False) if not isinstance(values, pd.Series) else values
        codes, uniques = pd.factorize(series)
        lookup = _category_lookup(column.categories)
        unseen = len(column.categories) + 1
        found = np.fromiter((lookup.get(value, unseen) for value in uniques.tolist()), np.intp, len(uniques))
        return np.append(found, column.bins - 1)[codes]
    assert column.edges is not None
    if isinstance(values, pd.Series):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        numbers = np.asarray(values, dtype=np.float64)
    out = np.searchsorted(column.edge_array, numbers, side="left")
    out[np.isnan(numbers)] = column.bins - 1
    return out.astype(np.intp, copy=False)


@functools.lru_cache(maxsize=256)
def _category_lookup(categories: tuple[str, ...]) -> dict[str, int]:
    return {name: index for index, name in enumerate(categories)}


def bin_counts(column: ColumnProfile, values: npt.ArrayLike | pd.Series) -> npt.NDArray[np.int64]:
    """How many of ``values`` fall in each of the column's bins."""
    return np.bincount(bin_indices(column, values), minlength=column.bins).astype(np.int64)


def profile_column(
    name: str,
    values: pd.Series | npt.ArrayLike,
    groups: tuple[Group, ...],
    *,
    time_dependent: bool = False,
    numeric_bins: int = NUMERIC_BINS,
) -> ColumnProfile:
    """The binned reference distribution of one column of values."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype(np.float64)
    if pd.api.types.is_numeric_dtype(series.dtype):
        numbers = series.to_numpy(dtype=np.float64)
        present = numbers[~np.isnan(numbers)]
        if present.size == 0:
            raise ReferenceProfileError(f"column {name!r} has no values in the reference period")
        distinct = np.unique(present)
        test: Test = "ks"
        if distinct.size <= MAX_DISCRETE_LEVELS:
            edges, test = distinct, "chi2"
        else:
            edges = np.unique(np.quantile(present, np.linspace(0.0, 1.0, numeric_bins + 1)[1:-1]))
        draft = ColumnProfile(name, groups, test, (0,) * (edges.size + 2), edges=tuple(float(e) for e in edges))
    else:
        frequencies = series.dropna().astype(str).value_counts(sort=True)
        if frequencies.empty:
            raise ReferenceProfileError(f"column {name!r} has no values in the reference period")
        kept = tuple(str(v) for v in frequencies.index[:MAX_CATEGORIES])
        draft = ColumnProfile(name, groups, "chi2", (0,) * (len(kept) + 3), categories=kept)
        # Values outside the kept vocabulary are "other"; "unseen" is for values the reference never had.
        other, missing = int(frequencies.iloc[MAX_CATEGORIES:].sum()), int(series.isna().sum())
        counts = np.array([*frequencies.iloc[:MAX_CATEGORIES].tolist(), other, 0, missing], dtype=np.int64)
        return _with_counts(draft, counts, time_dependent)
    return _with_counts(draft, bin_counts(draft, series.to_numpy(dtype=np.float64)), time_dependent)


def fit_calibration(scores: npt.ArrayLike, labels: npt.ArrayLike) -> CalibrationMap | None:
    """Isotonic regression of labels on scores (scikit-learn), as knots; None without both classes."""
    from sklearn.isotonic import IsotonicRegression

    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    if s.size == 0 or np.unique(y).size < 2:
        return None
    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(s, y)
    return CalibrationMap(
        knots=tuple(float(v) for v in model.X_thresholds_), probabilities=tuple(float(v) for v in model.y_thresholds_)
    )


def card_day_maxima(
    scores: npt.ArrayLike, labels: npt.ArrayLike | None, cards: npt.ArrayLike, days: npt.ArrayLike
) -> pd.DataFrame:
    """Per card and day, the highest score and label (the unit card precision ranks): columns day, card, score
    and label, one row per pair in the order the pairs first appear (pairs with a missing key are left out).

    The pairs are found by pandas' factorisation and their maxima by NumPy: the performance monitor computes
    this for every day it reports, where a grouped frame cost more than the rest of the day's figures.
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.zeros(s.size) if labels is None else np.asarray(labels, dtype=np.float64).ravel()
    day_codes, day_values = pd.factorize(np.asarray(days).ravel())
    card_codes, card_values = pd.factorize(np.asarray(cards).ravel())
    kept = (day_codes >= 0) & (card_codes >= 0)
    pair_codes, pairs = pd.factorize(day_codes[kept].astype(np.int64) * len(card_values) + card_codes[kept])
    maxima = np.full((2, len(pairs)), -np.inf)
    present = np.zeros((2, len(pairs)), dtype=np.int64)
    for row, values in enumerate((s[kept], y[kept])):
        np.fmax.at(maxima[row], pair_codes, values)
        present[row] = np.bincount(pair_codes, weights=~np.isnan(values), minlength=len(pairs))
    maxima[present == 0] = np.nan  # a pair with no value at all has no maximum, as a grouped max says
    return pd.DataFrame(
        {
            "day": day_values.take(pairs // max(len(card_values), 1)),
            "card": card_values.take(pairs % max(len(card_values), 1)),
            "score": maxima[0],
            "label": maxima[1],
        }
    )


def build_reference_profile(
    frame: pd.DataFrame,
    *,
    scores: npt.ArrayLike,
    inputs: Sequence[str],
    fields: Sequence[str] = DEFAULT_FIELDS,
    labels: npt.ArrayLike | None = None,
    time_dependent: Iterable[str] = (),
    numeric_bins: int = NUMERIC_BINS,
) -> ReferenceProfile:
    """The profile of a scored period: ``frame`` holds the raw ``fields`` and the model ``inputs`` (by name),
    ``scores`` the model's scores of its rows; with ``labels`` (and ``card_token`` and ``timestamp`` in the
    frame for the card-level map) the calibration maps and the period's metrics are recorded too."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    if s.size != len(frame):
        raise ReferenceProfileError(f"{s.size} scores for {len(frame)} rows; pass one score per row")
    absent = [c for c in (*fields, *inputs) if c not in frame.columns]
    if absent:
        raise ReferenceProfileError(f"the reference frame lacks columns {absent}")
    clock = set(time_dependent)
    columns: list[ColumnProfile] = []
    for name in dict.fromkeys([*fields, *inputs]):
        memberships: tuple[tuple[Group, Sequence[str]], ...] = (("field", fields), ("input", inputs))
        groups = tuple(group for group, names in memberships if name in names)
        columns.append(
            profile_column(name, frame[name], groups, time_dependent=name in clock, numeric_bins=numeric_bins)
        )
    columns.append(profile_column(SCORE, s, ("score",), numeric_bins=numeric_bins))
    period = None
    if "timestamp" in frame.columns and len(frame):
        period = (str(frame["timestamp"].min()), str(frame["timestamp"].max()))
    calibration = card_calibration = None
    metrics: dict[str, float] = {}
    if labels is not None:
        y = np.asarray(labels, dtype=np.float64).ravel()
        calibration = fit_calibration(s, y)
        if {"card_token", "timestamp"} <= set(frame.columns):
            days = frame["timestamp"].dt.floor("D").to_numpy()
            per_card = card_day_maxima(s, y, frame["card_token"].to_numpy(), days)
            card_calibration = fit_calibration(per_card["score"], per_card["label"])
            metrics = _metrics(s, y, frame["card_token"].to_numpy(), days)
    return ReferenceProfile(
        rows=len(frame),
        inputs=tuple(inputs),
        columns=tuple(columns),
        period=period,
        calibration=calibration,
        card_calibration=card_calibration,
        metrics=metrics,
    )


def _metrics(
    scores: npt.NDArray[np.float64], labels: npt.NDArray[np.float64], cards: Any, days: Any
) -> dict[str, float]:
    from lifecycle.evaluation import average_precision, card_precision_at_k, roc_auc

    if np.unique(labels).size < 2:
        return {}
    return {
        "auc_roc": roc_auc(scores, labels),
        "average_precision": average_precision(scores, labels),
        "card_precision_at_100": card_precision_at_k(scores, labels, cards, days, k=100).mean,
    }


def _with_counts(draft: ColumnProfile, counts: npt.NDArray[np.int64], time_dependent: bool) -> ColumnProfile:
    return ColumnProfile(
        name=draft.name,
        groups=draft.groups,
        test=draft.test,
        counts=tuple(int(c) for c in counts),
        edges=draft.edges,
        categories=draft.categories,
        time_dependent=time_dependent,
    )


def _column_to_dict(column: ColumnProfile) -> dict[str, Any]:
    return {
        "name": column.name,
        "groups": list(column.groups),
        "test": column.test,
        "counts": list(column.counts),
        "edges": None if column.edges is None else list(column.edges),
        "categories": None if column.categories is None else list(column.categories),
        "time_dependent": column.time_dependent,
    }


def _column_from_dict(doc: Mapping[str, Any]) -> ColumnProfile:
    column = ColumnProfile(
        name=str(doc["name"]),
        groups=tuple(doc["groups"]),
        test=doc["test"],
        counts=tuple(int(c) for c in doc["counts"]),
        edges=None if doc.get("edges") is None else tuple(float(e) for e in doc["edges"]),
        categories=None if doc.get("categories") is None else tuple(str(c) for c in doc["categories"]),
        time_dependent=bool(doc.get("time_dependent", False)),
    )
    expected = len(column.categories) + 3 if column.categories is not None else len(column.edges or ()) + 2
    if column.bins != expected or column.test not in ("ks", "chi2"):
        raise ValueError(f"column {column.name!r} has {column.bins} counts for {expected} bins")
    return column


def _calibration_to_dict(calibration: CalibrationMap | None) -> dict[str, list[float]] | None:
    if calibration is None:
        return None
    return {"knots": list(calibration.knots), "probabilities": list(calibration.probabilities)}


def _calibration_from_dict(doc: Mapping[str, Any] | None) -> CalibrationMap | None:
    if doc is None:
        return None
    return CalibrationMap(tuple(float(v) for v in doc["knots"]), tuple(float(v) for v in doc["probabilities"]))

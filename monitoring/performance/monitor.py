"""Performance by day as labels mature: realised AUC ROC, average precision and card precision@100 from the
labels delivered so far, and the label-free estimate from calibrated scores before they exist.

Each scored transaction is kept, until its day's labels are final, as four numbers: a 64-bit hash of its id
and of its card (``pandas.util.hash_array``), its score, its label so far. Memory is therefore bounded by the
transactions of the days still waiting for labels (about 24 bytes each), whatever the stream's length; a day
is final once the label clock (the latest ``reported_at`` delivered) passes its end by the label maturity, or
when every one of its transactions has a label. Until then a transaction without a fraud label counts as
genuine and the day's realised metrics are provisional.

Card precision@100 is per day, as investigators who review the day's 100 highest-scored cards would find it
(:func:`lifecycle.evaluation.card_precision_at_k` on the day alone); ties among card scores are broken by the
card's hash.

>>> # monitor = PerformanceMonitor(profile); monitor.update(scored_frame); monitor.deliver_labels(labels)
>>> # [day.realised for day in monitor.days()]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from lifecycle.evaluation import average_precision, card_precision_at_k, roc_auc
from lifecycle.reference import SCORE, ReferenceProfile, card_day_maxima
from monitoring.errors import MonitorConfigError, MonitorInputError
from monitoring.performance.estimation import expected_average_precision, expected_card_precision, expected_roc_auc

METRICS: Final = ("auc_roc", "average_precision", "card_precision_at_100")
SCORED_COLUMNS: Final = ("transaction_id", "card_token", "timestamp", SCORE)
LABEL_COLUMNS: Final = ("transaction_id", "is_fraud", "reported_at")
CARDS_PER_DAY: Final = 100
UNKNOWN: Final = -1


@dataclass(frozen=True)
class DailyPerformance:
    """One day's performance: realised (from the labels so far) and estimated (from calibrated scores)."""

    day: str
    transactions: int
    labelled: int
    frauds: int
    #: Whether the day's labels are final (the label clock passed the day's end by the maturity, or all came).
    mature: bool
    #: Whether the stream has moved past the day (its estimate will not change any more).
    complete: bool
    expected_frauds: float | None
    realised: dict[str, float | None] = field(default_factory=dict)
    estimated: dict[str, float | None] = field(default_factory=dict)


class _Day:
    """The scored transactions of one day, appended in chunks, joined on first use."""

    def __init__(self) -> None:
        self._chunks: list[tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.float64]]] = []
        self.ids = np.zeros(0, dtype=np.uint64)
        self.cards = np.zeros(0, dtype=np.uint64)
        self.scores = np.zeros(0, dtype=np.float64)
        self.labels = np.zeros(0, dtype=np.int8)
        self._order = np.zeros(0, dtype=np.intp)

    def append(
        self, ids: npt.NDArray[np.uint64], cards: npt.NDArray[np.uint64], scores: npt.NDArray[np.float64]
    ) -> None:
        self._chunks.append((ids, cards, scores))

    def joined(self) -> _Day:
        if self._chunks:
            self.ids = np.concatenate([self.ids, *(c[0] for c in self._chunks)])
            self.cards = np.concatenate([self.cards, *(c[1] for c in self._chunks)])
            self.scores = np.concatenate([self.scores, *(c[2] for c in self._chunks)])
            added = sum(c[0].size for c in self._chunks)
            self.labels = np.concatenate([self.labels, np.full(added, UNKNOWN, dtype=np.int8)])
            self._order = np.argsort(self.ids, kind="stable")
            self._chunks = []
        return self

    def label(self, ids: npt.NDArray[np.uint64], frauds: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """Set the labels of the ids found here; which ids were found."""
        self.joined()
        sorted_ids = self.ids[self._order]
        where = np.searchsorted(sorted_ids, ids).clip(max=max(sorted_ids.size - 1, 0))
        found = sorted_ids.size > 0
        hit = (sorted_ids[where] == ids) if found else np.zeros(ids.size, dtype=bool)
        rows = self._order[where[hit]]
        # A fraud label is final: a later "genuine" message for the same transaction does not undo it.
        self.labels[rows] = np.maximum(self.labels[rows], frauds[hit].astype(np.int8))
        return hit


class PerformanceMonitor:
    """Realised and estimated performance per day of the scored stream.

    ``maturity_days``: how long after a transaction its label may still arrive (the chargeback window).
    """

    def __init__(self, profile: ReferenceProfile, *, maturity_days: float = 45.0, k: int = CARDS_PER_DAY) -> None:
        if maturity_days <= 0 or k < 1:
            raise MonitorConfigError(f"maturity_days must be positive and k at least 1, got {maturity_days}, {k}")
        self.profile = profile
        self.maturity = timedelta(days=maturity_days)
        self.k = k
        self._days: dict[date, _Day] = {}
        self._final: dict[date, DailyPerformance] = {}
        self._stream_clock: pd.Timestamp | None = None
        self._label_clock: pd.Timestamp | None = None
        self.unmatched_labels = 0

    @property
    def stream_clock(self) -> pd.Timestamp | None:
        """The latest transaction time scored."""
        return self._stream_clock

    @property
    def label_clock(self) -> pd.Timestamp | None:
        """The latest label report time delivered."""
        return self._label_clock

    @property
    def open_days(self) -> tuple[str, ...]:
        return tuple(str(d) for d in sorted(self._days))

    def update(self, frame: pd.DataFrame) -> PerformanceMonitor:
        """Add scored transactions: ``transaction_id``, ``card_token``, ``timestamp`` (UTC) and ``score``."""
        _require(frame, SCORED_COLUMNS, "scored frame")
        if frame.empty:
            return self
        times = pd.to_datetime(frame["timestamp"], utc=True)
        ids = pd.util.hash_array(frame["transaction_id"].astype(str).to_numpy(dtype=object))
        cards = pd.util.hash_array(frame["card_token"].astype(str).to_numpy(dtype=object))
        scores = frame[SCORE].to_numpy(dtype=np.float64)
        days = times.dt.date.to_numpy()
        for day in pd.unique(days):
            rows = days == day
            if day in self._final:
                continue  # a day already final takes no late transactions: its figures are recorded
            self._days.setdefault(day, _Day()).append(ids[rows], cards[rows], scores[rows])
        latest = times.max()
        self._stream_clock = latest if self._stream_clock is None else max(self._stream_clock, latest)
        return self

    def deliver_labels(self, labels: pd.DataFrame) -> PerformanceMonitor:
        """Apply late labels: ``transaction_id``, ``is_fraud`` and ``reported_at`` (the label contract)."""
        _require(labels, LABEL_COLUMNS, "label frame")
        if labels.empty:
            return self
        ids = pd.util.hash_array(labels["transaction_id"].astype(str).to_numpy(dtype=object))
        frauds = labels["is_fraud"].to_numpy(dtype=np.bool_)
        found = np.zeros(ids.size, dtype=bool)
        for day in self._days.values():
            pending = ~found
            if pending.any():
                found[pending] |= day.label(ids[pending], frauds[pending])
        self.unmatched_labels += int((~found).sum())
        latest = pd.to_datetime(labels["reported_at"], utc=True).max()
        self._label_clock = latest if self._label_clock is None else max(self._label_clock, latest)
        return self

    def finalise_mature_days(self) -> list[DailyPerformance]:
        """Compute and release the days whose labels are final; their figures, oldest first."""
        done = []
        for day in sorted(self._days):
            data = self._days[day].joined()
            if self._is_mature(day, data):
                figures = self._figures(day, data, mature=True)
                self._final[day] = figures
                del self._days[day]
                done.append(figures)
        return done

    def days(self) -> list[DailyPerformance]:
        """Every day's figures: final days as recorded, open days computed now (provisional)."""
        out = dict(self._final)
        for day, data in self._days.items():
            out[day] = self._figures(day, data.joined(), mature=self._is_mature(day, data))
        return [out[d] for d in sorted(out)]

    def day(self, when: str | date) -> DailyPerformance:
        key = date.fromisoformat(when) if isinstance(when, str) else when
        if key in self._final:
            return self._final[key]
        if key not in self._days:
            raise MonitorInputError(f"no scored transactions on {key}; days seen: {self.open_days}")
        data = self._days[key].joined()
        return self._figures(key, data, mature=self._is_mature(key, data))

    def _is_mature(self, day: date, data: _Day) -> bool:
        end = pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=1)
        if self._label_clock is not None and self._label_clock >= end + self.maturity:
            return True
        complete = self._stream_clock is not None and self._stream_clock >= end
        return complete and bool(data.labels.size) and bool((data.labels != UNKNOWN).all())

    def _figures(self, day: date, data: _Day, *, mature: bool) -> DailyPerformance:
        end = pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=1)
        y = (data.labels == 1).astype(np.float64)
        frauds = int(y.sum())
        realised: dict[str, float | None] = dict.fromkeys(METRICS)
        if 0 < frauds < y.size:
            realised["auc_roc"] = roc_auc(data.scores, y)
            realised["average_precision"] = average_precision(data.scores, y)
        if data.scores.size:
            keys = np.zeros(data.scores.size, dtype=np.int8)
            realised["card_precision_at_100"] = card_precision_at_k(data.scores, y, data.cards, keys, k=self.k).mean
        estimated: dict[str, float | None] = dict.fromkeys(METRICS)
        expected = None
        if self.profile.calibration is not None and data.scores.size:
            p = self.profile.calibration.apply(data.scores)
            expected = float(p.sum())
            estimated["auc_roc"] = expected_roc_auc(data.scores, p)
            estimated["average_precision"] = expected_average_precision(data.scores, p)
        if self.profile.card_calibration is not None and data.scores.size:
            per_card = card_day_maxima(data.scores, None, data.cards, np.zeros(data.scores.size, dtype=np.int8))
            card_p = self.profile.card_calibration.apply(per_card["score"])
            estimated["card_precision_at_100"] = expected_card_precision(
                per_card["score"], card_p, per_card["card"], self.k
            )
        return DailyPerformance(
            day=str(day),
            transactions=int(data.scores.size),
            labelled=int((data.labels != UNKNOWN).sum()),
            frauds=frauds,
            mature=mature,
            complete=self._stream_clock is not None and self._stream_clock >= end,
            expected_frauds=expected,
            realised=realised,
            estimated=estimated,
        )


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise MonitorInputError(f"the {what} lacks columns {absent}; it needs {list(columns)}")

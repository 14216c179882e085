"""Performance by day as labels mature: realised AUC ROC, average precision and card precision@100 from the
labels delivered so far, and the label-free estimate from calibrated scores before they exist.

Each scored transaction is kept, until its day's labels are final, as what the metrics need
(:class:`~monitoring.performance.days.DayRows`: 25 bytes). A day is final once the label clock (the latest
``reported_at`` delivered) passes its end by the label maturity, or when the stream has left it and every one
of its transactions has a label; until then a transaction without a fraud label counts as genuine and the day's
realised metrics are provisional. So that memory stays bounded when labels stop coming, a day the stream has
left behind by the maturity plus ``label_grace_days`` is closed too, its figures recorded as they stand and
marked not mature. Memory is therefore at most the transactions of ``maturity + grace + 1`` days, whatever the
stream's length; final days leave only their figures (the latest :data:`KEPT_FINAL_DAYS`).

The work per scored batch is proportional to the batch: the rows are hashed and bucketed by day number with
NumPy, and the days the stream has just left are found from the few days not yet reported complete. The
figures of a day (sorting its rows, scikit-learn for the estimate) are computed when the day completes, when
labels change it, and when asked for.

Card precision@100 is per day, as investigators who review the day's 100 highest-scored cards would find it
(:func:`lifecycle.evaluation.card_precision_at_k` on the day alone); ties among card scores are broken by the
card's hash.

The state survives a restart through :meth:`PerformanceMonitor.save` and :meth:`PerformanceMonitor.load`
(:mod:`monitoring.performance.snapshot`).

>>> # monitor = PerformanceMonitor(profile); monitor.update(scored_frame); monitor.deliver_labels(labels)
>>> # [day.realised for day in monitor.days()]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from lifecycle.evaluation import average_precision, card_precision_at_k, roc_auc
from lifecycle.reference import SCORE, ReferenceProfile, card_day_maxima
from monitoring.errors import MonitorConfigError, MonitorInputError
from monitoring.performance.days import (
    F64,
    NS_PER_DAY,
    U64,
    UNKNOWN,
    DayRows,
    day_number,
    day_text,
    epoch_ns,
    hashed,
)
from monitoring.performance.estimation import expected_average_precision, expected_card_precision, expected_roc_auc

METRICS: Final = ("auc_roc", "average_precision", "card_precision_at_100")
SCORED_COLUMNS: Final = ("transaction_id", "card_token", "timestamp", SCORE)
LABEL_COLUMNS: Final = ("transaction_id", "is_fraud", "reported_at")
CARDS_PER_DAY: Final = 100
#: Final days whose figures stay in memory (the history keeps them all); older late rows are ignored.
KEPT_FINAL_DAYS: Final = 400


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


class PerformanceMonitor:
    """Realised and estimated performance per day of the scored stream.

    ``maturity_days``: how long after a transaction its label may still arrive (the chargeback window);
    ``label_grace_days``: how much longer the stream may run ahead of the labels before a day is closed
    without them (see the module docstring).
    """

    def __init__(
        self,
        profile: ReferenceProfile,
        *,
        maturity_days: float = 45.0,
        k: int = CARDS_PER_DAY,
        label_grace_days: float = 7.0,
    ) -> None:
        if maturity_days <= 0 or k < 1 or label_grace_days < 0:
            raise MonitorConfigError(
                f"maturity_days must be positive, k at least 1 and label_grace_days not negative, got "
                f"{maturity_days}, {k}, {label_grace_days}"
            )
        self.profile = profile
        self.maturity = timedelta(days=maturity_days)
        self.label_grace = timedelta(days=label_grace_days)
        self.k = k
        self._maturity_ns = int(pd.Timedelta(self.maturity).value)
        self._grace_ns = int(pd.Timedelta(self.label_grace).value)
        self._days: dict[int, DayRows] = {}
        self._final: dict[int, DailyPerformance] = {}
        #: Days before this one are closed (their figures dropped from memory); late rows for them are ignored.
        self._closed_before: int | None = None
        #: Open days the stream has not yet left, or left without them being reported (see take_completed).
        self._unreported: set[int] = set()
        #: Open days whose figures changed since take_changed (new rows or labels).
        self._changed: set[int] = set()
        #: Open days' estimates, with the rows they were computed on.
        self._estimates: dict[int, tuple[int, float | None, dict[str, float | None]]] = {}
        self._stream_ns: int | None = None
        self._label_ns: int | None = None
        self.unmatched_labels = 0
        # The realised figures are scikit-learn's (lifecycle.evaluation imports it when first asked): a monitor is
        # built when its model starts serving, where this second of importing belongs, not on a day's first labels.
        import sklearn.metrics  # noqa: F401

    @property
    def stream_clock(self) -> pd.Timestamp | None:
        """The latest transaction time scored."""
        return None if self._stream_ns is None else pd.Timestamp(self._stream_ns, unit="ns", tz="UTC")

    @property
    def stream_day(self) -> int | None:
        """The day number (days since 1970-01-01, UTC) of the stream clock."""
        return None if self._stream_ns is None else self._stream_ns // NS_PER_DAY

    @property
    def label_clock(self) -> pd.Timestamp | None:
        """The latest label report time delivered."""
        return None if self._label_ns is None else pd.Timestamp(self._label_ns, unit="ns", tz="UTC")

    @property
    def open_days(self) -> tuple[str, ...]:
        return tuple(day_text(d) for d in sorted(self._days))

    @property
    def held_rows(self) -> int:
        """Scored transactions held in memory (those of the open days)."""
        return sum(rows.size for rows in self._days.values())

    @property
    def nbytes(self) -> int:
        """Bytes held by the open days' transactions."""
        return sum(rows.nbytes for rows in self._days.values())

    def update(self, frame: pd.DataFrame) -> PerformanceMonitor:
        """Add scored transactions: ``transaction_id``, ``card_token``, ``timestamp`` (UTC) and ``score``."""
        _require(frame, SCORED_COLUMNS, "scored frame")
        if frame.empty:
            return self
        ns = epoch_ns(frame["timestamp"], "scored frame")
        ids, cards = hashed(frame["transaction_id"]), hashed(frame["card_token"])
        scores = frame[SCORE].to_numpy(dtype=np.float64)
        days = ns // NS_PER_DAY
        first, last = int(days.min()), int(days.max())
        if first == last:
            self._add(first, ids, cards, scores)
        else:
            order = np.argsort(days, kind="stable")
            sorted_days = days[order]
            starts = np.flatnonzero(np.diff(sorted_days)) + 1
            for part in np.split(order, starts):
                self._add(int(days[part[0]]), ids[part], cards[part], scores[part])
        latest = int(ns.max())
        self._stream_ns = latest if self._stream_ns is None else max(self._stream_ns, latest)
        return self

    def _add(self, day: int, ids: U64, cards: U64, scores: F64) -> None:
        if day in self._final or (self._closed_before is not None and day < self._closed_before):
            return  # a day already final takes no late transactions: its figures are recorded
        rows = self._days.get(day)
        if rows is None:
            rows = self._days[day] = DayRows()
            self._unreported.add(day)
        rows.append(ids, cards, scores)
        self._changed.add(day)

    def deliver_labels(self, labels: pd.DataFrame) -> PerformanceMonitor:
        """Apply late labels: ``transaction_id``, ``is_fraud`` and ``reported_at`` (the label contract)."""
        _require(labels, LABEL_COLUMNS, "label frame")
        if labels.empty:
            return self
        reported = _latest_report(labels["reported_at"])
        ids = hashed(labels["transaction_id"])
        frauds = labels["is_fraud"].to_numpy(dtype=np.bool_)
        found = np.zeros(ids.size, dtype=bool)
        for day, rows in self._days.items():
            pending = ~found
            if not pending.any():
                break
            hit = rows.label(ids[pending], frauds[pending])
            if hit.any():
                found[pending] |= hit
                self._changed.add(day)
        self.unmatched_labels += int((~found).sum())
        if reported is not None:
            self._label_ns = reported if self._label_ns is None else max(self._label_ns, reported)
        return self

    def take_completed(self) -> list[DailyPerformance]:
        """The figures of the open days the stream has left since the last call, oldest first, each day once
        (their estimate is final)."""
        if self._stream_ns is None:
            return []
        today = self._stream_ns // NS_PER_DAY
        ended = sorted(day for day in self._unreported if day < today)
        self._unreported.difference_update(ended)
        return [self._figures(day, self._days[day].merged()) for day in ended]

    def take_changed(self) -> list[DailyPerformance]:
        """The provisional figures of the open days that took rows or labels since the last call."""
        changed = sorted(day for day in self._changed if day in self._days)
        self._changed.clear()
        return [self._figures(day, self._days[day].merged()) for day in changed]

    def finalise_mature_days(self) -> list[DailyPerformance]:
        """Compute and release the days whose labels are final, and those left behind by more than the
        maturity plus the grace (not mature); their figures, oldest first."""
        done = []
        for day in sorted(self._days):
            rows = self._days[day]
            mature = self._is_mature(day, rows)
            if mature or self._is_abandoned(day):
                figures = self._figures(day, rows.merged(), mature=mature)
                self._final[day] = figures
                del self._days[day]
                self._estimates.pop(day, None)
                self._unreported.discard(day)
                self._changed.discard(day)
                done.append(figures)
        if len(self._final) > KEPT_FINAL_DAYS:
            for day in sorted(self._final)[: len(self._final) - KEPT_FINAL_DAYS]:
                del self._final[day]
                self._closed_before = max(self._closed_before or day + 1, day + 1)
        return done

    def days(self) -> list[DailyPerformance]:
        """Every day's figures: final days as recorded, open days computed now (provisional)."""
        out = dict(self._final)
        for day, rows in self._days.items():
            out[day] = self._figures(day, rows.merged())
        return [out[d] for d in sorted(out)]

    def day(self, when: str | date) -> DailyPerformance:
        key = day_number(when if isinstance(when, str) else when.isoformat())
        if key in self._final:
            return self._final[key]
        if key not in self._days:
            raise MonitorInputError(f"no scored transactions on {day_text(key)}; days seen: {self.open_days}")
        return self._figures(key, self._days[key].merged())

    def save(self, path: Path) -> Path:
        """Write the monitor's state (open days, clocks, recent final figures) to ``path`` (see
        :mod:`monitoring.performance.snapshot`)."""
        from monitoring.performance.snapshot import write_snapshot

        return write_snapshot(self, path)

    @classmethod
    def load(
        cls,
        path: Path,
        profile: ReferenceProfile,
        *,
        maturity_days: float = 45.0,
        k: int = CARDS_PER_DAY,
        label_grace_days: float = 7.0,
    ) -> PerformanceMonitor:
        """A monitor resumed from a snapshot written by :meth:`save` for the same reference profile."""
        from monitoring.performance.snapshot import read_snapshot

        monitor = cls(profile, maturity_days=maturity_days, k=k, label_grace_days=label_grace_days)
        read_snapshot(monitor, path)
        return monitor

    def _end_ns(self, day: int) -> int:
        return (day + 1) * NS_PER_DAY

    def _is_complete(self, day: int) -> bool:
        return self._stream_ns is not None and self._stream_ns >= self._end_ns(day)

    def _is_mature(self, day: int, rows: DayRows) -> bool:
        if self._label_ns is not None and self._label_ns >= self._end_ns(day) + self._maturity_ns:
            return True
        return self._is_complete(day) and rows.size > 0 and rows.unlabelled == 0

    def _is_abandoned(self, day: int) -> bool:
        limit = self._end_ns(day) + self._maturity_ns + self._grace_ns
        return self._stream_ns is not None and self._stream_ns >= limit

    def _figures(self, day: int, rows: DayRows, *, mature: bool | None = None) -> DailyPerformance:
        if mature is None:
            mature = self._is_mature(day, rows)
        y = (rows.labels == 1).astype(np.float64)
        frauds = int(y.sum())
        realised: dict[str, float | None] = dict.fromkeys(METRICS)
        if 0 < frauds < y.size:
            realised["auc_roc"] = roc_auc(rows.scores, y)
            realised["average_precision"] = average_precision(rows.scores, y)
        if rows.scores.size:
            # Without a labelled fraud no reviewed card is one: the precision is 0 without ranking the cards.
            keys = np.zeros(rows.scores.size, dtype=np.int8)
            cp = card_precision_at_k(rows.scores, y, rows.cards, keys, k=self.k).mean if frauds else 0.0
            realised["card_precision_at_100"] = cp
        expected, estimated = self._estimate(day, rows)
        return DailyPerformance(
            day=day_text(day),
            transactions=int(rows.scores.size),
            labelled=int((rows.labels != UNKNOWN).sum()),
            frauds=frauds,
            mature=mature,
            complete=self._is_complete(day),
            expected_frauds=expected,
            realised=realised,
            estimated=estimated,
        )

    def _estimate(self, day: int, rows: DayRows) -> tuple[float | None, dict[str, float | None]]:
        """The day's label-free estimate and expected frauds; labels do not change it, so it is computed again
        only when the day has taken rows since."""
        cached = self._estimates.get(day)
        if cached is not None and cached[0] == rows.size:
            return cached[1], dict(cached[2])
        estimated: dict[str, float | None] = dict.fromkeys(METRICS)
        expected = None
        if self.profile.calibration is not None and rows.scores.size:
            p = self.profile.calibration.apply(rows.scores)
            expected = float(p.sum())
            estimated["auc_roc"] = expected_roc_auc(rows.scores, p)
            estimated["average_precision"] = expected_average_precision(rows.scores, p)
        if self.profile.card_calibration is not None and rows.scores.size:
            per_card = card_day_maxima(rows.scores, None, rows.cards, np.zeros(rows.scores.size, dtype=np.int8))
            card_p = self.profile.card_calibration.apply(per_card["score"])
            estimated["card_precision_at_100"] = expected_card_precision(
                per_card["score"], card_p, per_card["card"], self.k
            )
        self._estimates[day] = (rows.size, expected, dict(estimated))
        return expected, estimated


def _latest_report(reported_at: pd.Series) -> int | None:
    """The latest report time of a label batch (rows without one are applied, and do not move the clock)."""
    times = pd.to_datetime(reported_at, utc=True).to_numpy(dtype="datetime64[ns]")
    present = times[~np.isnat(times)]
    return int(present.max().view(np.int64)) if present.size else None


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise MonitorInputError(f"the {what} lacks columns {absent}; it needs {list(columns)}")

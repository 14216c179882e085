"""The drift monitor: every scored row, binned on the reference's bins, into count windows; every closed window
tested column by column against the reference, with the false discovery rate controlled across columns.

>>> import numpy as np, pandas as pd
>>> from lifecycle.reference import build_reference_profile
>>> rng = np.random.default_rng(0)
>>> reference = pd.DataFrame({"amount": rng.gamma(2.0, 30.0, 5000), "channel": rng.choice(["pos", "ecom"], 5000)})
>>> profile = build_reference_profile(reference, scores=rng.random(5000), inputs=("amount",),
...                                   fields=("amount", "channel"))
>>> monitor = DriftMonitor(profile, [WindowSpec.tumbling(1000)], level=0.01)
>>> batch = reference.sample(1000, random_state=1).assign(score=rng.random(1000), amount=lambda f: f.amount * 1.6)
>>> [c.column for c in monitor.update(batch).closed[0].drifted]
['amount']
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from lifecycle.reference import SCORE, ColumnProfile, ReferenceProfile, bin_indices
from monitoring.drift.report import ColumnDrift, WindowReport
from monitoring.drift.statistics import ReferenceColumn
from monitoring.drift.windows import ClosedWindow, WindowAccumulator, WindowSpec
from monitoring.errors import MonitorConfigError, MonitorInputError

DEFAULT_WINDOWS: Final = (WindowSpec.tumbling(5_000), WindowSpec.sliding(20_000, 5_000))
DEFAULT_LEVEL: Final = 0.01
#: The smallest population stability index at which a significant change counts as drift: half the lower edge
#: of the PSI's "moderate" band, so that 10 points more e-commerce or amounts 20 % higher still count while a
#: day's ordinary variation (PSI about 0.02) does not (see docs/monitoring.md, "When a column drifts").
DEFAULT_MIN_PSI: Final = 0.05


class DriftMonitor:
    """Drift of every profiled column (raw fields, model inputs, the score) over count windows.

    ``level`` is the false discovery rate allowed per window (Benjamini-Hochberg across the columns): when
    nothing drifted, a window raises a false alarm with probability at most ``level``. Clock-driven columns
    (``time_dependent`` in the profile: the weekend and night flags) are left out unless
    ``include_time_dependent``: their share follows the hours a window spans, not the data.

    A column drifts when its test is significant *and* the change is material: its population stability index
    is at least ``min_psi`` (:data:`DEFAULT_MIN_PSI`, 0.05). On large windows the tests find changes far too
    small to act on; the floor keeps those out of the alerts, while the report and the history still show every
    column's p-value and PSI. ``min_psi=0`` judges by the test alone.
    """

    def __init__(
        self,
        profile: ReferenceProfile,
        windows: Sequence[WindowSpec] = DEFAULT_WINDOWS,
        *,
        level: float = DEFAULT_LEVEL,
        columns: Sequence[str] | None = None,
        include_time_dependent: bool = False,
        min_psi: float = DEFAULT_MIN_PSI,
    ) -> None:
        if not 0.0 < level < 1.0:
            raise MonitorConfigError(f"the false discovery rate level must lie in (0, 1), got {level!r}")
        if not min_psi >= 0.0:
            raise MonitorConfigError(f"the PSI floor must be 0 or more (0.05 by default), got {min_psi!r}")
        if not windows:
            raise MonitorConfigError("give at least one window (WindowSpec.tumbling(5000))")
        chosen = [profile.column(name) for name in columns] if columns is not None else list(profile.columns)
        if columns is None and not include_time_dependent:
            chosen = [c for c in chosen if not c.time_dependent]
        self.profile = profile
        self.level = level
        self.min_psi = min_psi
        self._columns: tuple[ColumnProfile, ...] = tuple(chosen)
        self._references = tuple(ReferenceColumn(c) for c in chosen)
        self._offsets = np.cumsum([0, *(c.bins for c in chosen)])
        self._accumulators = tuple(WindowAccumulator(spec, int(self._offsets[-1])) for spec in windows)
        self._closed: tuple[WindowReport, ...] = ()
        self._rows = 0

    @property
    def columns(self) -> tuple[str, ...]:
        """The watched columns, in profile order."""
        return tuple(c.name for c in self._columns)

    @property
    def windows(self) -> tuple[WindowSpec, ...]:
        return tuple(a.spec for a in self._accumulators)

    @property
    def rows_seen(self) -> int:
        return self._rows

    @property
    def closed(self) -> tuple[WindowReport, ...]:
        """The windows closed by the last :meth:`update`, in closing order."""
        return self._closed

    @property
    def drift_detected(self) -> bool:
        """Whether a window closed by the last update found drift."""
        return any(report.drift_detected for report in self._closed)

    def update(self, frame: pd.DataFrame) -> DriftMonitor:
        """Add a scored micro-batch: the watched columns (raw fields and model inputs by name, ``score``) and
        ``timestamp``, one row per scored transaction, in stream order."""
        absent = [name for name in self.columns if name not in frame.columns]
        if absent:
            raise MonitorInputError(
                f"the scored frame lacks {absent}; pass the raw fields, the model inputs by name and {SCORE!r}"
            )
        self._closed = ()
        if frame.empty:
            return self
        bins = np.empty((len(frame), len(self._columns)), dtype=np.intp)
        unseen_rows: dict[str, tuple[npt.NDArray[np.bool_], pd.Series]] = {}
        for j, column in enumerate(self._columns):
            values = frame[column.name]
            bins[:, j] = bin_indices(column, values)
            if column.categories is not None:
                new = bins[:, j] == len(column.categories) + 1
                if new.any():
                    unseen_rows[column.name] = (new, values)
        bins += self._offsets[:-1]
        times = _TimeSpans(frame["timestamp"]) if "timestamp" in frame.columns else None
        # The windows' blocks usually cut the batch at the same rows: each slice is counted once.
        counted: dict[tuple[int, int], npt.NDArray[np.int64]] = {}
        closed: list[WindowReport] = []
        for accumulator in self._accumulators:
            start = 0
            while start < len(frame):
                stop = min(len(frame), start + accumulator.room())
                if (start, stop) not in counted:
                    counted[start, stop] = np.bincount(
                        bins[start:stop].ravel(), minlength=int(self._offsets[-1])
                    ).astype(np.int64, copy=False)
                span = None if times is None else times.span(start, stop)
                unseen = {
                    name: Counter(values.iloc[start:stop][mask[start:stop]].astype(str).tolist())
                    for name, (mask, values) in unseen_rows.items()
                    if mask[start:stop].any()
                }
                window = accumulator.add(counted[start, stop], stop - start, span, unseen)
                if window is not None:
                    closed.append(self._evaluate(window))
                start = stop
        self._rows += len(frame)
        self._closed = tuple(sorted(closed, key=lambda r: (r.end_row, r.window)))
        return self

    def _evaluate(self, window: ClosedWindow) -> WindowReport:
        comparisons = [
            reference.compare(window.counts[self._offsets[j] : self._offsets[j + 1]])
            for j, reference in enumerate(self._references)
        ]
        p_values = np.array([c.p_value for c in comparisons])
        adjusted = stats.false_discovery_control(p_values, method="bh") if p_values.size else p_values
        columns: list[ColumnDrift] = []
        for column, reference, comparison, q in zip(
            self._columns, self._references, comparisons, adjusted, strict=True
        ):
            top = comparison.top_bin
            unseen = window.unseen.get(column.name, Counter()).most_common(5)
            columns.append(
                ColumnDrift(
                    column=column.name,
                    group=column.groups[0],
                    test=comparison.test,
                    statistic=comparison.statistic,
                    p_value=comparison.p_value,
                    adjusted_p_value=float(q),
                    js_distance=comparison.js_distance,
                    linf=comparison.linf,
                    psi=comparison.psi,
                    psi_band=comparison.psi_band,
                    drifted=bool(q <= self.level and comparison.psi >= self.min_psi),
                    moved_bin=column.bin_label(top),
                    reference_share=float(reference.shares[top]),
                    window_share=float(window.counts[self._offsets[len(columns)] + top] / max(comparison.n, 1)),
                    unseen=tuple((str(name), int(count)) for name, count in unseen),
                )
            )
        return WindowReport(
            window=window.spec.name,
            start_row=window.start_row,
            end_row=window.end_row,
            start_time=None if window.first_time is None else pd.Timestamp(window.first_time).isoformat(),
            end_time=None if window.last_time is None else pd.Timestamp(window.last_time).isoformat(),
            rows=window.end_row - window.start_row,
            level=self.level,
            min_psi=self.min_psi,
            columns=tuple(columns),
        )


class _TimeSpans:
    """The earliest and latest time of row ranges of one batch, found on the times' integer form and taken
    from the column itself (so a report shows them as the stream gave them)."""

    def __init__(self, times: pd.Series) -> None:
        self._times = times
        self._ns = times.to_numpy(dtype="datetime64[ns]").view(np.int64) if _is_datetime(times) else None

    def span(self, start: int, stop: int) -> tuple[pd.Timestamp, pd.Timestamp]:
        if self._ns is None or (self._ns[start:stop] == np.iinfo(np.int64).min).any():
            part = self._times.iloc[start:stop]
            return part.min(), part.max()
        ns = self._ns[start:stop]
        return self._times.iloc[start + int(ns.argmin())], self._times.iloc[start + int(ns.argmax())]


def _is_datetime(times: pd.Series) -> bool:
    return bool(pd.api.types.is_datetime64_any_dtype(times.dtype))

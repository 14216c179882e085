"""Monitoring of one served model: what the scoring API and the stream worker call.

Every scored micro-batch goes to :meth:`ModelMonitor.update` (one frame: the raw contract fields, the model's
inputs by name, ``score``, with ``transaction_id``, ``card_token`` and ``timestamp``); late labels go to
:meth:`ModelMonitor.deliver_labels`. The monitor runs drift over its windows and performance by day, writes
what it finds to the history (for the dashboard), and raises alerts (deduplicated, paged, audited).

>>> # services = open_services(MonitoringSettings(), sink=audit_log)
>>> # monitor = ModelMonitor.for_model(version, services, MonitorConfig.from_settings(settings))
>>> # monitor.update(scored_frame); monitor.deliver_labels(labels)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from lifecycle.reference import SCORE, ReferenceProfile, bin_indices
from lifecycle.registry import GateThresholds
from monitoring.alerts import Alert, AlertCandidate, PerformanceRules, drift_candidates
from monitoring.drift import DEFAULT_LEVEL, DEFAULT_MIN_PSI, DEFAULT_WINDOWS, DriftMonitor, WindowSpec
from monitoring.errors import MonitorInputError
from monitoring.performance import DailyPerformance, PerformanceMonitor
from monitoring.performance.days import NS_PER_DAY, day_text, epoch_ns
from monitoring.services import MonitoringServices
from monitoring.settings import MonitoringSettings


@dataclass(frozen=True)
class MonitorConfig:
    """The windows, level and PSI floor of drift detection, the label maturity, and the rows gathered per run."""

    windows: tuple[WindowSpec, ...] = DEFAULT_WINDOWS
    level: float = DEFAULT_LEVEL
    min_psi: float = DEFAULT_MIN_PSI
    maturity_days: float = 45.0
    label_grace_days: float = 7.0
    #: Rows gathered before the monitors run. Part of their work is per run, whatever its size (each watched
    #: column read and binned, the day bookkeeping): small batches are gathered up to this many rows...
    buffer_rows: int = 1_000
    #: ... or until the first of them has waited this many seconds (checked when rows come, and by flush).
    buffer_seconds: float = 5.0
    include_time_dependent: bool = False

    @classmethod
    def from_settings(cls, settings: MonitoringSettings) -> MonitorConfig:
        return cls(
            windows=tuple(WindowSpec.parse(text) for text in settings.drift_windows.split(",") if text.strip()),
            level=settings.drift_level,
            min_psi=settings.drift_min_psi,
            maturity_days=settings.label_maturity_days,
            label_grace_days=settings.label_grace_days,
            buffer_rows=settings.monitor_buffer_rows,
            buffer_seconds=settings.monitor_buffer_seconds,
        )


class ModelMonitor:
    """Drift, performance, history and alerts for one model (its content id and reference profile).

    Thread-safe: the API's request threads and a consumer group's members may call it at once.
    """

    def __init__(
        self,
        profile: ReferenceProfile,
        services: MonitoringServices,
        *,
        model: str,
        config: MonitorConfig | None = None,
        rules: PerformanceRules | None = None,
        columns: Sequence[str] | None = None,
    ) -> None:
        config = config or MonitorConfig()
        self.model = model
        self.profile = profile
        self.services = services
        self.config = config
        self.drift = DriftMonitor(
            profile,
            config.windows,
            level=config.level,
            min_psi=config.min_psi,
            columns=columns,
            include_time_dependent=config.include_time_dependent,
        )
        self.performance = PerformanceMonitor(
            profile, maturity_days=config.maturity_days, label_grace_days=config.label_grace_days
        )
        self.rules = rules or PerformanceRules.from_gate(GateThresholds.load(), profile.metrics)
        self._score_column = profile.column(SCORE)
        self._score_counts: dict[int, npt.NDArray[np.int64]] = {}
        self._pending: list[pd.DataFrame] = []
        self._pending_rows = 0
        self._pending_since = time.monotonic()
        self._checked_day: int | None = None
        self._raised: tuple[Alert, ...] = ()
        self._lock = threading.Lock()

    @classmethod
    def for_model(
        cls, content_id: str, lineage: Any, services: MonitoringServices, config: MonitorConfig | None = None
    ) -> ModelMonitor:
        """The monitor of a registered model (``ModelVersion.content_id`` and ``.lineage``): its reference
        profile is read from the lineage."""
        return cls(ReferenceProfile.from_lineage(lineage), services, model=content_id, config=config)

    @property
    def raised(self) -> tuple[Alert, ...]:
        """The alerts raised or updated by the last call."""
        return self._raised

    @property
    def required_columns(self) -> tuple[str, ...]:
        """The columns a scored frame must hold."""
        return tuple(dict.fromkeys([*self.drift.columns, "transaction_id", "card_token", "timestamp", SCORE]))

    def update(self, frame: pd.DataFrame) -> ModelMonitor:
        """Add a scored micro-batch (see the module docstring); runs the monitors once ``buffer_rows`` rows
        have gathered, or the first of them has waited ``buffer_seconds``."""
        absent = [c for c in self.required_columns if c not in frame.columns]
        if absent:
            raise MonitorInputError(f"the scored frame lacks {absent}; see ModelMonitor.required_columns")
        with self._lock:
            self._raised = ()
            if not self._pending:
                self._pending_since = time.monotonic()
            self._pending.append(frame)
            self._pending_rows += len(frame)
            waited = time.monotonic() - self._pending_since
            if self._pending_rows >= self.config.buffer_rows or waited >= self.config.buffer_seconds:
                self._run()
        return self

    def flush(self) -> ModelMonitor:
        """Run the monitors on the rows gathered so far and write the score counts kept in memory."""
        with self._lock:
            self._raised = ()
            self._run()
            self._write_score_counts()
        return self

    def deliver_labels(self, labels: pd.DataFrame) -> ModelMonitor:
        """Apply late labels (``transaction_id``, ``is_fraud``, ``reported_at``); record the days whose
        labels became final and refresh the provisional figures of the others."""
        with self._lock:
            self._raised = ()
            self._run()
            self.performance.deliver_labels(labels)
            raised = [*self._record_days(self.performance.finalise_mature_days())]
            raised += self._record_days(self.performance.take_changed(), alert=False)
            self._raised = tuple(raised)
        return self

    def save_state(self, path: Path) -> Path:
        """Run the monitors on the rows gathered, write the score counts, and save the performance monitor's
        state to ``path`` (:mod:`monitoring.performance.snapshot`); the path written. The drift windows are
        not saved: after a restart they fill again from the stream."""
        with self._lock:
            self._raised = ()
            self._run()
            self._write_score_counts()
            return self.performance.save(path)

    def restore_state(self, path: Path) -> ModelMonitor:
        """Resume the performance monitor from a snapshot written by :meth:`save_state` for this model."""
        with self._lock:
            self.performance = PerformanceMonitor.load(
                path,
                self.profile,
                maturity_days=self.config.maturity_days,
                label_grace_days=self.config.label_grace_days,
            )
        return self

    def _run(self) -> None:
        if not self._pending:
            return
        frame = self._pending[0] if len(self._pending) == 1 else pd.concat(self._pending, ignore_index=True)
        self._pending, self._pending_rows = [], 0
        if frame.empty:
            return
        raised: list[Alert] = []
        self.drift.update(frame)
        self._count_scores(frame)
        if self.drift.closed:
            self._write_score_counts()
        for report in self.drift.closed:
            self.services.history.record_window(self.model, report)
            raised += self._raise(drift_candidates(report, model=self.model))
        self.performance.update(frame)
        # Only the days the stream has just left are computed (their estimate is final): not every open day.
        raised += self._record_days(self.performance.take_completed())
        if self.performance.stream_day != self._checked_day:
            # Days close by the clocks' days: checking once per day of the stream is enough.
            self._checked_day = self.performance.stream_day
            raised += self._record_days(self.performance.finalise_mature_days())
        self._raised = (*self._raised, *raised)

    def _record_days(self, days: Sequence[DailyPerformance], *, alert: bool = True) -> list[Alert]:
        raised: list[Alert] = []
        for day in days:
            self.services.history.record_performance(self.model, day)
            if alert:
                raised += self._raise(self.rules.candidates(day, model=self.model))
        return raised

    def _raise(self, candidates: list[AlertCandidate]) -> list[Alert]:
        return [self.services.alerts.raise_alert(candidate) for candidate in candidates]

    def _count_scores(self, frame: pd.DataFrame) -> None:
        bins = bin_indices(self._score_column, frame[SCORE].to_numpy(dtype=np.float64))
        days = epoch_ns(frame["timestamp"], "scored frame") // NS_PER_DAY
        first, last = int(days.min()), int(days.max())
        parts = [(first, bins)] if first == last else [(d, bins[days == d]) for d in np.unique(days).tolist()]
        for day, day_bins in parts:
            counts = np.bincount(day_bins, minlength=self._score_column.bins).astype(np.int64)
            self._score_counts[day] = self._score_counts.get(day, 0) + counts

    def _write_score_counts(self) -> None:
        for day, counts in self._score_counts.items():
            self.services.history.add_score_counts(self.model, day_text(day), counts)
        self._score_counts = {}

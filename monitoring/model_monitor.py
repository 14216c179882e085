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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from lifecycle.reference import SCORE, ReferenceProfile, bin_indices
from lifecycle.registry import GateThresholds
from monitoring.alerts import Alert, AlertCandidate, PerformanceRules, drift_candidates
from monitoring.drift import DEFAULT_LEVEL, DEFAULT_WINDOWS, DriftMonitor, WindowSpec
from monitoring.errors import MonitorInputError
from monitoring.performance import DailyPerformance, PerformanceMonitor
from monitoring.services import MonitoringServices
from monitoring.settings import MonitoringSettings

_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class MonitorConfig:
    """The windows and level of drift detection, the label maturity, and the rows gathered per run."""

    windows: tuple[WindowSpec, ...] = DEFAULT_WINDOWS
    level: float = DEFAULT_LEVEL
    maturity_days: float = 45.0
    buffer_rows: int = 1
    include_time_dependent: bool = False

    @classmethod
    def from_settings(cls, settings: MonitoringSettings) -> MonitorConfig:
        return cls(
            windows=tuple(WindowSpec.parse(text) for text in settings.drift_windows.split(",") if text.strip()),
            level=settings.drift_level,
            maturity_days=settings.label_maturity_days,
            buffer_rows=settings.monitor_buffer_rows,
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
            columns=columns,
            include_time_dependent=config.include_time_dependent,
        )
        self.performance = PerformanceMonitor(profile, maturity_days=config.maturity_days)
        self.rules = rules or PerformanceRules.from_gate(GateThresholds.load(), profile.metrics)
        self._score_column = profile.column(SCORE)
        self._score_counts: dict[str, npt.NDArray[np.int64]] = {}
        self._pending: list[pd.DataFrame] = []
        self._pending_rows = 0
        self._estimated_days: set[str] = set()
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
        have gathered."""
        absent = [c for c in self.required_columns if c not in frame.columns]
        if absent:
            raise MonitorInputError(f"the scored frame lacks {absent}; see ModelMonitor.required_columns")
        with self._lock:
            self._raised = ()
            self._pending.append(frame)
            self._pending_rows += len(frame)
            if self._pending_rows >= self.config.buffer_rows:
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
            raised += self._record_days(self.performance.days(), alert=False)
            self._raised = tuple(raised)
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
        clock = self.performance.stream_clock
        ended = [
            day
            for day in self.performance.open_days
            if day not in self._estimated_days and clock is not None and pd.Timestamp(day, tz="UTC") + _DAY <= clock
        ]
        complete = [self.performance.day(day) for day in ended]
        self._estimated_days.update(ended)
        raised += self._record_days(complete)
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
        days = pd.to_datetime(frame["timestamp"], utc=True).dt.date.to_numpy()
        for day in pd.unique(days):
            counts = np.bincount(bins[days == day], minlength=self._score_column.bins).astype(np.int64)
            key = str(day)
            self._score_counts[key] = self._score_counts.get(key, 0) + counts

    def _write_score_counts(self) -> None:
        for day, counts in self._score_counts.items():
            self.services.history.add_score_counts(self.model, day, counts)
        self._score_counts = {}

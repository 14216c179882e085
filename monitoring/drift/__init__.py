"""Drift of the raw fields, the model inputs and the score against the model's reference profile."""

from __future__ import annotations

from monitoring.drift.monitor import DEFAULT_LEVEL, DEFAULT_MIN_PSI, DEFAULT_WINDOWS, DriftMonitor
from monitoring.drift.report import ColumnDrift, WindowReport
from monitoring.drift.statistics import PSI_BANDS, psi_band
from monitoring.drift.windows import WindowSpec

__all__ = [
    "DEFAULT_LEVEL",
    "DEFAULT_MIN_PSI",
    "DEFAULT_WINDOWS",
    "PSI_BANDS",
    "ColumnDrift",
    "DriftMonitor",
    "WindowReport",
    "WindowSpec",
    "psi_band",
]

"""Performance of the served model as labels mature, and its label-free estimate before they exist."""

from __future__ import annotations

from monitoring.performance.estimation import expected_average_precision, expected_card_precision, expected_roc_auc
from monitoring.performance.monitor import METRICS, DailyPerformance, PerformanceMonitor

__all__ = [
    "METRICS",
    "DailyPerformance",
    "PerformanceMonitor",
    "expected_average_precision",
    "expected_card_precision",
    "expected_roc_auc",
]

"""Alerts: raised by the monitors (deduplicated), worked through by analysts, paged, recorded for audit."""

from __future__ import annotations

from monitoring.alerts.model import (
    TRANSITIONS,
    Alert,
    AlertAction,
    AlertActionSink,
    AlertCandidate,
    AlertEvent,
    AlertKind,
    AlertState,
    LoggingSink,
    Severity,
)
from monitoring.alerts.rules import PerformanceRules, drift_candidates
from monitoring.alerts.service import SYSTEM_ACTOR, AlertService
from monitoring.alerts.store import AlertStore
from monitoring.alerts.webhook import PagingError, WebhookPager

__all__ = [
    "SYSTEM_ACTOR",
    "TRANSITIONS",
    "Alert",
    "AlertAction",
    "AlertActionSink",
    "AlertCandidate",
    "AlertEvent",
    "AlertKind",
    "AlertService",
    "AlertState",
    "AlertStore",
    "LoggingSink",
    "PagingError",
    "PerformanceRules",
    "Severity",
    "WebhookPager",
    "drift_candidates",
]

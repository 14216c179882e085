"""Monitoring: drift of the inputs and the score against the model's reference, performance as labels
mature (and estimated before), alerts and their workflow, and the analysts' dashboard.

What the scoring API and the stream worker use: :class:`ModelMonitor` (``update`` each scored micro-batch,
``deliver_labels`` as labels arrive), built on :func:`open_services`; the dashboard router is in
:mod:`monitoring.dashboard`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from monitoring.alerts import (
        Alert,
        AlertAction,
        AlertActionSink,
        AlertEvent,
        AlertService,
        AlertState,
        Severity,
    )
    from monitoring.drift import DriftMonitor, WindowReport, WindowSpec
    from monitoring.errors import (
        AlertNotFoundError,
        AlertTransitionError,
        MonitorConfigError,
        MonitoringError,
        MonitoringStoreError,
        MonitorInputError,
        MonitorSnapshotError,
    )
    from monitoring.history import MonitoringHistory
    from monitoring.model_monitor import ModelMonitor, MonitorConfig
    from monitoring.performance import DailyPerformance, PerformanceMonitor
    from monitoring.services import MonitoringServices, open_database, open_services
    from monitoring.settings import MonitoringSettings

#: Where each public name lives: imported on first use, so that ``fraud --help`` (which registers the
#: ``fraud alerts`` commands) does not pay for pandas and scipy.
_EXPORTS: dict[str, str] = {
    "Alert": "monitoring.alerts",
    "AlertAction": "monitoring.alerts",
    "AlertActionSink": "monitoring.alerts",
    "AlertEvent": "monitoring.alerts",
    "AlertNotFoundError": "monitoring.errors",
    "AlertService": "monitoring.alerts",
    "AlertState": "monitoring.alerts",
    "AlertTransitionError": "monitoring.errors",
    "DailyPerformance": "monitoring.performance",
    "DriftMonitor": "monitoring.drift",
    "ModelMonitor": "monitoring.model_monitor",
    "MonitorConfig": "monitoring.model_monitor",
    "MonitorConfigError": "monitoring.errors",
    "MonitorInputError": "monitoring.errors",
    "MonitorSnapshotError": "monitoring.errors",
    "MonitoringError": "monitoring.errors",
    "MonitoringHistory": "monitoring.history",
    "MonitoringServices": "monitoring.services",
    "MonitoringSettings": "monitoring.settings",
    "MonitoringStoreError": "monitoring.errors",
    "PerformanceMonitor": "monitoring.performance",
    "Severity": "monitoring.alerts",
    "WindowReport": "monitoring.drift",
    "WindowSpec": "monitoring.drift",
    "open_database": "monitoring.services",
    "open_services": "monitoring.services",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "Alert",
    "AlertAction",
    "AlertActionSink",
    "AlertEvent",
    "AlertNotFoundError",
    "AlertService",
    "AlertState",
    "AlertTransitionError",
    "DailyPerformance",
    "DriftMonitor",
    "ModelMonitor",
    "MonitorConfig",
    "MonitorConfigError",
    "MonitorInputError",
    "MonitorSnapshotError",
    "MonitoringError",
    "MonitoringHistory",
    "MonitoringServices",
    "MonitoringSettings",
    "MonitoringStoreError",
    "PerformanceMonitor",
    "Severity",
    "WindowReport",
    "WindowSpec",
    "open_database",
    "open_services",
]

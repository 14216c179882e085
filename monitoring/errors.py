"""Monitoring's exceptions: one root, :class:`MonitoringError` (the audit trail's own errors derive from it, in
:mod:`monitoring.audit.errors`); each message says what to do next."""

from __future__ import annotations


class MonitoringError(Exception):
    """Root of every error raised by :mod:`monitoring`."""


class MonitorInputError(MonitoringError, ValueError):
    """A scored frame or a label batch lacks columns the monitor needs, or holds values it cannot use."""


class MonitorConfigError(MonitoringError, ValueError):
    """A window, level or threshold setting is out of range."""


class MonitoringStoreError(MonitoringError):
    """The monitoring database cannot be opened or written."""


class MonitorSnapshotError(MonitoringError):
    """A monitor's saved state cannot be read or was saved for another model."""


class AlertNotFoundError(MonitoringError, LookupError):
    """No alert with that id; ``fraud alerts list`` shows the alerts."""


class AlertTransitionError(MonitoringError):
    """The action is not allowed in the alert's state (a resolved alert cannot be acknowledged)."""


__all__ = [
    "AlertNotFoundError",
    "AlertTransitionError",
    "MonitorConfigError",
    "MonitorInputError",
    "MonitorSnapshotError",
    "MonitoringError",
    "MonitoringStoreError",
]

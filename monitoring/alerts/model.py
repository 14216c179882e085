"""Alerts and what happens to them: the records that cross from monitoring to the analysts, the audit trail
and the pager.

An alert's life: ``open -> acknowledged -> resolved`` (an open alert may be resolved directly). Each action on
it is an :class:`AlertEvent`: kept in the alert's history and handed to an :class:`AlertActionSink` (the audit
trail implements it), so that who did what to which alert, and when, can be shown to an auditor.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Severity(StrEnum):
    """How urgent an alert is; ``critical`` pages at once."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class AlertKind(StrEnum):
    DRIFT = "drift"
    PERFORMANCE = "performance"


class AlertAction(StrEnum):
    """Everything that can happen to an alert (each is recorded for audit)."""

    OPENED = "opened"
    REPEATED = "repeated"  # the same condition fired again while the alert was not resolved (deduplicated)
    ESCALATED = "escalated"  # ... with a higher severity than before
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    NOTED = "noted"
    RESOLVED = "resolved"
    PAGED = "paged"
    PAGE_FAILED = "page_failed"


#: Per analyst action: the states it may be taken in, and the state it leaves (None: unchanged).
TRANSITIONS: dict[AlertAction, tuple[frozenset[AlertState], AlertState | None]] = {
    AlertAction.ACKNOWLEDGED: (frozenset({AlertState.OPEN}), AlertState.ACKNOWLEDGED),
    AlertAction.RESOLVED: (frozenset({AlertState.OPEN, AlertState.ACKNOWLEDGED}), AlertState.RESOLVED),
    AlertAction.ASSIGNED: (frozenset({AlertState.OPEN, AlertState.ACKNOWLEDGED}), None),
    AlertAction.NOTED: (frozenset(AlertState), None),
    AlertAction.PAGED: (frozenset(AlertState), None),
    AlertAction.PAGE_FAILED: (frozenset(AlertState), None),
}


@dataclass(frozen=True)
class AlertCandidate:
    """What a detector proposes: an alert that is raised, or folded into the open one with its fingerprint."""

    kind: AlertKind
    #: What the alert is about, stable across firings: ``inputs`` or ``score`` for drift, ``auc_roc:realised``...
    subject: str
    severity: Severity
    title: str
    summary: str
    model: str | None = None
    window: str | None = None
    window_start: str | None = None
    window_end: str | None = None
    #: Test values and the features that moved most (JSON-serialisable).
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """Alerts with equal fingerprints are one alert while it is not resolved."""
        return f"{self.kind.value}:{self.model or '-'}:{self.subject}"


@dataclass(frozen=True)
class Alert:
    """A stored alert."""

    id: int
    fingerprint: str
    kind: AlertKind
    subject: str
    severity: Severity
    state: AlertState
    title: str
    summary: str
    model: str | None
    window: str | None
    window_start: str | None
    window_end: str | None
    details: dict[str, Any]
    occurrences: int
    first_seen: str
    last_seen: str
    assignee: str | None
    updated_at: str

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(kind=self.kind.value, severity=self.severity.value, state=self.state.value)
        return out


@dataclass(frozen=True)
class AlertEvent:
    """One action on one alert: who, what, when, and the state it left the alert in."""

    alert_id: int
    fingerprint: str
    action: AlertAction
    actor: str
    at: str
    state: AlertState
    previous_state: AlertState | None
    severity: Severity
    assignee: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(
            action=self.action.value,
            state=self.state.value,
            previous_state=None if self.previous_state is None else self.previous_state.value,
            severity=self.severity.value,
        )
        return out


class AlertActionSink(Protocol):
    """Where alert actions go for audit. The audit trail implements it; a sink that raises makes the action
    fail (and roll back), so that no action goes unrecorded."""

    def record_alert_action(self, event: AlertEvent) -> None: ...


class LoggingSink:
    """A sink that writes each alert action to the ``fraud.alerts.audit`` logger, one structured line each:
    what the command line uses until the audit trail's sink is wired in its place."""

    def __init__(self, logger_name: str = "fraud.alerts.audit") -> None:
        import logging

        self._logger = logging.getLogger(logger_name)

    def record_alert_action(self, event: AlertEvent) -> None:
        import json

        self._logger.info("%s", json.dumps(event.to_dict(), sort_keys=True))

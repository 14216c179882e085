"""The audit trail as the sink of the registry's events and of the alert workflow's actions.

The registry (:mod:`lifecycle.registry`, below monitoring) hands each change to a
:class:`~lifecycle.registry.events.RegistryEventSink`, and the alert service each action to an
:class:`~monitoring.alerts.AlertActionSink`; :class:`AuditSink` is both, turning each into the audit trail's
own record. A sink that cannot record raises, and the call that caused the event fails with it.

A long-running service passes its open log (``AuditSink(log)``); a command, which makes a change or two,
passes a way to open one (``AuditSink.from_settings(settings)`` opens the configured log for each event and
closes it again).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from lifecycle.registry.events import RegistryEvent, RegistryEventKind
from monitoring.alerts.model import AlertEvent
from monitoring.audit.errors import AuditError
from monitoring.audit.events import (
    AlertActionEvent,
    AuditEvent,
    DeploymentEvent,
    EvidenceEvent,
    GateVerdictEvent,
    RegistrationEvent,
)
from monitoring.audit.log import AuditLog
from monitoring.audit.settings import AuditSettings


def registry_audit_event(event: RegistryEvent) -> AuditEvent:
    """The audit record of a registry event."""
    when = datetime.fromisoformat(event.at)
    ticket = event.ticket
    if event.kind is RegistryEventKind.REGISTERED:
        return RegistrationEvent(actor=event.actor, occurred_at=when, content_id=event.content_id)
    if event.kind is RegistryEventKind.VERDICT:
        return GateVerdictEvent(
            actor=event.actor, occurred_at=when, content_id=event.content_id, blessed=bool(event.blessed)
        )
    if event.kind is RegistryEventKind.EVIDENCE:
        return EvidenceEvent(
            actor=event.actor, occurred_at=when, content_id=event.content_id, files=dict(event.evidence)
        )
    if event.kind is RegistryEventKind.REFUSED:
        return DeploymentEvent(
            actor=event.actor,
            ticket=ticket,
            occurred_at=when,
            action="deploy",
            alias=event.alias or "",
            content_id=event.content_id,
            refused=True,
            refusal=event.reason,
        )
    if event.kind in (RegistryEventKind.DEPLOYED, RegistryEventKind.ROLLED_BACK):
        return DeploymentEvent(
            actor=event.actor,
            reason=event.reason or None,
            ticket=ticket,
            occurred_at=when,
            action="rollback" if event.kind is RegistryEventKind.ROLLED_BACK else "deploy",
            alias=event.alias or "",
            content_id=event.content_id,
            previous_content_id=event.previous_content_id,
        )
    raise AuditError(f"no audit record is defined for the registry event {event.kind.value!r}")


def alert_audit_event(event: AlertEvent) -> AlertActionEvent:
    """The audit record of an action on a monitoring alert."""
    return AlertActionEvent(
        actor=event.actor,
        occurred_at=datetime.fromisoformat(event.at),
        alert_id=str(event.alert_id),
        action=event.action.value,
        state=event.state.value,
        previous_state=None if event.previous_state is None else event.previous_state.value,
        severity=event.severity.value,
        fingerprint=event.fingerprint,
        assignee=event.assignee,
        note=event.note,
    )


class AuditSink:
    """Records registry events and alert actions in an audit log (see the module docstring)."""

    def __init__(self, log: AuditLog | None = None, *, open_log: Callable[[], AuditLog] | None = None) -> None:
        if (log is None) == (open_log is None):
            raise AuditError("give the sink either an open audit log or a way to open one")
        self._log = log
        self._open_log = open_log

    @classmethod
    def from_settings(cls, settings: AuditSettings) -> AuditSink:
        """A sink that opens the configured audit log for each event (for commands)."""
        return cls(open_log=lambda: AuditLog.from_settings(settings))

    def record(self, event: RegistryEvent) -> None:
        self._append([registry_audit_event(event)])

    def record_alert_action(self, event: AlertEvent) -> None:
        self._append([alert_audit_event(event)])

    def _append(self, events: Sequence[AuditEvent]) -> None:
        if self._log is not None:
            self._log.append(events)
            return
        assert self._open_log is not None
        with self._open_log() as log:
            log.append(events)

"""What the scoring service and the stream worker open to record and watch what they do: the audit trail (its
log, a group-commit writer, the recorder that is their decision sink, and the sink the registry and the alert
workflow record through) and the monitors of the served models.

>>> # audit = open_audit(AuditSettings(), backend="numba")
>>> # registry = ModelRegistry.from_settings(lifecycle, events=audit.sink)
>>> # monitors = open_monitoring(MonitoringSettings(), lineage_of=lambda cid: registry.get(cid).lineage,
>>> #                            alert_sink=audit.sink)
>>> # scorer = Scorer(..., sink=Sinks([audit.recorder, monitors]))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from monitoring.alerts import AlertActionSink
from monitoring.audit.log import AuditLog
from monitoring.audit.settings import AuditSettings
from monitoring.audit.sinks import AuditSink
from monitoring.audit.writer import AuditWriter, EventWriter
from monitoring.model_monitor import MonitorConfig
from monitoring.services import open_services
from monitoring.settings import MonitoringSettings
from scoring_api.recording.audit import AuditRecorder
from scoring_api.recording.monitors import MonitorFeed


@dataclass(frozen=True)
class AuditRecording:
    """The audit trail of one process: its log, the group-commit writer (a recording process, or a thread of this
    one: ``FRAUD_AUDIT_WRITER``), the decision sink that submits to it, and the sink of the registry's events and
    the alert workflow's actions."""

    log: AuditLog
    writer: EventWriter
    recorder: AuditRecorder
    sink: AuditSink

    def close(self) -> None:
        """Record what waits, stop the writer, close the log."""
        try:
            self.recorder.close()
        finally:
            self.log.close()


def open_audit(settings: AuditSettings, *, backend: str) -> AuditRecording:
    """Open the audit trail the settings name; ``backend`` is the engine backend decisions are scored on."""
    log = AuditLog.from_settings(settings)
    writer: EventWriter
    try:
        if settings.audit_writer == "process":
            from monitoring.audit.process_writer import ProcessWriter

            writer = ProcessWriter(settings)
        else:
            writer = AuditWriter(log)
    except BaseException:
        log.close()
        raise
    return AuditRecording(log, writer, AuditRecorder(writer, backend=backend), AuditSink(log))


def open_monitoring(
    settings: MonitoringSettings,
    *,
    lineage_of: Callable[[str], Any],
    alert_sink: AlertActionSink,
    process_tag: str = "",
    state_scope: str | None = "",
    on_error: Callable[[BaseException], None] | None = None,
) -> MonitorFeed:
    """The monitors of the served models, on the monitoring database the settings name; every alert action is
    handed to ``alert_sink`` (the audit trail). Their state is kept in the settings' ``monitor_state_dir``, in its
    sub-folder ``state_scope`` when one is named (a worker slot's own), or not at all when ``state_scope`` is None
    (a process whose monitor names would not survive its restart)."""
    services = open_services(settings, alert_sink)
    kept = settings.monitor_state_dir
    state_dir = None if kept is None or state_scope is None else kept / state_scope  # a / "" is a
    return MonitorFeed(
        services,
        lineage_of,
        config=MonitorConfig.from_settings(settings),
        process_tag=process_tag,
        state_dir=state_dir,
        state_every_s=settings.monitor_state_every_s,
        on_error=on_error,
    )

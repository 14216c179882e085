"""A worker that records no decisions still records its monitors' alert actions in the configured audit trail:
opened at the first action, kept open for the next ones, and never created when no alert fires."""

from __future__ import annotations

from pathlib import Path

from monitoring.alerts import AlertAction, AlertEvent, AlertState, Severity
from monitoring.audit import AuditLog, AuditSettings
from scoring_api.worker.app import TrailOnFirstAlert


def _event(alert_id: int, action: AlertAction, state: AlertState, previous: AlertState | None) -> AlertEvent:
    return AlertEvent(alert_id, f"drift:{alert_id}", action, "monitoring", "2026-12-05T14:00:00+00:00", state, previous,
                      Severity.WARNING)  # fmt: skip


def test_alert_actions_land_in_one_trail_opened_at_the_first(tmp_path: Path) -> None:
    settings = AuditSettings(audit_url=f"sqlite:///{tmp_path}/audit.sqlite", audit_archive_dir=tmp_path / "archive")
    trail = TrailOnFirstAlert(settings)
    trail.close()
    assert not (tmp_path / "audit.sqlite").exists(), "no alert, no trail"
    trail = TrailOnFirstAlert(settings)
    trail.record_alert_action(_event(1, AlertAction.OPENED, AlertState.OPEN, None))
    opened = trail._log
    trail.record_alert_action(_event(1, AlertAction.REPEATED, AlertState.OPEN, AlertState.OPEN))
    assert trail._log is opened, "the trail stays open between actions"
    trail.close()
    with AuditLog.from_settings(settings) as log:
        recorded = [(r.kind, r.subject) for r in log.records()]
        assert log.verify().ok
    assert recorded == [("alert_action", "1"), ("alert_action", "1")]

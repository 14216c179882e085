"""``fraud alerts list|show|ack|resolve`` on a real monitoring database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from monitoring import MonitoringSettings, open_services
from monitoring.alerts import AlertCandidate, AlertKind, Severity
from monitoring.audit import AuditLog, AuditSettings
from scoring_api.cli import app
from tests.monitoring.conftest import RecordingSink


def test_alerts_are_listed_shown_acknowledged_and_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'monitoring.sqlite'}"
    services = open_services(MonitoringSettings(monitoring_url=SecretStr(url)), RecordingSink())
    candidate = AlertCandidate(AlertKind.DRIFT, "inputs", Severity.WARNING, "Input drift: amount", "amount KS 0.2")
    alert = services.alerts.raise_alert(candidate)
    services.close()
    monkeypatch.setenv("FRAUD_MONITORING_URL", url)
    monkeypatch.setenv("FRAUD_AUDIT_URL", f"sqlite:///{tmp_path / 'audit.sqlite'}")
    monkeypatch.setenv("FRAUD_AUDIT_ARCHIVE_DIR", str(tmp_path / "archive"))
    runner = CliRunner()
    listed = runner.invoke(app, ["alerts", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [a["id"] for a in json.loads(listed.output)] == [alert.id]
    acked = runner.invoke(app, ["alerts", "ack", str(alert.id), "--note", "looking", "--actor", "ana"])
    assert acked.exit_code == 0, acked.output
    assert "acknowledged" in acked.output
    assert "ana" in acked.output
    twice = runner.invoke(app, ["alerts", "ack", str(alert.id), "--actor", "ana"])
    assert twice.exit_code == 1
    assert "cannot be acknowledged" in twice.output
    no_note = runner.invoke(app, ["alerts", "resolve", str(alert.id)])
    assert no_note.exit_code != 0
    resolved = runner.invoke(app, ["alerts", "resolve", str(alert.id), "--note", "known merchant", "--actor", "bob"])
    assert resolved.exit_code == 0, resolved.output
    shown = json.loads(runner.invoke(app, ["alerts", "show", str(alert.id), "--json"]).output)
    assert shown["state"] == "resolved"
    assert [(e["action"], e["actor"]) for e in shown["history"]] == [
        ("opened", "monitoring"),
        ("acknowledged", "ana"),
        ("resolved", "bob"),
    ]
    # Each action the command line took is in the audit trail too.
    with AuditLog.from_settings(AuditSettings()) as log:
        recorded = [(r.kind, r.actor, r.subject) for r in log.records()]
        assert log.verify().ok
    assert recorded == [("alert_action", "ana", str(alert.id)), ("alert_action", "bob", str(alert.id))]
    assert runner.invoke(app, ["alerts", "show", "404"]).exit_code == 1
    assert "resolved" in runner.invoke(app, ["alerts", "list", "--state", "resolved"]).output

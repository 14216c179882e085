"""The audit trail records the registry's changes and the alert workflow's actions through its sink: what,
who, why and under which ticket; a sink that cannot record makes the change fail."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import SecretStr

from lifecycle.registry import DeploymentRefusedError, ModelRegistry, RegistryError
from monitoring import MonitoringSettings, open_services
from monitoring.alerts import AlertCandidate, AlertKind, Severity
from monitoring.audit import (
    AlertActionEvent,
    AuditFilter,
    AuditSink,
    AuditStoreError,
    DeploymentEvent,
    EvidenceEvent,
    GateVerdictEvent,
    RegistrationEvent,
)
from tests.lifecycle.registry import support as registry_support
from tests.monitoring.audit import support


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return registry_support.make_data()


def test_registry_changes_are_recorded(audit_url: str, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]) -> None:
    with support.open_log(audit_url, tmp_path / "archive") as log:
        registry = ModelRegistry(
            f"sqlite:///{tmp_path}/registry.sqlite",
            tmp_path / "store",
            signing_key=registry_support.KEY,
            events=AuditSink(log),
        )
        ids = []
        for seed, good in ((1, True), (2, True), (3, False)):
            artifact = registry_support.forest_artifact(tmp_path / f"a{seed}", data, seed=seed)
            version = registry.register(artifact, name="rf", lineage=registry_support.lineage(), actor="trainer")
            # Judged against the first, which is champion by the time the others are promoted.
            champion = ids[0] if ids else None
            registry_support.judge_and_record(registry, version.content_id, data, good=good, champion=champion)
            ids.append(version.content_id)
        (tmp_path / "report.html").write_text("<h1>report</h1>")
        registry.attach_evidence(ids[0], {"report.html": tmp_path / "report.html"}, actor="trainer")
        registry.promote(ids[0], actor="alice", reason="first", ticket="CHG-1")
        registry.promote(ids[0], actor="alice", reason="again", ticket="CHG-1")  # no change, no record
        registry.promote(ids[1], actor="bob", reason="better", ticket="CHG-2")
        with pytest.raises(DeploymentRefusedError):
            registry.promote(ids[2], actor="mallory", reason="trust me", ticket="CHG-3")
        registry.rollback(actor="carol", reason="incident", ticket="INC-9")
        events = [r.event() for r in log.records()]
        assert log.verify().ok
        deployments = [r.event() for r in log.records(AuditFilter(kinds=("deployment",)))]
    registrations = [e for e in events if isinstance(e, RegistrationEvent)]
    assert [(e.actor, e.content_id) for e in registrations] == [("trainer", cid) for cid in ids]
    assert [e.blessed for e in events if isinstance(e, GateVerdictEvent)] == [True, True, False]
    (evidence,) = [e for e in events if isinstance(e, EvidenceEvent)]
    assert (evidence.content_id, list(evidence.files)) == (ids[0], ["report.html"])
    summary = [
        (d.action, d.content_id, d.previous_content_id, d.refused, d.actor, d.reason, d.ticket)
        for d in deployments
        if isinstance(d, DeploymentEvent)
    ]
    assert summary == [
        ("deploy", ids[0], None, False, "alice", "first", "CHG-1"),
        ("deploy", ids[1], ids[0], False, "bob", "better", "CHG-2"),
        ("deploy", ids[2], None, True, "mallory", None, "CHG-3"),
        ("rollback", ids[0], ids[1], False, "carol", "incident", "INC-9"),
    ]
    refused = deployments[2]
    assert isinstance(refused, DeploymentEvent)
    assert refused.refusal is not None
    assert "not blessed" in refused.refusal


def test_alert_actions_are_recorded(audit_url: str, tmp_path: Path) -> None:
    with support.open_log(audit_url, tmp_path / "archive") as log:
        settings = MonitoringSettings(monitoring_url=SecretStr(f"sqlite:///{tmp_path}/monitoring.sqlite"))
        services = open_services(settings, AuditSink(log))
        candidate = AlertCandidate(AlertKind.DRIFT, "inputs", Severity.WARNING, "Input drift: amount", "KS 0.2")
        alert = services.alerts.raise_alert(candidate)
        services.alerts.acknowledge(alert.id, actor="ana", note="looking", assignee="ana")
        services.alerts.resolve(alert.id, actor="bob", note="a known merchant")
        services.close()
        actions = [r.event() for r in log.records(AuditFilter(kinds=("alert_action",)))]
    assert [(a.action, a.actor, a.previous_state, a.state) for a in actions if isinstance(a, AlertActionEvent)] == [
        ("opened", "monitoring", None, "open"),
        ("acknowledged", "ana", "open", "acknowledged"),
        ("resolved", "bob", "acknowledged", "resolved"),
    ]
    first = actions[0]
    assert isinstance(first, AlertActionEvent)
    assert (first.alert_id, first.severity, first.fingerprint) == (str(alert.id), "warning", alert.fingerprint)


def test_a_sink_that_cannot_record_fails_the_change(tmp_path: Path, data: tuple[np.ndarray, np.ndarray]) -> None:
    log = support.open_log(f"sqlite:///{tmp_path}/audit.sqlite", tmp_path / "archive")
    registry = ModelRegistry(
        f"sqlite:///{tmp_path}/registry.sqlite",
        tmp_path / "store",
        signing_key=registry_support.KEY,
        events=AuditSink(log),
    )
    version = registry.register(
        registry_support.forest_artifact(tmp_path / "a", data), name="rf", lineage=registry_support.lineage()
    )
    registry_support.judge_and_record(registry, version.content_id, data)
    log.close()  # the audit database is gone
    with pytest.raises(RegistryError, match="could not be recorded: the audit log is closed") as raised:
        registry.promote(version.content_id, reason="unrecorded")
    assert isinstance(raised.value.__cause__, AuditStoreError)

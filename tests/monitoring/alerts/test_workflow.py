"""The alert workflow on a real database: deduplication, escalation, open -> acknowledged -> resolved with
assignee and notes, refused transitions, every action handed to the audit sink (or nothing stored), and
paging through a real local webhook."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
from pydantic import SecretStr

from monitoring import MonitoringServices
from monitoring.alerts import (
    AlertAction,
    AlertCandidate,
    AlertKind,
    AlertService,
    AlertState,
    AlertStore,
    Severity,
    WebhookPager,
)
from monitoring.errors import AlertNotFoundError, AlertTransitionError, MonitorInputError
from tests.monitoring.conftest import RecordingSink


def _candidate(severity: Severity = Severity.WARNING, subject: str = "inputs") -> AlertCandidate:
    return AlertCandidate(
        kind=AlertKind.DRIFT,
        subject=subject,
        severity=severity,
        title="Input drift: amount",
        summary="amount KS 0.2",
        model="m1",
        window="tumbling-5000",
        details={"drifted_columns": ["amount"]},
    )


def test_an_alert_is_worked_through_to_resolution(services: MonitoringServices, sink: RecordingSink) -> None:
    alerts = services.alerts
    alert = alerts.raise_alert(_candidate())
    assert (alert.state, alert.occurrences, alert.assignee) == (AlertState.OPEN, 1, None)
    again = alerts.raise_alert(_candidate())
    assert again.id == alert.id
    assert again.occurrences == 2
    escalated = alerts.raise_alert(_candidate(Severity.CRITICAL))
    assert escalated.id == alert.id
    assert escalated.severity is Severity.CRITICAL
    acknowledged = alerts.acknowledge(alert.id, actor="ana", note="looking at the amounts")
    assert (acknowledged.state, acknowledged.assignee) == (AlertState.ACKNOWLEDGED, "ana")
    alerts.assign(alert.id, actor="ana", assignee="bob")
    alerts.add_note(alert.id, actor="bob", note="card 4111 1111 1111 1111 seen in the batch")
    resolved = alerts.resolve(alert.id, actor="bob", note="a merchant changed currency; retrain planned")
    assert (resolved.state, resolved.assignee) == (AlertState.RESOLVED, "bob")
    history = alerts.history(alert.id)
    assert [e.action for e in history] == [
        AlertAction.OPENED,
        AlertAction.REPEATED,
        AlertAction.ESCALATED,
        AlertAction.ACKNOWLEDGED,
        AlertAction.ASSIGNED,
        AlertAction.NOTED,
        AlertAction.RESOLVED,
    ]
    assert [e.to_dict() for e in sink.events] == [e.to_dict() for e in history]
    assert "4111 1111 1111 1111" not in (history[5].note or "")
    assert "411111******1111" in (history[5].note or "")
    # Once resolved, the same condition opens a new alert.
    assert alerts.raise_alert(_candidate()).id != alert.id


def test_refused_actions_say_why_and_change_nothing(services: MonitoringServices, sink: RecordingSink) -> None:
    alerts = services.alerts
    alert = alerts.raise_alert(_candidate())
    alerts.resolve(alert.id, actor="ana", note="known batch")
    with pytest.raises(AlertTransitionError, match="resolved"):
        alerts.acknowledge(alert.id, actor="ana")
    with pytest.raises(AlertNotFoundError, match="fraud alerts list"):
        alerts.acknowledge(alert.id + 100, actor="ana")
    other = alerts.raise_alert(_candidate(subject="score"))
    with pytest.raises(MonitorInputError, match="resolution note"):
        alerts.resolve(other.id, actor="ana", note="  ")
    assert alerts.get(other.id).state is AlertState.OPEN
    assert len(sink.events) == 3


def test_an_action_the_audit_sink_refuses_is_not_stored(services: MonitoringServices, sink: RecordingSink) -> None:
    alert = services.alerts.raise_alert(_candidate())
    sink.fail = True
    with pytest.raises(RuntimeError, match="audit"):
        services.alerts.acknowledge(alert.id, actor="ana")
    with pytest.raises(RuntimeError, match="audit"):
        services.alerts.raise_alert(_candidate(subject="score"))
    assert services.alerts.get(alert.id).state is AlertState.OPEN
    assert [a.subject for a in services.alerts.list_alerts()] == ["inputs"]
    assert len(services.alerts.history(alert.id)) == 1


class _Webhook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, object]]] = []
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, type[_Webhook]]]:
    handler = type("Hook", (_Webhook,), {"received": [], "status": 200})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/page", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_new_and_escalated_alerts_are_paged_and_failures_recorded(
    services: MonitoringServices, webhook: tuple[str, type[_Webhook]]
) -> None:
    url, handler = webhook
    sink = RecordingSink()
    pager = WebhookPager(SecretStr(url), min_severity=Severity.WARNING, timeout_s=5)
    alerts = AlertService(AlertStore(services.database), sink, pager=pager)
    first = alerts.raise_alert(_candidate())
    alerts.raise_alert(_candidate())  # repeated: not paged again
    alerts.raise_alert(_candidate(Severity.CRITICAL))  # escalated: paged
    assert [(p["id"], p["severity"]) for p in handler.received] == [(first.id, "warning"), (first.id, "critical")]
    handler.status = 503
    failed = alerts.raise_alert(_candidate(subject="score"))
    last = alerts.history(failed.id)[-1]
    assert last.action is AlertAction.PAGE_FAILED
    assert "503" in (last.note or "")
    assert url not in (last.note or "")
    assert "**********" in repr(pager)


def test_an_assignee_given_on_acknowledgement_is_masked_like_a_note(services: MonitoringServices) -> None:
    alert = services.alerts.raise_alert(_candidate())
    acknowledged = services.alerts.acknowledge(alert.id, actor="ana", assignee="desk 5555-5555-5555-4444")
    assert acknowledged.assignee == "desk 555555******4444"
    assert [e.assignee for e in services.alerts.history(alert.id)][-1] == "desk 555555******4444"

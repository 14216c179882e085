"""Monitoring in the service: every scored transaction reaches the monitor of the model that answered it, labels
posted by the bank's systems reach it too, the analysts' dashboard and alert routes sit behind the service's own
keys, a drift in the traffic raises an alert that analysts work through (each step in the audit trail), and a
new champion gets a monitor of its own."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from monitoring.audit import AlertActionEvent, AuditFilter
from scoring_api.access.keys import Role
from scoring_api.recording import MonitorFeed
from scoring_api.service.app import create_app
from scoring_api.service.deps import API_KEY_HEADER
from scoring_api.service.services import Services
from tests.scoring_api.service.conftest import make_services
from tests.scoring_api.support import World, blessed_registry

PAN = "4111111111111111"
WINDOW = 200


@dataclass
class Monitored:
    services: Services
    client: TestClient
    keys: dict[Role, str]
    ids: dict[str, str]

    @property
    def feed(self) -> MonitorFeed:
        assert self.services.monitors is not None
        return self.services.monitors

    def call(self, method: str, path: str, role: Role | None, **kwargs: Any) -> Any:
        headers = {} if role is None else {API_KEY_HEADER: self.keys[role]}
        return self.client.request(method, path, headers=headers, **kwargs)


@pytest.fixture
def monitored(tmp_path: Path, world: World) -> Iterator[Monitored]:
    registry, ids = blessed_registry(tmp_path / "registry", world)
    registry.close()
    services = make_services(
        tmp_path, store=world.registry_root / "store", monitoring={"drift_windows": f"tumbling-{WINDOW}"}
    )
    keys = {role: services.keys.create(role, role.value, "tester")[1] for role in Role}
    try:
        with TestClient(create_app(services, maintenance=False)) as client:
            yield Monitored(services, client, keys, ids)
    finally:
        services.close()


def _bodies(frame: pd.DataFrame, world: World, tag: str = "", amount_factor: float = 1.0) -> list[dict[str, Any]]:
    rows = frame.assign(amount=frame["amount"] * amount_factor, transaction_id=frame["transaction_id"] + tag)
    return [tx.model_dump(mode="json") for tx in world.transactions(rows)]


def _score(monitored: Monitored, bodies: list[dict[str, Any]], singles: int = 3) -> int:
    for body in bodies[:singles]:
        assert monitored.call("POST", "/v1/score", Role.SCORER, json=body).status_code == 200
    rest = bodies[singles:]
    for start in range(0, len(rest), 100):
        answer = monitored.call(
            "POST", "/v1/score/batch", Role.SCORER, json={"transactions": rest[start : start + 100]}
        )
        assert answer.status_code == 200, answer.text
    return len(bodies)


def test_the_dashboard_is_mounted_without_dependency_overrides(monitored: Monitored) -> None:
    """While an application has any, FastAPI rebuilds every request's dependencies from their signatures."""
    app = monitored.client.app
    assert isinstance(app, FastAPI)
    assert app.dependency_overrides == {}
    assert monitored.call("GET", "/v1/monitoring/alerts", Role.SCORER).status_code == 403
    assert monitored.call("GET", "/v1/monitoring/alerts", Role.ANALYST).status_code == 200


def test_scored_traffic_and_labels_reach_the_champion_monitor_and_the_dashboard(
    monitored: Monitored, world: World
) -> None:
    day = world.day.iloc[:450]
    scored = _score(monitored, _bodies(day, world))
    labels = world.labels[world.labels["transaction_id"].isin(day["transaction_id"])]
    body = {
        "labels": [
            {"transaction_id": r.transaction_id, "is_fraud": bool(r.is_fraud), "reported_at": r.reported_at.isoformat()}
            for r in labels.itertuples()
        ]
        + [{"transaction_id": "never-scored", "is_fraud": True, "reported_at": "2026-01-01T00:00:00Z"}]
    }
    delivered = monitored.call("POST", "/v1/labels", Role.SCORER, json=body)
    assert delivered.status_code == 200, delivered.text
    assert delivered.json()["received"] == len(labels) + 1
    assert delivered.json()["monitored"] is True
    assert monitored.call("POST", "/v1/labels", Role.ANALYST, json=body).status_code == 403
    monitored.feed.flush()

    champion = monitored.ids["forest"]
    monitor = monitored.feed.monitors[champion]
    assert monitor.drift.rows_seen == scored
    summary = monitored.call("GET", "/v1/monitoring/summary", Role.ANALYST).json()
    assert summary["model"] == champion
    assert {"amount", "score"} <= {c["name"] for c in summary["columns"]}
    daily = monitored.call("GET", "/v1/monitoring/drift/daily", Role.ANALYST).json()
    assert daily["model"] == champion
    assert daily["rows"]
    scores = monitored.call("GET", "/v1/monitoring/scores", Role.ANALYST).json()
    assert scores["transactions"] == scored
    performance = monitored.call("GET", "/v1/monitoring/performance", Role.ANALYST).json()
    assert sum(day["transactions"] for day in performance["days"]) == scored
    assert sum(day["labelled"] for day in performance["days"]) == len(labels)
    page = monitored.call("GET", "/v1/monitoring/dashboard", Role.ANALYST)
    assert page.status_code == 200
    assert "/v1/monitoring" in page.text
    assert monitored.call("GET", "/v1/monitoring/summary", None).status_code == 401
    for role in (Role.ADMIN, Role.COMPLIANCE, Role.SCORER):
        assert monitored.call("GET", "/v1/monitoring/summary", role).status_code == 403


def test_a_drift_raises_an_alert_that_analysts_work_through_on_record(monitored: Monitored, world: World) -> None:
    day = world.day.iloc[: 2 * WINDOW]
    _score(monitored, _bodies(day, world))
    _score(monitored, _bodies(day, world, tag="-x4", amount_factor=4.0), singles=0)
    monitored.feed.flush()
    alerts = monitored.call("GET", "/v1/monitoring/alerts", Role.ANALYST).json()["alerts"]
    amount = [a for a in alerts if "amount" in str(a["details"])]
    assert amount, [a["title"] for a in alerts]
    alert_id = amount[0]["id"]
    acknowledged = monitored.call(
        "POST", f"/v1/monitoring/alerts/{alert_id}/acknowledge", Role.ANALYST,
        json={"note": f"card {PAN} looks involved; checking the amounts feed"},
    )  # fmt: skip
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["state"] == "acknowledged"
    resolved = monitored.call(
        "POST", f"/v1/monitoring/alerts/{alert_id}/resolve", Role.ANALYST, json={"note": "amounts sent in cents"}
    )
    assert resolved.json()["state"] == "resolved"
    again = monitored.call("POST", f"/v1/monitoring/alerts/{alert_id}/resolve", Role.ANALYST, json={"note": "x"})
    assert again.status_code == 409

    analyst = monitored.services.keys.verify(monitored.keys[Role.ANALYST])
    assert analyst is not None
    assert monitored.services.audit is not None
    actions = [
        r.event()
        for r in monitored.services.audit.log.records(AuditFilter(kinds=("alert_action",), subject=str(alert_id)))
    ]
    steps = [(a.action, a.actor) for a in actions if isinstance(a, AlertActionEvent)]
    assert steps[0] == ("opened", "monitoring")
    assert steps[-2:] == [("acknowledged", f"key:{analyst.key_id}"), ("resolved", f"key:{analyst.key_id}")]
    noted = next(a for a in actions if isinstance(a, AlertActionEvent) and a.action == "acknowledged")
    assert noted.note is not None
    assert PAN not in noted.note
    assert "411111" in noted.note


def test_a_new_champion_gets_its_own_monitor(monitored: Monitored, world: World) -> None:
    _score(monitored, _bodies(world.day.iloc[:100], world))
    monitored.services.registry.promote(monitored.ids["linear"], actor="tester", reason="monitor test")
    monitored.services.follow()
    _score(monitored, _bodies(world.day.iloc[100:250], world))
    monitored.feed.flush()
    assert set(monitored.feed.monitors) == {monitored.ids["linear"]}, "the old champion's monitor was retired"
    assert monitored.feed.monitors[monitored.ids["linear"]].drift.rows_seen == 150
    history = monitored.feed.services.history
    day = str(world.day["timestamp"].min().date())
    for name, rows in (("forest", 100), ("linear", 150)):
        assert sum(history.score_counts(monitored.ids[name], day, day).values()) == rows, name
    summary = monitored.call("GET", "/v1/monitoring/summary", Role.ANALYST).json()
    assert summary["model"] == monitored.ids["linear"]


def _label_body(labels: pd.DataFrame) -> dict[str, Any]:
    rows = labels.itertuples()
    return {
        "labels": [
            {"transaction_id": r.transaction_id, "is_fraud": bool(r.is_fraud), "reported_at": r.reported_at.isoformat()}
            for r in rows
        ]
    }


def _restarted(tmp_path: Path, world: World, **monitoring: Any) -> Monitored:
    services = make_services(tmp_path, store=world.registry_root / "store", monitoring=monitoring)
    keys = {role: services.keys.create(role, f"{role.value}-again", "tester")[1] for role in Role}
    client = TestClient(create_app(services, maintenance=False))
    client.__enter__()
    return Monitored(services, client, keys, {})


def test_a_restarted_service_resumes_the_open_days_of_its_monitors(tmp_path: Path, world: World) -> None:
    """Labels delivered after a restart find the transactions scored before it: the champion's monitor saved its
    open days when the service stopped and resumed them when the new service loaded the champion."""
    registry, ids = blessed_registry(tmp_path / "registry", world)
    registry.close()
    champion = ids["forest"]
    day = world.day.iloc[:300]
    labels = world.labels[world.labels["transaction_id"].isin(day["transaction_id"])]
    assert len(labels), "the day's transactions have labels"
    first = _restarted(tmp_path, world)
    try:
        scored = _score(first, _bodies(day, world))
    finally:
        first.client.__exit__(None, None, None)
        first.services.close()
    state = tmp_path / "monitoring" / "state" / f"{champion}.npz"
    assert state.exists(), "the monitor's state was saved when the service stopped"

    second = _restarted(tmp_path, world)
    try:
        delivered = second.call("POST", "/v1/labels", Role.SCORER, json=_label_body(labels))
        assert delivered.status_code == 200, delivered.text
        second.feed.flush()
        monitor = second.feed.monitors[champion]
        assert monitor.performance.unmatched_labels == 0, "every label found its transaction scored before"
        days = monitor.performance.days()
        assert sum(d.transactions for d in days) == scored
        assert sum(d.labelled for d in days) == len(labels)
        assert second.feed.refused_states == 0
    finally:
        second.client.__exit__(None, None, None)
        second.services.close()


def test_a_refused_state_is_moved_aside_and_reported(
    tmp_path: Path, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A state file the monitor cannot resume from (here: not a snapshot at all) neither stops the service nor
    is silently dropped: it is moved aside, logged and counted, and the model's monitor starts afresh."""
    registry, ids = blessed_registry(tmp_path / "registry", world)
    registry.close()
    champion = ids["forest"]
    folder = tmp_path / "monitoring" / "state"
    folder.mkdir(parents=True)
    (folder / f"{champion}.npz").write_bytes(b"not a snapshot")
    restarted = _restarted(tmp_path, world)
    try:
        _score(restarted, _bodies(world.day.iloc[:50], world), singles=0)
        restarted.feed.flush()
        assert restarted.feed.refused_states == 1
        assert champion in restarted.feed.monitors, "the model is monitored afresh"
        aside = list(folder.glob(f"{champion}.refused-*.npz"))
        assert [path.read_bytes() for path in aside] == [b"not a snapshot"]
        messages = [record.getMessage() for record in caplog.records]
        assert any("was refused and moved aside" in text and champion in text for text in messages)
    finally:
        restarted.client.__exit__(None, None, None)
        restarted.services.close()
    assert (folder / f"{champion}.npz").exists(), "a fresh state was saved in its place"


def test_a_changing_monitor_saves_its_state_while_the_service_runs(tmp_path: Path, world: World) -> None:
    """What a crash loses is bounded: the feed's thread saves a changed monitor every
    ``monitor_state_every_s`` seconds, without waiting for the service to stop."""
    registry, ids = blessed_registry(tmp_path / "registry", world)
    registry.close()
    state = tmp_path / "monitoring" / "state" / f"{ids['forest']}.npz"
    running = _restarted(tmp_path, world, monitor_state_every_s=0.05)
    try:
        _score(running, _bodies(world.day.iloc[:50], world), singles=0)
        running.feed.flush()
        deadline = time.monotonic() + 60
        while not state.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert state.exists(), "the state was saved while the service runs"
    finally:
        running.client.__exit__(None, None, None)
        running.services.close()

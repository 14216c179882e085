"""The dashboard's JSON routes and the alert lifecycle through them, with roles enforced, in a real FastAPI
app; months of history come back as one row per column and day."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient

from lifecycle.reference import SCORE
from monitoring import MonitoringServices
from monitoring.dashboard import DashboardSources, dashboard_router
from monitoring.drift import ColumnDrift, WindowReport
from tests.monitoring.dashboard.conftest import PREFIX
from tests.monitoring.streams import ScoredPool

ANALYST = {"X-Test-User": "ana", "X-Test-Roles": "analyst"}


def test_roles_are_enforced(dashboard_app: tuple[FastAPI, MonitoringServices]) -> None:
    client = TestClient(dashboard_app[0])
    assert client.get(f"{PREFIX}/alerts").status_code == 401
    assert client.get(f"{PREFIX}/alerts", headers={"X-Test-User": "bank", "X-Test-Roles": "scorer"}).status_code == 403
    assert client.post(f"{PREFIX}/alerts/1/acknowledge", json={}, headers={"X-Test-User": "x"}).status_code == 403
    assert client.get(f"{PREFIX}/dashboard").status_code == 401
    assert client.get(f"{PREFIX}/alerts", headers=ANALYST).status_code == 200


def test_without_the_applications_authentication_everyone_is_refused(
    dashboard_app: tuple[FastAPI, MonitoringServices],
) -> None:
    services = dashboard_app[1]
    sources = DashboardSources(services=services, reference=lambda content_id: None, current_model=lambda: None)
    app = FastAPI()
    app.include_router(dashboard_router(sources), prefix=PREFIX)
    client = TestClient(app)
    assert client.get(f"{PREFIX}/alerts", headers=ANALYST).status_code == 401
    assert client.post(f"{PREFIX}/alerts/1/acknowledge", json={}, headers=ANALYST).status_code == 401


def test_an_alert_is_acknowledged_and_resolved_through_the_routes(
    dashboard_app: tuple[FastAPI, MonitoringServices],
) -> None:
    client = TestClient(dashboard_app[0])
    alerts = client.get(f"{PREFIX}/alerts", params={"state": "open"}, headers=ANALYST).json()["alerts"]
    drift = next(a for a in alerts if a["kind"] == "drift" and a["subject"] == "inputs")
    assert "amount" in drift["details"]["drifted_columns"]
    answer = client.post(f"{PREFIX}/alerts/{drift['id']}/acknowledge", json={"note": "checking"}, headers=ANALYST)
    assert answer.status_code == 200
    assert (answer.json()["state"], answer.json()["assignee"]) == ("acknowledged", "ana")
    refused = client.post(f"{PREFIX}/alerts/{drift['id']}/resolve", json={"note": ""}, headers=ANALYST)
    assert refused.status_code == 422
    done = client.post(f"{PREFIX}/alerts/{drift['id']}/resolve", json={"note": "merchant mix"}, headers=ANALYST)
    assert done.json()["state"] == "resolved"
    again = client.post(f"{PREFIX}/alerts/{drift['id']}/acknowledge", json={}, headers=ANALYST)
    assert again.status_code == 409
    assert client.get(f"{PREFIX}/alerts/999999", headers=ANALYST).status_code == 404
    shown = client.get(f"{PREFIX}/alerts/{drift['id']}", headers=ANALYST).json()
    assert [e["action"] for e in shown["history"]][-2:] == ["acknowledged", "resolved"]
    assert shown["history"][-1]["actor"] == "ana"


def test_json_routes_feed_the_plots(dashboard_app: tuple[FastAPI, MonitoringServices], pool: ScoredPool) -> None:
    client = TestClient(dashboard_app[0])
    summary = client.get(f"{PREFIX}/summary", headers=ANALYST).json()
    assert summary["model"] == "model-a"
    assert summary["gate_minimum"]["auc_roc"] == 0.8
    drift = client.get(f"{PREFIX}/drift/daily", headers=ANALYST).json()["rows"]
    assert any(r["column"] == "amount" and r["drifted_windows"] > 0 for r in drift)
    windows = client.get(f"{PREFIX}/drift/windows", params={"column": "amount"}, headers=ANALYST).json()["rows"]
    assert windows
    assert windows[-1]["drifted"]
    scores = client.get(f"{PREFIX}/scores", headers=ANALYST).json()
    assert len(scores["reference"]) == len(scores["current"]) == pool.profile.column(SCORE).bins
    assert abs(sum(scores["current"]) - 1.0) < 1e-9
    performance = client.get(f"{PREFIX}/performance", headers=ANALYST).json()["days"]
    assert any(d["realised"]["auc_roc"] is not None and d["estimated"]["auc_roc"] is not None for d in performance)
    page = client.get(f"{PREFIX}/dashboard", headers=ANALYST)
    assert page.status_code == 200
    assert f'content="{PREFIX}"' in page.text
    assert client.get(f"{PREFIX}/dashboard/assets/plotly.min.js", headers=ANALYST).status_code == 200
    assert client.get(f"{PREFIX}/dashboard/assets/..%2Fauth.py", headers=ANALYST).status_code == 404
    bad = client.get(f"{PREFIX}/drift/daily", params={"since": "2020-01-01", "until": "2023-01-01"}, headers=ANALYST)
    assert bad.status_code == 422


def test_months_of_history_come_back_as_one_row_per_column_and_day(
    dashboard_app: tuple[FastAPI, MonitoringServices],
) -> None:
    app, services = dashboard_app
    start = date(2024, 1, 1)
    columns = tuple(
        ColumnDrift(f"c{i}", "input", "ks", 0.01, 0.5, 0.9, 0.02, 0.01, 0.01, "stable", False, "<= 1", 0.1, 0.1)
        for i in range(30)
    )
    for day in range(180):
        for window in range(2):  # two windows a day for six months
            moment = f"{start + timedelta(days=day)}T{window * 9:02d}:00:00+00:00"
            report = WindowReport(
                "tumbling-5000", 0, (day * 2 + window + 1) * 5000, moment, moment, 5000, 0.01, 0.1, columns
            )
            services.history.record_window("model-months", report)
    client = TestClient(app)
    params = {"model": "model-months", "since": "2024-01-01", "until": "2024-06-28"}
    rows = client.get(f"{PREFIX}/drift/daily", params=params, headers=ANALYST).json()["rows"]
    assert len(rows) == 180 * 30
    assert {r["windows"] for r in rows} == {2}


def test_out_of_range_parameters_are_refused_or_bounded_never_a_server_error(
    dashboard_app: tuple[FastAPI, MonitoringServices],
) -> None:
    client = TestClient(dashboard_app[0])
    earliest = client.get(f"{PREFIX}/scores", params={"until": "0001-01-01"}, headers=ANALYST)
    assert earliest.status_code == 200
    assert earliest.json()["since"] == "0001-01-01"
    assert client.get(f"{PREFIX}/alerts", params={"offset": 2**63}, headers=ANALYST).status_code == 422
    assert client.get(f"{PREFIX}/alerts/{2**63}", headers=ANALYST).status_code == 422
    assert client.post(f"{PREFIX}/alerts/{2**64}/resolve", json={"note": "x"}, headers=ANALYST).status_code == 422

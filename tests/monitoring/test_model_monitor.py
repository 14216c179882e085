"""The monitor the API and the worker call, end to end on a drifting seeded stream with late labels: drift
alerts deduplicated and naming the moved column, history for the dashboard, and a day under the gate's
minimum raising a performance alert."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from monitoring import AlertState, MonitoringSettings, open_services
from monitoring.alerts import AlertKind, Severity
from monitoring.errors import MonitorInputError
from monitoring.model_monitor import ModelMonitor
from tests.monitoring.conftest import RecordingSink
from tests.monitoring.streams import ScoredPool


def test_a_drifting_stream_leaves_alerts_and_history(monitored: tuple[str, str]) -> None:
    url, model = monitored
    services = open_services(MonitoringSettings(monitoring_url=SecretStr(url)), RecordingSink())
    try:
        alerts = services.alerts.list_alerts(kind=AlertKind.DRIFT)
        inputs = next(a for a in alerts if a.subject == "inputs")
        assert inputs.occurrences > 1, "every drifted window folds into the one alert"
        assert inputs.details["drifted_columns"][0] == "amount"
        assert inputs.severity is Severity.CRITICAL
        performance = services.alerts.list_alerts(kind=AlertKind.PERFORMANCE)
        assert any(a.subject == "auc_roc:realised" and "gate's minimum" in a.summary for a in performance)
        assert services.history.drift_daily(model, None, "2000-01-01", "2100-01-01")
        assert services.history.score_counts(model, "2000-01-01", "2100-01-01")
        assert all(a.state in (AlertState.OPEN, AlertState.ACKNOWLEDGED, AlertState.RESOLVED) for a in alerts)
    finally:
        services.close()


def test_a_frame_without_the_model_inputs_is_refused(pool: ScoredPool, tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/m.sqlite"
    services = open_services(MonitoringSettings(monitoring_url=SecretStr(url)), RecordingSink())
    try:
        monitor = ModelMonitor(pool.profile, services, model="m")
        with pytest.raises(MonitorInputError, match="card_mean_amount_7d"):
            monitor.update(pool.stream.drop(columns=["card_mean_amount_7d"]).iloc[:10])
    finally:
        services.close()

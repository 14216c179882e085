"""The monitor the API and the worker call, end to end on a drifting seeded stream with late labels: drift
alerts deduplicated and naming the moved column, history for the dashboard, and a day under the gate's
minimum raising a performance alert."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pydantic import SecretStr

from monitoring import AlertState, MonitoringServices, MonitoringSettings, open_services
from monitoring.alerts import AlertKind, Severity
from monitoring.errors import MonitorInputError
from monitoring.model_monitor import ModelMonitor, MonitorConfig
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


def test_small_batches_are_gathered_before_the_monitors_run(pool: ScoredPool, services: MonitoringServices) -> None:
    config = MonitorConfig(buffer_rows=1_000, buffer_seconds=3_600)
    monitor = ModelMonitor(pool.profile, services, model="m", config=config)
    for start in range(0, 900, 300):
        monitor.update(pool.stream.iloc[start : start + 300])
    assert monitor.drift.rows_seen == 0
    assert monitor.performance.stream_clock is None
    monitor.update(pool.stream.iloc[900:1_200])
    assert monitor.drift.rows_seen == 1_200
    assert monitor.performance.stream_clock == pool.stream["timestamp"].iloc[:1_200].max()
    impatient = ModelMonitor(pool.profile, services, model="m2", config=MonitorConfig(buffer_seconds=0))
    assert impatient.update(pool.stream.iloc[:10]).drift.rows_seen == 10


def test_a_restarted_monitor_resumes_its_open_days(
    pool: ScoredPool, services: MonitoringServices, tmp_path: Path
) -> None:
    stream = pool.stream.iloc[:6_000]
    before = ModelMonitor(pool.profile, services, model="m", config=MonitorConfig(maturity_days=30))
    for start in range(0, len(stream), 1_000):
        before.update(stream.iloc[start : start + 1_000])
    path = before.save_state(tmp_path / "performance.npz")
    after = ModelMonitor(pool.profile, services, model="m", config=MonitorConfig(maturity_days=30)).restore_state(path)
    frauds = stream.loc[stream["is_fraud"], ["transaction_id", "timestamp"]]
    labels = frauds.assign(is_fraud=True, reported_at=frauds["timestamp"] + pd.Timedelta(days=1))
    for monitor in (before, after):
        monitor.deliver_labels(labels.drop(columns=["timestamp"]))
    assert after.performance.days() == before.performance.days()
    assert sum(day.frauds for day in after.performance.days()) == len(frauds)


def test_a_significant_but_negligible_shift_raises_no_alert_and_a_material_one_does(
    pool: ScoredPool, services: MonitoringServices
) -> None:
    """On windows of 20,000 transactions, amounts 5 % higher are significant (the test's adjusted p-value is far
    under the level) but negligible (PSI 0.004): no alert. Amounts 60 % higher still raise one. The history keeps
    each window's p-value and PSI either way."""
    settings = MonitoringSettings(drift_windows="tumbling-20000", monitor_buffer_rows=1)
    config = MonitorConfig.from_settings(settings)
    assert config.min_psi == settings.drift_min_psi == 0.05
    monitor = ModelMonitor(pool.profile, services, model="m", config=config)
    stream = pool.shuffled(21, rows=40_000).sort_values("timestamp", kind="mergesort").reset_index(drop=True)
    negligible, material = stream.iloc[:20_000], stream.iloc[20_000:]
    for start in range(0, 20_000, 5_000):
        monitor.update(negligible.iloc[start : start + 5_000].assign(amount=lambda f: f["amount"] * 1.05))
    assert services.alerts.list_alerts(kind=AlertKind.DRIFT) == []
    (quiet,) = services.history.drift_windows("m", "amount", None, "2000-01-01", "2100-01-01", 10)
    assert quiet["adjusted_p_value"] <= config.level, "the shift is significant: only its size keeps it quiet"
    assert 0.0 < quiet["psi"] < config.min_psi
    assert quiet["drifted"] is False

    for start in range(0, 20_000, 5_000):
        monitor.update(material.iloc[start : start + 5_000].assign(amount=lambda f: f["amount"] * 1.6))
    (alert,) = services.alerts.list_alerts(kind=AlertKind.DRIFT)
    assert alert.subject == "inputs"
    assert alert.details["drifted_columns"][0] == "amount"
    assert alert.details["min_psi"] == config.min_psi
    windows = services.history.drift_windows("m", "amount", None, "2000-01-01", "2100-01-01", 10)
    assert [w["drifted"] for w in windows] == [False, True]
    assert windows[1]["psi"] >= config.min_psi

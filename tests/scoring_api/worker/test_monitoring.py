"""Committed batches reach the monitor of the model that scored them (drift over the scored rows, score counts)
and the labels the worker applied reach its realised performance; a model without a reference profile is not
monitored, and the stream goes on."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from features import OfflineFeatureEngine, model_input, model_input_names
from lifecycle.reference import build_reference_profile
from model_engine import load_model, save_model
from monitoring import MonitorConfig, MonitoringSettings, WindowSpec, open_services
from scoring_api.recording import MonitorFeed
from scoring_api.worker import WorkerSettings, build_worker
from scoring_api.worker.monitoring import MonitorObserver
from tests.scoring_api import support as service_support
from tests.scoring_api.support import World
from tests.scoring_api.worker import support
from tests.scoring_api.worker.conftest import Setup, WorkerThread, in_process_worker

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(600)]


class RecordedActions:
    """The alert actions the monitors take (the audit trail's role)."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def record_alert_action(self, event: Any) -> None:
        self.events.append(event)


def _monitored_champion(setup: Setup, world: World, folder: Path) -> str:
    """The world's forest saved again (another artifact: its golden batch differs), registered with a reference
    profile of its history in its lineage, blessed and promoted."""
    features = OfflineFeatureEngine(world.feature_set).compute(world.history, world.labels)
    names = model_input_names(world.feature_set)
    inputs = model_input(world.history, features, world.feature_set)
    model = load_model(world.artifacts["forest"], backend="numpy")
    scores = model.score(inputs)
    save_model(model, folder / "forest-monitored", golden_input=inputs[:64])
    computed = features.reset_index(drop=True)
    frame = world.history.reset_index(drop=True).join(computed.drop(columns=world.history.columns, errors="ignore"))
    profile = build_reference_profile(frame, scores=scores, inputs=names, labels=world.history["is_fraud"])
    registry = setup.registry()
    try:
        lineage = replace(service_support.lineage(world, "forest"), reference=profile.to_dict(), code_version="mon")
        version = registry.register(folder / "forest-monitored", name="forest-monitored", lineage=lineage)
        service_support.judge(registry, version.content_id, world, champion=True)
        registry.promote(version.content_id)
        return version.content_id
    finally:
        registry.close()


def test_batches_and_labels_reach_the_monitor_of_the_model_that_scored_them(
    setup: Setup, world: World, tmp_path: Path
) -> None:
    champion = _monitored_champion(setup, world, tmp_path)
    settings = MonitoringSettings(monitoring_url=f"sqlite:///{tmp_path}/monitoring.sqlite")
    services = open_services(settings, RecordedActions())
    registry = setup.registry()
    config = MonitorConfig(windows=(WindowSpec.parse("tumbling-100"),))
    feed = MonitorFeed(services, lambda content_id: registry.get(content_id).lineage, config=config)
    observer = MonitorObserver(feed)
    day, labels = world.day, world.labels[world.labels["transaction_id"].isin(world.day["transaction_id"])]
    support.produce_labels(setup.bootstrap, setup.topics.labels, labels)
    support.produce(setup.bootstrap, setup.topics.transactions, day)
    worker = in_process_worker(setup)
    worker.observers.append(observer)
    thread = WorkerThread(worker, until=lambda report: report.consumed >= len(day))
    thread.start()
    thread.join(300)
    assert thread.error is None
    observer.flush()
    assert feed.failures == 0
    assert feed.dropped_rows == 0
    history = services.history
    first, last = str(day["timestamp"].min().date()), str(day["timestamp"].max().date())
    assert champion in history.models()
    assert history.drift_daily(champion, None, first, last), "drift windows of the scored rows were recorded"
    assert sum(history.score_counts(champion, first, last).values()) == len(day)
    monitor = observer.monitor(champion)
    assert monitor is not None
    assert monitor.performance.stream_clock is not None
    observer.close()
    registry.close()


def test_a_model_without_a_reference_profile_is_not_monitored(setup: Setup, world: World, tmp_path: Path) -> None:
    model = load_model(world.artifacts["forest"], backend="numpy")
    save_model(model, tmp_path / "forest-unprofiled", golden_input=world.X[:64])
    registry = setup.registry()
    lineage = replace(service_support.lineage(world, "forest"), reference=None, code_version="unprofiled")
    unprofiled = registry.register(tmp_path / "forest-unprofiled", name="forest-unprofiled", lineage=lineage)
    settings = MonitoringSettings(monitoring_url=f"sqlite:///{tmp_path}/monitoring.sqlite")
    services = open_services(settings, RecordedActions())
    feed = MonitorFeed(services, lambda content_id: registry.get(content_id).lineage)
    assert feed.reference(unprofiled.content_id) is None
    assert feed.reference(registry.get("champion").content_id) is not None, "the champion has its profile"
    feed.close()
    registry.close()


def test_monitoring_is_on_by_default_and_off_when_the_settings_say_so(
    setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUD_MONITORING_URL", f"sqlite:///{tmp_path}/monitoring.sqlite")
    monkeypatch.setenv("FRAUD_AUDIT_URL", f"sqlite:///{tmp_path}/audit.sqlite")
    monkeypatch.setenv("FRAUD_MONITOR_STATE_DIR", str(tmp_path / "state"))
    assert WorkerSettings().monitor, "a worker monitors its models unless told not to"
    on = build_worker(setup.config(monitor=True), 0)
    assert [type(observer) for observer in on.observers] == [MonitorObserver]
    observer = on.observers[0]
    assert isinstance(observer, MonitorObserver)
    registry = setup.registry()
    champion = registry.get("champion").content_id
    registry.close()
    assert observer.monitor(champion) is not None, "the champion's monitor is built before the first batch"
    slot_state = tmp_path / "state" / "worker-0" / f"{champion}.npz"
    assert observer.feed.state_path(champion) == slot_state, "each slot keeps its monitors' state in its own folder"
    observer.close()
    assert (tmp_path / "monitoring.sqlite").exists(), "monitoring's settings say where its history is kept"
    off = build_worker(setup.config(monitor=False), 0)
    assert off.observers == []

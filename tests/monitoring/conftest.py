"""Fixtures of the monitoring tests: the seeded scored pool (see :mod:`tests.monitoring.streams`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from pydantic import SecretStr

from monitoring import MonitoringServices, MonitoringSettings, open_services
from monitoring.alerts import AlertEvent
from monitoring.drift import WindowSpec
from monitoring.model_monitor import ModelMonitor, MonitorConfig
from tests.monitoring.streams import ScoredPool, scored_pool


@pytest.fixture(scope="session")
def pool() -> ScoredPool:
    return scored_pool()


class RecordingSink:
    """An audit sink that keeps the events it receives (and can be told to fail)."""

    def __init__(self) -> None:
        self.events: list[AlertEvent] = []
        self.fail = False

    def record_alert_action(self, event: AlertEvent) -> None:
        if self.fail:
            raise RuntimeError("the audit trail is unavailable")
        self.events.append(event)


def database_urls() -> list[str]:
    return ["sqlite", "postgresql"]


@pytest.fixture(params=database_urls())
def monitoring_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh monitoring database: SQLite, and PostgreSQL when the suite provides ``postgres_url``."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitoring.sqlite'}"
    try:
        url: str = request.getfixturevalue("postgres_url")
    except pytest.FixtureLookupError:
        pytest.skip("no postgres_url fixture in this suite")
    return url


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def services(monitoring_url: str, sink: RecordingSink) -> Iterator[MonitoringServices]:
    opened = open_services(MonitoringSettings(monitoring_url=SecretStr(monitoring_url)), sink)
    yield opened
    opened.close()


def drifting_stream(pool: ScoredPool, *, rows: int = 20_000, change: int = 8_000, seed: int = 4) -> pd.DataFrame:
    """A stream whose amounts grow by 60 % from row ``change`` on, spread over the stream half's days."""
    stream = pool.shuffled(seed, rows=rows)
    stream = stream.sort_values("timestamp", kind="mergesort").reset_index(drop=True)
    stream.loc[change:, "amount"] = stream.loc[change:, "amount"] * 1.6
    return stream


@pytest.fixture(scope="session")
def monitored(pool: ScoredPool, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A monitoring database with history, performance and alerts: a drifting stream monitored end to end,
    its labels delivered. Returns the database URL and the model id."""
    url = f"sqlite:///{tmp_path_factory.mktemp('monitored') / 'monitoring.sqlite'}"
    opened = open_services(MonitoringSettings(monitoring_url=SecretStr(url)), RecordingSink())
    config = MonitorConfig(windows=(WindowSpec.tumbling(2_000), WindowSpec.sliding(8_000, 2_000)), maturity_days=30)
    monitor = ModelMonitor(pool.profile, opened, model="model-a", config=config)
    stream = drifting_stream(pool)
    for start in range(0, len(stream), 1_000):
        monitor.update(stream.iloc[start : start + 1_000])
    monitor.flush()
    labels = stream.loc[stream["is_fraud"], ["transaction_id", "timestamp"]]
    labels = labels.assign(is_fraud=True, reported_at=labels["timestamp"] + pd.Timedelta(days=31))
    monitor.deliver_labels(labels.drop(columns=["timestamp"]))
    opened.close()
    return url, "model-a"

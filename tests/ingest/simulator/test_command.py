"""``fraud simulate``: to Parquet, to a real Kafka broker at a rate, and its pacing."""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ingest.kafka import BrokerState
from ingest.simulator import SimulatorConfig, SimulatorError, labels_path, simulate
from ingest.simulator.stream import send_at_rate
from scoring_api.cli import app

SMALL = ["--days", "2", "--customers", "300", "--terminals", "600", "--seed", "4"]


def test_simulate_writes_the_same_stream_as_the_library(tmp_path: Path) -> None:
    out = tmp_path / "sim.parquet"
    result = CliRunner().invoke(app, ["simulate", "--preset", "realistic", *SMALL, "--out", str(out)])
    assert result.exit_code == 0, result.output
    expected = simulate(SimulatorConfig.preset("realistic", days=2, n_customers=300, n_terminals=600, seed=4))
    written = pd.read_parquet(out)
    pd.testing.assert_frame_equal(written, expected.transactions)
    pd.testing.assert_frame_equal(pd.read_parquet(labels_path(out)), expected.labels)
    assert f"{len(expected.transactions):,} transactions over 2 days" in result.output


def test_simulate_needs_a_destination() -> None:
    result = CliRunner().invoke(app, ["simulate", *SMALL])
    assert result.exit_code == 2
    assert "--out FILE.parquet, --kafka, or both" in result.output


def test_simulate_refuses_unknown_presets(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["simulate", "--preset", "nope", "--out", str(tmp_path / "x.parquet")])
    assert result.exit_code == 2
    assert "unknown simulator preset 'nope'" in result.output


class FakeClock:
    """A clock that moves only when slept on (the process edge)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_paced_sending_keeps_order_and_schedule() -> None:
    frame = pd.DataFrame({"n": range(250)})
    seen: list[int] = []

    def send(chunk: pd.DataFrame) -> int:
        seen.extend(chunk["n"].tolist())
        return len(chunk)

    clock = FakeClock()
    report = send_at_rate(frame, send, 100.0, clock=clock, sleep=clock.sleep)
    assert seen == list(range(250))
    assert report.sent == 250
    # 5 rows per 50 ms tick: the last chunk leaves 245 / 100 s after the first.
    assert report.seconds == pytest.approx(2.45)
    assert report.rate == pytest.approx(250 / 2.45)
    assert len(clock.slept) == 49


def test_unthrottled_sending_never_sleeps() -> None:
    clock = FakeClock()
    report = send_at_rate(pd.DataFrame({"n": range(25_000)}), len, None, clock=clock, sleep=clock.sleep)
    assert report.sent == 25_000
    assert clock.slept == []


def test_rates_must_be_positive() -> None:
    with pytest.raises(SimulatorError, match="rate must be positive"):
        send_at_rate(pd.DataFrame({"n": [1]}), len, 0.0)


@pytest.mark.kafka
def test_simulate_produces_every_transaction_to_kafka(kafka_broker: BrokerState, tmp_path: Path) -> None:
    from kafka import KafkaConsumer

    topic = f"simulated-{uuid.uuid4().hex[:8]}"
    out = tmp_path / "sim.parquet"
    args = ["simulate", *SMALL, "--out", str(out), "--kafka", "--rate", "20000"]
    result = CliRunner().invoke(app, [*args, "--bootstrap", kafka_broker.bootstrap_servers, "--topic", topic])
    assert result.exit_code == 0, result.output
    expected = pd.read_parquet(out)
    assert f"produced {len(expected):,} transactions to '{topic}'" in result.output

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka_broker.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
    )
    try:
        keys = [(m.key.decode(), m.value) for m in consumer]
    finally:
        consumer.close()
    assert len(keys) == len(expected)
    assert sorted(k for k, _ in keys) == sorted(expected["card_token"])
    ids = sorted(v.split(b'"transaction_id":"')[1].split(b'"')[0].decode() for _, v in keys)
    assert ids == sorted(expected["transaction_id"])

"""`fraud demo` end to end against the real broker: every simulated transaction comes back through the group."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from ingest.kafka import BrokerState
from ingest.settings import IngestSettings
from scoring_api.demo import DemoOptions, StepResult, run_demo

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def test_the_demo_consumes_back_every_transaction_it_produced(kafka_broker: BrokerState) -> None:
    suffix = uuid.uuid4().hex[:8]
    settings = IngestSettings(
        kafka_run_dir=Path(kafka_broker.run_dir),
        kafka_port=kafka_broker.port,
        kafka_controller_port=kafka_broker.controller_port,
        topic_transactions=f"transactions-{suffix}",
        topic_labels=f"labels-{suffix}",
        topic_scores=f"scores-{suffix}",
        topic_dead_letters=f"transactions-{suffix}.dlq",
    )
    reported: list[StepResult] = []
    context = run_demo(settings, DemoOptions(days=1, consumers=2, timeout_s=120), reported.append)

    steps = {result.name: result for result in reported}
    assert list(steps) == ["broker and topics", "simulate", "consumer group", "produce", "consume"]
    assert context.started_broker is None, "the running broker is reused, not restarted"
    assert steps["broker and topics"].count == 4
    simulated = steps["simulate"].count
    assert simulated > 5_000
    assert steps["produce"].count == simulated
    assert steps["consume"].count == simulated
    assert "0 rejected, 0 missing" in steps["consume"].note
    assert steps["consume"].rate is not None
    assert steps["consumer group"].rate is None

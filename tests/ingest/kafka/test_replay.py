"""Against the real broker: a transactions topic replays from its first offset (training reads it this way)."""

from __future__ import annotations

import uuid

import pytest

from ingest.kafka import BrokerState, TopicSpec, TransactionProducer, ensure_topics
from ingest.simulator import SimulatorConfig, simulate
from ingest.sources import replay_kafka

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def test_replay_reads_every_transaction_of_the_topic(kafka_broker: BrokerState) -> None:
    sent = simulate(SimulatorConfig.preset("handbook", days=1, seed=2, n_customers=300, n_terminals=600)).transactions
    topic = f"train-replay-{uuid.uuid4().hex[:10]}"
    ensure_topics(kafka_broker.bootstrap_servers, [TopicSpec(topic, 3)])
    with TransactionProducer(kafka_broker.bootstrap_servers, topic) as producer:
        assert producer.send_frame(sent) == len(sent)
        producer.flush()
    first = replay_kafka(kafka_broker.bootstrap_servers, topic, idle_seconds=3.0)
    assert sorted(first["transaction_id"]) == sorted(sent["transaction_id"])
    assert "kafka_offset" not in first.columns
    # A replay commits nothing: a second replay reads the whole topic again.
    second = replay_kafka(kafka_broker.bootstrap_servers, topic, idle_seconds=3.0)
    assert len(second) == len(sent)

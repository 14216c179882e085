"""The transactional producer against the real broker: input offsets added ahead of the outputs (without waiting
for the coordinator) commit with the transaction and vanish with an aborted one, and a producer fenced by its
successor is told so (:class:`FencedError`), whichever call meets the fence."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kafka import KafkaConsumer
from kafka.structs import OffsetAndMetadata, TopicPartition

from ingest.kafka import BrokerState, FencedError, TopicSpec, TransactionalProducer, ensure_topics, read_topic


@pytest.fixture
def topic(kafka_broker: BrokerState) -> str:
    name = f"txn-{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_broker.bootstrap_servers, [TopicSpec(name, 1)])
    return name


@pytest.fixture
def producer(kafka_broker: BrokerState) -> Iterator[TransactionalProducer]:
    producer = TransactionalProducer(kafka_broker.bootstrap_servers, f"txn-{uuid.uuid4().hex[:8]}")
    producer.init()
    yield producer
    producer.close()


def _committed(bootstrap: str, group: str, tp: TopicPartition) -> tuple[int, str] | None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, isolation_level="read_committed")
    try:
        found = consumer.committed(tp, metadata=True)
    finally:
        consumer.close()
    return None if found is None else (found.offset, found.metadata)


@pytest.mark.kafka
def test_offsets_added_ahead_commit_with_the_outputs_and_vanish_with_an_aborted_transaction(
    kafka_broker: BrokerState, topic: str, producer: TransactionalProducer
) -> None:
    bootstrap, group = kafka_broker.bootstrap_servers, f"group-{uuid.uuid4().hex[:8]}"
    tp = TopicPartition(topic, 0)
    for k, (offset, outcome) in enumerate([(10, "commit"), (20, "abort"), (30, "commit")]):
        producer.begin()
        producer.send_offsets({tp: OffsetAndMetadata(offset, f"batch-{k}", -1)}, group)  # before any output
        producer.send(topic, f"output-{k}".encode(), key=b"k")
        if outcome == "commit":
            producer.commit()
            assert _committed(bootstrap, group, tp) == (offset, f"batch-{k}")
        else:
            producer.abort()
            assert _committed(bootstrap, group, tp) == (10, "batch-0")  # the aborted offsets never show
    values = [m.value for m in read_topic(bootstrap, topic, expected=2)]
    assert values == [b"output-0", b"output-2"]


@pytest.mark.kafka
def test_a_fenced_producer_is_told_so_when_its_offsets_meet_the_fence(
    kafka_broker: BrokerState, topic: str, producer: TransactionalProducer
) -> None:
    group, tp = f"group-{uuid.uuid4().hex[:8]}", TopicPartition(topic, 0)
    successor = TransactionalProducer(kafka_broker.bootstrap_servers, producer.transactional_id)
    try:
        successor.init()  # the same transactional id: `producer` is now a zombie
        producer.begin()
        producer.send_offsets({tp: OffsetAndMetadata(5, "zombie", -1)}, group)  # refused on the I/O thread
        with pytest.raises(FencedError, match="took over"):
            producer.commit()
        with pytest.raises(FencedError, match="took over"):  # and every later call says the same
            producer.begin()
    finally:
        successor.close()
    assert _committed(kafka_broker.bootstrap_servers, group, tp) is None

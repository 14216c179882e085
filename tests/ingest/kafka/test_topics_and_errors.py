"""Against the real broker: idempotent topic set-up, and errors that surface instead of vanishing."""

from __future__ import annotations

import contextlib
import uuid

import orjson
import pandas as pd
import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient

from ingest.kafka import (
    BrokerState,
    ConsumeError,
    ProduceError,
    TopicSpec,
    TransactionConsumer,
    TransactionProducer,
    encode_frame,
    ensure_topics,
    system_topics,
)
from ingest.settings import IngestSettings
from tests.conftest import free_tcp_ports

pytestmark = pytest.mark.kafka


def _suffix() -> str:
    return uuid.uuid4().hex[:10]


def _frame(n: int, amount_digits: int = 2) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "transaction_id": [f"t{i}" for i in range(n)],
            "timestamp": pd.date_range("2018-04-01", periods=n, freq="s", tz="UTC"),
            "card_token": [f"c{i % 7}" for i in range(n)],
            "customer_id": [f"u{i % 7}" for i in range(n)],
            "terminal_id": [f"m{i}" for i in range(n)],
            "amount": [round(10.0 + i, amount_digits) for i in range(n)],
        }
    )


def test_system_topics_are_created_once_with_their_partitions(kafka_broker: BrokerState) -> None:
    suffix = _suffix()
    settings = IngestSettings(
        topic_transactions=f"transactions-{suffix}",
        topic_labels=f"labels-{suffix}",
        topic_scores=f"scores-{suffix}",
        topic_dead_letters=f"transactions-{suffix}.dlq",
        topic_partitions=4,
    )
    topics = system_topics(settings)
    names = [t.name for t in topics]
    assert ensure_topics(kafka_broker.bootstrap_servers, topics) == names
    assert ensure_topics(kafka_broker.bootstrap_servers, topics) == []
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap_servers)
    try:
        described = {t["name"]: len(t["partitions"]) for t in admin.describe_topics(names)}
    finally:
        admin.close()
    assert described == {names[0]: 4, names[1]: 4, names[2]: 4, names[3]: 1}


def test_an_unreachable_broker_is_reported_with_what_to_do() -> None:
    (port,) = free_tcp_ports(1)
    with pytest.raises(ProduceError, match="fraud kafka start"):
        TransactionProducer(f"127.0.0.1:{port}", "transactions", bootstrap_timeout_ms=1000)
    with pytest.raises(ConsumeError, match="fraud kafka start"):
        TransactionConsumer(f"127.0.0.1:{port}", "group", ["transactions"], bootstrap_timeout_ms=1000)


def test_subscribing_to_a_missing_topic_is_refused(kafka_broker: BrokerState) -> None:
    with pytest.raises(ConsumeError, match="do not exist"):
        TransactionConsumer(kafka_broker.bootstrap_servers, "group", [f"missing-{_suffix()}"])


def test_records_the_broker_refuses_fail_the_flush(kafka_broker: BrokerState) -> None:
    topic = f"tiny-{_suffix()}"
    # The broker accepts record batches of at most 100 bytes on this topic: smaller than any one transaction.
    ensure_topics(kafka_broker.bootstrap_servers, [TopicSpec(topic, 1, configs={"max.message.bytes": "100"})])
    producer = TransactionProducer(kafka_broker.bootstrap_servers, topic, linger_ms=50)
    producer.send_frame(_frame(20))
    with pytest.raises(ProduceError, match=topic):
        producer.flush(timeout_s=30)
    with contextlib.suppress(ProduceError):  # the refused records are still refused: closing may say so again
        producer.close(timeout_s=5)


def test_bad_messages_go_to_the_dead_letter_topic_with_their_reason(kafka_broker: BrokerState) -> None:
    topic, dlq = f"mixed-{_suffix()}", f"mixed-{_suffix()}.dlq"
    ensure_topics(kafka_broker.bootstrap_servers, [TopicSpec(topic, 1), TopicSpec(dlq, 1)])
    keys, values = encode_frame(_frame(10))
    bad = orjson.loads(values[4])
    bad["amount"] = "5.00"
    values[4] = orjson.dumps(bad)
    values[7] = b"{truncated"
    with TransactionProducer(kafka_broker.bootstrap_servers, topic) as producer:
        for key, value in zip(keys, values, strict=True):
            producer._producer.send(topic, key=key, value=value)  # raw bytes, as a faulty upstream would send
        producer.flush()

    with TransactionConsumer(kafka_broker.bootstrap_servers, f"g-{topic}", [topic], dead_letter_topic=dlq) as consumer:
        received, rejected = 0, []
        while received + len(rejected) < 10:
            batch = consumer.poll_batch(timeout_s=1.0)
            if batch is None:
                continue
            received += len(batch.frame)
            rejected.extend(batch.rejected)
            consumer.commit(batch)
    assert received == 8
    assert [(r.offset, r.key) for r in rejected] == [(4, keys[4]), (7, keys[7])]
    assert "amount must be a number" in rejected[0].reason
    assert "not JSON" in rejected[1].reason

    reader = KafkaConsumer(bootstrap_servers=kafka_broker.bootstrap_servers, enable_auto_commit=False)
    reader.assign([TopicPartition(dlq, 0)])
    reader.seek_to_beginning()
    letters = []
    while len(letters) < 2:
        for messages in reader.poll(timeout_ms=1000).values():
            letters.extend(messages)
    reader.close()
    assert [m.value for m in letters] == [values[4], values[7]]
    headers = [dict(m.headers) for m in letters]
    assert headers[0]["reason"].decode() == rejected[0].reason
    assert headers[1]["origin"] == f"{topic}/0/7".encode()
    assert (headers[1]["source-topic"], headers[1]["source-partition"], headers[1]["source-offset"]) == (
        topic.encode(),
        b"0",
        b"7",
    )


def test_keys_land_where_kafkas_default_partitioner_puts_them(kafka_broker: BrokerState) -> None:
    ours, reference = f"ours-{_suffix()}", f"reference-{_suffix()}"
    ensure_topics(kafka_broker.bootstrap_servers, [TopicSpec(ours, 5), TopicSpec(reference, 5)])
    frame = _frame(60)
    frame["card_token"] = [f"card-{i}" for i in range(60)]
    with TransactionProducer(kafka_broker.bootstrap_servers, ours) as producer:
        producer.send_frame(frame)
    keys, values = encode_frame(frame)
    with TransactionProducer(kafka_broker.bootstrap_servers, reference) as plain:
        for key, value in zip(keys, values, strict=True):
            plain._producer.send(reference, key=key, value=value)  # kafka-python's own partitioner

    def partition_of_each_key(topic: str) -> dict[bytes, int]:
        reader = KafkaConsumer(bootstrap_servers=kafka_broker.bootstrap_servers, enable_auto_commit=False)
        reader.assign([TopicPartition(topic, p) for p in range(5)])
        reader.seek_to_beginning()
        found: dict[bytes, int] = {}
        while len(found) < 60:
            for tp, messages in reader.poll(timeout_ms=1000).items():
                found.update((m.key, tp.partition) for m in messages)
        reader.close()
        return found

    placed = partition_of_each_key(ours)
    assert placed == partition_of_each_key(reference)
    assert len(set(placed.values())) > 1

"""Kafka for ingest: the local broker, topic set-up, the wire formats, producers and consumers.

Wire formats: transactions in :mod:`ingest.kafka.codec`, labels in :mod:`ingest.kafka.labels`, dead letters in
:mod:`ingest.kafka.dead_letters`. Delivery: :mod:`ingest.kafka.consumer` (micro-batches, at least once on its
own, exactly once through the transactional producer of :mod:`ingest.kafka.transactions`). kafka-python is
imported lazily, inside the classes, so that the command line stays quick to answer.
"""

from __future__ import annotations

from ingest.kafka.broker import BrokerState, LocalKafkaBroker
from ingest.kafka.broker_config import BrokerConfig
from ingest.kafka.codec import DecodedBatch, RejectedValue, decode_transaction, decode_values, encode_frame
from ingest.kafka.consumer import MicroBatch, Partition, TransactionConsumer, micro_batch
from ingest.kafka.dead_letters import DeadLetter, RejectedMessage, dead_letter
from ingest.kafka.errors import (
    BrokerError,
    BrokerStartError,
    CommitFailedError,
    ConsumeError,
    EncodeError,
    FencedError,
    KafkaIngestError,
    ProduceError,
    TopicSetupError,
    TransactionAbortedError,
)
from ingest.kafka.group_offsets import start_group_at_end
from ingest.kafka.labels import DecodedLabels, decode_labels, encode_labels
from ingest.kafka.producer import TransactionProducer, send_raw
from ingest.kafka.ranges import RangeReader, committed_reader, end_offsets, read_topic
from ingest.kafka.topics import TopicSpec, ensure_topics, system_topics
from ingest.kafka.transactions import TransactionalProducer

__all__ = [
    "BrokerConfig",
    "BrokerError",
    "BrokerStartError",
    "BrokerState",
    "CommitFailedError",
    "ConsumeError",
    "DeadLetter",
    "DecodedBatch",
    "DecodedLabels",
    "EncodeError",
    "FencedError",
    "KafkaIngestError",
    "LocalKafkaBroker",
    "MicroBatch",
    "Partition",
    "ProduceError",
    "RangeReader",
    "RejectedMessage",
    "RejectedValue",
    "TopicSetupError",
    "TopicSpec",
    "TransactionAbortedError",
    "TransactionConsumer",
    "TransactionProducer",
    "TransactionalProducer",
    "committed_reader",
    "dead_letter",
    "decode_labels",
    "decode_transaction",
    "decode_values",
    "encode_frame",
    "encode_labels",
    "end_offsets",
    "ensure_topics",
    "micro_batch",
    "read_topic",
    "send_raw",
    "start_group_at_end",
    "system_topics",
]

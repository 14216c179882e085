"""Kafka for ingest: the local broker, topic set-up, the wire format, and the transaction producer and consumer.

Wire format and delivery semantics are described in :mod:`ingest.kafka.codec` and :mod:`ingest.kafka.consumer`.
kafka-python is imported lazily, inside the classes, so that the command line stays quick to answer.
"""

from __future__ import annotations

from ingest.kafka.broker import BrokerState, LocalKafkaBroker
from ingest.kafka.broker_config import BrokerConfig
from ingest.kafka.codec import DecodedBatch, RejectedValue, decode_transaction, decode_values, encode_frame
from ingest.kafka.consumer import MicroBatch, RejectedMessage, TransactionConsumer
from ingest.kafka.errors import (
    BrokerError,
    BrokerStartError,
    CommitFailedError,
    ConsumeError,
    EncodeError,
    KafkaIngestError,
    ProduceError,
    TopicSetupError,
)
from ingest.kafka.group_offsets import start_group_at_end
from ingest.kafka.producer import TransactionProducer
from ingest.kafka.topics import TopicSpec, ensure_topics, system_topics

__all__ = [
    "BrokerConfig",
    "BrokerError",
    "BrokerStartError",
    "BrokerState",
    "CommitFailedError",
    "ConsumeError",
    "DecodedBatch",
    "EncodeError",
    "KafkaIngestError",
    "LocalKafkaBroker",
    "MicroBatch",
    "ProduceError",
    "RejectedMessage",
    "RejectedValue",
    "TopicSetupError",
    "TopicSpec",
    "TransactionConsumer",
    "TransactionProducer",
    "decode_transaction",
    "decode_values",
    "encode_frame",
    "ensure_topics",
    "start_group_at_end",
    "system_topics",
]

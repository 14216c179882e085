"""Errors of the Kafka side of ingest: each says what went wrong and what to do next."""

from __future__ import annotations

from ingest.errors import IngestError


class KafkaIngestError(IngestError):
    """Root of the errors raised by :mod:`ingest.kafka`."""


class BrokerError(KafkaIngestError):
    """The local broker could not be started, reached or stopped."""


class BrokerStartError(BrokerError):
    """The broker process did not become ready; the message quotes the end of its log."""


class EncodeError(KafkaIngestError, ValueError):
    """Transactions could not be put on the wire (missing columns, invalid values)."""


class ProduceError(KafkaIngestError):
    """Kafka refused or lost records that were sent; they were not written."""


class TopicSetupError(KafkaIngestError):
    """A topic could not be created or did not become ready."""


class ConsumeError(KafkaIngestError):
    """The consumer could not reach Kafka, poll, or commit."""


class CommitFailedError(ConsumeError):
    """The group rebalanced before the commit: the batch's partitions moved and will be delivered again."""


class FencedError(ProduceError):
    """Another producer with the same transactional id took over (a restarted worker): this one must stop."""


class TransactionAbortedError(ProduceError):
    """A transaction could not commit; nothing of it is visible, and its batch must be processed again."""

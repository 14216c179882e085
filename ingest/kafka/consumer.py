"""A consumer-group consumer of transactions, in micro-batches, with manual commits after processing.

Semantics: **at-least-once delivery, exactly-once with respect to committed processing**. Offsets are committed
only by :meth:`TransactionConsumer.commit`, which the caller invokes after it has processed a batch and before
it polls again. A rebalance happens inside ``poll``, so every batch processed before a partition moves is
already committed and the next owner resumes right after it. Only a batch processed but not committed (a crash
between the two) is delivered again.

Messages that do not decode into valid transactions are never dropped silently: they come back in
``MicroBatch.rejected`` with the reason and, when a dead-letter topic is configured, are written there (raw
value, reason and origin in headers) before their offsets are committed.

>>> with TransactionConsumer("127.0.0.1:9092", "scorers", ["transactions"]) as consumer:  # doctest: +SKIP
...     batch = consumer.poll_batch(timeout_s=1.0)
...     if batch is not None:
...         score(batch.frame)
...         consumer.commit(batch)
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd

from ingest.kafka.codec import decode_values
from ingest.kafka.errors import CommitFailedError, ConsumeError


@dataclass(frozen=True)
class RejectedMessage:
    """A message that is not a valid transaction, where it came from, and why it was rejected."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    reason: str


@dataclass
class MicroBatch:
    """One ``poll()`` worth of transactions.

    ``frame`` holds the valid transactions in contract columns plus ``kafka_partition`` and ``kafka_offset``;
    ``offsets`` maps each partition to the next offset to commit (last polled + 1).
    """

    frame: pd.DataFrame
    rejected: list[RejectedMessage]
    offsets: dict[Any, Any] = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.frame) + len(self.rejected)


class _AssignmentLog:
    """Rebalance listener: keeps the current assignment and a history of moves (runs on the I/O thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.assigned: set[tuple[str, int]] = set()
        self.history: list[tuple[str, frozenset[tuple[str, int]]]] = []

    def on_partitions_revoked(self, revoked: Any) -> None:
        # Nothing to commit here: batches are committed after processing, before the poll that rebalances.
        moved = frozenset((tp.topic, tp.partition) for tp in revoked)
        with self._lock:
            self.assigned -= moved
            self.history.append(("revoked", moved))

    def on_partitions_assigned(self, assigned: Any) -> None:
        moved = frozenset((tp.topic, tp.partition) for tp in assigned)
        with self._lock:
            self.assigned |= moved
            self.history.append(("assigned", moved))

    def on_partitions_lost(self, lost: Any) -> None:
        moved = frozenset((tp.topic, tp.partition) for tp in lost)
        with self._lock:
            self.assigned -= moved
            self.history.append(("lost", moved))

    def snapshot(self) -> set[tuple[str, int]]:
        with self._lock:
            return set(self.assigned)


class TransactionConsumer:
    """A member of consumer group ``group_id`` reading transactions from ``topics``."""

    def __init__(
        self,
        bootstrap_servers: str,
        group_id: str,
        topics: Sequence[str],
        *,
        dead_letter_topic: str | None = None,
        client_id: str = "fraud-transaction-consumer",
        max_poll_records: int = 2000,
        auto_offset_reset: str = "earliest",
        **overrides: Any,
    ) -> None:
        from kafka import KafkaConsumer, KafkaProducer
        from kafka.consumer.subscription_state import ConsumerRebalanceListener
        from kafka.errors import KafkaError

        self.group_id = group_id
        self.dead_letter_topic = dead_letter_topic
        # kafka-python checks the listener's type; the log implements the interface without importing kafka at
        # module import time, so it is registered as a virtual subclass here.
        ConsumerRebalanceListener.register(_AssignmentLog)
        self._log = _AssignmentLog()
        config: dict[str, Any] = {
            "enable_auto_commit": False,
            "allow_auto_create_topics": False,  # topics are set up on purpose, never by a reader's typo
            # Members learn of a rebalance at their next heartbeat: 1 s (not 3 s) keeps hand-overs quick.
            "heartbeat_interval_ms": 1000,
            "auto_offset_reset": auto_offset_reset,
            "max_poll_records": max_poll_records,
            **overrides,
        }
        if config["enable_auto_commit"]:
            raise ConsumeError("TransactionConsumer commits after processing; enable_auto_commit cannot be turned on")
        try:
            self._consumer = KafkaConsumer(
                bootstrap_servers=bootstrap_servers, group_id=group_id, client_id=client_id, **config
            )
            self._dead_letters = (
                KafkaProducer(bootstrap_servers=bootstrap_servers, client_id=f"{client_id}-dlq", acks="all")
                if dead_letter_topic
                else None
            )
        except KafkaError as exc:
            raise ConsumeError(
                f"cannot reach Kafka at {bootstrap_servers} ({exc}); start it with `fraud kafka start`"
            ) from exc
        # Load the topics' partition metadata before joining: a group leader without it assigns nothing, and the
        # group only recovers at the next heartbeat-driven rebalance, seconds later.
        try:
            missing = [topic for topic in topics if not self._consumer.partitions_for_topic(topic)]
        except KafkaError as exc:
            self.close()
            raise ConsumeError(f"reading the metadata of {list(topics)} failed: {exc}") from exc
        if missing:
            self.close()
            raise ConsumeError(f"topics {missing} do not exist; create them first (ingest.kafka.ensure_topics)")
        self._consumer.subscribe(list(topics), listener=self._log)
        self.committed_batches = 0

    # -- reading -------------------------------------------------------------------------------------------------
    def poll_batch(self, timeout_s: float = 1.0, max_records: int | None = None) -> MicroBatch | None:
        """The next micro-batch, or None when nothing arrived within ``timeout_s``."""
        from kafka.errors import KafkaError
        from kafka.structs import OffsetAndMetadata

        try:
            polled = self._consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        except KafkaError as exc:
            raise ConsumeError(f"polling group {self.group_id!r} failed: {exc}") from exc
        if not polled:
            return None
        values: list[bytes | None] = []
        partitions: list[int] = []
        offsets: list[int] = []
        records: list[Any] = []
        next_offsets: dict[Any, Any] = {}
        for tp, messages in polled.items():
            if not messages:
                continue
            values.extend(m.value for m in messages)
            partitions.extend([tp.partition] * len(messages))
            offsets.extend(m.offset for m in messages)
            records.extend(messages)
            last = messages[-1]
            next_offsets[tp] = OffsetAndMetadata(last.offset + 1, "", getattr(last, "leader_epoch", -1))
        decoded = decode_values(values)
        frame = decoded.frame
        where = frame.pop("batch_index").to_numpy()
        frame["kafka_partition"] = np.asarray(partitions, dtype="int32")[where]
        frame["kafka_offset"] = np.asarray(offsets, dtype="int64")[where]
        rejected = [
            RejectedMessage(records[r.index].topic, partitions[r.index], offsets[r.index], records[r.index].key,
                            values[r.index], r.reason)
            for r in decoded.rejected
        ]  # fmt: skip
        return MicroBatch(frame=frame, rejected=rejected, offsets=next_offsets)

    # -- committing ----------------------------------------------------------------------------------------------
    def commit(self, batch: MicroBatch) -> None:
        """Record ``batch`` as processed: dead-letter its rejected messages, then commit its offsets."""
        from kafka.errors import CommitFailedError as KafkaCommitFailed
        from kafka.errors import KafkaError

        if batch.rejected and self._dead_letters is not None and self.dead_letter_topic:
            for message in batch.rejected:
                headers = [
                    ("reason", message.reason.encode()),
                    ("origin", f"{message.topic}/{message.partition}/{message.offset}".encode()),
                ]
                self._dead_letters.send(self.dead_letter_topic, value=message.value or b"", key=message.key,
                                        headers=headers)  # fmt: skip
            try:
                self._dead_letters.flush(timeout=30)
            except KafkaError as exc:
                raise ConsumeError(f"writing {len(batch.rejected)} dead letters failed: {exc}") from exc
        try:
            self._consumer.commit(offsets=batch.offsets)
        except KafkaCommitFailed as exc:
            raise CommitFailedError(
                f"group {self.group_id!r} rebalanced before the commit; the batch will be delivered again to the "
                f"partitions' new owner ({exc})"
            ) from exc
        except KafkaError as exc:
            raise ConsumeError(f"committing offsets for group {self.group_id!r} failed: {exc}") from exc
        self.committed_batches += 1

    # -- state and life cycle ------------------------------------------------------------------------------------
    def assignment(self) -> set[tuple[str, int]]:
        """The (topic, partition) pairs this member owns now, as the rebalance listener saw them."""
        return self._log.snapshot()

    @property
    def rebalance_history(self) -> list[tuple[str, frozenset[tuple[str, int]]]]:
        return list(self._log.history)

    def metrics(self) -> dict[str, Any]:
        metrics: dict[str, Any] = self._consumer.metrics()
        return metrics

    def close(self) -> None:
        """Leave the group (its partitions move to the other members at once) without committing anything."""
        self._consumer.close(autocommit=False)
        if self._dead_letters is not None:
            self._dead_letters.close(timeout=10)

    def __enter__(self) -> TransactionConsumer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

"""A consumer-group consumer of transactions, in micro-batches, decoded into contract frames.

Two ways to record a batch as processed:

* **at least once**, :meth:`TransactionConsumer.commit`: dead-letter the rejected messages, then commit the
  offsets. The caller commits after processing a batch and before polling again; a rebalance happens inside
  ``poll``, so every batch processed before a partition moves is already committed. Only a batch processed but
  not committed (a crash between the two) is delivered again.
* **exactly once**, in the caller's Kafka transaction: the stream worker sends its outputs, the dead letters and
  ``batch.offsets`` with :meth:`TransactionConsumer.group_metadata` through a transactional producer
  (:mod:`ingest.kafka.transactions`), so that outputs and offsets commit or abort together.

Consumers read with ``isolation_level="read_committed"`` by default (records of aborted transactions are never
seen). With ``cooperative=True`` they rebalance cooperatively (``CooperativeStickyAssignor``: a member keeps the
partitions that do not move and goes on processing them during a rebalance); that suits the exactly-once path,
whose offsets the broker checks against the member's generation. The at-least-once path keeps the eager
protocol: its plain offset commits would be refused while a cooperative rebalance is in progress.

Messages that do not decode into transactions are never dropped silently: they come back in
``MicroBatch.rejected`` with the reason, and become dead letters (:mod:`ingest.kafka.dead_letters`).

>>> with TransactionConsumer("127.0.0.1:9092", "scorers", ["transactions"]) as consumer:  # doctest: +SKIP
...     batch = consumer.poll_batch(timeout_s=1.0)
...     if batch is not None:
...         score(batch.frame)
...         consumer.commit(batch)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd

from ingest.kafka.alignment import TimeAligner
from ingest.kafka.codec import decode_values
from ingest.kafka.dead_letters import RejectedMessage, dead_letter
from ingest.kafka.errors import CommitFailedError, ConsumeError

#: A partition of a topic, as this package names it: (topic, partition).
Partition = tuple[str, int]
#: Told the partitions that moved (runs inside ``poll``, on the polling thread).
RebalanceHook = Callable[[frozenset[Partition]], None]


@dataclass
class MicroBatch:
    """One ``poll()`` worth of transactions.

    ``frame`` holds the decoded transactions in contract columns plus ``kafka_partition``, ``kafka_offset`` and
    ``kafka_index`` (the message's place in ``keys``/``values``, the raw messages of the batch); ``offsets`` maps
    each partition to the next offset to commit (last polled + 1), ``ranges`` each partition to the offsets
    polled, ``[first, next)``.
    """

    frame: pd.DataFrame
    rejected: list[RejectedMessage]
    offsets: dict[Any, Any] = field(repr=False)
    ranges: dict[Partition, tuple[int, int]] = field(default_factory=dict)
    topic: str = ""
    keys: list[bytes | None] = field(default_factory=list, repr=False)
    values: list[bytes | None] = field(default_factory=list, repr=False)

    @property
    def size(self) -> int:
        return len(self.frame) + len(self.rejected)

    def rejected_rows(self, rows: pd.DataFrame, reasons: Sequence[str]) -> list[RejectedMessage]:
        """Rows of ``frame`` refused later (by the checker), as rejected messages with their original bytes."""
        out = []
        for index, partition, offset, reason in zip(
            rows["kafka_index"].tolist(), rows["kafka_partition"].tolist(), rows["kafka_offset"].tolist(), reasons,
            strict=True,
        ):  # fmt: skip
            out.append(RejectedMessage(self.topic, partition, offset, self.keys[index], self.values[index], reason))
        return out


def micro_batch(polled: Mapping[Any, Sequence[Any]]) -> MicroBatch:
    """A micro-batch from polled records (kafka-python's ``{TopicPartition: [ConsumerRecord]}`` of one topic):
    every message decoded, the rejected ones with their reasons, offsets and ranges per partition."""
    from kafka.structs import OffsetAndMetadata

    keys: list[bytes | None] = []
    values: list[bytes | None] = []
    partitions: list[int] = []
    offsets: list[int] = []
    next_offsets: dict[Any, Any] = {}
    ranges: dict[Partition, tuple[int, int]] = {}
    topics = {tp.topic for tp, messages in polled.items() if messages}
    if len(topics) > 1:
        raise ConsumeError(f"a micro-batch holds the messages of one topic, not of {sorted(topics)}")
    topic = next(iter(topics), "")
    for tp, messages in polled.items():
        if not messages:
            continue
        keys.extend(m.key for m in messages)
        values.extend(m.value for m in messages)
        partitions.extend([tp.partition] * len(messages))
        offsets.extend(m.offset for m in messages)
        last = messages[-1]
        next_offsets[tp] = OffsetAndMetadata(last.offset + 1, "", getattr(last, "leader_epoch", -1))
        ranges[(tp.topic, tp.partition)] = (messages[0].offset, last.offset + 1)
    decoded = decode_values(values)
    frame = decoded.frame
    where = frame.pop("batch_index").to_numpy()
    frame["kafka_partition"] = np.asarray(partitions, dtype="int32")[where]
    frame["kafka_offset"] = np.asarray(offsets, dtype="int64")[where]
    frame["kafka_index"] = where
    rejected = [
        RejectedMessage(topic, partitions[r.index], offsets[r.index], keys[r.index], values[r.index], r.reason)
        for r in decoded.rejected
    ]
    return MicroBatch(frame, rejected, next_offsets, ranges, topic, keys, values)


class _AssignmentLog:
    """Rebalance listener: keeps the current assignment and a history of moves, and tells the hooks."""

    def __init__(self, on_assigned: RebalanceHook | None, on_revoked: RebalanceHook | None) -> None:
        self._lock = threading.Lock()
        self._on_assigned = on_assigned
        self._on_revoked = on_revoked
        self.assigned: set[Partition] = set()
        self.history: list[tuple[str, frozenset[Partition]]] = []

    def _moved(self, what: str, partitions: Any) -> frozenset[Partition]:
        moved = frozenset((tp.topic, tp.partition) for tp in partitions)
        with self._lock:
            if what == "assigned":
                self.assigned |= moved
            else:
                self.assigned -= moved
            self.history.append((what, moved))
        return moved

    def on_partitions_revoked(self, revoked: Any) -> None:
        # Nothing to commit here: batches are committed after processing, before the poll that rebalances.
        moved = self._moved("revoked", revoked)
        if self._on_revoked is not None and moved:
            self._on_revoked(moved)

    def on_partitions_assigned(self, assigned: Any) -> None:
        moved = self._moved("assigned", assigned)
        if self._on_assigned is not None and moved:
            self._on_assigned(moved)

    def on_partitions_lost(self, lost: Any) -> None:
        moved = self._moved("lost", lost)
        if self._on_revoked is not None and moved:
            self._on_revoked(moved)

    def snapshot(self) -> set[Partition]:
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
        on_assigned: RebalanceHook | None = None,
        on_revoked: RebalanceHook | None = None,
        cooperative: bool = False,
        align_wait_s: float | None = None,
        **overrides: Any,
    ) -> None:
        from kafka import KafkaConsumer, KafkaProducer, TopicPartition
        from kafka.consumer.subscription_state import ConsumerRebalanceListener
        from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
        from kafka.errors import KafkaError

        self.group_id = group_id
        self.dead_letter_topic = dead_letter_topic
        # kafka-python checks the listener's type; the log implements the interface without importing kafka at
        # module import time, so it is registered as a virtual subclass here.
        ConsumerRebalanceListener.register(_AssignmentLog)
        # Memory stays bounded: with many polls' worth buffered, no partition is waited for any longer.
        self._aligner = None if align_wait_s is None else TimeAligner(align_wait_s, 20 * max_poll_records)
        self.max_poll_records = max_poll_records

        def revoked(moved: frozenset[Partition]) -> None:
            if self._aligner is not None:  # records buffered for a partition that moved are its new owner's
                self._aligner.drop(TopicPartition(t, p) for t, p in moved)
            if on_revoked is not None:
                on_revoked(moved)

        self._log = _AssignmentLog(on_assigned, revoked)
        config: dict[str, Any] = {
            "enable_auto_commit": False,
            "allow_auto_create_topics": False,  # topics are set up on purpose, never by a reader's typo
            "isolation_level": "read_committed",
            # Members learn of a rebalance at their next heartbeat: 1 s (not 3 s) keeps hand-overs quick.
            "heartbeat_interval_ms": 1000,
            "auto_offset_reset": auto_offset_reset,
            "max_poll_records": max_poll_records,
            **overrides,
        }
        if cooperative:
            config["partition_assignment_strategy"] = [CooperativeStickyAssignor]
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
        """The next micro-batch, or None when nothing arrived within ``timeout_s``. With ``align_wait_s`` set,
        records come in the order they were produced across partitions (:mod:`ingest.kafka.alignment`)."""
        from kafka.errors import KafkaError

        try:
            if self._aligner is None:
                polled = self._consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records)
            else:
                polled = self._poll_aligned(timeout_s, max_records or self.max_poll_records)
        except KafkaError as exc:
            raise ConsumeError(f"polling group {self.group_id!r} failed: {exc}") from exc
        if not polled:
            return None
        return micro_batch(polled)

    def _poll_aligned(self, timeout_s: float, max_records: int) -> dict[Any, list[Any]]:
        aligner = self._aligner
        assert aligner is not None
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = max(0.0, deadline - time.monotonic())
            # Records held back for a partition still being fetched: poll briefly for its records, then retry.
            wait = min(remaining, 0.1) if aligner.pending else remaining
            aligner.add(self._consumer.poll(timeout_ms=int(wait * 1000)))
            lagging = {tp for tp in self._consumer.assignment() if self._behind(tp)}
            released = aligner.release(max_records, lagging)
            if released or time.monotonic() >= deadline:
                return released

    def _behind(self, tp: Any) -> bool:
        """Whether ``tp`` has records this member has not fetched yet (unknown before its first fetch: yes)."""
        highwater = self._consumer.highwater(tp)
        if highwater is None:
            return True
        return bool(self._consumer.position(tp) < highwater)

    # -- committing ----------------------------------------------------------------------------------------------
    def commit(self, batch: MicroBatch) -> None:
        """Record ``batch`` as processed: dead-letter its rejected messages, then commit its offsets."""
        from kafka.errors import CommitFailedError as KafkaCommitFailed
        from kafka.errors import KafkaError

        if batch.rejected and self._dead_letters is not None and self.dead_letter_topic:
            for message in batch.rejected:
                letter = dead_letter(message)
                self._dead_letters.send(self.dead_letter_topic, value=letter.value, key=letter.key,
                                        headers=letter.headers)  # fmt: skip
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

    # -- positions (for callers that commit in their own Kafka transactions) ---------------------------------------
    def group_metadata(self) -> Any:
        """This member's group metadata, for ``send_offsets_to_transaction`` (fences a stale member, KIP-447)."""
        return self._consumer.group_metadata()

    def committed(self, partitions: Sequence[Partition]) -> dict[Partition, tuple[int, str] | None]:
        """The group's committed offset and its metadata string per partition (None where nothing was committed)."""
        from kafka import TopicPartition
        from kafka.errors import KafkaError

        out: dict[Partition, tuple[int, str] | None] = {}
        try:
            for topic, partition in partitions:
                found = self._consumer.committed(TopicPartition(topic, partition), metadata=True)
                out[(topic, partition)] = None if found is None else (int(found.offset), str(found.metadata or ""))
        except KafkaError as exc:
            raise ConsumeError(f"reading the committed offsets of group {self.group_id!r} failed: {exc}") from exc
        return out

    def seek(self, positions: Mapping[Partition, int]) -> None:
        """Move this member's fetch position (after an aborted transaction: back to the batch's first offsets)."""
        from kafka import TopicPartition

        owned = self._consumer.assignment()
        for (topic, partition), offset in positions.items():
            tp = TopicPartition(topic, partition)
            if tp in owned:
                self._consumer.seek(tp, offset)
                if self._aligner is not None:
                    self._aligner.drop([tp])

    def end_offsets(self, partitions: Sequence[Partition]) -> dict[Partition, int]:
        """The end of each partition as this member may read it (the last stable offset under read_committed)."""
        from kafka import TopicPartition
        from kafka.errors import KafkaError

        try:
            ends = self._consumer.end_offsets([TopicPartition(t, p) for t, p in partitions])
        except KafkaError as exc:
            raise ConsumeError(f"reading the end offsets of {list(partitions)} failed: {exc}") from exc
        return {(tp.topic, tp.partition): int(offset) for tp, offset in ends.items()}

    def partitions_for(self, topic: str) -> set[int]:
        """The partition numbers of ``topic`` (empty when it does not exist)."""
        return set(self._consumer.partitions_for_topic(topic) or ())

    def positions(self) -> dict[Partition, int]:
        """This member's fetch position per assigned partition (the next offset a poll returns)."""
        return {(tp.topic, tp.partition): int(self._consumer.position(tp)) for tp in self._consumer.assignment()}

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
        self._consumer.close(autocommit=False, timeout_ms=10_000)
        if self._dead_letters is not None:
            self._dead_letters.close(timeout=10)

    def __enter__(self) -> TransactionConsumer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

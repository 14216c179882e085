"""Labels for the worker: read from topic ``labels``, co-partitioned with ``transactions``, applied in order.

Partition p of ``labels`` holds the labels of the cards of partition p of ``transactions`` (both keyed by card
token, with as many partitions), so the worker that owns transactions partition p reads labels partition p too,
without a consumer group: its position is part of the worker's own commit boundary (the journal and the feature
state record it), not of a group's offsets.

A label takes effect where the features' own rule says it is known: from its report time on. The worker applies
a label of partition p right before the first transaction of partition p whose time is at or after the label's
``reported_at``: by then the labelled transaction (earlier, same card, same partition) has been processed, and
the label is early for no transaction that follows. Labels of a partition are applied in partition order (the
order they were reported in); the position of a partition is the offset of its first label not yet applied.
Where labels are is therefore decided by the transactions' times alone, not by when polls happen: a run that
crashed and replayed applies them exactly where an uninterrupted run does, provided each label was on the
topic before the stream's transactions passed its report time (a label that arrives later counts from the
transaction it arrives before: it is late, and ``late_labels`` counts it).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.frames import timestamps_us
from ingest.kafka import ConsumeError, RejectedMessage, committed_reader, decode_labels

#: Columns of a label frame inside the worker: the contract's label columns, and where the label came from.
LABEL_COLUMNS = ("transaction_id", "card_token", "is_fraud", "reported_at", "partition", "offset")


@dataclass
class DueLabels:
    """What a batch takes from a queue: the labels due (a label frame, :data:`LABEL_COLUMNS`) and the
    undecodable label messages met on the way."""

    labels: pd.DataFrame
    dead_letters: list[RejectedMessage]


def no_labels() -> pd.DataFrame:
    """An empty label frame."""
    return pd.DataFrame(
        {
            "transaction_id": pd.Series([], dtype=object),
            "card_token": pd.Series([], dtype=object),
            "is_fraud": pd.Series([], dtype=bool),
            "reported_at": pd.Series([], dtype="datetime64[us, UTC]"),
            "partition": pd.Series([], dtype=np.int64),
            "offset": pd.Series([], dtype=np.int64),
        }
    )


class LabelQueue:
    """The labels of one partition read but not yet applied, in offset order, kept as columns."""

    def __init__(self, partition: int, position: int) -> None:
        self.partition = partition
        #: The next offset to read into this queue.
        self.fetched = position
        self._offsets = np.zeros(0, dtype=np.int64)
        self._reported = np.zeros(0, dtype=np.int64)
        self._fraud = np.zeros(0, dtype=bool)
        self._ids = np.zeros(0, dtype=object)
        self._cards = np.zeros(0, dtype=object)
        self._rejected: dict[int, RejectedMessage] = {}

    def __len__(self) -> int:
        return len(self._offsets)

    @property
    def position(self) -> int:
        """The offset of the first label not applied yet (where a replacement worker resumes)."""
        return int(self._offsets[0]) if len(self._offsets) else self.fetched

    def extend(self, messages: list[Any], topic: str, fetched: int) -> None:
        """Append polled label messages (kafka-python records, in offset order) and move ``fetched`` on."""
        if messages:
            decoded = decode_labels([m.value for m in messages])
            frame = decoded.frame
            where = frame["batch_index"].to_numpy()
            offsets = np.array([m.offset for m in messages], dtype=np.int64)
            reported = np.zeros(len(messages), dtype=np.int64)
            fraud = np.zeros(len(messages), dtype=bool)
            ids = np.full(len(messages), "", dtype=object)
            cards = np.full(len(messages), "", dtype=object)
            reported[where] = timestamps_us(frame["reported_at"]) if len(frame) else reported[where]
            fraud[where] = frame["is_fraud"].to_numpy(dtype=bool)
            ids[where] = frame["transaction_id"].to_numpy(dtype=object)
            cards[where] = frame["card_token"].to_numpy(dtype=object)
            for rejected in decoded.rejected:
                message = messages[rejected.index]
                self._rejected[message.offset] = RejectedMessage(
                    topic, self.partition, message.offset, message.key, message.value, rejected.reason
                )
            self._offsets = np.concatenate([self._offsets, offsets])
            self._reported = np.concatenate([self._reported, reported])
            self._fraud = np.concatenate([self._fraud, fraud])
            self._ids = np.concatenate([self._ids, ids])
            self._cards = np.concatenate([self._cards, cards])
        self.fetched = max(self.fetched, fetched)

    def take_due(self, times: np.ndarray) -> DueLabels:
        """Take the labels due among rows at these times (a partition's rows, in order): those whose report time
        some row reaches, in offset order, up to the first label no row reaches."""
        if self._rejected:
            rejected = np.isin(self._offsets, np.fromiter(self._rejected, dtype=np.int64))
        else:
            rejected = np.zeros(len(self._offsets), dtype=bool)
        newest = times.max() if len(times) else np.iinfo(np.int64).min
        waiting = ~rejected & (self._reported > newest)
        take = int(np.argmax(waiting)) if waiting.any() else len(self._offsets)
        kept = ~rejected[:take]
        labels = pd.DataFrame(
            {
                "transaction_id": self._ids[:take][kept],
                "card_token": self._cards[:take][kept],
                "is_fraud": self._fraud[:take][kept],
                "reported_at": pd.to_datetime(self._reported[:take][kept], unit="us", utc=True),
                "partition": self.partition,
                "offset": self._offsets[:take][kept],
            }
        )
        dead = [self._rejected.pop(offset) for offset in self._offsets[:take][rejected[:take]].tolist()]
        for name in ("_offsets", "_reported", "_fraud", "_ids", "_cards"):
            setattr(self, name, getattr(self, name)[take:])
        return DueLabels(labels, dead)


class LabelFeed:
    """Reads the labels partitions matching the worker's transactions partitions into :class:`LabelQueue`s."""

    def __init__(self, bootstrap_servers: str, topic: str, client_id: str) -> None:
        self.topic = topic
        self.queues: dict[int, LabelQueue] = {}
        self._consumer = committed_reader(bootstrap_servers, client_id)

    def partitions(self) -> set[int]:
        return set(self.queues)

    def assign(self, positions: Mapping[int, int]) -> None:
        """Start reading these partitions at these offsets (replacing what was read of them before)."""
        from kafka import TopicPartition

        for partition, position in positions.items():
            self.queues[partition] = LabelQueue(partition, position)
        self._consumer.assign([TopicPartition(self.topic, p) for p in sorted(self.queues)])
        for partition, position in positions.items():
            self._consumer.seek(TopicPartition(self.topic, partition), position)

    def revoke(self, partitions: Iterable[int]) -> None:
        """Stop reading these partitions and forget their unapplied labels (their next owner reads them again)."""
        from kafka import TopicPartition

        for partition in partitions:
            self.queues.pop(partition, None)
        self._consumer.assign([TopicPartition(self.topic, p) for p in sorted(self.queues)])

    def catch_up(self, timeout_s: float) -> None:
        """Read every assigned partition up to its end as it is now (the last stable offset): the labels already
        on the topic reach the queues before the transactions that follow them are processed."""
        from kafka import TopicPartition
        from kafka.errors import KafkaError

        if not self.queues:
            return
        tps = [TopicPartition(self.topic, p) for p in sorted(self.queues)]
        try:
            ends = self._consumer.end_offsets(tps)
            behind = {tp for tp in tps if self.queues[tp.partition].fetched < ends[tp]}
            deadline = time.monotonic() + timeout_s
            while behind:
                for tp, messages in self._consumer.poll(timeout_ms=100).items():
                    queue = self.queues.get(tp.partition)
                    if queue is None or not messages:
                        continue
                    fresh = [m for m in messages if m.offset >= queue.fetched]
                    queue.extend(fresh, self.topic, messages[-1].offset + 1)
                for tp in list(behind):
                    if self._consumer.position(tp) >= ends[tp]:
                        self.queues[tp.partition].fetched = max(self.queues[tp.partition].fetched, ends[tp])
                        behind.discard(tp)
                if behind and time.monotonic() > deadline:
                    raise ConsumeError(
                        f"labels partitions {sorted(tp.partition for tp in behind)} did not catch up in {timeout_s} s"
                    )
        except KafkaError as exc:
            raise ConsumeError(f"reading labels from {self.topic!r} failed: {exc}") from exc

    def end_offsets(self, partitions: Iterable[int]) -> dict[int, int]:
        from kafka import TopicPartition

        tps = [TopicPartition(self.topic, p) for p in partitions]
        return {tp.partition: int(offset) for tp, offset in self._consumer.end_offsets(tps).items()}

    def close(self) -> None:
        self._consumer.close(autocommit=False)

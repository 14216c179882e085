"""Readers of committed records by position, outside any consumer group: exact offset ranges (what a worker
replays after a crash), and the assigned readers the worker keeps for its labels and its journal."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from ingest.kafka.errors import ConsumeError


def committed_reader(bootstrap_servers: str, client_id: str, *, max_poll_records: int = 10_000,
                     auto_offset_reset: str = "earliest") -> Any:  # fmt: skip
    """A kafka-python consumer without a group (the caller assigns partitions and seeks), reading only committed
    records, never committing offsets; :class:`~ingest.kafka.errors.ConsumeError` when Kafka is unreachable."""
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    try:
        return KafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset=auto_offset_reset,
            max_poll_records=max_poll_records,
            allow_auto_create_topics=False,  # a reader of a missing topic must never create it (with the wrong shape)
        )
    except KafkaError as exc:
        raise ConsumeError(f"cannot reach Kafka at {bootstrap_servers}: {exc}") from exc


class RangeReader:
    """Reads ``[first, end)`` of partitions, skipping what read_committed readers never see (aborted records,
    transaction markers): the same messages the live consumer was handed.

    Built for a replay, which asks for the consecutive ranges of a few partitions in increasing order: every
    partition asked for stays assigned and is read forward once, its messages buffered until asked for; only a
    range that starts before what was already handed out makes the reader seek back.
    """

    def __init__(self, bootstrap_servers: str, client_id: str, timeout_s: float = 60.0) -> None:
        self.timeout_s = timeout_s
        self._consumer = committed_reader(bootstrap_servers, client_id, auto_offset_reset="none")
        self._buffers: dict[Any, deque[Any]] = {}

    def read(self, topic: str, partition: int, first: int, end: int) -> list[Any]:
        """The committed messages of ``topic``/``partition`` with offsets in ``[first, end)``, in order."""
        from kafka import TopicPartition
        from kafka.errors import KafkaError

        if end <= first:
            return []
        tp = TopicPartition(topic, partition)
        try:
            buffer = self._buffer(tp, first)
            deadline = time.monotonic() + self.timeout_s
            while not (buffer and buffer[-1].offset >= end - 1) and self._consumer.position(tp) < end:
                for polled, messages in self._consumer.poll(timeout_ms=200).items():
                    self._buffers[polled].extend(messages)
                if time.monotonic() > deadline:
                    raise ConsumeError(
                        f"offsets {first}..{end} of {topic}/{partition} were not all readable in {self.timeout_s} s "
                        "(deleted by retention, or the broker is down?)"
                    )
        except KafkaError as exc:
            raise ConsumeError(f"reading {topic}/{partition} offsets {first}..{end} failed: {exc}") from exc
        out = []
        while buffer and buffer[0].offset < end:
            message = buffer.popleft()
            if message.offset >= first:
                out.append(message)
        return out

    def _buffer(self, tp: Any, first: int) -> deque[Any]:
        """The partition's buffer, positioned so that nothing from ``first`` on has been skipped."""
        buffer = self._buffers.get(tp)
        if buffer is None:
            positions = {known: self._consumer.position(known) for known in self._buffers}
            buffer = self._buffers[tp] = deque()
            self._consumer.assign([*self._buffers])
            for known, position in positions.items():
                self._consumer.seek(known, position)
            self._consumer.seek(tp, first)
            return buffer
        while buffer and buffer[0].offset < first:
            buffer.popleft()
        handed_out = buffer[0].offset if buffer else self._consumer.position(tp)
        if first < handed_out and not (buffer and buffer[0].offset == first):
            # Asked for offsets already passed (a range before the previous one): read them again.
            buffer.clear()
            self._consumer.seek(tp, first)
        return buffer

    def close(self) -> None:
        self._consumer.close(autocommit=False)


def read_topic(
    bootstrap_servers: str,
    topic: str,
    *,
    since: dict[int, int] | None = None,
    expected: int | None = None,
    timeout_s: float = 120.0,
    settle_s: float = 2.0,
) -> list[Any]:
    """The committed messages of ``topic`` from ``since`` (partition -> offset; default: the beginning): waits
    until ``expected`` messages came (or, without ``expected``, until none came for ``settle_s``), then
    ``settle_s`` more for any late one, at most ``timeout_s`` in all."""
    from kafka import TopicPartition
    from kafka.errors import KafkaError

    consumer = committed_reader(bootstrap_servers, f"read-{topic}")
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(tps)
        for tp in tps:
            if since is not None and tp.partition in since:
                consumer.seek(tp, since[tp.partition])
            else:
                consumer.seek_to_beginning(tp)
        out: list[Any] = []
        deadline = time.monotonic() + timeout_s
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            fresh = [m for messages in consumer.poll(timeout_ms=200).values() for m in messages]
            out.extend(fresh)
            if fresh:
                quiet_since = time.monotonic()
            if (expected is None or len(out) >= expected) and time.monotonic() - quiet_since > settle_s:
                break
        return out
    except KafkaError as exc:
        raise ConsumeError(f"reading {topic!r} failed: {exc}") from exc
    finally:
        consumer.close(autocommit=False)


def end_offsets(bootstrap_servers: str, topic: str) -> dict[int, int]:
    """The end (last stable offset) of every partition of ``topic``, as a read_committed reader sees it now."""
    from kafka import TopicPartition
    from kafka.errors import KafkaError

    consumer = committed_reader(bootstrap_servers, f"ends-{topic}")
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        return {tp.partition: int(offset) for tp, offset in consumer.end_offsets(tps).items()}
    except KafkaError as exc:
        raise ConsumeError(f"reading the end offsets of {topic!r} failed: {exc}") from exc
    finally:
        consumer.close(autocommit=False)

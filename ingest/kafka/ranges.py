"""Readers of committed records by position, outside any consumer group: exact offset ranges (what a worker
replays after a crash), and the assigned readers the worker keeps for its labels and its journal."""

from __future__ import annotations

import time
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
        )
    except KafkaError as exc:
        raise ConsumeError(f"cannot reach Kafka at {bootstrap_servers}: {exc}") from exc


class RangeReader:
    """Reads ``[first, end)`` of a partition, skipping what read_committed readers never see (aborted records,
    transaction markers): the same messages the live consumer was handed."""

    def __init__(self, bootstrap_servers: str, client_id: str, timeout_s: float = 60.0) -> None:
        self.timeout_s = timeout_s
        self._consumer = committed_reader(bootstrap_servers, client_id, auto_offset_reset="none")

    def read(self, topic: str, partition: int, first: int, end: int) -> list[Any]:
        """The committed messages of ``topic``/``partition`` with offsets in ``[first, end)``, in order."""
        from kafka import TopicPartition
        from kafka.errors import KafkaError

        if end <= first:
            return []
        tp = TopicPartition(topic, partition)
        out: list[Any] = []
        try:
            self._consumer.assign([tp])
            self._consumer.seek(tp, first)
            deadline = time.monotonic() + self.timeout_s
            while self._consumer.position(tp) < end:
                for message in self._consumer.poll(timeout_ms=200).get(tp, []):
                    if first <= message.offset < end:
                        out.append(message)
                if time.monotonic() > deadline:
                    raise ConsumeError(
                        f"offsets {first}..{end} of {topic}/{partition} were not all readable in {self.timeout_s} s "
                        "(deleted by retention, or the broker is down?)"
                    )
        except KafkaError as exc:
            raise ConsumeError(f"reading {topic}/{partition} offsets {first}..{end} failed: {exc}") from exc
        return out

    def close(self) -> None:
        self._consumer.close(autocommit=False)

"""The worker's journal: one record per committed micro-batch, written inside the batch's Kafka transaction.

A record names the batch exactly: the worker slot and its sequence number, the offsets of ``transactions`` it
consumed per partition, ``[first, next)``, and the offsets of ``labels`` it applied per partition. Because it
commits atomically with the batch's decisions and input offsets, the journal is the list of batches whose
outputs exist. The feature state commits after the Kafka transaction and records how far it got
(:mod:`scoring_api.worker.state`); a worker that finds the state behind the group's committed offsets replays the
journal's records from there (:mod:`scoring_api.worker.recovery`) and gets the state an uninterrupted run had.

The topic has one partition (records are small and few: one per batch of every worker), so one read in order
sees every worker's batches in the order they committed. Every committed input offset carries
``{worker}:{seq}`` as its metadata: the journal record that must exist for it.

>>> record = JournalRecord("fraud-scorer-0", 7, {("transactions", 2): (100, 350)}, {("labels", 2): (4, 6)})
>>> decode_record(encode_record(record)) == record
True
>>> commit_metadata(record), parse_commit_metadata("fraud-scorer-0:7")
('fraud-scorer-0:7', ('fraud-scorer-0', 7))
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from ingest.kafka import Partition, committed_reader
from scoring_api.worker.errors import JournalError

FORMAT: Final = 1
_METADATA: Final = re.compile(r"^(?P<worker>[\w.\-]+):(?P<seq>[0-9]+)$")


@dataclass(frozen=True)
class JournalRecord:
    """One committed micro-batch: who committed it, its input ranges and the label ranges it applied."""

    worker: str
    seq: int
    inputs: dict[Partition, tuple[int, int]]
    labels: dict[Partition, tuple[int, int]] = field(default_factory=dict)
    #: The record's own offset in the journal (-1 until it is read back or its write is acknowledged).
    offset: int = field(default=-1, compare=False)

    def touches(self, partition: Partition) -> bool:
        return partition in self.inputs


def encode_record(record: JournalRecord) -> bytes:
    def ranges(source: dict[Partition, tuple[int, int]]) -> list[list[Any]]:
        return [[topic, partition, first, end] for (topic, partition), (first, end) in sorted(source.items())]

    return orjson.dumps(
        {
            "format": FORMAT,
            "worker": record.worker,
            "seq": record.seq,
            "inputs": ranges(record.inputs),
            "labels": ranges(record.labels),
        }
    )


def decode_record(value: bytes, offset: int = -1) -> JournalRecord:
    """A journal record from its bytes; :class:`JournalError` for anything else."""
    try:
        document = orjson.loads(value)
        if document.get("format") != FORMAT:
            raise JournalError(f"journal record at offset {offset} has format {document.get('format')!r}")

        def ranges(items: list[list[Any]]) -> dict[Partition, tuple[int, int]]:
            return {(str(t), int(p)): (int(first), int(end)) for t, p, first, end in items}

        return JournalRecord(
            str(document["worker"]),
            int(document["seq"]),
            ranges(document["inputs"]),
            ranges(document["labels"]),
            offset,
        )
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError) as exc:
        raise JournalError(f"journal record at offset {offset} cannot be read: {exc!r}") from exc


def commit_metadata(record: JournalRecord) -> str:
    """The metadata committed with the record's input offsets: the record that must exist for them."""
    return f"{record.worker}:{record.seq}"


def parse_commit_metadata(metadata: str) -> tuple[str, int] | None:
    """(worker, seq) of an offset a worker committed; None for offsets placed otherwise (a reset, a tool)."""
    found = _METADATA.match(metadata or "")
    return None if found is None else (found["worker"], int(found["seq"]))


class JournalReader:
    """Reads the journal (read_committed) from an offset, in order; one reader per recovery."""

    def __init__(self, bootstrap_servers: str, topic: str, client_id: str) -> None:
        from kafka import TopicPartition

        self.topic = topic
        self._tp = TopicPartition(topic, 0)
        self._consumer = committed_reader(bootstrap_servers, client_id, max_poll_records=5_000)
        self._consumer.assign([self._tp])

    def records(self, start: int, stop_when: Any, timeout_s: float) -> Iterator[JournalRecord]:
        """Records from offset ``start`` on, until ``stop_when()`` is true after a record, or until the journal's
        end has not moved for ``timeout_s`` (then the generator simply ends: the caller knows what it lacks)."""
        from kafka.errors import KafkaError

        try:
            if not self._consumer.partitions_for_topic(self.topic):
                return  # no journal yet: no batch was ever committed
            self._consumer.seek(self._tp, max(0, start))
            last_progress = time.monotonic()
            while True:
                polled = self._consumer.poll(timeout_ms=200)
                messages = polled.get(self._tp, [])
                for message in messages:
                    yield decode_record(message.value, message.offset)
                    if stop_when():
                        return
                if messages:
                    last_progress = time.monotonic()
                    continue
                end = self._consumer.end_offsets([self._tp])[self._tp]
                if self._consumer.position(self._tp) < end:
                    last_progress = time.monotonic()  # records are there, the fetch has not brought them yet
                elif time.monotonic() - last_progress > timeout_s:
                    return
        except KafkaError as exc:
            raise JournalError(f"reading the journal {self.topic!r} failed: {exc}") from exc

    def end(self) -> int:
        return int(self._consumer.end_offsets([self._tp])[self._tp])

    def close(self) -> None:
        self._consumer.close(autocommit=False)

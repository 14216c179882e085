"""Micro-batches in the order records were produced, across the partitions a consumer owns.

kafka-python hands a poll the records of one partition's fetch at a time: with a backlog (a worker catching up
after downtime, a stream produced ahead of its reader) one partition's whole backlog would come before the
next partition's, and a feature window that spans partitions (a terminal's transactions come from many cards)
would see hours or days out of order. :class:`TimeAligner` buffers what polls return, per partition, and
releases records in the order of their timestamps (the producer's create time: the order the stream was
produced in), each partition's records as a prefix (offsets stay contiguous, as commits need), in the manner
of Kafka Streams' partition group:

* a record is released once no partition still being fetched can hold an earlier one: every partition with
  records not fetched yet (its position behind its high watermark) has buffered records past it;
* a partition that is behind but whose records do not come is waited for at most ``max_wait_s`` (then the
  release goes on without it: a slow partition must not stop the stream);
* memory stays bounded: with more than ``max_pending`` records buffered, a partition with nothing buffered is
  not waited for at all (the caller keeps polling, and each release takes records out).

>>> from types import SimpleNamespace as Record
>>> aligner = TimeAligner(max_wait_s=0.0)
>>> aligner.add({"p0": [Record(offset=0, timestamp=30), Record(offset=1, timestamp=50)],
...              "p1": [Record(offset=7, timestamp=40)]})
>>> released = aligner.release(10, lagging={"p0", "p1"})
>>> {p: [r.offset for r in records] for p, records in released.items()}
{'p0': [0], 'p1': [7]}
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any


class TimeAligner:
    """Buffers polled records per partition and releases them in timestamp order (see the module docstring)."""

    def __init__(
        self, max_wait_s: float, max_pending: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_wait_s = max_wait_s
        self.max_pending = max_pending
        self._clock = clock
        self._buffers: dict[Hashable, deque[Any]] = {}
        self._waiting_since: float | None = None

    def add(self, polled: Mapping[Hashable, Sequence[Any]]) -> None:
        """Buffer a poll's records (``{partition: [record, ...]}``, each partition's in offset order)."""
        for partition, records in polled.items():
            if records:
                self._buffers.setdefault(partition, deque()).extend(records)

    def drop(self, partitions: Iterable[Hashable]) -> None:
        """Forget the buffered records of partitions revoked or sought elsewhere."""
        for partition in partitions:
            self._buffers.pop(partition, None)

    def buffered(self, partition: Hashable) -> int:
        buffer = self._buffers.get(partition)
        return len(buffer) if buffer else 0

    @property
    def pending(self) -> int:
        return sum(len(buffer) for buffer in self._buffers.values())

    def release(self, max_records: int, lagging: set[Any]) -> dict[Hashable, list[Any]]:
        """Up to ``max_records`` records in timestamp order (ties: partition order, then offset), none later than
        what a ``lagging`` partition (records still to fetch) may yet bring; empty when nothing may go yet."""
        pending = self.pending
        if not pending:
            self._waiting_since = None
            return {}
        if self.max_pending is not None and pending > self.max_pending:
            lagging = {partition for partition in lagging if self.buffered(partition)}
        frontier = self._frontier(lagging)
        heads = [(buffer[0].timestamp, index, partition) for index, (partition, buffer) in
                 enumerate(sorted(self._buffers.items(), key=lambda item: str(item[0]))) if buffer]  # fmt: skip
        heapq.heapify(heads)
        out: dict[Hashable, list[Any]] = {}
        taken = 0
        while heads and taken < max_records and heads[0][0] <= frontier:
            _, index, partition = heapq.heappop(heads)
            buffer = self._buffers[partition]
            out.setdefault(partition, []).append(buffer.popleft())
            taken += 1
            if buffer:
                heapq.heappush(heads, (buffer[0].timestamp, index, partition))
        if out:
            self._waiting_since = None
        return out

    def _frontier(self, lagging: set[Any]) -> float:
        """The latest timestamp that may go: the earliest last-buffered time of the partitions still being
        fetched, or no limit when none is, or when they have been waited for long enough."""
        limits = []
        for partition in lagging:
            buffer = self._buffers.get(partition)
            limits.append(buffer[-1].timestamp if buffer else float("-inf"))
        frontier = min(limits, default=float("inf"))
        if frontier == float("-inf"):
            now = self._clock()
            if self._waiting_since is None:
                self._waiting_since = now
            if now - self._waiting_since >= self.max_wait_s:
                others = [limit for limit in limits if limit != float("-inf")]
                return min(others, default=float("inf"))
        return frontier

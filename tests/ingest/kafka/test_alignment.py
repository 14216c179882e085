"""The time aligner releases records in the order they were produced across partitions, each partition's as a
prefix, waits a bounded time for a partition whose records are late, and keeps its buffer bounded."""

from __future__ import annotations

from types import SimpleNamespace

from ingest.kafka.alignment import TimeAligner


def _records(first_offset: int, timestamps: list[int]) -> list[SimpleNamespace]:
    return [SimpleNamespace(offset=first_offset + i, timestamp=t) for i, t in enumerate(timestamps)]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _offsets(released: dict[object, list[SimpleNamespace]]) -> dict[object, list[int]]:
    return {partition: [r.offset for r in records] for partition, records in released.items()}


def test_records_go_in_time_order_each_partition_a_prefix() -> None:
    aligner = TimeAligner(max_wait_s=1.0)
    aligner.add({"a": _records(0, [10, 30, 50]), "b": _records(5, [20, 40])})
    released = aligner.release(4, lagging=set())
    assert _offsets(released) == {"a": [0, 1], "b": [5, 6]}
    assert [r.timestamp for records in released.values() for r in records] == [10, 30, 20, 40]
    assert aligner.pending == 1


def test_nothing_later_than_a_lagging_partitions_last_record_goes() -> None:
    aligner = TimeAligner(max_wait_s=1.0)
    aligner.add({"a": _records(0, [10, 30, 50]), "b": _records(0, [20])})
    assert _offsets(aligner.release(10, lagging={"b"})) == {"a": [0], "b": [0]}


def test_a_partition_whose_records_do_not_come_is_waited_for_at_most_the_wait() -> None:
    clock = Clock()
    aligner = TimeAligner(max_wait_s=0.5, clock=clock)
    aligner.add({"a": _records(0, [10, 30])})
    assert aligner.release(10, lagging={"b"}) == {}
    clock.now = 0.4
    assert aligner.release(10, lagging={"b"}) == {}
    clock.now = 0.6
    assert _offsets(aligner.release(10, lagging={"b"})) == {"a": [0, 1]}


def test_beyond_the_bound_a_partition_with_nothing_buffered_is_not_waited_for() -> None:
    clock = Clock()
    aligner = TimeAligner(max_wait_s=60.0, max_pending=4, clock=clock)
    aligner.add({"a": _records(0, [10, 20, 30])})
    assert aligner.release(2, lagging={"b"}) == {}, "under the bound, the late partition is waited for"
    aligner.add({"a": _records(3, [40, 50])})
    assert _offsets(aligner.release(2, lagging={"b"})) == {"a": [0, 1]}
    assert aligner.pending == 3

"""A micro-batch's plan: rows in event-time order, labels due where their partition's stream reaches them, in
partition order, bad label messages to the dead letters; the same inputs always give the same plan."""

from __future__ import annotations

from types import SimpleNamespace

import orjson
import pandas as pd

from ingest.kafka import encode_labels
from scoring_api.worker.labels import LabelQueue
from scoring_api.worker.plan import plan_batch

T0 = pd.Timestamp("2018-04-02", tz="UTC")


def _rows(spec: list[tuple[int, int, int]]) -> pd.DataFrame:
    """(minutes after T0, partition, offset) per row."""
    return pd.DataFrame(
        {
            "transaction_id": [f"t{p}-{o}" for _, p, o in spec],
            "timestamp": [T0 + pd.Timedelta(minutes=m) for m, _, _ in spec],
            "kafka_partition": [p for _, p, _ in spec],
            "kafka_offset": [o for _, _, o in spec],
        }
    ).astype({"timestamp": "datetime64[us, UTC]"})


def _queue(partition: int, first: int, labels: list[tuple[str, bool, int]], bad_at: int | None = None) -> LabelQueue:
    """A queue holding labels (transaction id, fraud, minutes after T0) from offset ``first`` on."""
    frame = pd.DataFrame(
        {
            "transaction_id": [t for t, _, _ in labels],
            "card_token": ["c"] * len(labels),
            "is_fraud": [f for _, f, _ in labels],
            "reported_at": [T0 + pd.Timedelta(minutes=m) for _, _, m in labels],
        }
    ).astype({"reported_at": "datetime64[us, UTC]"})
    keys, values = encode_labels(frame)
    if bad_at is not None:
        values[bad_at] = orjson.dumps({"transaction_id": "4111111111111111"})
    messages = [
        SimpleNamespace(offset=first + i, key=k, value=v) for i, (k, v) in enumerate(zip(keys, values, strict=True))
    ]
    queue = LabelQueue(partition, first)
    queue.extend(messages, "labels", first + len(messages))
    return queue


def test_rows_are_processed_by_time_then_partition_then_offset() -> None:
    plan = plan_batch(_rows([(5, 1, 10), (1, 0, 3), (5, 0, 4), (1, 0, 2)]), {})
    assert plan.rows["kafka_offset"].tolist() == [2, 3, 4, 10]
    assert plan.labels.empty
    assert plan.label_ranges == {}


def test_labels_are_due_when_their_own_partition_reaches_their_report_time() -> None:
    rows = _rows([(10, 0, 1), (20, 0, 2), (40, 1, 7)])
    queues = {
        0: _queue(0, 100, [("a", True, 15), ("b", False, 18), ("c", True, 30), ("d", True, 5)]),
        1: _queue(1, 50, [("e", True, 35)]),
    }
    plan = plan_batch(rows, queues)
    # Partition 0 reaches minute 20: a and b are due; c (minute 30) is not, and d waits behind it (order).
    assert plan.labels["transaction_id"].tolist() == ["a", "b", "e"]
    assert plan.label_ranges == {0: (100, 102), 1: (50, 51)}
    assert queues[0].position == 102
    assert len(queues[0]) == 2
    # The next batch of partition 0 passes minute 30: c, then d (already past), in partition order.
    later = plan_batch(_rows([(31, 0, 3)]), queues)
    assert later.labels["transaction_id"].tolist() == ["c", "d"]
    assert later.label_ranges == {0: (102, 104)}


def test_a_partition_without_rows_in_the_batch_keeps_its_labels() -> None:
    queues = {1: _queue(1, 0, [("a", True, 1)])}
    plan = plan_batch(_rows([(10, 0, 1)]), queues)
    assert plan.labels.empty
    assert queues[1].position == 0


def test_undecodable_labels_are_dead_lettered_in_order_without_a_card_number() -> None:
    queues = {0: _queue(0, 7, [("a", True, 1), ("b", True, 2), ("c", True, 90)], bad_at=1)}
    plan = plan_batch(_rows([(10, 0, 1)]), queues)
    assert plan.labels["transaction_id"].tolist() == ["a"]
    assert [(m.partition, m.offset) for m in plan.label_dead_letters] == [(0, 8)]
    assert "4111111111111111" not in plan.label_dead_letters[0].reason
    assert plan.label_ranges == {0: (7, 9)}


def test_the_same_inputs_give_the_same_plan() -> None:
    spec = [(m % 50, m % 3, m) for m in range(60)]
    labels = [(f"l{i}", i % 2 == 0, 3 * i) for i in range(20)]
    first = plan_batch(_rows(spec), {p: _queue(p, 0, labels) for p in range(3)})
    second = plan_batch(_rows(list(reversed(spec))), {p: _queue(p, 0, labels) for p in range(3)})
    pd.testing.assert_frame_equal(first.rows, second.rows)
    pd.testing.assert_frame_equal(first.labels, second.labels)
    assert first.label_ranges == second.label_ranges

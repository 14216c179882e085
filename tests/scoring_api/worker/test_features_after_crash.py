"""Online features after crashes and restarts equal those of an uninterrupted run, transaction by transaction,
and those equal the offline engine's point-in-time features.

One partition, so that the order of the stream is the order of time; the labels are on their topic before the stream
passes their report time. A run crashes (the worker dies without a word: no snapshot, no commit) at every point of
the consume-transform-produce cycle: between batches (records polled, nothing begun), inside the Kafka transaction
before its input offsets are added, inside it with the offsets added (on their way to the coordinator while the
batch is processed) and the outputs not sent, inside it with the offsets and outputs sent and the commit not made,
between the Kafka commit and the state commit, and after the state commit (the batch applied in memory, not yet in a
snapshot); each time a new worker of the same slot starts from what is durable (the snapshot on disk, the topics,
the journal) and goes on. The embedded state forgets idle entities after every batch here, as it does every
``evict_every`` batches in production: features do not change for it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from features import OfflineFeatureEngine, default_feature_set
from scoring_api.worker import StreamWorker
from tests.scoring_api.worker import support
from tests.scoring_api.worker.conftest import Setup, WorkerThread, in_process_worker

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(900)]


class SimulatedCrashError(Exception):
    """The worker process dying at this very point."""


def _worker(setup: Setup, seen: dict[str, list[Any]]) -> StreamWorker:
    make = setup.scorers(lambda engine: support.RecordingEngine(engine, seen))
    return in_process_worker(setup, make_scorer=make, max_batch=150, snapshot_every=4, evict_every=1,
                             evict_lateness_s=0.0)  # fmt: skip


def _crash_at(worker: StreamWorker, where: str, batch: int) -> None:
    """Make ``worker`` die at ``where`` in its ``batch``-th batch, leaving nothing behind but what is durable."""
    count = {"n": 0}

    def dying(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            count["n"] += 1
            if count["n"] == batch:
                raise SimulatedCrashError(where)
            return original(*args, **kwargs)

        return wrapper

    def crash_disconnect() -> None:  # no snapshot, no goodbye: the consumer, feed and producer just go away
        worker.consumer.close()
        worker.feed.close()
        worker.producer.close(timeout_s=0)

    worker._disconnect = crash_disconnect  # type: ignore[method-assign]
    worker._abort_quietly = lambda: None  # type: ignore[method-assign]  # a dead process aborts nothing: its
    # open transaction stays until the next worker of the slot fences it (init_transactions aborts it)
    connect = worker._connect

    def connect_then_arm() -> None:
        connect()
        if where == "between batches":
            worker._process = dying(worker._process)  # type: ignore[method-assign]
        elif where == "in the transaction, before the offsets":
            worker.producer.send_offsets = dying(worker.producer.send_offsets)  # type: ignore[method-assign]
        elif where == "with the offsets sent, before the outputs":
            worker.producer.send_keyed = dying(worker.producer.send_keyed)  # type: ignore[method-assign]
        elif where == "with the offsets and outputs sent, before the commit":
            worker.producer.commit = dying(worker.producer.commit)  # type: ignore[method-assign]
        elif where == "between the Kafka commit and the state commit":
            worker.state.commit = dying(worker.state.commit)  # type: ignore[method-assign]
        elif where == "after the state commit":
            worker._account = dying(worker._account)  # type: ignore[method-assign]
        else:
            raise AssertionError(f"no crash point {where!r}")

    worker._connect = connect_then_arm  # type: ignore[method-assign]


def _run(setup: Setup, total: int, crashes: list[tuple[str, int]]) -> dict[str, list[Any]]:
    seen: dict[str, list[Any]] = defaultdict(list)
    for where, batch in crashes:
        worker = _worker(setup, seen)
        _crash_at(worker, where, batch)
        thread = WorkerThread(worker)
        thread.start()
        thread.join(300)
        assert isinstance(thread.error, SimulatedCrashError), f"the worker was to crash {where}: {thread.error!r}"
    last = WorkerThread(_worker(setup, seen), until=lambda r: False)
    last.start()
    support.wait_for(lambda: _decided(setup) >= total, "the whole stream", timeout_s=300)
    last.stop()
    return seen


def _decided(setup: Setup) -> int:
    return len(support.read_committed(setup.bootstrap, setup.topics.scores, settle_s=0.2, timeout_s=30))


def test_features_after_crashes_equal_an_uninterrupted_run_and_the_offline_engine(
    setup: Setup, kafka_broker: Any, tmp_path: Any
) -> None:
    stream = support.simulated_stream(days=5, seed=31, customers=400, terminals=300, history_days=1)
    transactions, labels = stream.transactions, stream.labels
    frauds = labels[labels["is_fraud"]]
    assert (frauds["reported_at"] < transactions["timestamp"].max()).sum() > 10, "labels fall due in the stream"

    runs: dict[str, dict[str, list[Any]]] = {}
    for name, crashes in (
        ("uninterrupted", []),
        (
            "crashed",
            [
                ("between the Kafka commit and the state commit", 3),
                ("with the offsets and outputs sent, before the commit", 4),
                ("between batches", 6),
                ("in the transaction, before the offsets", 2),
                ("with the offsets sent, before the outputs", 3),
                ("after the state commit", 5),
                ("between the Kafka commit and the state commit", 7),
            ],
        ),
    ):
        topics = support.make_topics(setup.bootstrap, 1)
        run_setup = replace(setup, topics=topics, state_dir=tmp_path / name)
        support.produce_labels(run_setup.bootstrap, topics.labels, labels)
        support.produce(run_setup.bootstrap, topics.transactions, transactions)
        runs[name] = _run(run_setup, len(transactions), crashes)
        decided = support.decisions_of(support.read_committed(run_setup.bootstrap, topics.scores, len(transactions)))
        assert sorted(d.transaction_id for d in decided) == sorted(transactions["transaction_id"]), name

    ids = transactions["transaction_id"].tolist()
    uninterrupted = np.vstack([runs["uninterrupted"][t][0] for t in ids])
    assert all(len(runs["uninterrupted"][t]) == 1 for t in ids)
    recomputed = 0
    for row, tx_id in enumerate(ids):
        computations = runs["crashed"][tx_id]
        recomputed += len(computations) - 1
        for features in computations:  # the aborted attempt, the replay and the committed one alike
            np.testing.assert_array_equal(features, uninterrupted[row], err_msg=tx_id)
    assert recomputed > 0, "the crashes made the worker compute some transactions again"

    offline = OfflineFeatureEngine(default_feature_set()).compute_array(transactions, labels)
    np.testing.assert_allclose(uninterrupted, offline, rtol=1e-9, atol=1e-9)

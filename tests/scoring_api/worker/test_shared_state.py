"""What several workers mean for the features: a terminal's windows span cards, and cards are spread over
partitions owned by different workers. With the shared Redis store, two workers give every transaction the
features one worker gives; each with its own embedded store, they do not (each sees only its own cards'
transactions at a terminal).

Compared are the features of the handbook's baseline, whose terminal windows end 7 days before the transaction:
what they count was committed long before, whichever worker committed it, so the comparison is exact for a live
stream, which the workers keep up with. (Windows of terminal activity in the last hour depend on the order in which two
workers commit the same minutes: with one store they see each other's commits as they happen, but not in one
fixed order. And workers do not wait for each other: one that falls behind the other by more than the lag, as
in a backlog, leaves the other's windows without its transactions.)
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from features import RedisStateStore, baseline_feature_set, default_feature_set
from tests.scoring_api.worker import support
from tests.scoring_api.worker.conftest import Setup, WorkerThread, in_process_worker

pytestmark = [pytest.mark.kafka, pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(900)]


def _run(setup: Setup, transactions: Any, workers: int, redis_prefix: str | None, redis_url: str) -> dict[str, Any]:
    """Features of every transaction streamed live (slower than the workers go, as a bank's stream arrives) to
    ``workers`` workers that joined the group first."""
    seen: dict[str, list[Any]] = defaultdict(list)
    make = setup.scorers(lambda engine: support.RecordingEngine(engine, seen))

    threads = []
    for slot in range(workers):
        store = None if redis_prefix is None else RedisStateStore.from_url(redis_url, prefix=redis_prefix)
        # Membership is not what this test is about: a session long enough that a member starved of CPU on a busy
        # machine keeps its partitions (a member dropped mid-run hands its cards to the other, which then sees all).
        worker = in_process_worker(setup, slot, make_scorer=make, store=store, max_batch=200, session_timeout_s=60.0)
        threads.append(WorkerThread(worker))
        threads[-1].start()

    def check(condition: bool) -> bool:
        for thread in threads:
            if thread.error is not None:
                raise thread.error
        return condition

    def settled() -> bool:
        owned = [len(thread.worker.report.partitions) for thread in threads]
        return check(all(owned) and sum(owned) == 4)

    support.wait_for(settled, "the group to settle", timeout_s=300)
    producer = support.Producer(setup.bootstrap, setup.topics.transactions, transactions, rate=100.0)
    producer.start()
    support.wait_for(lambda: check(len(seen) >= len(transactions)), "every transaction", timeout_s=600)
    owned = [len(thread.worker.report.partitions) for thread in threads]
    for thread in threads:
        thread.stop()
    assert all(thread.worker.report.batches > 0 for thread in threads), "every worker took part"
    assert all(owned), f"the group kept every member to the end (partitions owned: {owned})"
    assert sum(owned) == 4, f"every partition owned at the end (partitions owned: {owned})"
    return {tx: rows[0] for tx, rows in seen.items()}  # the computation the published decision used


def test_two_workers_on_the_shared_store_give_the_features_of_one_and_embedded_stores_do_not(
    setup: Setup, redis_url: str, tmp_path: Any
) -> None:
    stream = support.simulated_stream(days=12, seed=41, customers=300, terminals=60, history_days=1)
    transactions = stream.transactions
    features: dict[str, dict[str, Any]] = {}
    for name, workers, prefix in (
        ("one worker", 1, f"one-{setup.prefix}"),
        ("two workers, one store", 2, f"two-{setup.prefix}"),
        ("two workers, own stores", 2, None),
    ):
        topics = support.make_topics(setup.bootstrap, 4)
        run = replace(setup, topics=topics, state_dir=tmp_path / name)
        features[name] = _run(run, transactions, workers, prefix, redis_url)
    ids = transactions["transaction_id"].tolist()
    one = np.vstack([features["one worker"][t] for t in ids])
    shared = np.vstack([features["two workers, one store"][t] for t in ids])
    own = np.vstack([features["two workers, own stores"][t] for t in ids])
    names = default_feature_set().names
    baseline = [names.index(n) for n in baseline_feature_set().names]
    np.testing.assert_array_equal(shared[:, baseline], one[:, baseline])
    terminal = [names.index(n) for n in baseline_feature_set().names if n.startswith("terminal_count")]
    assert (own[:, terminal] != one[:, terminal]).any(axis=1).mean() > 0.2, "own stores miss the others' cards"

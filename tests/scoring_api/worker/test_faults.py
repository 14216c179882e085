"""Fault runs against real brokers and real worker processes, each checked for no loss and no duplicate among
the committed (read_committed) decisions: SIGKILL at random moments five times with restarts; the broker
stopped and restarted mid-stream; a second worker joining and leaving."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ingest.kafka import BrokerConfig, BrokerState, LocalKafkaBroker
from ingest.settings import IngestSettings
from scoring_api.worker import StreamDecision
from scoring_api.worker.journal import JournalReader
from tests.conftest import free_tcp_ports
from tests.scoring_api.worker import support
from tests.scoring_api.worker.conftest import Setup, WorkerProcess, rescore_committed_batches

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(900)]


def _stream(transactions: int, seed: int) -> support.Stream:
    stream = support.simulated_stream(days=6, seed=seed, customers=1_500, terminals=3_000, history_days=1)
    head = stream.transactions.head(transactions)
    labels = stream.labels[stream.labels["transaction_id"].isin(head["transaction_id"])]
    return support.Stream(stream.history, head, labels)


def _assert_exactly_once(setup: Setup, expected: pd.Series, timeout_s: float = 240.0) -> list[StreamDecision]:
    decisions = support.decisions_of(
        support.read_committed(setup.bootstrap, setup.topics.scores, len(expected), timeout_s=timeout_s)
    )
    counts = Counter(d.transaction_id for d in decisions)
    missing = set(expected) - set(counts)
    duplicated = {t: n for t, n in counts.items() if n > 1}
    assert not missing, f"{len(missing)} transactions have no committed decision"
    assert not duplicated, f"{len(duplicated)} transactions have several committed decisions"
    assert set(counts) == set(expected)
    return decisions


def _batches_of(setup: Setup, slot: int) -> int:
    """How many batches the worker of ``slot`` committed, as the journal says."""
    reader = JournalReader(setup.bootstrap, setup.topics.journal, "test-journal")
    try:
        records = list(reader.records(0, lambda: False, timeout_s=0.5))
    finally:
        reader.close()
    return sum(1 for record in records if record.worker == f"{setup.prefix}-{slot}")


def _committed(setup: Setup) -> int:
    return len(support.read_committed(setup.bootstrap, setup.topics.scores, settle_s=0.3, timeout_s=30))


def test_killed_five_times_at_random_moments_no_decision_is_lost_or_doubled(
    setup: Setup, processes: list[WorkerProcess], tmp_path: Path
) -> None:
    stream = _stream(14_400, seed=21)
    support.produce_labels(setup.bootstrap, setup.topics.labels, stream.labels)
    chunks = np.array_split(np.arange(len(stream.transactions)), 6)
    rng = random.Random(7)
    log = tmp_path / "worker.log"
    for kill in range(5):
        # A fresh chunk for each life, so that the kill lands while the worker is busy with it.
        support.produce(setup.bootstrap, setup.topics.transactions, stream.transactions.iloc[chunks[kill]])
        committed = _batches_of(setup, 0)
        worker = WorkerProcess(setup, 0, log, max_batch=300, snapshot_every=3)
        processes.append(worker)
        support.wait_for(lambda n=committed: _batches_of(setup, 0) > n, "a batch of this life", timeout_s=300)
        time.sleep(rng.uniform(0.0, 2.5))
        assert worker.process.poll() is None, worker.tail()
        worker.kill()
    support.produce(setup.bootstrap, setup.topics.transactions, stream.transactions.iloc[chunks[5]])
    final = WorkerProcess(setup, 0, log, max_batch=300, snapshot_every=3)
    processes.append(final)
    decisions = _assert_exactly_once(setup, stream.transactions["transaction_id"], timeout_s=400)
    assert final.terminate() == 0, final.tail()
    # Each restart brought the features back (snapshot and journal): every committed decision is the one a run
    # without the kills takes over the same batches.
    expected = rescore_committed_batches(setup)
    assert expected.keys() == {d.transaction_id for d in decisions}
    for decision in decisions:
        assert (decision.score, decision.outcome) == expected[decision.transaction_id], decision.transaction_id
    text = log.read_text(errors="replace")
    assert text.count('"worker started"') == 6
    assert "journal record replayed" in text, "a restart rebuilt the state from the journal"
    assert support.read_committed(setup.bootstrap, setup.topics.dead_letters, settle_s=0.5) == []


def test_a_second_worker_joins_and_leaves_and_every_transaction_is_decided_once(
    setup: Setup, processes: list[WorkerProcess], tmp_path: Path
) -> None:
    stream = _stream(9_000, seed=22)
    support.produce_labels(setup.bootstrap, setup.topics.labels, stream.labels)
    phases = np.array_split(np.arange(len(stream.transactions)), 3)
    support.produce(setup.bootstrap, setup.topics.transactions, stream.transactions.iloc[phases[0]])
    first = WorkerProcess(setup, 0, tmp_path / "first.log", max_batch=300)
    processes.append(first)
    support.wait_for(lambda: _batches_of(setup, 0) >= 1, "the first worker's first batch", timeout_s=300)
    second = WorkerProcess(setup, 1, tmp_path / "second.log", max_batch=300)
    processes.append(second)
    # The joining worker first replays the journal's batches of the partitions it takes over (its embedded state
    # has never seen them), then takes part in the next phase of the stream.
    support.wait_for(lambda: "partitions assigned" in second.tail(), "the second worker's partitions", timeout_s=300)
    support.produce(setup.bootstrap, setup.topics.transactions, stream.transactions.iloc[phases[1]])
    try:
        support.wait_for(lambda: _batches_of(setup, 1) >= 3, "the second worker's first batches", timeout_s=300)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- first\n{first.tail()}\n--- second\n{second.tail()}") from None
    assert second.terminate() == 0, second.tail()  # SIGTERM: finish the batch, commit, leave the group
    support.produce(setup.bootstrap, setup.topics.transactions, stream.transactions.iloc[phases[2]])
    _assert_exactly_once(setup, stream.transactions["transaction_id"])
    assert first.terminate() == 0, first.tail()
    assert '"worker stopped"' in (tmp_path / "second.log").read_text(errors="replace")
    assert "partitions revoked" in first.tail() or "partitions assigned" in first.tail()


@pytest.fixture
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerState]:
    """A broker of this test's own on free ports (the test stops and restarts it)."""
    port, controller_port = free_tcp_ports(2)
    config = replace(
        BrokerConfig.from_settings(IngestSettings()),
        run_dir=tmp_path_factory.mktemp("own-broker"),
        port=port,
        controller_port=controller_port,
    )
    broker = LocalKafkaBroker(config)
    state = broker.start()
    yield state
    broker.stop()


def test_the_broker_stopped_and_restarted_mid_stream_loses_and_doubles_nothing(
    own_broker: BrokerState, setup: Setup, processes: list[WorkerProcess], tmp_path: Path
) -> None:
    broker = LocalKafkaBroker(
        replace(
            BrokerConfig.from_settings(IngestSettings()),
            run_dir=Path(own_broker.run_dir),
            port=own_broker.port,
            controller_port=own_broker.controller_port,
        )
    )
    setup = replace(setup, bootstrap=own_broker.bootstrap_servers,
                    topics=support.make_topics(own_broker.bootstrap_servers, 3))  # fmt: skip
    stream = _stream(8_000, seed=23)
    support.produce_labels(setup.bootstrap, setup.topics.labels, stream.labels)
    first, rest = stream.transactions.iloc[:3_000], stream.transactions.iloc[3_000:]
    support.produce(setup.bootstrap, setup.topics.transactions, first)
    log = tmp_path / "worker.log"
    worker = WorkerProcess(setup, 0, log, max_batch=300)
    processes.append(worker)
    support.wait_for(lambda: _batches_of(setup, 0) >= 2, "the first batches", timeout_s=300)
    # The rest of the stream is on its way (the producer rides out the outage) when the broker stops.
    producer = support.Producer(setup.bootstrap, setup.topics.transactions, rest, rate=250.0)
    producer.start()
    time.sleep(1.0)
    broker.stop()
    time.sleep(5.0)
    broker.start()
    restarts = 0
    deadline = time.monotonic() + 400
    while producer.is_alive() or _committed(setup) < len(stream.transactions):
        if worker.process.poll() is not None:  # a worker that gave up during the outage is started again
            restarts += 1
            worker = WorkerProcess(setup, 0, log, max_batch=300)
            processes.append(worker)
        assert time.monotonic() < deadline, f"the stream did not finish after the broker came back\n{worker.tail()}"
        time.sleep(2.0)
    assert producer.error is None
    _assert_exactly_once(setup, stream.transactions["transaction_id"])
    assert worker.terminate() == 0, worker.tail()
    assert restarts <= 3

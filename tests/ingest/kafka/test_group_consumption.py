"""Against the real broker: 20,000 simulated transactions through a consumer group of two.

Semantics under test: every transaction is processed exactly once with respect to committed processing. Each
worker commits a batch right after processing it and before polling again, so a partition that moves to the
other member resumes after the last processed batch. Any redelivery (at-least-once) would show up as a
duplicate; duplicates are counted, not filtered, and must be zero.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import pandas as pd
import pytest

from ingest.contract import TRANSACTION_COLUMNS
from ingest.kafka import BrokerState, TopicSpec, TransactionConsumer, TransactionProducer, ensure_topics
from ingest.simulator import SimulatorConfig, simulate

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

N_TRANSACTIONS = 20_000
PARTITIONS = 6
DEADLINE_S = 120.0


@pytest.fixture(scope="module")
def transactions() -> pd.DataFrame:
    frame = simulate(SimulatorConfig.preset("handbook", days=3, seed=0)).transactions
    assert len(frame) >= N_TRANSACTIONS
    return frame.head(N_TRANSACTIONS).reset_index(drop=True)


class Worker(threading.Thread):
    """One member of the group: poll, process (keep the rows), commit; until told to stop or to leave."""

    def __init__(
        self,
        consumer: TransactionConsumer,
        leave_when: Callable[[Worker], bool] | None = None,
        seconds_per_batch: float = 0.0,
    ) -> None:
        super().__init__(daemon=True)
        self.consumer = consumer
        self.leave_when = leave_when
        self.seconds_per_batch = seconds_per_batch
        self.frames: list[pd.DataFrame] = []
        self.processed = 0
        self.rejected = 0
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self.left = threading.Event()

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                batch = self.consumer.poll_batch(timeout_s=0.5)
                if batch is None:
                    continue
                self.frames.append(batch.frame)
                time.sleep(self.seconds_per_batch)  # the time a slower scorer would take
                self.processed += len(batch.frame)
                self.rejected += len(batch.rejected)
                self.consumer.commit(batch)
                if self.leave_when is not None and self.leave_when(self):
                    break
        except BaseException as exc:
            self.error = exc
        finally:
            self.consumer.close()
            self.left.set()

    def result(self) -> pd.DataFrame:
        return pd.concat(self.frames, ignore_index=True) if self.frames else pd.DataFrame()


def _topic(broker: BrokerState) -> str:
    topic = f"test-transactions-{uuid.uuid4().hex[:10]}"
    ensure_topics(broker.bootstrap_servers, [TopicSpec(topic, PARTITIONS)])
    return topic


def _consumer(broker: BrokerState, group: str, topic: str, name: str) -> TransactionConsumer:
    # Small polls so that both members and the hand-over see many batches.
    return TransactionConsumer(broker.bootstrap_servers, group, [topic], client_id=name, max_poll_records=250)


def _wait_for(condition: Callable[[], bool], what: str, workers: list[Worker]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        for worker in workers:
            if worker.error is not None:
                raise worker.error
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _produce(broker: BrokerState, topic: str, frame: pd.DataFrame) -> None:
    with TransactionProducer(broker.bootstrap_servers, topic) as producer:
        assert producer.send_frame(frame) == len(frame)
        producer.flush()


def _assert_identical(received: pd.DataFrame, sent: pd.DataFrame) -> None:
    columns = list(TRANSACTION_COLUMNS)
    got = received[columns].sort_values("transaction_id").reset_index(drop=True)
    want = sent[columns].sort_values("transaction_id").reset_index(drop=True)
    for column in columns:
        assert got[column].tolist() == want[column].tolist(), f"column {column} differs after the round trip"


def _assert_each_card_stays_in_one_partition(received: pd.DataFrame) -> None:
    partitions_per_card = received.groupby("card_token")["kafka_partition"].nunique()
    assert (partitions_per_card == 1).all()


def test_a_group_of_two_receives_every_transaction_exactly_once(
    kafka_broker: BrokerState, transactions: pd.DataFrame
) -> None:
    topic = _topic(kafka_broker)
    group = f"group-{topic}"
    workers = [Worker(_consumer(kafka_broker, group, topic, f"member-{i}")) for i in range(2)]
    for worker in workers:
        worker.start()
    # Produce only once both members hold partitions, so that the work is really shared.
    _wait_for(
        lambda: (
            all(w.consumer.assignment() for w in workers)
            and len(workers[0].consumer.assignment() | workers[1].consumer.assignment()) == PARTITIONS
        ),
        "both members to be assigned partitions",
        workers,
    )
    _produce(kafka_broker, topic, transactions)
    _wait_for(lambda: sum(w.processed for w in workers) >= N_TRANSACTIONS, "all transactions", workers)
    time.sleep(1.0)  # a grace period in which a duplicate delivery would show up
    for worker in workers:
        worker.stop.set()
        worker.join(timeout=30)
        assert worker.error is None
    received = pd.concat([w.result() for w in workers], ignore_index=True)

    assert all(w.processed > 0 for w in workers), "each member processes part of the stream"
    assert sum(w.rejected for w in workers) == 0
    assert received["transaction_id"].duplicated().sum() == 0
    assert len(received) == N_TRANSACTIONS
    owned = [set(w.result()["kafka_partition"]) for w in workers]
    assert not owned[0] & owned[1], "a partition is read by one member only"
    _assert_each_card_stays_in_one_partition(received)
    _assert_identical(received, transactions)


def test_a_member_that_leaves_hands_its_partitions_over_with_nothing_lost(
    kafka_broker: BrokerState, transactions: pd.DataFrame
) -> None:
    topic = _topic(kafka_broker)
    group = f"group-{topic}"
    _produce(kafka_broker, topic, transactions)
    staying = Worker(_consumer(kafka_broker, group, topic, "staying"))
    # The leaving member is slow (about 2,500 transactions/s), so it is still mid-stream when the other joins;
    # it leaves once it has done a fifth of the work and the other member holds partitions.
    leaving = Worker(
        _consumer(kafka_broker, group, topic, "leaving"),
        leave_when=lambda w: w.processed >= N_TRANSACTIONS // 5 and bool(staying.consumer.assignment()),
        seconds_per_batch=0.1,
    )
    leaving.start()
    _wait_for(lambda: bool(leaving.consumer.assignment()), "the first member's assignment", [leaving])
    staying.start()
    _wait_for(leaving.left.is_set, "the first member to leave", [leaving, staying])
    assert leaving.error is None
    _wait_for(lambda: leaving.processed + staying.processed >= N_TRANSACTIONS, "the rest of the stream", [staying])
    time.sleep(1.0)  # a grace period in which a duplicate delivery would show up
    all_partitions = frozenset((topic, p) for p in range(PARTITIONS))
    took_everything = staying.consumer.assignment() == all_partitions
    staying.stop.set()
    staying.join(timeout=30)
    assert staying.error is None

    assert N_TRANSACTIONS // 5 <= leaving.processed < N_TRANSACTIONS, "the member left mid-stream"
    assert took_everything, "after the other member left, the remaining one owns every partition"
    received = pd.concat([leaving.result(), staying.result()], ignore_index=True)
    duplicates = int(received["transaction_id"].duplicated().sum())
    assert duplicates == 0, f"{duplicates} committed transactions were processed twice"
    assert len(received) == N_TRANSACTIONS
    taken_over = set(leaving.result()["kafka_partition"]) & set(staying.result()["kafka_partition"])
    assert taken_over, "the remaining member continued partitions that the leaving member had read from"
    _assert_identical(received, transactions)

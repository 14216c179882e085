"""Worker test support: simulated streams, topics, producing at a rate, reading back, recording features."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from features import OnlineFeatureEngine
from ingest.kafka import TopicSpec, TransactionProducer, ensure_topics, read_topic, send_raw
from ingest.simulator import SimulatorConfig, simulate
from ingest.simulator.stream import send_at_rate
from scoring_api.worker import StreamDecision, WorkerTopics, decode_decision


@dataclass(frozen=True)
class Stream:
    """A simulated history (to train on) and the transactions and labels that follow it (to stream)."""

    history: pd.DataFrame
    transactions: pd.DataFrame
    labels: pd.DataFrame


def simulated_stream(days: int, seed: int = 0, customers: int = 600, terminals: int = 1200, history_days: int = 10
                     ) -> Stream:  # fmt: skip
    config = SimulatorConfig.preset("handbook", days=history_days + days, seed=seed, n_customers=customers,
                                    n_terminals=terminals)  # fmt: skip
    data = simulate(config)
    cut = data.transactions["timestamp"].min().normalize() + pd.Timedelta(days=history_days)
    history = data.transactions[data.transactions["timestamp"] < cut].reset_index(drop=True)
    stream = data.transactions[data.transactions["timestamp"] >= cut].reset_index(drop=True)
    labels = data.labels[data.labels["transaction_id"].isin(stream["transaction_id"])]
    return Stream(history, stream, labels.sort_values("reported_at", kind="stable").reset_index(drop=True))


def make_topics(bootstrap: str, partitions: int) -> WorkerTopics:
    suffix = uuid.uuid4().hex[:8]
    topics = WorkerTopics(
        transactions=f"tx-{suffix}",
        labels=f"labels-{suffix}",
        scores=f"scores-{suffix}",
        dead_letters=f"tx-{suffix}.dlq",
        journal=f"journal-{suffix}",
    )
    ensure_topics(
        bootstrap,
        [
            TopicSpec(topics.transactions, partitions),
            TopicSpec(topics.labels, partitions),
            TopicSpec(topics.scores, partitions),
            TopicSpec(topics.dead_letters, 1),
        ],
    )
    return topics


class Producer(threading.Thread):
    """Produces the transactions at a steady rate in the background, as a bank's systems would."""

    def __init__(self, bootstrap: str, topic: str, frame: pd.DataFrame, rate: float) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.frame, self.rate = bootstrap, topic, frame, rate
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with TransactionProducer(self.bootstrap, self.topic, retries=1_000_000, delivery_timeout_ms=600_000,
                                     request_timeout_ms=10_000) as producer:  # fmt: skip
                send_at_rate(self.frame, producer.send_frame, self.rate)
                producer.flush(timeout_s=300)
        except BaseException as exc:
            self.error = exc


def produce(bootstrap: str, topic: str, frame: pd.DataFrame) -> None:
    with TransactionProducer(bootstrap, topic) as producer:
        producer.send_frame(frame)
        producer.flush()


def produce_labels(bootstrap: str, topic: str, labels: pd.DataFrame) -> None:
    with TransactionProducer(bootstrap, topic) as producer:
        producer.send_labels(labels)
        producer.flush()


def produce_raw(bootstrap: str, topic: str, messages: list[tuple[bytes | None, bytes | None]]) -> None:
    send_raw(bootstrap, topic, messages, max_request_size=2 * 1024 * 1024)


class RecordingEngine:
    """An online engine that records every computation of every transaction's features (``seen``: transaction
    id -> the rows computed, in order), for tests of the feature state across crashes and workers."""

    def __init__(self, engine: OnlineFeatureEngine, seen: dict[str, list[Any]]) -> None:
        self._engine = engine
        self.seen = seen

    def update_and_read_batch(self, frame: pd.DataFrame) -> Any:
        rows = self._engine.update_and_read_batch(frame)
        for tx_id, row in zip(frame["transaction_id"].tolist(), rows, strict=True):
            self.seen[tx_id].append(row.copy())
        return rows

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


def read_committed(bootstrap: str, topic: str, expected: int | None = None, timeout_s: float = 120.0,
                   settle_s: float = 2.0) -> list[Any]:  # fmt: skip
    """Every committed message of ``topic`` (read_committed, from the beginning)."""
    return read_topic(bootstrap, topic, expected=expected, timeout_s=timeout_s, settle_s=settle_s)


def decisions_of(messages: list[Any]) -> list[StreamDecision]:
    return [decode_decision(m.value) for m in messages]


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)

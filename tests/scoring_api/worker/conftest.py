"""Fixtures of the worker tests: the scoring service's blessed world (its forest champion), the contract suite
saved once, topics per test, and workers run in this process (threads) or as real processes
(``python -m scoring_api.worker``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from features import FeaturesSettings, OnlineFeatureEngine, StateStore, default_feature_set
from ingest.kafka import BrokerState, RangeReader, micro_batch
from ingest.settings import IngestSettings
from lifecycle.registry import ModelRegistry
from lifecycle.settings import LifecycleSettings
from monitoring.audit import AuditSettings
from scoring_api.deployments import DeploymentManager
from scoring_api.pipeline import FixedPolicy
from scoring_api.pipeline.checks import load_checker
from scoring_api.settings import ScoringSettings
from scoring_api.sinks import Sinks
from scoring_api.worker import (
    RowScorer,
    StreamWorker,
    WorkerConfig,
    WorkerReport,
    WorkerSettings,
    WorkerTopics,
    stream_scorer,
    worker_topics,
)
from scoring_api.worker.journal import JournalReader
from scoring_api.worker.labels import LabelQueue
from scoring_api.worker.plan import plan_batch
from scoring_api.worker.process import process_plan
from tests.lifecycle.registry import support as registry_support
from tests.scoring_api.support import World, blessed_registry
from tests.scoring_api.worker import support

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def registry_dir(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the world's blessed registry (the forest champion), over the world's model store: a test may
    register and promote in it."""
    folder = tmp_path_factory.mktemp("registry")
    registry, _ = blessed_registry(folder, world)
    registry.close()
    return folder


@pytest.fixture(scope="session")
def suite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The contract suite saved as JSON: workers compile it without importing great-expectations."""
    from ingest.validation import build_suite, save_suite

    return save_suite(build_suite(), tmp_path_factory.mktemp("suite") / "suite.json")


@dataclass
class Setup:
    """Everything a test needs to run workers against one set of topics."""

    bootstrap: str
    topics: WorkerTopics
    registry_dir: Path
    model_store: Path
    state_dir: Path
    suite: Path
    prefix: str = field(default_factory=lambda: f"test-scorer-{uuid.uuid4().hex[:8]}")

    @property
    def group(self) -> str:
        return f"group-{self.topics.transactions}"

    def settings(self, **overrides: Any) -> WorkerSettings:
        values: dict[str, Any] = {
            "group_id": self.group,
            "transactional_id_prefix": self.prefix,
            "topic_journal": self.topics.journal,
            "state_dir": self.state_dir,
            "metrics_port": 0,
            "suite_path": self.suite,
            "session_timeout_s": 6.0,
            "max_batch": 500,
            "snapshot_every": 4,
            "recovery_timeout_s": 30.0,
            "monitor": False,
        }
        values.update(overrides)
        return WorkerSettings(**values)

    def config(self, **overrides: Any) -> WorkerConfig:
        ingest = IngestSettings(
            kafka_bootstrap_servers=self.bootstrap,
            topic_transactions=self.topics.transactions,
            topic_labels=self.topics.labels,
            topic_scores=self.topics.scores,
            topic_dead_letters=self.topics.dead_letters,
        )
        lifecycle = LifecycleSettings(
            registry_url=f"sqlite:///{self.registry_dir}/registry.sqlite",
            model_store=self.model_store,
            model_signing_key=registry_support.KEY,
        )
        audit = AuditSettings(audit_url=self.audit_url, audit_archive_dir=self.state_dir.parent / "audit-archive")
        return WorkerConfig(ingest, self.settings(**overrides), FeaturesSettings(), ScoringSettings(), lifecycle,
                            audit)  # fmt: skip

    @property
    def audit_url(self) -> str:
        """The audit trail of this test's workers (beside their state)."""
        return f"sqlite:///{self.state_dir.parent}/audit.sqlite"

    def registry(self) -> ModelRegistry:
        return ModelRegistry(f"sqlite:///{self.registry_dir}/registry.sqlite", self.model_store,
                             signing_key=registry_support.KEY)  # fmt: skip

    def scorers(self, wrap: Callable[[OnlineFeatureEngine], Any] | None = None
                ) -> Callable[[OnlineFeatureEngine], RowScorer]:  # fmt: skip
        """Stream scorers over the champion (the pipeline every path shares), each engine wrapped by ``wrap``."""
        deployments = DeploymentManager(self.registry(), feature_set=default_feature_set(), sink=Sinks([]))
        deployments.refresh()
        checker, policy = load_checker(self.suite), FixedPolicy()

        def make(engine: OnlineFeatureEngine) -> RowScorer:
            return stream_scorer(engine if wrap is None else wrap(engine), checker, deployments, policy)

        return make

    def environment(self, **overrides: Any) -> dict[str, str]:
        """The environment of a worker process configured like :meth:`config`."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("FRAUD_")}
        env.update(
            {
                "FRAUD_ENVIRONMENT": "test",
                "FRAUD_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
                "FRAUD_TOPIC_TRANSACTIONS": self.topics.transactions,
                "FRAUD_TOPIC_LABELS": self.topics.labels,
                "FRAUD_TOPIC_SCORES": self.topics.scores,
                "FRAUD_TOPIC_DEAD_LETTERS": self.topics.dead_letters,
                "FRAUD_REGISTRY_URL": f"sqlite:///{self.registry_dir}/registry.sqlite",
                "FRAUD_MODEL_STORE": str(self.model_store),
                "FRAUD_MODEL_SIGNING_KEY": registry_support.KEY.get_secret_value(),
                "FRAUD_AUDIT_URL": self.audit_url,
                "FRAUD_AUDIT_ARCHIVE_DIR": str(self.state_dir.parent / "audit-archive"),
            }
        )
        for name, value in self.settings(**overrides).model_dump().items():
            if value is not None:
                env[f"FRAUD_WORKER_{name.upper()}"] = str(value)
        return env


@pytest.fixture
def setup(kafka_broker: BrokerState, world: World, registry_dir: Path, suite_file: Path, tmp_path: Path) -> Setup:
    return Setup(kafka_broker.bootstrap_servers, support.make_topics(kafka_broker.bootstrap_servers, 3),
                 registry_dir, world.registry_root / "store", tmp_path / "state", suite_file)  # fmt: skip


class WorkerThread(threading.Thread):
    """A worker run in this process until told to stop or until ``until`` holds."""

    def __init__(self, worker: StreamWorker, until: Callable[[WorkerReport], bool] | None = None) -> None:
        super().__init__(daemon=True)
        self.worker = worker
        self.until = until
        self.error: BaseException | None = None
        self.report: WorkerReport | None = None

    def run(self) -> None:
        try:
            self.report = self.worker.run(self.until)
        except BaseException as exc:
            self.error = exc

    def stop(self, timeout_s: float = 60.0) -> WorkerReport:
        self.worker.request_stop()
        self.join(timeout_s)
        assert not self.is_alive(), "the worker did not stop"
        if self.error is not None:
            raise self.error
        assert self.report is not None
        return self.report


def run_through(worker: StreamWorker, messages: int, timeout_s: float = 300.0) -> WorkerReport:
    """Run ``worker`` in a thread until it has consumed ``messages`` messages; its report (its error raised)."""
    thread = WorkerThread(worker, until=lambda report: report.consumed >= messages)
    thread.start()
    thread.join(timeout_s)
    assert not thread.is_alive(), "the worker did not get through the stream in time"
    if thread.error is not None:
        raise thread.error
    assert thread.report is not None
    return thread.report


def in_process_worker(
    setup: Setup,
    slot: int = 0,
    make_scorer: Callable[[OnlineFeatureEngine], RowScorer] | None = None,
    store: StateStore | None = None,
    **overrides: Any,
) -> StreamWorker:
    """A worker over the champion (or ``make_scorer``), the embedded store (or ``store``)."""
    config = setup.config(**overrides)
    feature_set = default_feature_set()
    return StreamWorker(
        bootstrap_servers=setup.bootstrap,
        topics=worker_topics(config.ingest, config.worker),
        settings=config.worker,
        slot=slot,
        make_engine=lambda s: OnlineFeatureEngine(feature_set, s),
        make_scorer=make_scorer or setup.scorers(),
        store=store,
    )


class WorkerProcess:
    """``python -m scoring_api.worker --slot K`` with the setup's environment; its log goes to a file."""

    def __init__(self, setup: Setup, slot: int, log: Path, **overrides: Any) -> None:
        self.log = log
        self._handle = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scoring_api.worker", "--slot", str(slot)],
            cwd=ROOT,
            env=setup.environment(**overrides),
            stdout=self._handle,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        self._handle.close()

    def terminate(self, timeout_s: float = 90.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout_s)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(10)
            self._handle.close()
        return code

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture
def processes() -> Iterator[list[WorkerProcess]]:
    """Worker processes a test starts; any still running at the end are killed."""
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait(10)


def rescore_committed_batches(setup: Setup) -> dict[str, tuple[float, str]]:
    """Score the journal's committed batches again, in its order, with a fresh engine and scorer (a run without
    any failure over the same batches): transaction id -> (score, decision)."""
    from kafka import TopicPartition

    scorer = setup.scorers()(OnlineFeatureEngine(default_feature_set()))
    journal = JournalReader(setup.bootstrap, setup.topics.journal, "test-journal")
    reader = RangeReader(setup.bootstrap, "test-ranges")
    out: dict[str, tuple[float, str]] = {}
    try:
        end = journal.end()
        for record in journal.records(0, lambda: False, timeout_s=2.0):
            polled = {TopicPartition(t, p): reader.read(t, p, a, b) for (t, p), (a, b) in record.inputs.items()}
            queues = {}
            for (topic, partition), (first, last) in record.labels.items():
                queue = LabelQueue(partition, first)
                queue.extend(reader.read(topic, partition, first, last), topic, last)
                queues[partition] = queue
            processed = process_plan(plan_batch(micro_batch(polled).frame, queues), scorer)
            for _, decision in processed.scored.decided:
                out[decision.transaction_id] = (decision.score, decision.outcome.value)
            if record.offset + 1 >= end:
                break
    finally:
        journal.close()
        reader.close()
    return out

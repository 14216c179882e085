"""The worker's recorder (the audit trail) is told of every decision before it is published: a decision on
``scores`` was recorded first, and a batch the recorder refuses publishes nothing and is processed again. The
worker as the settings build it records into the scoring service's audit trail, through the service's own
recorder: every stream decision is there, as every API decision is."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future

import pytest

from ingest.kafka import TransactionalProducer
from monitoring.audit import AuditLog, DecisionEvent
from monitoring.audit.filters import AuditFilter
from scoring_api.records import Decision
from scoring_api.sinks import BatchScored
from scoring_api.worker import build_worker
from tests.scoring_api.worker import support
from tests.scoring_api.worker.conftest import Setup, in_process_worker, run_through

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(600)]


class FlakyTrail:
    """A recorder whose store refuses the submissions numbered in ``refuse`` (down for a while), keeping the rest:
    ``"fails"`` fails the commit's future, ``"raises"`` refuses the submission itself. Each future is settled when
    the worker waits for it, and notes how many decision sends the worker had made by then (``sends``)."""

    timeout_s = 30.0

    def __init__(self, refuse: dict[int, str], sends: list[int] | None = None) -> None:
        self.refuse = refuse
        self.sends = sends or [0]
        self.calls = 0
        self.recorded: list[Decision] = []
        self.sources: set[str] = set()
        #: Per settled submission: (its number, decision sends when it was submitted, when it was waited for).
        self.waits: list[tuple[int, int, int]] = []

    def submit_scored(self, event: BatchScored) -> Future[None]:
        self.calls += 1
        call, submitted = self.calls, self.sends[0]
        if self.refuse.get(call) == "raises":
            raise ConnectionError("the audit store is unreachable")

        def settle(future: Future[None]) -> None:
            self.waits.append((call, submitted, self.sends[0]))
            if self.refuse.get(call) == "fails":
                future.set_exception(ConnectionError("the audit store lost the connection"))
                return
            self.recorded.extend(event.batch.new_decisions)
            self.sources.add(event.source)
            future.set_result(None)

        return _SettledOnWait(settle)


class _SettledOnWait(Future[None]):
    """A future that the recorder settles when the worker first waits for it (the commit is in flight until then)."""

    def __init__(self, settle: Callable[[Future[None]], None]) -> None:
        super().__init__()
        self._settle = settle

    def result(self, timeout: float | None = None) -> None:
        if not self.done():
            self._settle(self)
        return super().result(timeout)


def _count_decision_sends(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times workers sent a batch's decisions into their transaction so far (one cell, updated)."""
    sends = [0]
    send_keyed = TransactionalProducer.send_keyed

    def counted(self: TransactionalProducer, topic: str, keys: Sequence[bytes], values: Sequence[bytes]) -> int:
        sends[0] += 1
        return send_keyed(self, topic, keys, values)

    monkeypatch.setattr(TransactionalProducer, "send_keyed", counted)
    return sends


def test_every_published_decision_was_recorded_first_and_a_refused_batch_publishes_nothing(setup: Setup) -> None:
    transactions = support.simulated_stream(days=1, seed=41).transactions.head(3_000)
    support.produce(setup.bootstrap, setup.topics.transactions, transactions)
    trail = FlakyTrail(refuse={2: "fails", 3: "raises", 5: "fails"})
    worker = in_process_worker(setup, max_batch=300)
    worker.recorder = trail
    report = run_through(worker, len(transactions))
    assert report.aborted == 3, "each refusal undid its batch"
    assert (
        worker.metrics.registry.get_sample_value("fraud_worker_batches_unrecorded_total", {"worker": worker.worker_id})
        == 3
    )

    decisions = support.decisions_of(support.read_committed(setup.bootstrap, setup.topics.scores, len(transactions)))
    counts = Counter(d.transaction_id for d in decisions)
    assert set(counts) == set(transactions["transaction_id"])
    assert max(counts.values()) == 1
    recorded = {d.decision_id: d for d in trail.recorded}
    assert len(recorded) == len(trail.recorded) == len(transactions), "refused batches recorded nothing"
    for decision in decisions:
        assert decision.decision_id in recorded, "a decision was published without its record"
        kept = recorded[decision.decision_id]
        assert (kept.transaction_id, kept.score, kept.outcome.value) == (
            decision.transaction_id,
            decision.score,
            decision.outcome,
        )
    assert trail.sources == {"stream"}


def test_the_recording_is_awaited_after_the_sends_and_a_failed_one_publishes_none_of_them(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    transactions = support.simulated_stream(days=1, seed=42).transactions.head(1_200)
    support.produce(setup.bootstrap, setup.topics.transactions, transactions)
    sends = _count_decision_sends(monkeypatch)
    trail = FlakyTrail(refuse={1: "fails", 3: "fails"}, sends=sends)
    worker = in_process_worker(setup, max_batch=300)
    worker.recorder = trail
    report = run_through(worker, len(transactions))

    # Each batch's decisions were submitted before its outputs were sent, and waited for after.
    assert trail.waits, "the recorder was waited for"
    assert all(waited == submitted + 1 for _, submitted, waited in trail.waits), trail.waits
    assert [call for call, _, _ in trail.waits] == list(range(1, trail.calls + 1))
    # The two failed recordings aborted what had been sent: every transaction is on scores once, recorded first.
    assert report.aborted == 2
    assert sends[0] == report.batches + 2
    decisions = support.decisions_of(support.read_committed(setup.bootstrap, setup.topics.scores, len(transactions)))
    assert sorted(d.transaction_id for d in decisions) == sorted(transactions["transaction_id"])
    recorded = {d.decision_id for d in trail.recorded}
    assert len(recorded) == len(transactions)
    assert {d.decision_id for d in decisions} == recorded, "only recorded decisions were published"


def test_the_worker_records_every_published_decision_in_the_services_audit_trail(setup: Setup) -> None:
    transactions = support.simulated_stream(days=1, seed=43).transactions.head(1_500)
    support.produce(setup.bootstrap, setup.topics.transactions, transactions)
    config = setup.config(max_batch=400)
    assert config.scoring.audit, "the audit trail is on unless switched off"
    worker = build_worker(config, 0, make_scorer=setup.scorers())
    run_through(worker, len(transactions))  # its stop closes the trail's writer

    decisions = support.decisions_of(support.read_committed(setup.bootstrap, setup.topics.scores, len(transactions)))
    assert config.audit is not None
    log = AuditLog.from_settings(config.audit)
    try:
        events = [record.event() for record in log.records(AuditFilter(kinds=("decision",)))]
        assert log.verify().ok, "the chain holds"
    finally:
        log.close()
    recorded = {event.decision_id: event for event in events if isinstance(event, DecisionEvent)}
    assert len(recorded) == len(events) == len(decisions) == len(transactions)
    for decision in decisions:
        event = recorded[decision.decision_id]
        assert (event.transaction_id, event.score, event.decision, event.model_content_id) == (
            decision.transaction_id,
            decision.score,
            decision.outcome,
            decision.model_version,
        )
        assert event.source == "stream"
        assert event.backend == config.scoring.model_backend
        assert event.features, "with the model input a replay feeds back"

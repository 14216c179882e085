"""The worker's recorder (the audit trail) is told of every decision before it is published: a decision on
``scores`` was recorded first, and a batch the recorder refuses publishes nothing and is processed again. The
worker as the settings build it records into the scoring service's audit trail, through the service's own
recorder: every stream decision is there, as every API decision is."""

from __future__ import annotations

from collections import Counter

import pytest

from monitoring.audit import AuditLog, DecisionEvent
from monitoring.audit.filters import AuditFilter
from scoring_api.records import Decision
from scoring_api.sinks import AccessEvent, BatchScored, DecisionConfigChanged, DeploymentChanged
from scoring_api.worker import build_worker
from tests.scoring_api.worker import support
from tests.scoring_api.worker.conftest import Setup, in_process_worker, run_through

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(600)]


class FlakyTrail:
    """A recorder whose store refuses the calls numbered in ``refuse`` (down for a while), keeping the rest."""

    def __init__(self, refuse: set[int]) -> None:
        self.refuse = refuse
        self.calls = 0
        self.recorded: list[Decision] = []
        self.sources: set[str] = set()

    def batch_scored(self, event: BatchScored) -> None:
        self.calls += 1
        if self.calls in self.refuse:
            raise ConnectionError("the audit store is unreachable")
        self.recorded.extend(event.batch.new_decisions)
        self.sources.add(event.source)

    def deployment_changed(self, event: DeploymentChanged) -> None:
        raise AssertionError("the worker changes no deployment")

    def decision_config_changed(self, event: DecisionConfigChanged) -> None:
        raise AssertionError("the worker changes no decision configuration")

    def access(self, event: AccessEvent) -> None:
        raise AssertionError("the worker serves no request")


def test_every_published_decision_was_recorded_first_and_a_refused_batch_publishes_nothing(setup: Setup) -> None:
    transactions = support.simulated_stream(days=1, seed=41).transactions.head(3_000)
    support.produce(setup.bootstrap, setup.topics.transactions, transactions)
    trail = FlakyTrail(refuse={2, 3, 5})
    worker = in_process_worker(setup, max_batch=300)
    worker.recorder = trail
    report = run_through(worker, len(transactions))
    assert report.aborted == 3, "each refusal undid its batch"

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

"""The worker's recorder (the audit trail) is told of every decision before it is published: a decision on
``scores`` was recorded first, and a batch the recorder refuses publishes nothing and is processed again."""

from __future__ import annotations

from collections import Counter

import pytest

from scoring_api.records import Decision
from scoring_api.sinks import AccessEvent, BatchScored, DecisionConfigChanged, DeploymentChanged
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

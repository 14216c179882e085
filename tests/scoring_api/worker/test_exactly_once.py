"""50,000 simulated transactions through one worker, against the real broker: every transaction has exactly one
committed decision in ``scores``, equal to what the scorer returns for the same input and the same state.

"The same input and state" is rebuilt independently of the worker's run: a fresh engine and scorer process the
committed batches the journal lists, in its order, reading their inputs back from the topics by offset.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from tests.scoring_api.worker import support
from tests.scoring_api.worker.conftest import Setup, in_process_worker, rescore_committed_batches, run_through

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(1200)]

N = 50_000


def test_fifty_thousand_transactions_get_exactly_one_decision_each_equal_to_the_scorers(setup: Setup) -> None:
    stream = support.simulated_stream(days=9, seed=5, customers=3_000, terminals=5_000, history_days=2)
    transactions = stream.transactions.head(N)
    assert len(transactions) == N
    labels = stream.labels[stream.labels["transaction_id"].isin(transactions["transaction_id"])]
    support.produce(setup.bootstrap, setup.topics.transactions, transactions)
    support.produce_labels(setup.bootstrap, setup.topics.labels, labels)

    report = run_through(in_process_worker(setup, max_batch=2_000), N, timeout_s=900)
    assert report.labels_applied > 0

    decisions = support.decisions_of(support.read_committed(setup.bootstrap, setup.topics.scores, N))
    counts = Counter(d.transaction_id for d in decisions)
    assert len(decisions) == N, f"{len(decisions) - len(counts)} duplicates, {N - len(counts)} missing"
    assert set(counts) == set(transactions["transaction_id"])
    assert max(counts.values()) == 1
    assert support.read_committed(setup.bootstrap, setup.topics.dead_letters, settle_s=0.5) == []

    expected = rescore_committed_batches(setup)
    got = {d.transaction_id: d for d in decisions}
    assert expected.keys() == got.keys()
    scores = np.array([got[t].score for t in expected])
    np.testing.assert_array_equal(scores, np.array([expected[t][0] for t in expected]))
    assert all(got[t].outcome == expected[t][1] for t in expected)
    assert len({d.model_version for d in decisions}) == 1
    assert {d.decision_config_version for d in decisions} == {0}
    assert {d.model_role for d in decisions} == {"champion"}
    sources = {d.source for d in decisions}
    assert len(sources) == N, "each decision names its own input message"

"""The label-free estimate's curves are scikit-learn's weighted ones: every row entering once as a positive
weighted by its probability and once as a negative weighted by the rest (ties included)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from monitoring.performance import expected_average_precision, expected_roc_auc

CASES = [(seed, n, decimals) for seed in (0, 1) for n in (3, 400, 20_000) for decimals in (None, 1, 2)]


@pytest.mark.parametrize(("seed", "n", "decimals"), CASES)
def test_expected_metrics_equal_sklearn_on_doubled_weighted_rows(seed: int, n: int, decimals: int | None) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.random(n) if decimals is None else np.round(rng.random(n), decimals)
    probabilities = rng.beta(0.3, 10.0, n)
    labels = np.concatenate([np.ones(n), np.zeros(n)])
    doubled, weights = np.concatenate([scores, scores]), np.concatenate([probabilities, 1.0 - probabilities])
    expected_auc = roc_auc_score(labels, doubled, sample_weight=weights)
    expected_ap = average_precision_score(labels, doubled, sample_weight=weights)
    assert expected_roc_auc(scores, probabilities) == pytest.approx(expected_auc, abs=1e-12)
    assert expected_average_precision(scores, probabilities) == pytest.approx(expected_ap, abs=1e-12)


def test_no_estimate_without_both_classes_expected() -> None:
    assert expected_roc_auc([0.1, 0.5], [0.0, 0.0]) is None
    assert expected_average_precision([0.1, 0.5], [1.0, 1.0]) is None
    assert expected_roc_auc([], []) is None

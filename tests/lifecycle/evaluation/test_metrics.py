"""The metric implementations agree with scikit-learn, ties included."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from lifecycle.evaluation import (
    EvaluationError,
    average_precision,
    brier_score,
    recall_at_alert_rate,
    reliability_curve,
    roc_auc,
)


def _case(seed: int, n: int, decimals: int | None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.1).astype(np.int64)
    labels[0], labels[1] = 0, 1
    scores = np.clip(rng.normal(0.3 + 0.3 * labels, 0.2), 0.0, 1.0)
    if decimals is not None:  # coarse scores make many ties, the case where definitions differ
        scores = np.round(scores, decimals)
    return scores, labels


CASES = [(seed, n, d) for seed in (0, 1, 2) for n in (2, 37, 5000) for d in (None, 1, 2)]


@pytest.mark.parametrize(("seed", "n", "decimals"), CASES)
def test_ranking_metrics_agree_with_sklearn(seed: int, n: int, decimals: int | None) -> None:
    scores, labels = _case(seed, n, decimals)
    assert roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert average_precision(scores, labels) == pytest.approx(average_precision_score(labels, scores), abs=1e-12)


@pytest.mark.parametrize(("seed", "n", "decimals"), CASES)
def test_calibration_agrees_with_sklearn(seed: int, n: int, decimals: int | None) -> None:
    scores, labels = _case(seed, n, decimals)
    assert brier_score(scores, labels) == pytest.approx(brier_score_loss(labels, scores), abs=1e-12)
    observed, predicted = calibration_curve(labels, scores, n_bins=10, strategy="uniform")
    curve = reliability_curve(scores, labels, n_bins=10)
    np.testing.assert_allclose(curve.observed_rate, observed, atol=1e-12)
    np.testing.assert_allclose(curve.mean_predicted, predicted, atol=1e-12)
    assert sum(curve.counts) == n


def test_expected_calibration_error_by_hand() -> None:
    # Bin [0, 0.1]: scores 0.1, 0.1, labels 0, 1 -> predicted 0.1, observed 0.5, gap 0.4, weight 2/4.
    # Bin (0.8, 0.9]: scores 0.9, 0.9, labels 1, 1 -> predicted 0.9, observed 1.0, gap 0.1, weight 2/4.
    curve = reliability_curve([0.1, 0.1, 0.9, 0.9], [0, 1, 1, 1], n_bins=10)
    assert curve.expected_calibration_error == pytest.approx(0.5 * 0.4 + 0.5 * 0.1)


def test_recall_at_alert_rate_counts_the_budget_of_top_scores() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0])
    labels = np.array([1, 0, 1, 0, 0, 0, 0, 1, 0, 1])
    # 20 % of 10 -> the top 2 transactions: one of the four frauds.
    assert recall_at_alert_rate(scores, labels, 0.2) == pytest.approx(0.25)
    # 25 % of 10 -> ceil(2.5) = 3 alerts: two of four.
    assert recall_at_alert_rate(scores, labels, 0.25) == pytest.approx(0.5)
    assert recall_at_alert_rate(scores, labels, 1.0) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("scores", "labels", "message"),
    [
        ([0.1, 0.2], [0, 1, 1], "labels"),
        ([0.1, float("nan")], [0, 1], "NaN"),
        ([0.1, 0.2], [0, 2], "0 or 1"),
        ([0.1, 0.2], [1, 1], "both frauds and genuine"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(scores: list[float], labels: list[int], message: str) -> None:
    with pytest.raises(EvaluationError, match=message):
        roc_auc(scores, labels)


@pytest.mark.parametrize("rate", [0.0, -0.1, 1.5])
def test_alert_threshold_refuses_a_rate_outside_the_unit_interval(rate: float) -> None:
    from lifecycle.evaluation.metrics import alert_threshold

    with pytest.raises(EvaluationError, match="alert_rate must lie in"):
        alert_threshold([0.1, 0.2, 0.3], rate)

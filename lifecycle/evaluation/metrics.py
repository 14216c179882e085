"""Ranking and calibration metrics over one vector of scores and one of binary labels.

scikit-learn defines them and computes them here (imported on first use: reading stored reports must not pay
for it): AUC ROC, average precision, the ROC and precision-recall
curves, the Brier score and the reliability curve. This module adds clear refusals of inputs they cannot be
computed on, and writes by hand only what no library has: recall within the bank's alert budget, the score at
that budget, the expected calibration error (the count-weighted gap of the reliability curve), and the ranking
areas from threshold counts whose labels may be probabilities (expected counts, which monitoring's label-free
performance estimate needs and scikit-learn does not accept). Card
precision@k, with the handbook's rules, is :mod:`lifecycle.evaluation.card_precision`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lifecycle.evaluation.errors import EvaluationError
from lifecycle.records import RECORD_CONFIG

FloatArray = npt.NDArray[np.float64]


def as_scores_and_labels(scores: npt.ArrayLike, labels: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Both inputs as 1-D float64 arrays of the same length, labels in {0, 1}, scores finite."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    if s.shape != y.shape:
        raise EvaluationError(f"{s.size} scores but {y.size} labels; pass one score per labelled transaction")
    if not np.all(np.isfinite(s)):
        raise EvaluationError("scores contain NaN or infinity; check the model's output before evaluating")
    if not np.all((y == 0.0) | (y == 1.0)):
        raise EvaluationError("labels must be 0 or 1 (1 = fraud)")
    return s, y


def threshold_counts(scores: FloatArray, positives: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Cumulative true and false positives at each distinct threshold, highest score first.

    ``positives`` is each row's label, or its probability of being a fraud: the counts are then the expected
    ones (a row counts as ``p`` of a positive and ``1 - p`` of a negative, as confidence-based performance
    estimation counts it).
    """
    order = np.argsort(-scores, kind="mergesort")
    s_sorted, y_sorted = scores[order], positives[order]
    # The last index of each run of equal scores: a threshold admits a whole run of ties at once.
    ends = np.flatnonzero(np.diff(s_sorted) != 0.0)
    ends = np.append(ends, s_sorted.size - 1)
    tps = np.cumsum(y_sorted)[ends]
    fps = (ends + 1) - tps
    return tps, fps


def roc_auc_of_counts(tps: FloatArray, fps: FloatArray) -> float:
    """The area under the ROC curve through the threshold counts (trapezoids: ties count half)."""
    fpr = np.concatenate([[0.0], fps / fps[-1]])
    tpr = np.concatenate([[0.0], tps / tps[-1]])
    return float(np.trapezoid(tpr, fpr))


def average_precision_of_counts(tps: FloatArray, fps: FloatArray) -> float:
    """Average precision through the threshold counts: the sum over thresholds of (recall gained) x
    (precision there), scikit-learn's non-interpolated definition."""
    precision, recall = tps / (tps + fps), tps / tps[-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def _both_classes(y: FloatArray, what: str) -> None:
    if y.sum() == 0 or y.sum() == y.size:
        raise EvaluationError(f"{what} needs both frauds and genuine transactions in the evaluated set")


def roc_curve(scores: npt.ArrayLike, labels: npt.ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """False and true positive rates, and the thresholds where they are reached (scikit-learn's ``roc_curve``)."""
    s, y = as_scores_and_labels(scores, labels)
    _both_classes(y, "ROC")
    from sklearn.metrics import roc_curve as sklearn_roc_curve

    fpr, tpr, thresholds = sklearn_roc_curve(y, s)
    return fpr, tpr, thresholds


def roc_auc(scores: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Area under the ROC curve (scikit-learn's ``roc_auc_score``: tied scores count half)."""
    s, y = as_scores_and_labels(scores, labels)
    _both_classes(y, "ROC AUC")
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s))


def precision_recall_curve(scores: npt.ArrayLike, labels: npt.ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Precision, recall and thresholds (scikit-learn's ``precision_recall_curve``, lowest threshold first)."""
    s, y = as_scores_and_labels(scores, labels)
    if y.sum() == 0:
        raise EvaluationError("precision-recall needs at least one fraud in the evaluated set")
    from sklearn.metrics import precision_recall_curve as sklearn_precision_recall_curve

    precision, recall, thresholds = sklearn_precision_recall_curve(y, s)
    return precision, recall, thresholds


def average_precision(scores: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Average precision, the step-wise sum over thresholds without interpolation (``average_precision_score``)."""
    s, y = as_scores_and_labels(scores, labels)
    if y.sum() == 0:
        raise EvaluationError("average precision needs at least one fraud in the evaluated set")
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(y, s))


def recall_at_alert_rate(scores: npt.ArrayLike, labels: npt.ArrayLike, alert_rate: float) -> float:
    """Share of frauds among the ``alert_rate`` highest-scored transactions (the bank's review budget).

    The budget is ``ceil(alert_rate * n)`` alerts; ties at the cut are broken by input order, so the number
    of alerts never exceeds the budget.
    """
    if not 0.0 < alert_rate <= 1.0:
        raise EvaluationError(f"alert_rate must lie in (0, 1], got {alert_rate!r}")
    s, y = as_scores_and_labels(scores, labels)
    if y.sum() == 0:
        raise EvaluationError("recall needs at least one fraud in the evaluated set")
    budget = math.ceil(alert_rate * s.size)
    top = np.argsort(-s, kind="mergesort")[:budget]
    return float(y[top].sum() / y.sum())


def alert_threshold(scores: npt.ArrayLike, alert_rate: float) -> float:
    """The score of the last alert within a budget of ``ceil(alert_rate * n)`` alerts."""
    if not 0.0 < alert_rate <= 1.0:
        raise EvaluationError(f"alert_rate must lie in (0, 1], got {alert_rate!r}")
    s = np.sort(np.asarray(scores, dtype=np.float64).ravel())[::-1]
    if s.size == 0:
        raise EvaluationError("no scores to place an alert threshold on")
    return float(s[min(math.ceil(alert_rate * s.size), s.size) - 1])


def brier_score(scores: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Mean squared difference between the predicted fraud probability and the outcome (``brier_score_loss``)."""
    s, y = as_scores_and_labels(scores, labels)
    if np.any((s < 0.0) | (s > 1.0)):
        raise EvaluationError("the Brier score needs probabilities in [0, 1]")
    from sklearn.metrics import brier_score_loss

    return float(brier_score_loss(y, s, pos_label=1.0))


@dataclass(frozen=True)
class ReliabilityCurve:
    """Per score bin: mean predicted probability, observed fraud rate and count (empty bins omitted)."""

    __pydantic_config__ = RECORD_CONFIG

    mean_predicted: tuple[float, ...]
    observed_rate: tuple[float, ...]
    counts: tuple[int, ...]

    @property
    def expected_calibration_error(self) -> float:
        """Count-weighted mean gap between predicted and observed rates over the bins."""
        n = sum(self.counts)
        gaps = (c * abs(p - o) for p, o, c in zip(self.mean_predicted, self.observed_rate, self.counts, strict=True))
        return float(sum(gaps) / n) if n else 0.0


def reliability_curve(scores: npt.ArrayLike, labels: npt.ArrayLike, n_bins: int = 10) -> ReliabilityCurve:
    """Uniform bins over [0, 1], each closed on the right (a score of 0.1 falls in the first of ten bins),
    as scikit-learn's ``calibration_curve`` places them."""
    if n_bins < 1:
        raise EvaluationError(f"n_bins must be at least 1, got {n_bins}")
    s, y = as_scores_and_labels(scores, labels)
    if np.any((s < 0.0) | (s > 1.0)):
        raise EvaluationError("a reliability curve needs probabilities in [0, 1]")
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(y, s, n_bins=n_bins, strategy="uniform", pos_label=1.0)
    # The counts per bin, which calibration_curve does not return and the expected calibration error weighs by:
    # the same uniform bins, each closed on the right, as calibration_curve places the scores.
    bins = np.searchsorted(np.linspace(0.0, 1.0, n_bins + 1)[1:-1], s, side="left")
    counts = np.bincount(bins, minlength=n_bins)
    counts = counts[counts > 0]
    return ReliabilityCurve(
        mean_predicted=tuple(float(v) for v in predicted),
        observed_rate=tuple(float(v) for v in observed),
        counts=tuple(int(v) for v in counts),
    )

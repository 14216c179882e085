"""Label-free performance estimation from calibrated scores (confidence-based performance estimation, the
method of NannyML's CBPE).

When a model's scores are calibrated probabilities, each transaction is a fraud with probability ``p``: it
counts as ``p`` of a positive and ``1 - p`` of a negative at its score. The expected true and false positives
at every threshold, and so the expected ROC and precision-recall curves, follow; the areas under them estimate
what the realised metrics will be once labels arrive. The rows are ranked by the model's raw scores (what the
realised metrics rank by) and weighted by the probabilities the reference's isotonic calibration gives them.

The curves are those of :func:`lifecycle.evaluation.threshold_counts` with the probabilities in place of the
labels, and their areas the realised metrics' own formulas: the same tie handling, and no copy of it. They equal
scikit-learn's weighted ``roc_auc_score`` and ``average_precision_score`` when every row enters twice, once as a
positive weighted ``p`` and once as a negative weighted ``1 - p`` (the tests hold them to it); scikit-learn is
not called here because its input checks cost some 20 ms a call, more than the sums themselves on a day of
tens of thousands of transactions, and a day's figures are computed again whenever its labels change.

Expected card precision at k: the day's cards ranked by their highest score; each card is fraudulent with
the probability the card-day calibration map gives its highest score; the expectation of the share of frauds
among the first ``k`` is the mean of their probabilities (over ``k``, as the realised measure divides by it).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from lifecycle.evaluation import average_precision_of_counts, roc_auc_of_counts, threshold_counts


def _expected_counts(
    scores: npt.ArrayLike, probabilities: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
    s = np.asarray(scores, dtype=np.float64).ravel()
    p = np.clip(np.asarray(probabilities, dtype=np.float64).ravel(), 0.0, 1.0)
    if s.size == 0 or p.sum() <= 0.0 or (1.0 - p).sum() <= 0.0:
        return None
    return threshold_counts(s, p)


def expected_roc_auc(scores: npt.ArrayLike, probabilities: npt.ArrayLike) -> float | None:
    """The expected AUC ROC of ``scores`` when each row is a fraud with its probability; None when every
    probability is 0 (or 1)."""
    counts = _expected_counts(scores, probabilities)
    return None if counts is None else roc_auc_of_counts(*counts)


def expected_average_precision(scores: npt.ArrayLike, probabilities: npt.ArrayLike) -> float | None:
    """The expected average precision (non-interpolated, as the realised one), or None without frauds."""
    counts = _expected_counts(scores, probabilities)
    return None if counts is None else average_precision_of_counts(*counts)


def expected_card_precision(
    card_scores: npt.ArrayLike, card_probabilities: npt.ArrayLike, cards: npt.ArrayLike, k: int = 100
) -> float | None:
    """Expected precision among the ``k`` highest-scored cards of one day (ties broken by card id, as
    :func:`lifecycle.evaluation.card_precision_at_k` breaks them)."""
    s = np.asarray(card_scores, dtype=np.float64).ravel()
    if s.size == 0:
        return None
    p = np.asarray(card_probabilities, dtype=np.float64).ravel()
    order = np.lexsort((np.asarray(cards).ravel(), -s))[:k]
    return float(p[order].sum() / k)

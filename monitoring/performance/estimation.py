"""Label-free performance estimation from calibrated scores (confidence-based performance estimation, the
method of NannyML's CBPE).

When a model's scores are calibrated probabilities, each transaction is a fraud with probability ``p``: it
counts as ``p`` of a positive and ``1 - p`` of a negative at its score. The expected true and false positives
at every threshold, and so the expected ROC and precision-recall curves, follow; the areas under them estimate
what the realised metrics will be once labels arrive. The rows are ranked by the model's raw scores (what the
realised metrics rank by) and weighted by the probabilities the reference's isotonic calibration gives them.
scikit-learn's weighted ``roc_auc_score`` and ``average_precision_score`` compute exactly those curves when
every row enters twice, once as a positive weighted ``p`` and once as a negative weighted ``1 - p``.

Expected card precision at k: the day's cards ranked by their highest score; each card is fraudulent with
the probability the card-day calibration map gives its highest score; the expectation of the share of frauds
among the first ``k`` is the mean of their probabilities (over ``k``, as the realised measure divides by it).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def _doubled(
    scores: npt.ArrayLike, probabilities: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
    s = np.asarray(scores, dtype=np.float64).ravel()
    p = np.clip(np.asarray(probabilities, dtype=np.float64).ravel(), 0.0, 1.0)
    if s.size == 0 or p.sum() <= 0.0 or (1.0 - p).sum() <= 0.0:
        return None
    labels = np.concatenate([np.ones(s.size), np.zeros(s.size)])
    return labels, np.concatenate([s, s]), np.concatenate([p, 1.0 - p])


def expected_roc_auc(scores: npt.ArrayLike, probabilities: npt.ArrayLike) -> float | None:
    """The expected AUC ROC of ``scores`` when each row is a fraud with its probability; None when every
    probability is 0 (or 1)."""
    from sklearn.metrics import roc_auc_score

    doubled = _doubled(scores, probabilities)
    if doubled is None:
        return None
    labels, s, weights = doubled
    return float(roc_auc_score(labels, s, sample_weight=weights))


def expected_average_precision(scores: npt.ArrayLike, probabilities: npt.ArrayLike) -> float | None:
    """The expected average precision (non-interpolated, as the realised one), or None without frauds."""
    from sklearn.metrics import average_precision_score

    doubled = _doubled(scores, probabilities)
    if doubled is None:
        return None
    labels, s, weights = doubled
    return float(average_precision_score(labels, s, sample_weight=weights))


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

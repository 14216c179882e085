"""Evaluation of fraud scores: ranking, card precision, alert-budget recall, calibration, slices, plots, report.

The plots load on first use: they pull in matplotlib, which reading a stored report (the
registry, the command line) must not pay for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.lazy_exports import lazy_exports
from lifecycle.evaluation.card_precision import CardPrecision, card_precision_at_k
from lifecycle.evaluation.errors import EvaluationError
from lifecycle.evaluation.metrics import (
    ReliabilityCurve,
    average_precision,
    average_precision_of_counts,
    brier_score,
    precision_recall_curve,
    recall_at_alert_rate,
    reliability_curve,
    roc_auc,
    roc_auc_of_counts,
    roc_curve,
    threshold_counts,
)
from lifecycle.evaluation.report import EvaluationConfig, EvaluationReport, Metrics, evaluate
from lifecycle.evaluation.slices import Slices, SliceSpec, first_seen_times, slice_masks

if TYPE_CHECKING:
    from lifecycle.evaluation.plots import (
        plot_card_precision,
        plot_precision_recall,
        plot_reliability,
        plot_roc,
        plot_score_distributions,
    )

_LAZY = {
    "plot_card_precision": ".plots",
    "plot_precision_recall": ".plots",
    "plot_reliability": ".plots",
    "plot_roc": ".plots",
    "plot_score_distributions": ".plots",
}
__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "CardPrecision",
    "EvaluationConfig",
    "EvaluationError",
    "EvaluationReport",
    "Metrics",
    "ReliabilityCurve",
    "SliceSpec",
    "Slices",
    "average_precision",
    "average_precision_of_counts",
    "brier_score",
    "card_precision_at_k",
    "evaluate",
    "first_seen_times",
    "plot_card_precision",
    "plot_precision_recall",
    "plot_reliability",
    "plot_roc",
    "plot_score_distributions",
    "precision_recall_curve",
    "recall_at_alert_rate",
    "reliability_curve",
    "roc_auc",
    "roc_auc_of_counts",
    "roc_curve",
    "slice_masks",
    "threshold_counts",
]

"""Evaluation of fraud scores: ranking, card precision, alert-budget recall, calibration, slices, plots, report."""

from __future__ import annotations

from lifecycle.evaluation.card_precision import CardPrecision, card_precision_at_k
from lifecycle.evaluation.errors import EvaluationError
from lifecycle.evaluation.html_report import write_html_report
from lifecycle.evaluation.metrics import (
    ReliabilityCurve,
    average_precision,
    brier_score,
    precision_recall_curve,
    recall_at_alert_rate,
    reliability_curve,
    roc_auc,
    roc_curve,
)
from lifecycle.evaluation.plots import plot_calibration, plot_precision_recall, plot_roc, plot_score_distributions
from lifecycle.evaluation.report import EvaluationConfig, EvaluationReport, Metrics, evaluate
from lifecycle.evaluation.slices import SliceSpec, first_seen_times, slice_masks

__all__ = [
    "CardPrecision",
    "EvaluationConfig",
    "EvaluationError",
    "EvaluationReport",
    "Metrics",
    "ReliabilityCurve",
    "SliceSpec",
    "average_precision",
    "brier_score",
    "card_precision_at_k",
    "evaluate",
    "first_seen_times",
    "plot_calibration",
    "plot_precision_recall",
    "plot_roc",
    "plot_score_distributions",
    "precision_recall_curve",
    "recall_at_alert_rate",
    "reliability_curve",
    "roc_auc",
    "roc_curve",
    "slice_masks",
    "write_html_report",
]

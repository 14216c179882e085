"""Evaluation of fraud scores: ranking, card precision, alert-budget recall, calibration, slices, plots, report."""

from __future__ import annotations

from model_engine.evaluation.card_precision import CardPrecision, card_precision_at_k
from model_engine.evaluation.errors import EvaluationError
from model_engine.evaluation.html_report import write_html_report
from model_engine.evaluation.metrics import (
    ReliabilityCurve,
    average_precision,
    brier_score,
    precision_recall_curve,
    recall_at_alert_rate,
    reliability_curve,
    roc_auc,
    roc_curve,
)
from model_engine.evaluation.plots import plot_calibration, plot_precision_recall, plot_roc, plot_score_distributions
from model_engine.evaluation.report import EvaluationConfig, EvaluationReport, Metrics, evaluate
from model_engine.evaluation.slices import SliceSpec, first_seen_times, slice_masks

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

"""The evaluation plots, written as PNG files: ROC and precision-recall (several models overlaid, the alert
threshold marked), card precision per day, reliability (before and after calibration) and score distributions.

Matplotlib runs on its non-interactive Agg canvas (no display needed) and each figure is closed after it is
written, so a long training run does not accumulate figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from lifecycle.evaluation.card_precision import CardPrecision
from lifecycle.evaluation.metrics import ReliabilityCurve, as_scores_and_labels, precision_recall_curve, roc_curve

Curves = Mapping[str, tuple[npt.ArrayLike, npt.ArrayLike]]


def _save(figure: Figure, path: Path) -> Path:
    FigureCanvasAgg(figure)
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=90)
    return path


def _rates_at(scores: npt.ArrayLike, labels: npt.ArrayLike, threshold: float) -> tuple[float, float, float]:
    """False positive rate, recall and precision of alerting on every score at or above ``threshold``."""
    s, y = as_scores_and_labels(scores, labels)
    alerted = s >= threshold
    true_positives = float(np.sum(alerted & (y == 1)))
    fpr = float(np.sum(alerted & (y == 0)) / max(np.sum(y == 0), 1))
    recall = true_positives / max(float(np.sum(y == 1)), 1.0)
    precision = true_positives / max(float(np.sum(alerted)), 1.0)
    return fpr, recall, precision


def plot_roc(curves: Curves, path: Path, *, threshold: tuple[str, float] | None = None) -> Path:
    """ROC curves of one or more models (name -> (scores, labels)); ``threshold`` (name, score) marks where
    that model's alert threshold sits on its curve."""
    figure = Figure(figsize=(5, 4.5))
    axes = figure.add_subplot()
    for name, (scores, labels) in curves.items():
        fpr, tpr, _ = roc_curve(scores, labels)
        axes.plot(fpr, tpr, label=name)
    if threshold is not None:
        name, cut = threshold
        fpr_at, recall_at, _ = _rates_at(*curves[name], cut)
        axes.plot([fpr_at], [recall_at], marker="o", color="black", label=f"alert threshold {cut:.3g}")
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey", label="chance")
    axes.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    axes.legend(loc="lower right", fontsize="small")
    return _save(figure, path)


def plot_precision_recall(curves: Curves, path: Path, *, threshold: tuple[str, float] | None = None) -> Path:
    """Precision-recall curves (name -> (scores, labels)), with the fraud rate as the chance line and, with
    ``threshold`` (name, score), that model's alert threshold marked."""
    figure = Figure(figsize=(5, 4.5))
    axes = figure.add_subplot()
    base_rate = 0.0
    for name, (scores, labels) in curves.items():
        precision, recall, _ = precision_recall_curve(scores, labels)
        axes.step(recall, precision, where="post", label=name)
        base_rate = float(np.mean(np.asarray(labels, dtype=np.float64)))
    if threshold is not None:
        name, cut = threshold
        _, recall_at, precision_at = _rates_at(*curves[name], cut)
        axes.plot([recall_at], [precision_at], marker="o", color="black", label=f"alert threshold {cut:.3g}")
    axes.axhline(base_rate, linestyle=":", color="grey", label="fraud rate")
    axes.set(xlabel="recall", ylabel="precision", title="Precision-recall", xlim=(0, 1), ylim=(0, 1.02))
    axes.legend(loc="upper right", fontsize="small")
    return _save(figure, path)


def plot_card_precision(per_model: Mapping[str, CardPrecision], path: Path) -> Path:
    """Card precision@k per day, one line per model (what an investigation team finds each day)."""
    figure = Figure(figsize=(6, 4))
    axes = figure.add_subplot()
    k = 0
    for name, card_precision in per_model.items():
        days = [day for day, _ in card_precision.per_day]
        axes.plot(
            days,
            [value for _, value in card_precision.per_day],
            marker="o",
            label=f"{name} (mean {card_precision.mean:.3f})",
        )
        k = card_precision.k
    axes.set(xlabel="day", ylabel=f"card precision@{k}", title=f"Card precision@{k} per day", ylim=(0, 1))
    axes.tick_params(axis="x", labelrotation=45, labelsize="small")
    axes.legend(loc="upper right", fontsize="small")
    return _save(figure, path)


def plot_reliability(curves: Mapping[str, ReliabilityCurve], path: Path) -> Path:
    """Reliability diagrams (observed fraud rate against mean predicted probability per bin), e.g. before and
    after calibration, each labelled with its expected calibration error."""
    figure = Figure(figsize=(5, 4.5))
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfect")
    for name, curve in curves.items():
        label = f"{name} (ECE {curve.expected_calibration_error:.4f})"
        axes.plot(curve.mean_predicted, curve.observed_rate, marker="o", label=label)
    axes.set(
        xlabel="mean predicted probability", ylabel="observed fraud rate", title="Calibration", xlim=(0, 1), ylim=(0, 1)
    )
    axes.legend(loc="upper left", fontsize="small")
    return _save(figure, path)


def plot_score_distributions(scores: npt.ArrayLike, labels: npt.ArrayLike, path: Path) -> Path:
    """Histograms of scores for genuine and fraudulent transactions (densities, log-scaled counts)."""
    s, y = as_scores_and_labels(scores, labels)
    figure = Figure(figsize=(5, 4.5))
    axes = figure.add_subplot()
    high = float(s.max()) if s.max() > s.min() else float(s.min()) + 1.0
    bins = np.linspace(float(s.min()), high, 41).tolist()
    axes.hist(s[y == 0], bins=bins, alpha=0.6, density=True, label="genuine", log=True)
    if y.any():
        axes.hist(s[y == 1], bins=bins, alpha=0.6, density=True, label="fraud", log=True)
    axes.set(xlabel="score", ylabel="density (log)", title="Score distributions")
    axes.legend(loc="upper center", fontsize="small")
    return _save(figure, path)

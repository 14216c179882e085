"""The evaluation plots, written as PNG files: ROC, precision-recall, calibration and score distributions.

Matplotlib runs on its non-interactive Agg canvas (no display needed) and each figure is closed after it is
written, so a long training run does not accumulate figures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from lifecycle.evaluation.metrics import as_scores_and_labels, precision_recall_curve, reliability_curve, roc_curve


def _save(figure: Figure, path: Path) -> Path:
    FigureCanvasAgg(figure)
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=90)
    return path


def plot_roc(curves: dict[str, tuple[npt.ArrayLike, npt.ArrayLike]], path: Path) -> Path:
    """ROC curves of one or more models (name -> (scores, labels)) on one figure."""
    figure = Figure(figsize=(5, 4.5))
    axes = figure.add_subplot()
    for name, (scores, labels) in curves.items():
        fpr, tpr, _ = roc_curve(scores, labels)
        axes.plot(fpr, tpr, label=name)
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey", label="chance")
    axes.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    axes.legend(loc="lower right", fontsize="small")
    return _save(figure, path)


def plot_precision_recall(curves: dict[str, tuple[npt.ArrayLike, npt.ArrayLike]], path: Path) -> Path:
    """Precision-recall curves (name -> (scores, labels)), with the fraud rate as the chance line."""
    figure = Figure(figsize=(5, 4.5))
    axes = figure.add_subplot()
    base_rate = 0.0
    for name, (scores, labels) in curves.items():
        precision, recall, _ = precision_recall_curve(scores, labels)
        axes.step(np.concatenate([[0.0], recall]), np.concatenate([[precision[0]], precision]), label=name)
        base_rate = float(np.mean(np.asarray(labels, dtype=np.float64)))
    axes.axhline(base_rate, linestyle=":", color="grey", label="fraud rate")
    axes.set(xlabel="recall", ylabel="precision", title="Precision-recall", xlim=(0, 1), ylim=(0, 1.02))
    axes.legend(loc="upper right", fontsize="small")
    return _save(figure, path)


def plot_calibration(scores: npt.ArrayLike, labels: npt.ArrayLike, path: Path, n_bins: int = 10) -> Path:
    """Reliability diagram: observed fraud rate against mean predicted probability per bin."""
    curve = reliability_curve(scores, labels, n_bins=n_bins)
    figure = Figure(figsize=(5, 4.5))
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfect")
    axes.plot(curve.mean_predicted, curve.observed_rate, marker="o", label="model")
    axes.set(
        xlabel="mean predicted probability",
        ylabel="observed fraud rate",
        title=f"Calibration (ECE {curve.expected_calibration_error:.4f})",
        xlim=(0, 1),
        ylim=(0, 1),
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

"""The report step: plots of the registered model's test-period scores and the run's HTML page."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lifecycle.evaluation import (
    plot_calibration,
    plot_precision_recall,
    plot_roc,
    plot_score_distributions,
)
from lifecycle.registry import ModelVersion, Verdict
from lifecycle.training.compilation import CompiledCandidate, score_with_artifact
from lifecycle.training.dataset import TrainingData
from lifecycle.training.html_report import write_html_report


def write_report(
    run_dir: Path,
    candidates: Sequence[CompiledCandidate],
    chosen: CompiledCandidate,
    data: TrainingData,
    verdict: Verdict,
    version: ModelVersion,
) -> Path:
    """Plots (from the registered artifact's scores) and ``report.html`` in ``run_dir``."""
    plots_dir = run_dir / "plots"
    plots_dir.mkdir(exist_ok=True)
    y = data.test_transactions["is_fraud"].to_numpy(dtype=np.int64)
    scores = score_with_artifact(version.artifact_path, data.test_inputs)
    plots = [
        plot_roc({chosen.family: (scores, y)}, plots_dir / "roc.png"),
        plot_precision_recall({chosen.family: (scores, y)}, plots_dir / "precision_recall.png"),
        plot_calibration(scores, y, plots_dir / "calibration.png"),
        plot_score_distributions(scores, y, plots_dir / "score_distributions.png"),
    ]
    split = data.split
    facts = {
        "model": f"{chosen.family} {version.content_id}",
        "train": f"{split.train_start:%Y-%m-%d} .. {split.train_end:%Y-%m-%d}",
        "gap (label delay)": f"{split.gap_days:g} days",
        "test": f"{split.test_start:%Y-%m-%d} .. {split.test_end:%Y-%m-%d}",
        "selection": version.lineage.selection.rule,
    }
    return write_html_report(
        run_dir / "report.html",
        title=f"Training run: {chosen.family}",
        candidates={c.family: c.report for c in candidates},
        chosen=chosen.family,
        plots=plots,
        verdict=verdict,
        facts=facts,
    )

"""The report step: plots of the registered model's test-period scores and the run's HTML page; and the evidence
step, which keeps them (with the evaluation figures and the data validation report) with the model in the
registry, where the next run into the same folder cannot overwrite them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lifecycle.evaluation import (
    plot_calibration,
    plot_precision_recall,
    plot_roc,
    plot_score_distributions,
)
from lifecycle.records import to_document
from lifecycle.registry import ModelRegistry, ModelVersion, Verdict
from lifecycle.registry.evidence import evidence_files
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


def keep_evidence(registry: ModelRegistry, version: ModelVersion, run_dir: Path, chosen: CompiledCandidate) -> None:
    """Keep the run's report, plots, evaluation figures and data validation report with the registered model,
    under their names relative to the run folder (``report.html``, ``plots/roc.png``, ``validation/...``)."""
    evaluation = run_dir / "evaluation.json"
    evaluation.write_text(json.dumps(to_document(chosen.report), indent=2), encoding="utf-8")
    files = {"report.html": run_dir / "report.html", "evaluation.json": evaluation}
    for folder in ("plots", "validation"):
        if (run_dir / folder).is_dir():
            files.update(evidence_files(run_dir / folder, folder))
    registry.attach_evidence(version.content_id, files, actor=version.registered_by)

"""The report step: plots of the served model's test-period scores (the champion's overlaid when it can be
scored on the same data, the alert threshold marked) and the run's HTML page; and the evidence step, which keeps
them (with the evaluation figures and the data validation report) with the model in the registry, where the next
run into the same folder cannot overwrite them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from lifecycle.evaluation import (
    EvaluationReport,
    card_precision_at_k,
    plot_card_precision,
    plot_precision_recall,
    plot_reliability,
    plot_roc,
    plot_score_distributions,
)
from lifecycle.records import to_document
from lifecycle.registry import ModelRegistry, ModelVersion, Verdict, scores_on
from lifecycle.registry.evidence import evidence_files
from lifecycle.training.compilation import ServedCandidate, score_with_artifact
from lifecycle.training.dataset import TrainingData
from lifecycle.training.html_report import write_html_report


def write_report(
    run_dir: Path,
    candidates: Mapping[str, EvaluationReport],
    served: ServedCandidate,
    data: TrainingData,
    verdict: Verdict,
    version: ModelVersion,
    champion: ModelVersion | None,
) -> Path:
    """Plots (from the registered artifact's scores) and ``report.html`` in ``run_dir``."""
    plots_dir = run_dir / "plots"
    plots_dir.mkdir(exist_ok=True)
    y = data.y_test
    scores = score_with_artifact(version.artifact_path, data.test_inputs)
    name = f"{served.family} (served)"
    curves = {name: (scores, y)}
    card_precision = {name: served.report.card_precision}
    gate_data = data.gate_data(served.report.config)
    if champion is not None and champion.content_id != version.content_id:
        champion_scores = scores_on(champion, gate_data)
        if champion_scores is not None:
            label = f"champion {champion.name}"
            curves[label] = (champion_scores, y)
            frame = gate_data.transactions
            days = frame["timestamp"].dt.strftime("%Y-%m-%d").to_numpy()
            k = served.report.config.k
            card_precision[label] = card_precision_at_k(champion_scores, y, frame["card_token"].astype(str), days, k)
    threshold = (name, served.report.threshold_at_alert_rate)
    reliability = {"uncalibrated": served.report.reliability}
    if version.lineage.calibration is not None:
        reliability = {
            "before calibration": version.lineage.calibration.before,
            f"after ({version.lineage.calibration.method})": version.lineage.calibration.after,
        }
    plots = [
        plot_roc(curves, plots_dir / "roc.png", threshold=threshold),
        plot_precision_recall(curves, plots_dir / "precision_recall.png", threshold=threshold),
        plot_card_precision(card_precision, plots_dir / "card_precision_per_day.png"),
        plot_reliability(reliability, plots_dir / "calibration.png"),
        plot_score_distributions(scores, y, plots_dir / "score_distributions.png"),
    ]
    return write_html_report(
        run_dir / "report.html",
        title=f"Training run: {served.family}",
        lineage=version.lineage,
        served=served.report,
        candidates=candidates,
        verdict=verdict,
        plots=plots,
    )


def keep_evidence(registry: ModelRegistry, version: ModelVersion, run_dir: Path, chosen: ServedCandidate) -> None:
    """Keep the run's report, plots, evaluation figures and data validation report with the registered model,
    under their names relative to the run folder (``report.html``, ``plots/roc.png``, ``validation/...``)."""
    evaluation = run_dir / "evaluation.json"
    evaluation.write_text(json.dumps(to_document(chosen.report), indent=2), encoding="utf-8")
    files = {"report.html": run_dir / "report.html", "evaluation.json": evaluation}
    for folder in ("plots", "validation"):
        if (run_dir / folder).is_dir():
            files.update(evidence_files(run_dir / folder, folder))
    registry.attach_evidence(version.content_id, files, actor=version.registered_by)

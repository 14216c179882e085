"""The training pipeline, end to end, as named steps: prepare (validate, features, time split) -> train
candidates (each family searched on time-ordered folds of the fit period) -> choose a family on those folds ->
calibrate it on a later slice, compile it with parity, evaluate it -> register with lineage -> gate (judge against
the champion on the test period, which no choice has read) -> report.

Each step reports to a ``progress`` callback (the command line draws it with rich) and is timed; the result
carries what the steps produced, and the run folder holds the HTML report, its plots and the artifacts.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import pandas as pd

from features import FeatureSet, TimeFlag, default_feature_set
from lifecycle.evaluation import EvaluationConfig, EvaluationReport, reliability_curve
from lifecycle.reference import ReferenceProfile, build_reference_profile
from lifecycle.registry import (
    CalibrationLineage,
    GateThresholds,
    Lineage,
    ModelRegistry,
    ModelVersion,
    Selection,
    Verdict,
    judge,
)
from lifecycle.registry import code_version as current_code_version
from lifecycle.training.candidates import FAMILIES
from lifecycle.training.compilation import ServedCandidate, evaluate_candidates, serve
from lifecycle.training.dataset import Periods, TrainingData, prepare
from lifecycle.training.errors import TrainingInputError
from lifecycle.training.fitting import FittedCandidate, train_candidates
from lifecycle.training.progress import Progress, Steps, no_progress
from lifecycle.training.registration import register_first_servable
from lifecycle.training.reporting import keep_evidence, write_report
from lifecycle.training.selection import RULE, Evaluated, PeriodScores, choose_on_validation
from lifecycle.training.split import TimeSplit

#: How the registered model is chosen, as the lineage and the report state it.
SELECTION_RULE = (
    f"on time-ordered validation folds inside the fit period, for each family's configuration and then across "
    f"families: {RULE}; the test period, after the label-delay gap, is read only by the gate and the report"
)
#: What a run writes into its folder; a folder holding anything else is not a previous run.
RUN_FOLDER_ENTRIES: Final = frozenset({"validation", "artifacts", "plots", "report.html"})


@dataclass(frozen=True)
class TrainingConfig:
    """What a training run does. Periods are in days; the gap is the label delay."""

    train_days: float = 21.0
    calibration_days: float = 7.0
    test_days: float = 7.0
    label_delay_days: float = 7.0
    families: tuple[str, ...] = tuple(f.name for f in FAMILIES)
    fast: bool = False
    allow_invalid: bool = False
    seed: int = 0
    parity_atol: float = 1e-5
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    feature_set: FeatureSet | None = None
    thresholds: GateThresholds | None = None
    source: str = "dataframe"
    actor: str | None = None

    def __post_init__(self) -> None:
        # A misspelt family would otherwise be skipped without a word and the run would train fewer candidates.
        known = [f.name for f in FAMILIES]
        unknown = [name for name in self.families if name not in known]
        if unknown or not self.families:
            raise TrainingInputError(f"unknown candidate families {unknown or '(none given)'}; known: {known}")


@dataclass(frozen=True)
class TrainingResult:
    """Everything a run produced: ``reports`` holds every candidate's test-period evaluation (uncalibrated, for
    comparison), ``report`` the served model's."""

    run_dir: Path
    split: TimeSplit
    reports: dict[str, EvaluationReport]
    chosen: str
    report: EvaluationReport
    version: ModelVersion
    verdict: Verdict
    timings: dict[str, float]
    report_path: Path
    selection: Selection


def new_run_dir(root: Path) -> Path:
    """A fresh folder under ``root`` for one run, named by its UTC start time (and a random suffix)."""
    return root / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def check_run_dir(run_dir: Path) -> None:
    """Refuse a run folder that already holds files: a run never writes over another run's report and
    artifacts (reusing one made the best candidate's artifact folder exist already, and a worse one win)."""
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        raise TrainingInputError(
            f"{run_dir} already holds a previous run; give a new --run-dir, or pass --force to replace it"
        )


def clear_previous_run(run_dir: Path) -> None:
    """Remove a previous run from ``run_dir``; a folder holding anything a run does not write is refused."""
    if not run_dir.exists():
        return
    if not run_dir.is_dir():
        raise TrainingInputError(f"{run_dir} is a file, not a run folder; choose another --run-dir")
    foreign = sorted(entry.name for entry in run_dir.iterdir() if entry.name not in RUN_FOLDER_ENTRIES)
    if foreign:
        raise TrainingInputError(
            f"{run_dir} holds {foreign[:5]}, which no training run writes; --force replaces a previous run only: "
            "choose another --run-dir"
        )
    shutil.rmtree(run_dir)


def run_training(
    transactions: pd.DataFrame,
    registry: ModelRegistry,
    run_dir: Path,
    config: TrainingConfig | None = None,
    *,
    labels: pd.DataFrame | None = None,
    progress: Progress = no_progress,
) -> TrainingResult:
    """Train, calibrate, compile, evaluate, register and gate a model on ``transactions`` (contract columns +
    ``is_fraud``), writing the report, plots and artifacts into ``run_dir`` (new or empty: see
    :func:`check_run_dir`)."""
    config = config or TrainingConfig()
    check_run_dir(run_dir)
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        return _run_training(transactions, registry, run_dir, config, labels=labels, progress=progress)
    except BaseException:
        # A run that stops before writing anything leaves no empty folder behind; one that wrote a validation
        # report or plots keeps them, as the evidence of why it stopped.
        if created and not any(run_dir.iterdir()):
            run_dir.rmdir()
        raise


def _run_training(
    transactions: pd.DataFrame,
    registry: ModelRegistry,
    run_dir: Path,
    config: TrainingConfig,
    *,
    labels: pd.DataFrame | None,
    progress: Progress,
) -> TrainingResult:
    steps = Steps(progress)
    feature_set = config.feature_set or default_feature_set()
    thresholds = config.thresholds or GateThresholds.load()
    periods = Periods(config.train_days, config.calibration_days, config.label_delay_days, config.test_days)
    data = prepare(
        transactions,
        labels,
        feature_set=feature_set,
        periods=periods,
        allow_invalid=config.allow_invalid,
        run_dir=run_dir,
        steps=steps,
    )
    fitted = train_candidates(
        data, config.families, fast=config.fast, gap_days=config.label_delay_days, seed=config.seed, steps=steps
    )
    reports = evaluate_candidates(fitted, data, config.evaluation, steps=steps)
    excluded: dict[str, str] = {}
    selection = Selection(SELECTION_RULE, tuple(t for c in fitted for t in c.search.trials), excluded)
    served, version = register_first_servable(
        _in_order_of_choice(fitted),
        lambda candidate: _served_with_lineage(candidate, data, selection, config, steps),
        data,
        registry,
        run_dir / "artifacts",
        actor=config.actor,
        excluded=excluded,
        steps=steps,
    )
    with steps.step("gate", "judging the candidate against thresholds, champion and infrastructure"):
        verdict = judge(version, registry.find_alias("champion"), data.gate_data(config.evaluation), thresholds)
        version = registry.record_verdict(version.content_id, verdict)
    with steps.step("report", "writing plots and the HTML report"):
        report_path = write_report(run_dir, reports, served, data, verdict, version, registry.find_alias("champion"))
    with steps.step("evidence", "keeping the report, plots and data validation with the model in the registry"):
        keep_evidence(registry, version, run_dir, served)
    return TrainingResult(
        run_dir=run_dir,
        split=data.split,
        reports=reports,
        chosen=served.family,
        report=served.report,
        version=version,
        verdict=verdict,
        timings=steps.timings,
        report_path=report_path,
        selection=version.lineage.selection,
    )


def _served_with_lineage(
    candidate: FittedCandidate, data: TrainingData, selection: Selection, config: TrainingConfig, steps: Steps
) -> tuple[ServedCandidate, Lineage]:
    served = serve(candidate, data, config.evaluation, parity_atol=config.parity_atol, steps=steps)
    return served, _lineage(served, data, selection, config, steps)


def _in_order_of_choice(fitted: list[FittedCandidate]) -> list[FittedCandidate]:
    """The candidates best first by the selection rule on their validation folds (the chosen one, then the
    fall-backs should the engine not serve it)."""
    remaining = list(fitted)
    order = []
    while remaining:
        evaluated = [
            Evaluated(
                c.family, c.family, PeriodScores(c.validation.auc_roc or 0.0, c.validation.average_precision or 0.0)
            )
            for c in remaining
        ]
        best = choose_on_validation(evaluated).overall
        order.append(next(c for c in remaining if c.family == best))
        remaining = [c for c in remaining if c.family != best]
    return order


def _lineage(
    served: ServedCandidate, data: TrainingData, selection: Selection, config: TrainingConfig, steps: Steps
) -> Lineage:
    created_by = {} if config.actor is None else {"created_by": config.actor}
    return Lineage(
        data=data.lineage(config.source),
        feature_spec_version=data.feature_set.version,
        feature_names=data.input_names,
        code_version=current_code_version(),
        family=served.family,
        parameters={**served.fitted.params, "seed": config.seed, "fast": config.fast},
        selection=selection,
        metrics=served.report,
        parity_max_abs_diff=served.parity,
        timings=dict(steps.timings),
        reference=_reference(served, data).to_dict(),
        calibration=_calibration_lineage(served, data, config.evaluation),
        **created_by,
    )


def _calibration_lineage(
    served: ServedCandidate, data: TrainingData, evaluation: EvaluationConfig
) -> CalibrationLineage | None:
    if served.calibration is None:
        return None
    stamps = data.calibration_timestamps
    return CalibrationLineage(
        method=served.calibration.method,
        tie_break=served.calibration.tie_break,
        slice_start=str(stamps.min()),
        slice_end=str(stamps.max()),
        rows=int(data.calibration.sum()),
        frauds=int(data.y_calibration.sum()),
        brier_by_method=served.calibration.brier_by_method,
        before=reliability_curve(served.raw_test_scores, data.y_test, n_bins=evaluation.calibration_bins),
        after=served.report.reliability,
    )


def _reference(served: ServedCandidate, data: TrainingData) -> ReferenceProfile:
    """The test period's reference profile for monitoring: raw fields, model inputs and the served model's
    engine scores, with the calibration maps fitted on the period's labels."""
    test = data.test_transactions.reset_index(drop=True)
    inputs = pd.DataFrame(data.test_inputs, columns=list(data.input_names))
    frame = pd.concat([test, inputs[[c for c in inputs.columns if c not in test.columns]]], axis=1)
    clock = [f.name for f in data.feature_set.features if isinstance(f, TimeFlag)]
    return build_reference_profile(
        frame,
        scores=served.test_scores,
        inputs=data.input_names,
        labels=test["is_fraud"].to_numpy(),
        time_dependent=clock,
    )

"""The training pipeline, end to end: source -> validation -> features -> time split -> candidates (search,
fit) -> compile and parity -> evaluation -> lineage -> registry -> gate.

Each step reports to a ``progress`` callback (the command line draws it with rich); the result carries
everything the step produced, and the run folder holds the HTML report, its plots and the artifacts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features import FeatureSet, OfflineFeatureEngine, default_feature_set
from lifecycle.evaluation import (
    EvaluationConfig,
    EvaluationReport,
    evaluate,
    first_seen_times,
    plot_calibration,
    plot_precision_recall,
    plot_roc,
    plot_score_distributions,
    write_html_report,
)
from lifecycle.registry import DataLineage, GateThresholds, Lineage, code_version, data_fingerprint
from lifecycle.registry.gate import change_checks, value_checks, verdict
from lifecycle.registry.infrastructure import infrastructure_checks
from lifecycle.registry.registry import ModelRegistry, ModelVersion
from lifecycle.registry.signing import folder_digest
from lifecycle.training.candidates import FAMILIES, fit_balanced
from lifecycle.training.compilation import check_parity, compile_for_serving, score_with_artifact
from lifecycle.training.errors import TrainingError
from lifecycle.training.search import search_family
from lifecycle.training.split import TimeSplit, drop_known_compromised_cards, training_rows
from lifecycle.training.validation import validate_transactions
from model_engine import save_model
from model_engine.errors import ArtifactError, ModelEngineError

Progress = Callable[[str, str], None]


@dataclass(frozen=True)
class TrainingConfig:
    """What a training run does. Periods are in days; the gap is the label delay."""

    train_days: float = 21.0
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
            raise TrainingError(f"unknown candidate families {unknown or '(none given)'}; known: {known}")


@dataclass
class TrainingResult:
    """Everything a run produced."""

    run_dir: Path
    split: TimeSplit
    reports: dict[str, EvaluationReport]
    chosen: str
    version: ModelVersion
    verdict: dict[str, Any]
    validation: dict[str, Any]
    timings: dict[str, float]
    report_path: Path
    searches: dict[str, Any]


def _noop(step: str, message: str) -> None:
    """The progress callback used when none is given."""


class _Timer:
    def __init__(self, progress: Progress) -> None:
        self.timings: dict[str, float] = {}
        self._progress = progress

    @contextmanager
    def step(self, name: str, message: str) -> Iterator[None]:
        self._progress(name, message)
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 3)


def run_training(
    transactions: pd.DataFrame,
    registry: ModelRegistry,
    run_dir: Path,
    config: TrainingConfig | None = None,
    *,
    labels: pd.DataFrame | None = None,
    progress: Progress = _noop,
) -> TrainingResult:
    """Train, compile, evaluate, register and gate a model on ``transactions`` (contract columns + ``is_fraud``)."""
    config = config or TrainingConfig()
    run_dir.mkdir(parents=True, exist_ok=True)
    timer = _Timer(progress)
    feature_set = config.feature_set or default_feature_set()
    thresholds = config.thresholds or GateThresholds.load()
    if "is_fraud" not in transactions.columns:
        raise TrainingError("the training data has no is_fraud column; join the labels first")
    frame = transactions.sort_values("timestamp", kind="mergesort").reset_index(drop=True)

    with timer.step("validate", f"validating {len(frame):,} transactions"):
        validation = validate_transactions(frame, run_dir / "validation", allow_invalid=config.allow_invalid)

    with timer.step("features", f"computing {len(feature_set)} features"):
        features = OfflineFeatureEngine(feature_set).compute(frame, labels)
        names = ["amount", *feature_set.names]
        # float32 is the serving precision: candidates are fitted on the values the engine will see, so the
        # compiled trees decide exactly as scikit-learn does (a float64 value between two float32 neighbours
        # could otherwise take the other branch after the cast).
        X = np.column_stack([frame["amount"].to_numpy(dtype=np.float64), features.to_numpy(dtype=np.float64)])
        X = X.astype(np.float32)

    with timer.step("split", "splitting by time with the label-delay gap"):
        end = pd.Timestamp(frame["timestamp"].max()).ceil("D").to_pydatetime()
        split = TimeSplit.ending_at(
            end, train_days=config.train_days, gap_days=config.label_delay_days, test_days=config.test_days
        )
        train, y_known = training_rows(frame, split, label_delay_days=config.label_delay_days, labels=labels)
        delay = int(np.ceil(config.label_delay_days))
        test = drop_known_compromised_cards(
            frame, split.test_mask(frame["timestamp"]), label_delay_days=delay, history_start=split.train_start
        )
        if not test.any() or frame.loc[test, "is_fraud"].nunique() < 2:
            raise TrainingError(f"the test period {split.test_start}..{split.test_end} needs frauds and genuine rows")
        X_train, y_train = X[train], y_known[train].astype(np.int64)
        test_frame = frame.loc[test].reset_index(drop=True)
        first_seen = first_seen_times([frame.loc[frame["timestamp"] < split.test_end]])

    searches: dict[str, Any] = {}
    models: dict[str, Any] = {}
    for fam in (f for f in FAMILIES if f.name in config.families):
        with timer.step(f"train:{fam.name}", f"searching and fitting {fam.name}"):
            result = search_family(
                fam,
                X_train,
                y_train,
                frame.loc[train, "timestamp"],
                fast=config.fast,
                gap_days=config.label_delay_days,
                seed=config.seed,
            )
            searches[fam.name] = {"best_params": result.best_params, "trials": result.trials}
            models[fam.name] = fit_balanced(fam.build(result.best_params, config.seed), X_train, y_train)
    if not models:
        raise TrainingError(f"no candidate families selected; known: {[f.name for f in FAMILIES]}")

    compiled: dict[str, Any] = {}
    reports: dict[str, EvaluationReport] = {}
    parity: dict[str, float] = {}
    X_test = X[test]
    excluded: dict[str, str] = {}
    for name, model in models.items():
        with timer.step(f"compile:{name}", f"compiling {name} and checking parity with scikit-learn"):
            try:
                compiled[name] = compile_for_serving(model, names)
                scores, parity[name] = check_parity(compiled[name], model, X_test, atol=config.parity_atol)
            except ModelEngineError as error:
                # A candidate the engine cannot serve faithfully is dropped, not the run: the reason is kept.
                excluded[name] = f"{type(error).__name__}: {error}"
                progress(f"compile:{name}", f"excluded: {error}")
                continue
        with timer.step(f"evaluate:{name}", f"evaluating {name}"):
            reports[name] = evaluate(scores, test_frame, config.evaluation, first_seen=first_seen)
    if not reports:
        raise TrainingError(f"no candidate compiled with parity: {excluded}")
    searches["excluded"] = excluded
    ranking = sorted(reports, key=lambda n: (_ap(reports[n]), reports[n].overall.auc_roc or 0.0), reverse=True)

    data_lineage = DataLineage(
        fingerprint=data_fingerprint(frame),
        source=config.source,
        rows=len(frame),
        train_rows=int(train.sum()),
        train_frauds=int(y_train.sum()),
        test_rows=int(test.sum()),
        test_frauds=int(test_frame["is_fraud"].sum()),
        first_timestamp=str(frame["timestamp"].min()),
        last_timestamp=str(frame["timestamp"].max()),
        split=split.to_dict(),
        validation=validation,
        labels_fingerprint=None if labels is None else data_fingerprint(labels),
    )
    version: ModelVersion | None = None
    with timer.step("register", f"registering the best of {ranking}"):
        for chosen in ranking:
            lineage = Lineage(
                data=data_lineage,
                feature_spec_version=feature_set.version,
                feature_names=tuple(names),
                code_version=code_version(),
                parameters={"family": chosen, **searches[chosen], "seed": config.seed, "fast": config.fast},
                metrics={**reports[chosen].to_dict(), "parity_max_abs_diff": parity[chosen]},
                timings=dict(timer.timings),
            ).to_dict()
            if config.actor:
                lineage["created_by"] = config.actor
            try:
                # The golden batch is real test rows: the gate's warm-up requests must reproduce them exactly.
                save_model(compiled[chosen], run_dir / "artifacts" / chosen, golden_input=X_test[:256], lineage=lineage)
                version = registry.register(
                    run_dir / "artifacts" / chosen, name=chosen, lineage=lineage, actor=config.actor
                )
                break
            except ArtifactError as error:
                # An artifact that does not round-trip cannot be served; the next best candidate is tried.
                excluded[chosen] = f"{type(error).__name__}: {error}"
                progress("register", f"{chosen} excluded: {error}")
    if version is None:
        raise TrainingError(f"no candidate could be saved and loaded back as an artifact: {excluded}")

    with timer.step("gate", "judging the candidate against thresholds, champion and infrastructure"):
        champion = registry.find_alias("champion")
        champion_report = _champion_report(champion, X_test, names, test_frame, config, first_seen)
        checks = [
            *value_checks(reports[chosen].to_dict(), thresholds),
            *change_checks(reports[chosen].to_dict(), champion_report, thresholds),
            *infrastructure_checks(version.artifact_path, X_test, thresholds),
        ]
        doc = verdict(
            content_id=version.content_id,
            artifact_files=folder_digest(version.artifact_path),
            checks=checks,
            thresholds=thresholds,
            champion_content_id=None if champion is None else champion.content_id,
            decided_by=version.registered_by,
        )
        version = registry.record_verdict(version.content_id, doc)

    with timer.step("report", "writing plots and the HTML report"):
        report_path = _write_report(run_dir, reports, chosen, X_test, test_frame, doc, version, split)
    return TrainingResult(
        run_dir=run_dir,
        split=split,
        reports=reports,
        chosen=chosen,
        version=version,
        verdict=doc,
        validation=validation,
        timings=timer.timings,
        report_path=report_path,
        searches=searches,
    )


def _ap(report: EvaluationReport) -> float:
    return report.overall.average_precision or 0.0


def _champion_report(
    champion: ModelVersion | None,
    X_test: np.ndarray[Any, Any],
    names: list[str],
    test_frame: pd.DataFrame,
    config: TrainingConfig,
    first_seen: pd.Series,
) -> dict[str, Any] | None:
    """The champion's metrics on this run's test period (re-scored when it uses features we have), else the
    metrics stored with it."""
    if champion is None:
        return None
    wanted = champion.lineage.get("feature_names", [])
    if wanted and set(wanted) <= set(names):
        columns = [names.index(n) for n in wanted]
        scores = score_with_artifact(champion.artifact_path, X_test[:, columns])
        return evaluate(scores, test_frame, config.evaluation, first_seen=first_seen).to_dict()
    stored: dict[str, Any] = champion.lineage.get("metrics", {})
    return stored or None


def _write_report(
    run_dir: Path,
    reports: dict[str, EvaluationReport],
    chosen: str,
    X_test: np.ndarray[Any, Any],
    test_frame: pd.DataFrame,
    doc: dict[str, Any],
    version: ModelVersion,
    split: TimeSplit,
) -> Path:
    plots_dir = run_dir / "plots"
    plots_dir.mkdir(exist_ok=True)
    y = test_frame["is_fraud"].to_numpy(dtype=np.int64)
    scores = score_with_artifact(version.artifact_path, X_test)
    plots = [
        plot_roc({chosen: (scores, y)}, plots_dir / "roc.png"),
        plot_precision_recall({chosen: (scores, y)}, plots_dir / "precision_recall.png"),
        plot_calibration(scores, y, plots_dir / "calibration.png"),
        plot_score_distributions(scores, y, plots_dir / "score_distributions.png"),
    ]
    facts = {
        "model": f"{chosen} {version.content_id}",
        "train": f"{split.train_start:%Y-%m-%d} .. {split.train_end:%Y-%m-%d}",
        "gap (label delay)": f"{split.gap_days:g} days",
        "test": f"{split.test_start:%Y-%m-%d} .. {split.test_end:%Y-%m-%d}",
    }
    return write_html_report(
        run_dir / "report.html",
        title=f"Training run: {chosen}",
        candidates=reports,
        chosen=chosen,
        plots=plots,
        verdict=doc,
        facts=facts,
    )

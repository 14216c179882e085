"""The demo's models: a champion trained on the older part of the history, gated and promoted; then a challenger
trained on the whole history and gated against that champion (promoted later, through the service, after shadow
and canary).

Both go through :func:`lifecycle.training.run_training` (validate, features, time split with the label-delay gap,
candidates, compile with parity, evaluate, register with lineage, gate); the registry records every change in
the run's audit trail.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from scoring_api.demo.context import DemoContext, DemoOptions, StepResult
from scoring_api.demo.figures import TrainedModel
from scoring_api.demo.workspace import DEMO_ACTOR
from scoring_api.errors import DemoRefusedError

if TYPE_CHECKING:
    import pandas as pd

    from lifecycle.registry import ModelRegistry
    from lifecycle.training import TrainingConfig, TrainingResult

#: The training split inside a history: the last week is the test period, the week before it the label gap.
TEST_DAYS = 7
LABEL_DELAY_DAYS = 7
MIN_TRAIN_DAYS = 7
#: The training period's last days kept to calibrate the model (the gate bounds the calibration error: the
#: logistic regression's raw scores, fitted on a rebalanced sample, are not probabilities).
CALIBRATION_DAYS = 7
MIN_HISTORY_DAYS = MIN_TRAIN_DAYS + CALIBRATION_DAYS + LABEL_DELAY_DAYS + TEST_DAYS


def open_registry(context: DemoContext) -> ModelRegistry:
    """The run's registry, recording every change in the run's audit trail."""
    from lifecycle.registry import ModelRegistry
    from monitoring.audit import AuditLog, AuditSink

    audit = context.workspace.audit_settings()
    sink = AuditSink(open_log=lambda: AuditLog.from_settings(audit))
    return ModelRegistry.from_settings(context.workspace.lifecycle_settings(), events=sink)


def training_config(options: DemoOptions, days: int, name: str, actor: str = DEMO_ACTOR) -> TrainingConfig:
    """The demo's training run on a history of ``days`` days (the last week tested, the week before it the label
    gap, the week before that kept for calibration), with the options' families, seed and gate thresholds."""
    from lifecycle.registry import GateThresholds
    from lifecycle.training import TrainingConfig

    return TrainingConfig(
        train_days=float(days - LABEL_DELAY_DAYS - TEST_DAYS),
        calibration_days=float(CALIBRATION_DAYS),
        test_days=float(TEST_DAYS),
        label_delay_days=float(LABEL_DELAY_DAYS),
        families=options.families,
        fast=True,
        seed=options.seed,
        source=f"simulator:realistic:{name}",
        thresholds=None if options.gate_thresholds is None else GateThresholds.load(options.gate_thresholds),
        actor=actor,
    )


def train_on(context: DemoContext, history: pd.DataFrame, labels: pd.DataFrame, name: str) -> TrainingResult:
    """Train and gate a model on ``history`` (against the current champion, if any); refuse an unblessed one."""
    from lifecycle.training import run_training

    assert context.registry is not None
    days = round((history["timestamp"].max() - history["timestamp"].min()).total_seconds() / 86_400)
    config = training_config(context.options, days, name)
    run_dir = context.workspace.path("training", name)
    result = run_training(history, context.registry, run_dir, config, labels=labels)
    if not result.verdict.blessed:
        raise DemoRefusedError(
            f"the gate refused the {name} {result.version.content_id} ({result.chosen}); failed checks: "
            f"{', '.join(result.verdict.failed_checks) or 'none recorded'}; see {result.report_path}. "
            "Nothing is served."
        )
    return result


def describe(result: TrainingResult, days: int) -> TrainedModel:
    overall = result.report.overall
    return TrainedModel(
        content_id=result.version.content_id,
        family=result.chosen,
        days=days,
        auc_roc=float(overall.auc_roc or 0.0),
        average_precision=float(overall.average_precision or 0.0),
        blessed=result.verdict.blessed,
        failed_checks=tuple(result.verdict.failed_checks),
        report=str(result.report_path),
    )


def step_champion(context: DemoContext) -> StepResult:
    """Train on the older part of the history, gate, and promote the blessed model to champion."""
    assert context.history is not None, "the simulate step runs first"
    assert context.history_labels is not None, "the simulate step runs first"
    start = time.perf_counter()
    context.registry = open_registry(context)
    cut = context.history["timestamp"].min().normalize() + _days(context.options.champion_days)
    older = context.history.loc[context.history["timestamp"] < cut].reset_index(drop=True)
    labels = context.history_labels.loc[context.history_labels["transaction_id"].isin(older["transaction_id"])]
    result = train_on(context, older, labels, "champion")
    context.registry.promote(result.version.content_id, actor=DEMO_ACTOR, reason="the demo's first blessed model")
    context.training = result
    context.content_id = result.version.content_id
    context.champion = describe(result, context.options.champion_days)
    c = context.champion
    note = (
        f"{c.family} {c.content_id[:19]} on {c.days} days: test AUC {c.auc_roc:.3f}, AP {c.average_precision:.3f}; "
        f"blessed by the gate, promoted to champion"
    )
    return StepResult("champion", len(older), time.perf_counter() - start, note, "transactions")


def step_challenger(context: DemoContext) -> StepResult:
    """Train on the whole history (newer data) and gate it against the champion; it is not promoted here."""
    assert context.history is not None, "the simulate step runs first"
    assert context.history_labels is not None, "the simulate step runs first"
    start = time.perf_counter()
    result = train_on(context, context.history, context.history_labels, "challenger")
    context.challenger = describe(result, context.options.days)
    c = context.challenger
    note = (
        f"{c.family} {c.content_id[:19]} on {c.days} days: test AUC {c.auc_roc:.3f}, AP {c.average_precision:.3f}; "
        f"blessed by the gate against champion {context.content_id[:19]}"
    )
    return StepResult("challenger", len(context.history), time.perf_counter() - start, note, "transactions")


def _days(n: int) -> pd.Timedelta:
    import pandas as pd

    return pd.Timedelta(days=n)

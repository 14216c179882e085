"""The drift step: the champion's monitor watches the next day as it was (the baseline), then the day after
with a drift injected: a new fraud pattern (card testing: bursts of tiny online, keyed payments at two terminals
never seen before) and a broken feature (an upstream feed that sends the amount in cents). The alerts raised are
read back from the alert workflow, where analysts work them (``fraud alerts``).

Scoring goes through the same :class:`~scoring_api.pipeline.Scorer` as the API and the stream (its features
warmed on the history, the labels applied as they are reported); its model input, by name, and its scores feed
a :class:`~monitoring.ModelMonitor` of the champion, built from the reference profile in its lineage, with the
run's monitoring store and an audited alert workflow. A drift window holds most of a day: the rolling features
(a card's amounts over the last day...) follow the time of day, so a window of a few hours would differ from the
reference, made of whole days, without anything being wrong.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from scoring_api.demo.context import DemoContext, StepResult
from scoring_api.demo.workspace import DEMO_ACTOR

if TYPE_CHECKING:
    import pandas as pd

    from monitoring import Alert, ModelMonitor
    from scoring_api.pipeline import Scorer

#: The broken feature: the amount arrives in cents.
BROKEN_FEATURE = "amount sent in cents (x100) by a broken upstream feed"
#: Rows scored per micro-batch by the drift step.
BATCH_ROWS = 500


def inject_drift(day: pd.DataFrame, seed: int, new_frauds: int) -> pd.DataFrame:
    """``day`` with the new fraud pattern added (``new_frauds`` card-testing payments, labelled fraud) and the
    broken amount; rows in time order."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    cards = day.drop_duplicates("card_token").sample(n=min(40, day["card_token"].nunique()), random_state=seed)
    picks = cards.sample(n=new_frauds, replace=True, random_state=seed).reset_index(drop=True)
    start, end = day["timestamp"].min(), day["timestamp"].max()
    offsets = np.sort(rng.uniform(0.0, (end - start).total_seconds(), size=new_frauds))
    pattern = picks.assign(
        transaction_id=[f"drift-card-testing-{i}" for i in range(new_frauds)],
        timestamp=start + pd.to_timedelta(offsets, unit="s"),
        terminal_id=[f"T-NEW-{i % 2}" for i in range(new_frauds)],
        amount=np.round(rng.uniform(0.5, 2.0, size=new_frauds), 2),
        channel="ecom",
        entry_mode="manual",
        device_id=[f"D-NEW-{i % 3}" for i in range(new_frauds)],
        is_fraud=True,
        fraud_scenario="card_testing",
    )
    drifted = pd.concat([day, pattern], ignore_index=True).sort_values("timestamp", kind="mergesort")
    drifted["amount"] = drifted["amount"] * 100.0
    return drifted.reset_index(drop=True)


def monitor_frame(scorer: Scorer, frame: pd.DataFrame) -> pd.DataFrame:
    """Score ``frame`` and return what the monitor takes: the scored rows' fields, model input by name, score."""
    import pandas as pd

    from lifecycle.reference import SCORE

    batch = scorer.score_frame(frame)
    rows = frame.reset_index(drop=True).iloc[batch.scored_positions].reset_index(drop=True)
    inputs = pd.DataFrame(batch.model_input.values, columns=list(batch.model_input.names))
    inputs = inputs[[c for c in inputs.columns if c not in rows.columns]]
    scores = np.array([d.score for d in batch.new_decisions], dtype=np.float64)
    return pd.concat([rows, inputs], axis=1).assign(**{SCORE: scores})


def watch(monitor: ModelMonitor, scorer: Scorer, frame: pd.DataFrame) -> int:
    """Score ``frame`` in micro-batches, feed the monitor; the rows monitored."""
    rows = 0
    for first in range(0, len(frame), BATCH_ROWS):
        scored = monitor_frame(scorer, frame.iloc[first : first + BATCH_ROWS])
        monitor.update(scored)
        rows += len(scored)
    monitor.flush()
    return rows


def step_drift(context: DemoContext) -> StepResult:
    import pandas as pd

    from monitoring import ModelMonitor, MonitorConfig, WindowSpec, open_services
    from monitoring.audit import AuditLog, AuditSink
    from scoring_api.demo.stream import warm_engine
    from scoring_api.deployments import DeploymentManager
    from scoring_api.pipeline import FixedPolicy, Scorer
    from scoring_api.pipeline.checks import load_checker
    from scoring_api.sinks import Sinks

    assert context.drift_day is not None, "the simulate and train steps run first"

    assert context.registry is not None, "the simulate and train steps run first"
    assert context.history is not None
    assert context.api_day is not None
    assert context.stream_day is not None
    assert context.labels is not None
    options, workspace, figures = context.options, context.workspace, context.drift
    start = time.perf_counter()

    engine, labels = warm_engine(context)
    deployments = DeploymentManager(
        context.registry, feature_set=engine.feature_set, backend=options.backend, sink=Sinks([])
    )
    deployments.refresh()
    champion = deployments.current.champion.version
    scorer = Scorer(
        feature_engine=engine,
        checker=load_checker(),
        models=deployments,
        policies=FixedPolicy(),
        labels=labels,
        sink=Sinks([]),
        source="demo-drift",
    )
    audit = workspace.audit_settings()
    settings = workspace.monitoring_settings()
    services = open_services(settings, sink=AuditSink(open_log=lambda: AuditLog.from_settings(audit)))
    try:
        baseline = pd.concat([context.stream_day, context.api_day]).sort_values("timestamp", kind="mergesort")
        window = int(options.drift_window_share * min(len(baseline), len(context.drift_day)))
        config = replace(MonitorConfig.from_settings(settings), windows=(WindowSpec.parse(f"tumbling-{window}"),))
        monitor = ModelMonitor.for_model(champion.content_id, champion.lineage, services, config)
        figures.baseline_rows = watch(monitor, scorer, baseline.reset_index(drop=True))
        before = services.alerts.list_alerts(limit=1_000)
        seen = {a.id: a.occurrences for a in before}
        figures.baseline_alerts = [_described(a) for a in before]
        day = context.drift_day.reset_index(drop=True)
        drifted = inject_drift(day, options.seed, new_frauds=max(50, len(day) // 40))
        figures.injected_frauds = int((drifted["fraud_scenario"] == "card_testing").sum())
        figures.broken_feature = BROKEN_FEATURE
        figures.drifted_rows = watch(monitor, scorer, drifted)
        raised = [a for a in services.alerts.list_alerts(limit=1_000) if a.occurrences > seen.get(a.id, 0)]
        figures.alerts = [_described(a) for a in raised]
        figures.drifted_columns = sorted(
            {str(column) for a in raised for column in a.details.get("drifted_columns", [])}
        )
    finally:
        services.close()
    on_baseline = ", ".join(f"{a['severity']} {a['title']}" for a in figures.baseline_alerts) or "none"
    note = (
        f"baseline (the next day as it was): {figures.baseline_rows:,} rows, alerts: {on_baseline}; drifted: "
        f"{figures.drifted_rows:,} rows with {figures.injected_frauds} card-testing frauds and the {BROKEN_FEATURE}: "
        f"alerts: {'; '.join(a['severity'] + ' ' + a['title'] for a in figures.alerts) or 'none'}; "
        f"work them with fraud alerts list / ack / resolve (actor {DEMO_ACTOR})"
    )
    return StepResult("drift and alerts", figures.drifted_rows, time.perf_counter() - start, note, "transactions")


def _described(alert: Alert) -> dict[str, str]:
    return {"id": str(alert.id), "kind": alert.kind.value, "severity": alert.severity.value, "title": alert.title}

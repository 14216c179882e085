"""The demo's stream: the stream worker (:mod:`scoring_api.worker`) scores the produced day exactly once.

Before the day is produced, the worker group is placed at the end of the topics and its feature state is warmed
on the history (the labels reported before the day included) and written as the workers' snapshot, with the
positions it stands for: the workers start from it as from their own last snapshot. The day's labels go to the
``labels`` topic, from which the workers apply them as the stream reaches their report times. The figures of
the summary are read back from what the workers committed: the decisions on ``scores`` and the dead letters.
"""

from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING

import numpy as np

from features import FeaturesSettings, InMemoryStateStore, OnlineFeatureEngine, default_feature_set
from ingest.kafka import end_offsets, read_topic
from scoring_api.demo.context import DemoContext, StepResult, StreamFigures
from scoring_api.worker import StreamWorker, WorkerConfig, WorkerSettings, build_worker, decode_decision, stream_scorer
from scoring_api.worker.state import position_name, snapshot_path

if TYPE_CHECKING:
    from scoring_api.pipeline import LabelFeed
    from scoring_api.worker import StreamDecision


def worker_config(context: DemoContext) -> WorkerConfig:
    """The demo's workers: their own group, transactional ids and journal; the embedded state in the run folder,
    and their decisions recorded in the run's audit trail (source ``stream``), beside the service's."""
    from scoring_api.settings import ScoringSettings

    options = context.options
    worker = WorkerSettings(
        group_id=context.group_id,
        transactional_id_prefix=context.group_id,
        topic_journal=f"{context.group_id}.journal",
        state_dir=context.workspace.root / "worker" / context.group_id,
        max_batch=options.batch_size,
        metrics_port=0,
        snapshot_every=10_000,
        monitor=False,
    )
    ingest = context.settings.model_copy(update={"kafka_bootstrap_servers": context.bootstrap_servers})
    return WorkerConfig(
        ingest, worker, FeaturesSettings(redis_url=""), ScoringSettings(model_backend=options.backend),
        context.workspace.lifecycle_settings(), context.workspace.audit_settings(),
    )  # fmt: skip


def warm_engine(context: DemoContext) -> tuple[OnlineFeatureEngine, LabelFeed]:
    """The online engine with the history applied and the labels reported before the next day; the feed of the
    labels reported from the day's start on (the state the workers, the service and the drift step start from)."""
    from scoring_api.pipeline import LabelFeed

    assert context.history is not None
    assert context.labels is not None
    assert context.stream_day is not None
    engine = OnlineFeatureEngine(default_feature_set())
    engine.update_and_read_batch(context.history)
    before = context.labels["reported_at"] < context.stream_day["timestamp"].min().normalize()
    engine.apply_labels(context.labels.loc[before])
    return engine, LabelFeed(context.labels.loc[~before].reset_index(drop=True))


def warm_state(context: DemoContext, start_offsets: dict[tuple[str, int], int]) -> int:
    """Write each worker slot's snapshot: the history applied, the labels reported before the day, and the
    positions that state stands for (the group's start, the labels topic's end); returns the labels applied."""
    engine, _ = warm_engine(context)
    applied = engine.labels_applied
    store = engine.store
    assert isinstance(store, InMemoryStateStore)
    positions = {position_name(partition): offset for partition, offset in start_offsets.items()}
    labels = context.settings.topic_labels
    positions.update({position_name((labels, p)): o for p, o in end_offsets(context.bootstrap_servers, labels).items()})
    store.begin_unit()
    store.commit_unit(positions)
    config = worker_config(context)
    for slot in range(context.options.workers):
        store.snapshot(snapshot_path(config.worker.state_dir, slot), engine.feature_set.version)
    return applied


def step_stream(context: DemoContext) -> StepResult:
    """Run the workers until they have consumed the produced day, then read their decisions back."""
    from scoring_api.deployments import DeploymentManager
    from scoring_api.pipeline import FixedPolicy
    from scoring_api.pipeline.checks import load_checker
    from scoring_api.sinks import Sinks

    assert context.stream_day is not None, "the simulate step runs first"
    assert context.registry is not None, "the train step runs first"
    config = worker_config(context)
    deployments = DeploymentManager(
        context.registry, feature_set=default_feature_set(), backend=context.options.backend, sink=Sinks([])
    )
    deployments.refresh()
    champion = deployments.current.champion.content_id
    checker, policy = load_checker(), FixedPolicy()
    scores_start = end_offsets(context.bootstrap_servers, context.settings.topic_scores)
    letters_start = end_offsets(context.bootstrap_servers, context.settings.topic_dead_letters)
    workers = [
        build_worker(config, slot, make_scorer=lambda engine: stream_scorer(engine, checker, deployments, policy))
        for slot in range(context.options.workers)
    ]
    start = time.perf_counter()
    _run_until_consumed(workers, context.produced, context.options.timeout_s)
    elapsed = time.perf_counter() - start
    decisions = [
        decode_decision(m.value)
        for m in read_topic(context.bootstrap_servers, context.settings.topic_scores, since=scores_start,
                            expected=len(context.stream_day), settle_s=1.0)
    ]  # fmt: skip
    letters = read_topic(context.bootstrap_servers, context.settings.topic_dead_letters, since=letters_start,
                         settle_s=0.5)  # fmt: skip
    context.stream = _figures(context, workers, decisions, len(letters), elapsed)
    served = {d.model_version for d in decisions}
    if served - {champion}:
        raise RuntimeError(f"the stream was scored by {sorted(served)}, not the champion {champion}")
    figures = context.stream
    note = (
        f"{len(workers)} worker(s) of group {context.group_id!r}, {figures.batches} micro-batches, exactly once: "
        f"{figures.scored:,} decisions committed to {context.settings.topic_scores!r}, {figures.dead_lettered} "
        f"messages to {context.settings.topic_dead_letters!r}, scored on {deployments.backend}"
    )
    return StepResult("stream and score", figures.consumed, elapsed, note, "transactions")


def _run_until_consumed(workers: list[StreamWorker], produced: int, timeout_s: float) -> None:
    import threading

    errors: list[BaseException] = []

    def run(worker: StreamWorker) -> None:
        try:
            worker.run()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,), daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    deadline = time.perf_counter() + timeout_s
    try:
        while sum(w.report.consumed for w in workers) < produced and not errors:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"consumed {sum(w.report.consumed for w in workers)} of {produced} in time")
            time.sleep(0.05)
    finally:
        for worker in workers:
            worker.request_stop()
        for thread in threads:
            thread.join(timeout=60)
    if errors:
        raise errors[0]


def _figures(
    context: DemoContext, workers: list[StreamWorker], decisions: list[StreamDecision], letters: int, seconds: float
) -> StreamFigures:
    from lifecycle.evaluation import average_precision, roc_auc
    from lifecycle.evaluation.metrics import alert_threshold

    assert context.stream_day is not None
    ids = [d.transaction_id for d in decisions]
    scores = np.array([d.score for d in decisions], dtype=np.float64)
    truth = context.stream_day.set_index("transaction_id")["is_fraud"]
    labels = truth.reindex(ids).to_numpy(dtype=np.float64)
    threshold = alert_threshold(scores, context.options.review_rate)
    flagged = scores >= threshold
    latencies = [s for w in workers for s in w.report.batch_seconds]
    consumed = sum(w.report.consumed for w in workers)
    scored = len(set(ids))
    rejected = consumed - len(ids)
    return StreamFigures(
        consumed=consumed,
        validated=consumed - rejected,
        rejected=rejected,
        dead_lettered=letters,
        scored=scored,
        batches=sum(w.report.batches for w in workers),
        seconds=seconds,
        median_batch_latency_ms=1000 * statistics.median(latencies) if latencies else 0.0,
        auc_roc=roc_auc(scores, labels),
        average_precision=average_precision(scores, labels),
        frauds=int(labels.sum()),
        review_threshold=float(threshold),
        over_threshold=int(flagged.sum()),
        frauds_over_threshold=int(labels[flagged].sum()),
        duplicates=len(ids) - scored,
        labels_before=context.stream.labels_before,
        labels_during=sum(w.report.labels_reached for w in workers),
        unaccounted=context.produced - scored - rejected,
    )

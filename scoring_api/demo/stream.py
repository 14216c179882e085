"""The stream step: a consumer group validates, builds online features and scores each micro-batch.

Every member polls a micro-batch (messages that fail decoding are rejected by the consumer and written to the
dead-letter topic with their reason when the batch commits) and hands it to the one scorer that the API and the
stream worker use (:class:`~scoring_api.pipeline.Scorer`): the compiled validation suite (rows it fails are
counted as rejected), the online features (warmed on the history with the labels reported before the streamed
day; later labels reach them as the stream's clock passes their report time), the model input by name, the
served champion's score and the decision. Only then does the member commit the batch's offsets: a crash
re-delivers what was not fully processed.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ingest.kafka import MicroBatch, TransactionConsumer
from scoring_api.demo.context import DemoContext, StepResult, StreamFigures
from scoring_api.records import Decision, Rejection

if TYPE_CHECKING:
    from features import OnlineFeatureEngine
    from scoring_api.pipeline import LabelFeed, Scorer


class _Member(threading.Thread):
    """One group member: poll, score (validate, features, model, decision), commit, repeat."""

    def __init__(self, consumer: TransactionConsumer, scorer: Scorer, batch_size: int) -> None:
        super().__init__(daemon=True)
        self.consumer = consumer
        self.scorer = scorer
        self.batch_size = batch_size
        self.ids: list[str] = []
        self.scores: list[float] = []
        self.consumed = 0
        self.rejected = 0
        self.dead_lettered = 0
        self.batches = 0
        self.latencies_s: list[float] = []
        self.content_ids: set[str] = set()
        self.error: BaseException | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                batch = self.consumer.poll_batch(timeout_s=0.2, max_records=self.batch_size)
                if batch is None:
                    continue
                received = time.perf_counter()
                undecodable = len(batch.rejected)
                self._process(batch)
                # Undecodable messages, refused by the consumer itself, count as consumed and rejected.
                self.consumed += undecodable
                self.rejected += undecodable
                self.dead_lettered += len(batch.rejected)  # written by commit() below, before the offsets
                self.consumer.commit(batch)
                self.latencies_s.append(time.perf_counter() - received)
                self.batches += 1
        except BaseException as exc:
            self.error = exc
        finally:
            self.consumer.close()

    def _process(self, batch: MicroBatch) -> None:
        frame = batch.frame
        self.consumed += len(frame)
        if frame.empty:
            return
        # One scorer serves the whole group: terminals are shared across cards, so their windows see every
        # member's transactions; the scorer's lock keeps each micro-batch's read-and-update atomic.
        scored = self.scorer.score_frame(frame)
        self.rejected += len(scored.rejections)
        refused = [k for k, result in enumerate(scored.results) if isinstance(result, Rejection)]
        # Rows the scorer refuses go to the dead-letter topic too, with their original bytes.
        reasons = ["; ".join(r.reasons) for r in scored.rejections]
        batch.rejected.extend(batch.rejected_rows(frame.iloc[refused], reasons))
        for result in scored.results:
            if isinstance(result, Decision):
                self.ids.append(result.transaction_id)
                self.scores.append(result.score)
                self.content_ids.add(result.model_version)


def warm_engine(context: DemoContext) -> tuple[OnlineFeatureEngine, LabelFeed]:
    """The online engine with the history applied and the labels reported before the streamed day; the feed of
    the labels reported from the day's start on."""
    from features import OnlineFeatureEngine, default_feature_set
    from scoring_api.pipeline import LabelFeed

    assert context.history is not None
    assert context.labels is not None
    assert context.stream_day is not None
    engine = OnlineFeatureEngine(default_feature_set())
    engine.update_and_read_batch(context.history)
    before = context.labels["reported_at"] < context.stream_day["timestamp"].min().normalize()
    context.stream.labels_before = engine.apply_labels(context.labels.loc[before])
    return engine, LabelFeed(context.labels.loc[~before].reset_index(drop=True))


def step_stream(context: DemoContext) -> StepResult:
    """Consume the produced day with the group, process every micro-batch, and measure the scores."""
    from lifecycle.evaluation import average_precision, roc_auc
    from lifecycle.evaluation.metrics import alert_threshold
    from scoring_api.deployments import DeploymentManager
    from scoring_api.pipeline import FixedPolicy, Scorer
    from scoring_api.pipeline.checks import load_checker

    assert context.stream_day is not None, "the simulate step runs first"
    assert context.registry is not None, "the train step runs first"
    day = context.stream_day
    engine, feed = warm_engine(context)
    deployments = DeploymentManager(context.registry, feature_set=engine.feature_set, backend=context.options.backend)
    deployments.refresh()
    version = deployments.current.champion.version
    labels_before = engine.labels_applied
    scorer = Scorer(
        feature_engine=engine,
        checker=load_checker(),
        models=deployments,
        policies=FixedPolicy(),
        labels=feed,
        source="demo",
    )
    topic = context.settings.topic_transactions
    members = [
        _Member(
            TransactionConsumer(
                context.bootstrap_servers,
                context.group_id,
                [topic],
                dead_letter_topic=context.settings.topic_dead_letters,
                client_id=f"fraud-demo-{i}",
            ),
            scorer,
            context.options.batch_size,
        )
        for i in range(context.options.consumers)
    ]
    start = time.perf_counter()
    for member in members:
        member.start()
    deadline = start + context.options.timeout_s
    try:
        while sum(m.consumed for m in members) < context.produced:
            for member in members:
                if member.error is not None:
                    raise member.error
            if time.perf_counter() > deadline:
                raise TimeoutError(f"consumed {sum(m.consumed for m in members)} of {context.produced} in time")
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
    finally:
        for member in members:
            member.stop.set()
        for member in members:
            member.join(timeout=30)
    for member in members:
        if member.error is not None:
            raise member.error

    ids = [tid for m in members for tid in m.ids]
    scores = np.array([s for m in members for s in m.scores], dtype=np.float64)
    truth = day.set_index("transaction_id")["is_fraud"]
    scored = truth.reindex(ids)
    labels = scored.to_numpy(dtype=np.float64)
    threshold = alert_threshold(scores, context.options.review_rate)
    flagged = scores >= threshold
    figures = StreamFigures(
        consumed=sum(m.consumed for m in members),
        rejected=sum(m.rejected for m in members),
        dead_lettered=sum(m.dead_lettered for m in members),
        scored=len(ids),
        batches=sum(m.batches for m in members),
        seconds=elapsed,
        median_batch_latency_ms=1000 * float(np.median([x for m in members for x in m.latencies_s])),
        auc_roc=roc_auc(scores, labels),
        average_precision=average_precision(scores, labels),
        frauds=int(labels.sum()),
        review_threshold=float(threshold),
        over_threshold=int(flagged.sum()),
        frauds_over_threshold=int(labels[flagged].sum()),
        duplicates=len(ids) - len(set(ids)),
    )
    figures.labels_before = context.stream.labels_before
    figures.labels_during = engine.labels_applied - labels_before
    figures.validated = figures.consumed - figures.rejected
    figures.unaccounted = context.produced - figures.scored - figures.rejected
    context.stream = figures
    served = {cid for m in members for cid in m.content_ids}
    if served != {version.content_id}:
        raise RuntimeError(f"the stream was scored by {sorted(served)}, not the champion {version.content_id}")
    note = (
        f"group {context.group_id!r}, {len(members)} members, {figures.batches} micro-batches: "
        f"{figures.validated:,} valid, {figures.rejected} rejected ({figures.dead_lettered} to "
        f"{context.settings.topic_dead_letters!r}), {figures.scored:,} scored on {deployments.backend}"
    )
    return StepResult("stream and score", figures.consumed, elapsed, note, "transactions")

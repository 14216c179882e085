"""The stream step: a consumer group validates, builds online features and scores each micro-batch.

Every member polls a micro-batch, checks it with the compiled validation suite (rows that fail would go to the
dead-letter topic with their reason), updates and reads the online features (warmed on the history, with the
labels reported before the streamed day applied), scores the valid rows with the served champion, and only
then commits the batch's offsets: a crash re-delivers what was not fully processed.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import numpy as np

from ingest.contract import TRANSACTION_COLUMNS
from ingest.kafka import TransactionConsumer
from scoring_api.demo.context import DemoContext, StepResult, StreamFigures

if TYPE_CHECKING:
    import pandas as pd

    from features import OnlineFeatureEngine
    from ingest.validation import CompiledChecker
    from scoring_api.serving_model import ServingModel


class _Member(threading.Thread):
    """One group member: poll, validate, features, score, commit, repeat."""

    def __init__(
        self,
        consumer: TransactionConsumer,
        checker: CompiledChecker,
        engine: OnlineFeatureEngine,
        engine_lock: threading.Lock,
        serving: ServingModel,
        batch_size: int,
    ) -> None:
        super().__init__(daemon=True)
        self.consumer = consumer
        self.checker = checker
        self.engine = engine
        self.engine_lock = engine_lock
        self.serving = serving
        self.batch_size = batch_size
        self.ids: list[str] = []
        self.scores: list[np.ndarray] = []
        self.consumed = 0
        self.rejected = 0
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
                self._process(batch.frame)
                # Undecodable messages, refused by the consumer itself, count as consumed and rejected.
                self.consumed += len(batch.rejected)
                self.rejected += len(batch.rejected)
                self.consumer.commit(batch)
                self.latencies_s.append(time.perf_counter() - received)
                self.batches += 1
        except BaseException as exc:
            self.error = exc
        finally:
            self.consumer.close()

    def _process(self, frame: pd.DataFrame) -> None:
        self.consumed += len(frame)
        if frame.empty:
            return
        verdict = self.checker.check(frame[list(TRANSACTION_COLUMNS)])
        good = frame.iloc[np.flatnonzero(verdict.ok_mask)]
        self.rejected += len(frame) - len(good)
        if good.empty:
            return
        # One engine serves the whole group: terminals are shared across cards, so their windows see every
        # member's transactions; the lock keeps each micro-batch's read-and-update atomic.
        with self.engine_lock:
            features = self.engine.update_and_read_batch(good)
        rows = np.column_stack([good["amount"].to_numpy(dtype=np.float64), features]).astype(np.float32)
        content_id, scores = self.serving.score(rows)
        self.content_ids.add(content_id)
        self.ids.extend(good["transaction_id"].astype(str).tolist())
        self.scores.append(scores)


def warm_engine(context: DemoContext) -> OnlineFeatureEngine:
    """The online engine with the history applied and the labels reported before the streamed day."""
    from features import OnlineFeatureEngine, default_feature_set

    assert context.history is not None
    assert context.history_labels is not None
    assert context.stream_day is not None
    engine = OnlineFeatureEngine(default_feature_set())
    engine.update_and_read_batch(context.history)
    day_start = context.stream_day["timestamp"].min()
    engine.apply_labels(context.history_labels.loc[context.history_labels["reported_at"] < day_start])
    return engine


def step_stream(context: DemoContext) -> StepResult:
    """Consume the produced day with the group, process every micro-batch, and measure the scores."""
    from ingest.validation import CompiledChecker, build_suite
    from model_engine.evaluation import average_precision, roc_auc
    from model_engine.evaluation.metrics import alert_threshold
    from scoring_api.serving_model import ServingModel
    from scoring_api.settings import ScoringSettings

    assert context.stream_day is not None, "the simulate step runs first"
    assert context.registry is not None, "the train step runs first"
    day = context.stream_day
    serving = ServingModel(context.registry, ScoringSettings(model_backend=context.options.backend))
    version = serving.load()
    checker = CompiledChecker.from_suite(build_suite())
    engine = warm_engine(context)
    lock = threading.Lock()
    topic = context.settings.topic_transactions
    members = [
        _Member(
            TransactionConsumer(context.bootstrap_servers, context.group_id, [topic], client_id=f"fraud-demo-{i}"),
            checker,
            engine,
            lock,
            serving,
            context.options.batch_size,
        )
        for i in range(context.options.consumers)
    ]
    start = time.perf_counter()
    for member in members:
        member.start()
    deadline = start + context.options.timeout_s
    try:
        while sum(m.consumed for m in members) < len(day):
            for member in members:
                if member.error is not None:
                    raise member.error
            if time.perf_counter() > deadline:
                raise TimeoutError(f"consumed {sum(m.consumed for m in members)} of {len(day)} in time")
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
    scores = np.concatenate([s for m in members for s in m.scores]) if ids else np.zeros(0, dtype=np.float32)
    truth = day.set_index("transaction_id")["is_fraud"]
    scored = truth.reindex(ids)
    labels = scored.to_numpy(dtype=np.float64)
    threshold = alert_threshold(scores, context.options.review_rate)
    flagged = scores >= threshold
    figures = StreamFigures(
        consumed=sum(m.consumed for m in members),
        rejected=sum(m.rejected for m in members),
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
    figures.validated = figures.consumed - figures.rejected
    figures.unaccounted = len(day) - figures.scored - figures.rejected
    context.stream = figures
    served = {cid for m in members for cid in m.content_ids}
    if served != {version.content_id}:
        raise RuntimeError(f"the stream was scored by {sorted(served)}, not the champion {version.content_id}")
    note = (
        f"group {context.group_id!r}, {len(members)} members, {figures.batches} micro-batches: "
        f"{figures.validated:,} valid, {figures.rejected} rejected, {figures.scored:,} scored on {serving.backend}"
    )
    return StepResult("stream and score", figures.consumed, elapsed, note, "transactions")

"""The stream worker: consume a micro-batch, score it, and commit its outputs and offsets in one transaction.

One iteration (see ``docs/stream-worker.md`` for the whole design):

1. poll a micro-batch from ``transactions`` (group ``scorers``, read_committed, cooperative rebalancing); a
   rebalance inside the poll hands over partitions: for each partition taken over, the feature state is brought
   to the group's committed offset by the journal replay (:mod:`~scoring_api.worker.recovery`) before any new
   input of it is processed, and its labels partition is read from the state's position;
2. read the labels on the topic so far, plan the batch (rows in event-time order, labels where they are due);
3. begin the batch's Kafka transaction and add the input offsets to it (with the group's metadata, and the
   journal record's name as offset metadata) without waiting: the coordinator's round trips run on the
   producer's I/O thread while the batch is processed; score the plan's runs
   (:class:`~scoring_api.worker.scoring.RowScorer`), applying labels between them, and submit the decisions to
   the recorder (the audit trail) at once, without waiting: the trail commits them while the worker goes on;
4. in the same transaction: decisions to ``scores``, dead letters to ``transactions.dlq``, the journal record;
   then the wait for the recorder, which must have committed the decisions before anything is published, and
   the Kafka commit (which waits for the offsets' answer first);
5. after the commit, the state's unit commits with the positions it reached (Redis: one MULTI/EXEC; embedded:
   in memory, snapshotted every ``snapshot_every`` batches and at shutdown).

A failed transaction (or a recorder that refuses the decisions: what was sent is then aborted unpublished) is
aborted, its offsets with it; the state returns to its last durable point (and replays the journal), the
consumer goes back to the committed offsets, and the batch is processed again. A batch whose processing raises
aborts its transaction before the error stops the worker. SIGTERM finishes the batch in hand, commits it,
snapshots, and leaves the group.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np
import pandas as pd

from features import OnlineFeatureEngine, StateConflictError, StateStore
from features.frames import timestamps_us
from ingest.kafka import (
    FencedError,
    KafkaIngestError,
    MicroBatch,
    Partition,
    TopicSpec,
    TransactionalProducer,
    TransactionConsumer,
    ensure_topics,
)
from scoring_api.records import ScoredBatch
from scoring_api.sinks import BatchScored, DecisionSink, utc_now
from scoring_api.worker.errors import TopologyError
from scoring_api.worker.journal import JournalRecord, commit_metadata, encode_record
from scoring_api.worker.labels import LabelFeed
from scoring_api.worker.metrics import WorkerMetrics
from scoring_api.worker.outputs import BatchOutputs, batch_outputs
from scoring_api.worker.plan import BatchPlan, plan_batch
from scoring_api.worker.process import ProcessedBatch, process_plan
from scoring_api.worker.recovery import Recovery
from scoring_api.worker.scoring import RowScorer
from scoring_api.worker.settings import WorkerSettings
from scoring_api.worker.state import WorkerState, journal_name, position_name, snapshot_path

log = logging.getLogger("fraud.worker")


@dataclass(frozen=True)
class WorkerTopics:
    """The topics a worker reads and writes."""

    transactions: str
    labels: str
    scores: str
    dead_letters: str
    journal: str


@dataclass(frozen=True, eq=False)
class CommittedBatch:
    """A batch whose outputs and state are committed, as observers receive it: the rows in processing order (the
    contract's fields), the pipeline's results for them (decisions with the model input of the rows scored), and
    the labels applied."""

    rows: pd.DataFrame
    scored: ScoredBatch
    labels: pd.DataFrame


class BatchObserver(Protocol):
    """Told of every committed batch, after its state commit (the monitors, the audit trail): at most once per
    batch, since a crash between the state commit and the call loses the call."""

    def observe(self, batch: CommittedBatch) -> None: ...

    def flush(self) -> None:
        """Finish what is gathered (the worker stops)."""


class DecisionRecorder(Protocol):
    """Where every decision is recorded before it is published (the audit trail's
    :class:`~scoring_api.recording.AuditRecorder`): a batch's decisions are submitted as soon as it is scored,
    and the worker waits for the future, at most ``timeout_s`` seconds, just before it commits the batch."""

    timeout_s: float

    def submit_scored(self, event: BatchScored) -> Future[Any]:
        """Submit the batch's decisions for recording without waiting; the future fails if they cannot be."""
        ...


class SinkObserver:
    """A :class:`~scoring_api.sinks.DecisionSink` (the service's metrics, say) as an observer: each committed
    batch reaches it, at most once, as the scoring service's ``BatchScored`` event from source ``stream``. A sink
    that must see every published decision (the audit trail) is the worker's ``recorder`` instead (a
    :class:`DecisionRecorder`)."""

    def __init__(self, sink: DecisionSink) -> None:
        self.sink = sink

    def observe(self, batch: CommittedBatch) -> None:
        self.sink.batch_scored(BatchScored(utc_now(), "stream", batch.scored))

    def flush(self) -> None:
        """A sink records as it goes."""


@dataclass
class WorkerReport:
    """What a worker did, for its caller and its last log line."""

    batches: int = 0
    consumed: int = 0
    decided: int = 0
    dead_letters: int = 0
    labels_applied: int = 0
    #: Of the labels applied, the frauds whose transaction the feature state still held.
    labels_reached: int = 0
    aborted: int = 0
    replayed_rows: int = 0
    seconds: float = 0.0
    partitions: list[Partition] = field(default_factory=list)
    #: Poll-to-commit seconds of the latest batches (at most the last 10,000).
    batch_seconds: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))


class StreamWorker:
    """One member of the scoring group (one process; several run as ``fraud worker --workers N``)."""

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        topics: WorkerTopics,
        settings: WorkerSettings,
        slot: int,
        make_engine: Callable[[StateStore | None], OnlineFeatureEngine],
        make_scorer: Callable[[OnlineFeatureEngine], RowScorer],
        store: StateStore | None = None,
        observers: Sequence[BatchObserver] = (),
        recorder: DecisionRecorder | None = None,
        consumer_overrides: dict[str, Any] | None = None,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topics = topics
        self.settings = settings
        self.slot = slot
        self.worker_id = f"{settings.transactional_id_prefix}-{slot}"
        self.observers = list(observers)
        #: Records every batch's decisions before they are published (see :meth:`_recorded`).
        self.recorder = recorder
        self._record_pause = 0.0
        #: Called last when the worker stops (what build_worker opened: the audit trail, monitoring's storage).
        self.closing: list[Callable[[], None]] = []
        self.metrics = WorkerMetrics(self.worker_id)
        self.report = WorkerReport()
        self._make_scorer = make_scorer
        snapshot = None if store is not None else snapshot_path(settings.state_dir, slot)
        self.state = WorkerState(make_engine, store, snapshot, settings.snapshot_every)
        self.scorer = make_scorer(self.state.engine)
        self._consumer_overrides = consumer_overrides or {}
        self._stop = threading.Event()
        self._moves: list[tuple[str, frozenset[Partition]]] = []
        self._seq = 0
        self._clock: dict[int, int] = {}  # per partition: time of the newest transaction processed (us)
        self._last_lag = 0.0

    # -- life cycle --------------------------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Finish the batch in hand, commit it, and stop (what SIGTERM does)."""
        self._stop.set()

    def run(self, until: Callable[[WorkerReport], bool] | None = None) -> WorkerReport:
        """Process batches until :meth:`request_stop` (or ``until(report)`` is true after a batch)."""
        began = time.monotonic()
        self._connect()
        try:
            while not self._stop.is_set():
                batch = self.consumer.poll_batch(self.settings.poll_timeout_s, self.settings.max_batch)
                self._apply_moves()
                if batch is not None and batch.size:
                    self._process(batch)
                self._sample_lag()
                if until is not None and until(self.report):
                    break
        finally:
            self.report.seconds = time.monotonic() - began
            self._disconnect()
        return self.report

    def _connect(self) -> None:
        settings = self.settings
        retention = str(int(settings.journal_retention_days * 86_400_000))
        ensure_topics(self.bootstrap_servers, [TopicSpec(self.topics.journal, 1, configs={"retention.ms": retention})])
        self.producer = TransactionalProducer(self.bootstrap_servers, self.worker_id)
        self.producer.init()  # fences a previous instance of this slot and aborts what it left open
        self.feed = LabelFeed(self.bootstrap_servers, self.topics.labels, f"{self.worker_id}-labels")
        self.recovery = Recovery(self.bootstrap_servers, self.topics.journal, self.topics.labels, self.worker_id,
                                 settings.recovery_timeout_s)  # fmt: skip
        overrides = {"session_timeout_ms": int(settings.session_timeout_s * 1000), **self._consumer_overrides}
        self.consumer = TransactionConsumer(
            self.bootstrap_servers,
            settings.group_id,
            [self.topics.transactions],
            client_id=self.worker_id,
            max_poll_records=settings.max_batch,
            on_assigned=lambda moved: self._moves.append(("assigned", moved)),
            on_revoked=lambda moved: self._moves.append(("revoked", moved)),
            cooperative=True,
            align_wait_s=settings.align_wait_s,
            **overrides,
        )
        self._check_topology()
        if settings.metrics_port:
            self.metrics.serve(settings.metrics_port + self.slot)
        log.info("worker started", extra={"group": settings.group_id, "topics": self.topics.transactions})

    def _check_topology(self) -> None:
        counts = {topic: len(self.consumer.partitions_for(topic)) for topic in (self.topics.transactions,
                                                                                 self.topics.labels)}  # fmt: skip
        journal = len(self.consumer.partitions_for(self.topics.journal))
        if journal != 1:
            raise TopologyError(
                f"the journal topic {self.topics.journal!r} has {journal} partitions; it must have one, so that a "
                "replay reads every worker's batches in the order they committed: delete it or name another one"
            )
        if counts[self.topics.labels] != counts[self.topics.transactions]:
            raise TopologyError(
                f"topic {self.topics.labels!r} has {counts[self.topics.labels]} partitions and "
                f"{self.topics.transactions!r} {counts[self.topics.transactions]}: labels must be partitioned like "
                "transactions (both keyed by card token) so that a card's labels reach the worker that owns it"
            )

    def _disconnect(self) -> None:
        try:
            self.state.snapshot()
            for observer in self.observers:
                observer.flush()
        finally:
            self.consumer.close()  # leaves the group: the partitions move to the other members at once
            self.producer.close()
            self.feed.close()
            self.metrics.close()
            for close in self.closing:
                close()
            log.info("worker stopped", extra=self._summary())

    # -- rebalances --------------------------------------------------------------------------------------------
    def _apply_moves(self) -> None:
        while self._moves:
            what, moved = self._moves.pop(0)
            if what == "revoked":
                self.feed.revoke(p for _, p in moved)
                log.info("partitions revoked", extra={"partitions": sorted(p for _, p in moved)})
            else:
                self._take_over(moved)
        self.report.partitions = sorted(self.consumer.assignment())
        self.metrics.assigned.set(len(self.report.partitions))

    def _take_over(self, partitions: frozenset[Partition]) -> None:
        """Bring the state to the committed offsets of ``partitions``, then read their labels from there."""
        committed = self.consumer.committed(sorted(partitions))
        report = self.recovery.recover(self.state, lambda: self.scorer, committed)
        if report.missing:
            # The outputs are committed; only the features of these partitions' cards lack some history. Going on
            # is better than stopping the stream: say so, loudly, and count it.
            log.error(
                "the journal lacks committed batches: features of these partitions miss part of their history",
                extra={"partitions": sorted(p for _, p in report.missing), "journal": self.topics.journal,
                       "waited_s": self.settings.recovery_timeout_s},
            )  # fmt: skip
            self.metrics.state_gaps.inc(len(report.missing))
        self.report.replayed_rows += report.rows
        self.metrics.replayed_rows.inc(report.rows)
        positions = self.state.positions()
        label_positions = {p: positions.get(position_name((self.topics.labels, p)), 0) for _, p in partitions}
        self.feed.assign(label_positions)
        log.info(
            "partitions assigned",
            extra={
                "partitions": sorted(p for _, p in partitions),
                "replayed_records": report.records,
                "replayed_rows": report.rows,
                "cold": sorted(p for _, p in report.cold),
                "recovery_seconds": round(report.seconds, 3),
            },
        )

    # -- one batch ---------------------------------------------------------------------------------------------
    def _process(self, batch: MicroBatch) -> None:
        began = time.monotonic()
        self.feed.catch_up(self.settings.recovery_timeout_s)
        plan = plan_batch(batch.frame, self.feed.queues)
        record = self._journal_record(batch, plan)
        self.state.begin()
        try:
            self._open_transaction(batch, record)
            try:
                processed = process_plan(plan, self.scorer)
                recording = self._submit_record(processed)
                journal, outputs = self._send(batch, plan, processed, record)
                refusal = self._recorded(batch, recording)
                if refusal is None:
                    journal_offset = self._commit(journal)
            except BaseException:
                self._abort_quietly()
                raise
        except FencedError:
            raise
        except KafkaIngestError as exc:
            self._recover_from_abort(batch, exc)
            return
        if refusal is not None:  # nothing was published: undo the sends, wait for the recorder, do it again
            self._abort_quietly()
            self._stop.wait(self._record_pause)
            self._recover_from_abort(batch, refusal)
            return
        positions = {position_name(p): end for p, (_, end) in batch.ranges.items()}
        positions.update({journal_name(p): journal_offset for p in batch.ranges})
        positions.update({position_name((self.topics.labels, p)): end for p, (_, end) in plan.label_ranges.items()})
        try:
            self.state.commit(positions)
        except StateConflictError:
            # Another worker changed entities this batch read (shared store): the outputs are committed, so the
            # state is recomputed from fresh values by replaying this very batch from the journal.
            self.state.abort()
            self._replay_own(batch, record)
        self._account(batch, plan, processed, outputs, began)
        if self.report.batches % self.settings.evict_every == 0 and self._clock:
            newest = datetime.fromtimestamp(max(self._clock.values()) / 1e6, UTC)
            lateness = timedelta(seconds=self.settings.evict_lateness_s)
            forgotten = self.state.engine.evict_idle(newest, lateness)
            log.info("idle entities forgotten", extra={"entities": forgotten})

    def _journal_record(self, batch: MicroBatch, plan: BatchPlan) -> JournalRecord:
        """The batch's journal record: its input ranges and the label ranges its plan applies (all known before
        the batch is processed)."""
        self._seq += 1
        labels = {(self.topics.labels, p): rng for p, rng in plan.label_ranges.items()}
        return JournalRecord(self.worker_id, self._seq, dict(batch.ranges), labels)

    def _open_transaction(self, batch: MicroBatch, record: JournalRecord) -> None:
        """Begin the batch's transaction and add its input offsets to it at once (each with the journal record's
        name as metadata): the coordinator's round trips run on the producer's I/O thread while the batch is
        processed, and :meth:`_commit` waits for them only to commit. The offsets are pending until the commit;
        an abort discards them with the outputs."""
        from kafka.structs import OffsetAndMetadata

        metadata = commit_metadata(record)
        offsets = {tp: OffsetAndMetadata(o.offset, metadata, o.leader_epoch) for tp, o in batch.offsets.items()}
        self.producer.begin()
        try:
            self.producer.send_offsets(offsets, self.consumer.group_metadata())
        except BaseException:
            self._abort_quietly()
            raise

    def _submit_record(self, processed: ProcessedBatch) -> Future[Any] | None:
        """Submit the batch's decisions to the recorder as soon as they are taken, without waiting: the trail
        commits them while the outputs are built and sent (a submission that raises is a failed recording)."""
        if self.recorder is None:
            return None
        try:
            return self.recorder.submit_scored(BatchScored(utc_now(), "stream", processed.scored.batch))
        except Exception as exc:  # refused at once: the same as a failed commit, met in _recorded
            failed: Future[Any] = Future()
            failed.set_exception(exc)
            return failed

    def _recorded(self, batch: MicroBatch, recording: Future[Any] | None) -> Exception | None:
        """Wait for the recorder to commit the batch's decisions, just before the batch's transaction commits, so
        that no decision reaches ``scores`` unrecorded; returns the recorder's failure, if any. When the recorder
        refuses them (or does not answer within its ``timeout_s``), nothing of the batch is published: its
        transaction, with what was sent into it, is aborted and it is processed again after a pause that doubles
        up to 30 s (the stream waits for the audit trail rather than publish decisions it lacks). A batch recorded
        and then not committed (the transaction aborted, the worker killed) is recorded again when it is processed
        again: the trail then holds a decision that was never published beside the one that was (the decision on
        ``scores`` names its own id)."""
        if recording is None or self.recorder is None:
            return None
        try:
            recording.result(timeout=self.recorder.timeout_s)
        except Exception as exc:  # any failure of the recorder: the batch is undone and processed again
            self.metrics.unrecorded.inc()
            self._record_pause = min(30.0, max(0.5, 2 * self._record_pause))
            log.error(
                "recording the batch's decisions failed; nothing was published, the batch is processed again",
                extra={"error": f"{type(exc).__name__}: {exc}", "rows": batch.size, "pause_s": self._record_pause},
            )
            return exc
        self._record_pause = 0.0
        return None

    def _send(
        self, batch: MicroBatch, plan: BatchPlan, processed: ProcessedBatch, record: JournalRecord
    ) -> tuple[Any, BatchOutputs]:
        """Send the batch's outputs into the open transaction (the input offsets are in it already): decisions,
        dead letters, the journal record. Nothing is visible to read_committed readers before :meth:`_commit`.
        Returns the journal record's pending send and the outputs."""
        outputs = batch_outputs(batch, plan, processed, self.settings.dlq_max_value_bytes)
        producer = self.producer
        producer.send_keyed(self.topics.scores, *outputs.decision_columns())
        for letter in outputs.dead_letters:
            producer.send(self.topics.dead_letters, letter.value, key=letter.key, headers=letter.headers)
        journal = producer.send(self.topics.journal, encode_record(record), key=self.worker_id.encode(), partition=0)
        return journal, outputs

    def _commit(self, journal: Any) -> int:
        """Commit the batch's transaction; returns the journal record's offset."""
        self.producer.commit()
        return int(journal.get(timeout=30).offset)

    def _abort_quietly(self) -> None:
        try:
            self.producer.abort()
        except KafkaIngestError as exc:  # the next init_transactions (or the coordinator's timeout) aborts it
            log.warning("aborting the transaction failed", extra={"error": str(exc)})

    def _recover_from_abort(self, batch: MicroBatch, error: Exception) -> None:
        """Nothing of the batch is committed: put the state and the positions back, so it is processed again."""
        self.report.aborted += 1
        self.metrics.aborted.inc()
        log.warning("batch aborted; processing it again", extra={"error": str(error), "rows": batch.size})
        self.state.abort()
        self.scorer = self._make_scorer(self.state.engine)
        owned = frozenset(self.consumer.assignment())
        self.consumer.seek({p: first for p, (first, _) in batch.ranges.items()})
        self.feed.revoke(list(self.feed.partitions()))
        self._take_over(owned)

    def _replay_own(self, batch: MicroBatch, record: JournalRecord) -> None:
        committed = {p: (end, commit_metadata(record)) for p, (_, end) in batch.ranges.items()}
        report = self.recovery.recover(self.state, lambda: self.scorer, committed)
        self.report.replayed_rows += report.rows
        self.metrics.replayed_rows.inc(report.rows)

    def _account(
        self, batch: MicroBatch, plan: BatchPlan, processed: ProcessedBatch, outputs: BatchOutputs, began: float
    ) -> None:
        report, metrics = self.report, self.metrics
        report.batches += 1
        report.consumed += batch.size
        report.decided += len(outputs.decisions)
        report.dead_letters += len(outputs.dead_letters)
        report.labels_applied += len(processed.labels)
        report.labels_reached += processed.labels_reached
        report.batch_seconds.append(time.monotonic() - began)
        metrics.batches.inc()
        metrics.consumed.inc(batch.size)
        metrics.batch_rows.observe(batch.size)
        metrics.batch_seconds.observe(time.monotonic() - began)
        for outcome, count in Counter(d.outcome.value for _, d in processed.scored.decided).items():
            metrics.decision(outcome, count)
        metrics.dead_letters("undecodable", outputs.undecodable)
        metrics.dead_letters("refused", outputs.refused)
        metrics.dead_letters("labels", outputs.bad_labels)
        metrics.labels_applied.inc(len(processed.labels))
        self._count_late_labels(plan)
        if len(plan.rows):
            metrics.event_age.set(time.time() - plan.rows["timestamp"].max().timestamp())
        if self.observers:
            committed = CommittedBatch(plan.rows, processed.scored.batch, processed.labels)
            for observer in self.observers:
                observer.observe(committed)

    def _count_late_labels(self, plan: BatchPlan) -> None:
        """Count the labels applied after the stream of their partition had passed their report time, and move
        each partition's clock to its newest transaction."""
        rows = plan.rows
        if not len(rows):
            return
        applied = plan.labels
        if len(applied):
            clock = applied["partition"].map(self._clock).fillna(-1).to_numpy(dtype=np.int64)
            self.metrics.labels_late.inc(int((timestamps_us(applied["reported_at"]) <= clock).sum()))
        frame = pd.DataFrame({"partition": rows["kafka_partition"].to_numpy(), "t": timestamps_us(rows["timestamp"])})
        newest = frame.groupby("partition")["t"].max()
        self._clock.update(zip(newest.index.astype(int).tolist(), newest.astype(int).tolist(), strict=True))

    def _sample_lag(self) -> None:
        now = time.monotonic()
        if now - self._last_lag < 1.0 or not self.report.partitions:
            return
        self._last_lag = now
        try:
            ends = self.consumer.end_offsets(self.report.partitions)
            positions = self.consumer.positions()
        except KafkaIngestError:
            return
        self.metrics.set_lag({p: max(0, ends[p] - positions.get(p, ends[p])) for p in ends})

    def _summary(self) -> dict[str, Any]:
        r = self.report
        return {
            "batches": r.batches,
            "consumed": r.consumed,
            "decided": r.decided,
            "dead_letters": r.dead_letters,
            "labels_applied": r.labels_applied,
            "aborted": r.aborted,
            "replayed_rows": r.replayed_rows,
            "seconds": round(r.seconds, 3),
        }

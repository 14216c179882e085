"""The one scoring pipeline: raw transactions in, decisions out, for the API, the stream worker, the demo and
the benches.

Every batch goes through the same stages: the compiled validation suite (rows it fails are rejected with the
names of the failed checks), the idempotency claim (a transaction id scored before gets its recorded decision
and is not counted again), the online features (read and updated under one lock, after the labels due by the
batch's time), the model input built by name (:func:`features.model_input`), the engine's score by the
deployed models (champion, canary for its sticky share of cards, shadow on the side), and the decision
(rules, then the thresholds of the segment). The result, one decision or rejection per transaction in input
order, goes to the decision log and to the sink.

A single transaction takes the scalar path of each stage (the record check, the embedded store's one-row
update), a batch the vectorised path; both give the same answers. Nothing here speaks HTTP.

>>> # scorer = Scorer(feature_engine=engine, checker=checker, models=deployments, policies=decision_configs)
>>> # batch = scorer.score_frame(frame)            # a micro-batch, e.g. decoded from Kafka
>>> # batch = scorer.score_transactions([tx])      # contract records, e.g. from the API
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from features.model_input import ModelInput, model_input, model_input_names
from features.online import OnlineFeatureEngine
from ingest.contract import TRANSACTION_COLUMNS, Transaction
from ingest.validation.checker import CRITICAL, CompiledChecker
from ingest.validation.checker import Verdict as CheckVerdict
from model_engine import ExplanationUnavailableError
from scoring_api.decisions.policy import DecisionInputs, DecisionPolicy, ModelThresholds, Verdict
from scoring_api.decisions.reasons import ReasonWriter
from scoring_api.deployments.served import ServedModel
from scoring_api.deployments.snapshot import CanaryObservation, Deployment, ModelSource
from scoring_api.pipeline.frames import (
    decision_inputs,
    frame_fingerprints,
    transaction_fingerprint,
    transaction_inputs,
    transactions_frame,
)
from scoring_api.pipeline.idempotency import DecisionLog, InMemoryDecisionLog, Refused
from scoring_api.pipeline.labels import LabelSource
from scoring_api.records import (
    Explanation,
    ModelRole,
    Outcome,
    ReasonCode,
    Rejection,
    Result,
    ScoredBatch,
    ShadowScores,
    decisions_from_rows,
)
from scoring_api.sinks import BatchScored, DecisionSink, LogSink, utc_now

_NO_ROWS: Final = np.zeros(0, dtype=np.int64)
logger = logging.getLogger(__name__)


class PolicySource(Protocol):
    """Where the scorer reads the active decision configuration (the versioned store, or a fixed one)."""

    @property
    def active(self) -> DecisionPolicy: ...


class FixedPolicy:
    """One decision configuration that never changes (tests, the demo, benches)."""

    def __init__(self, policy: DecisionPolicy | None = None) -> None:
        self._policy = policy or DecisionPolicy(version=0)

    @property
    def active(self) -> DecisionPolicy:
        return self._policy


class _DecisionIds:
    """Unique, cheap decision ids: a random prefix per process and a counter, 32 hexadecimal digits in all.

    A shorter id whose counter happens to be all decimal digits would read as a card number to the audit trail's
    screen (12 to 19 digits), which masks it; a hexadecimal word of 32 digits is a digest to it, kept as is."""

    def __init__(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count()

    def take(self, n: int) -> list[str]:
        return [f"{self._prefix}{next(self._counter):016x}" for _ in range(n)]


class Scorer:
    """Validation, idempotency, online features, model input, score and decision for batches of transactions."""

    def __init__(
        self,
        *,
        feature_engine: OnlineFeatureEngine,
        checker: CompiledChecker,
        models: ModelSource,
        policies: PolicySource,
        log: DecisionLog | None = None,
        sink: DecisionSink | None = None,
        labels: LabelSource | None = None,
        source: str = "api",
        clock: Callable[[], datetime] = utc_now,
        explain_approved: bool = False,
        fingerprints: bool = True,
    ) -> None:
        self.feature_engine = feature_engine
        self.checker = checker
        self.models = models
        self.policies = policies
        self.log: DecisionLog = log if log is not None else InMemoryDecisionLog()
        self.sink: DecisionSink = sink if sink is not None else LogSink()
        self.labels = labels
        self.source = source
        self.clock = clock
        #: Reason codes for approvals too (by default only what is not approved is explained: it costs).
        self.explain_approved = explain_approved
        #: Whether the log is handed each transaction's fingerprint; False only for a log that compares no
        #: content (the stream's, which claims nothing): it is given empty ones and the hashing is skipped.
        self.fingerprints = fingerprints
        self._reasons = ReasonWriter(feature_engine.feature_set)
        self._unexplained: set[str] = set()
        self._critical = frozenset(rule.name for rule in checker.rules if rule.severity == CRITICAL)
        self._ids = _DecisionIds()
        # One lock around what reads and updates the online state (labels, idempotency claims, features), so
        # that a batch's read-and-update is atomic whatever other threads score meanwhile.
        self._state_lock = threading.RLock()
        self._latest_event: datetime | None = None
        #: The model input's columns, by name (the engine checks them against each model's signature).
        self.input_names = model_input_names(feature_engine.feature_set)

    @property
    def feature_set(self) -> Any:
        return self.feature_engine.feature_set

    # -- entry points ------------------------------------------------------------------------------------

    def score_transactions(self, transactions: Sequence[Transaction]) -> ScoredBatch:
        """Score contract records (already parsed, e.g. by the API); one record takes the scalar path."""
        if len(transactions) == 1:
            return self._score_one(transactions[0])
        return self.score_frame(transactions_frame(transactions))

    def check(self, frame: pd.DataFrame) -> CheckVerdict:
        """The validation suite's verdict on a frame of the contract's columns (what :meth:`score_frame` runs
        first; a caller that reads the verdict itself hands it on to score the same frame)."""
        if tuple(frame.columns) != TRANSACTION_COLUMNS:
            frame = frame[[c for c in TRANSACTION_COLUMNS if c in frame.columns]]
        return self.checker.check(frame)

    def score_frame(self, frame: pd.DataFrame, verdict: CheckVerdict | None = None) -> ScoredBatch:
        """Score a frame of the contract's columns (a decoded micro-batch); rows keep their order. ``verdict``
        is :meth:`check`'s on this very frame, when the caller has it already."""
        frame = frame.reset_index(drop=True)
        results: list[Result | None] = [None] * len(frame)
        if frame.empty:
            return self._empty(results)
        if verdict is None:
            verdict = self.check(frame)
        elif len(verdict.ok_mask) != len(frame):
            raise ValueError(f"the verdict covers {len(verdict.ok_mask)} rows, the frame {len(frame)}")
        bad = np.flatnonzero(~verdict.ok_mask)
        if len(bad):
            given = frame["transaction_id"] if "transaction_id" in frame.columns else pd.Series([None] * len(frame))
            for row in bad.tolist():
                failed = [name for name in verdict.failures[row] if name in self._critical]
                tid = given.iloc[row]
                results[row] = Rejection(tid if isinstance(tid, str) else None, (*failed, *verdict.batch_reasons))
        positions = np.flatnonzero(verdict.ok_mask)
        if not len(positions):
            return self._empty(results)
        good = frame.iloc[positions].reset_index(drop=True)
        ids = good["transaction_id"].astype(str).tolist()
        fingerprints = frame_fingerprints(good) if self.fingerprints else [""] * len(good)
        with self._state_lock:
            self._apply_due_labels(good["timestamp"].max().to_pydatetime())
            fresh = self._claim(ids, fingerprints, positions.tolist(), results)
            new_rows = good.iloc[fresh] if len(fresh) < len(good) else good
            try:
                features = self.feature_engine.update_and_read_batch(new_rows)
            except BaseException:
                self.log.release([ids[k] for k in fresh])
                raise
        inputs = ModelInput(self.input_names, model_input(new_rows, features, self.feature_set))
        return self._complete(
            results,
            positions[fresh],
            [ids[k] for k in fresh],
            [fingerprints[k] for k in fresh],
            decision_inputs(new_rows),
            inputs,
            new_rows,
        )

    def apply_labels(self, labels: pd.DataFrame) -> int:
        """Record labels (``transaction_id``, ``is_fraud``, ``reported_at``) in the online state as they arrive;
        returns how many reached it."""
        with self._state_lock:
            return self.feature_engine.apply_labels(labels)

    def evict_idle(self, lateness: timedelta = timedelta(days=1)) -> dict[str, int]:
        """Forget the entities too old to count in any feature now (by the latest transaction time seen), with
        ``lateness`` kept for transactions that arrive late; returns how many per entity kind."""
        with self._state_lock:
            if self._latest_event is None:
                return {}
            return self.feature_engine.evict_idle(self._latest_event, lateness)

    # -- stages ------------------------------------------------------------------------------------------

    def _score_one(self, tx: Transaction) -> ScoredBatch:
        results: list[Result | None] = [None]
        verdict = self.checker.check_record(tx.model_dump())
        if not verdict.ok:
            results[0] = Rejection(tx.transaction_id, tuple(n for n in verdict.failures if n in self._critical))
            return self._empty(results)
        fp = transaction_fingerprint(tx) if self.fingerprints else ""
        with self._state_lock:
            self._apply_due_labels(tx.timestamp)
            if not self._claim([tx.transaction_id], [fp], [0], results):
                return self._empty(results)
            try:
                row = self.feature_engine.update_and_read(tx)
            except BaseException:
                self.log.release([tx.transaction_id])
                raise
        inputs = ModelInput(self.input_names, model_input({"amount": tx.amount}, row[np.newaxis, :], self.feature_set))
        return self._complete(
            results, np.zeros(1, dtype=np.int64), [tx.transaction_id], [fp], transaction_inputs(tx), inputs, tx
        )

    def _apply_due_labels(self, until: datetime) -> None:
        if self._latest_event is None or until > self._latest_event:
            self._latest_event = until
        if self.labels is not None:
            due = self.labels.due(until)
            if due is not None and len(due):
                self.feature_engine.apply_labels(due)

    def _claim(
        self, ids: list[str], fingerprints: list[str], positions: list[int], results: list[Result | None]
    ) -> list[int]:
        """Claim the ids; replays and refusals fill ``results``; returns the indices of the new ones."""
        fresh: list[int] = []
        for k, claim in enumerate(self.log.claim(ids, fingerprints)):
            if claim is None:
                fresh.append(k)
            elif isinstance(claim, Refused):
                results[positions[k]] = Rejection(ids[k], (claim.reason,))
            else:
                results[positions[k]] = replace(claim, replayed=True)
        return fresh

    def _complete(
        self,
        results: list[Result | None],
        positions: NDArray[np.int64],
        ids: list[str],
        fingerprints: list[str],
        inputs: DecisionInputs,
        named: ModelInput,
        scored: pd.DataFrame | Transaction,
    ) -> ScoredBatch:
        if not ids:
            return self._empty(results)
        try:
            deployment = self.models.current
            scores, canary = self._score(deployment, named, inputs.card_token)
            shadow = self._shadow(deployment, named, ids, scores)
            policy = self.policies.active
            thresholds: list[ModelThresholds] = [deployment.champion.thresholds] * len(ids)
            if canary is not None and deployment.canary is not None:
                for k in np.flatnonzero(canary).tolist():
                    thresholds[k] = deployment.canary.thresholds
            verdicts = policy.decide(inputs, scores, thresholds)
            explained = self._explain(deployment, named, verdicts, canary)
            now = self.clock()
            decisions = decisions_from_rows(
                self._decision_rows(
                    deployment, ids, inputs.card_token, scores, verdicts, explained, canary, policy, now
                )
            )
            self.log.record(decisions, fingerprints)
        except BaseException:
            self.log.release(ids)
            raise
        for position, decision in zip(positions.tolist(), decisions, strict=True):
            results[position] = decision
        batch = ScoredBatch(_filled(results), named, positions.astype(np.int64), shadow, scored)
        self.sink.batch_scored(BatchScored(now, self.source, batch))
        return batch

    def _decision_rows(
        self,
        deployment: Deployment,
        ids: list[str],
        cards: Sequence[str],
        scores: NDArray[np.float32],
        verdicts: Sequence[Verdict],
        explained: dict[int, tuple[tuple[ReasonCode, ...], Explanation]],
        canary: NDArray[np.bool_] | None,
        policy: DecisionPolicy,
        now: datetime,
    ) -> Iterator[tuple[Any, ...]]:
        """Each decision's fields in :class:`Decision`'s order (see :func:`decisions_from_rows`)."""
        champion = (deployment.champion.content_id, ModelRole.CHAMPION)
        answered = champion
        on_canary = canary.tolist() if canary is not None and deployment.canary is not None else None
        if on_canary is not None and deployment.canary is not None:
            answered = (deployment.canary.content_id, ModelRole.CANARY)
        unexplained: tuple[tuple[ReasonCode, ...], None] = ((), None)
        version = policy.version
        for k, (decision_id, score, verdict) in enumerate(
            zip(self._ids.take(len(ids)), scores.tolist(), verdicts, strict=True)
        ):
            model, role = answered if on_canary is not None and on_canary[k] else champion
            reasons, explanation = explained.get(k, unexplained)
            yield (
                decision_id, ids[k], cards[k], score, verdict.risk_band, verdict.outcome, verdict.decided_by,
                verdict.rules_fired, reasons, verdict.review_threshold, verdict.decline_threshold, model, role,
                version, now, False, explanation,
            )  # fmt: skip

    def _explain(
        self,
        deployment: Deployment,
        named: ModelInput,
        verdicts: Sequence[Verdict],
        canary: NDArray[np.bool_] | None,
    ) -> dict[int, tuple[tuple[ReasonCode, ...], Explanation]]:
        """Reason codes of the rows to explain (every row not approved, or all), by the model that answered."""
        wanted = [k for k, v in enumerate(verdicts) if self.explain_approved or v.outcome is not Outcome.APPROVE]
        by_model: dict[int, tuple[ServedModel, list[int]]] = {}
        for k in wanted:
            on_canary = canary is not None and bool(canary[k]) and deployment.canary is not None
            model = deployment.canary if on_canary and deployment.canary is not None else deployment.champion
            by_model.setdefault(id(model), (model, []))[1].append(k)
        out: dict[int, tuple[tuple[ReasonCode, ...], Explanation]] = {}
        for model, rows in by_model.values():
            chosen = named.take(np.asarray(rows, dtype=np.int64))
            try:
                contributions = model.explain(chosen)
            except ExplanationUnavailableError as error:  # answered without reason codes; said once per model
                if model.content_id not in self._unexplained:
                    self._unexplained.add(model.content_id)
                    logger.warning("model %s answers without reason codes: %s", model.content_id, error)
                continue
            codes = self._reasons.rows_reasons(contributions, chosen.values)
            for j, k in enumerate(rows):
                out[k] = (codes[j], self._reasons.explanation(contributions, j))
        return out

    def _score(
        self, deployment: Deployment, named: ModelInput, cards: Sequence[str]
    ) -> tuple[NDArray[np.float32], NDArray[np.bool_] | None]:
        """The answering scores: the champion's, replaced by the canary's on its cards (unless it failed)."""
        scores = deployment.champion.score(named)
        canary = deployment.canary
        if canary is None or not len(scores):
            return scores, None
        mask = deployment.canary_mask(cards)
        if not mask.any():
            return scores, None
        rows = named.take(mask)
        started = time.perf_counter()
        error: str | None = None
        try:
            canary_scores = canary.score(rows)
            if not np.isfinite(canary_scores).all():
                error = "the canary returned non-finite scores"
        except Exception as exc:  # the champion answers instead; the guardrail counts the failure
            canary_scores, error = np.full(len(rows), np.nan, dtype=np.float32), f"{type(exc).__name__}: {exc}"
        seconds = time.perf_counter() - started
        self.models.observe(
            CanaryObservation(canary.content_id, len(rows), seconds, error, canary_scores, scores[mask])
        )
        if error is not None:
            return scores, None
        answered = scores.copy()
        answered[mask] = canary_scores
        return answered, mask

    @staticmethod
    def _shadow(
        deployment: Deployment, named: ModelInput, ids: list[str], served: NDArray[np.float32]
    ) -> ShadowScores | None:
        shadow = deployment.shadow
        if shadow is None or not ids:
            return None
        try:
            scores, error = shadow.score(named), None
        except Exception as exc:  # a shadow never changes an answer; its failure is recorded with the batch
            scores, error = np.full(len(ids), np.nan, dtype=np.float32), f"{type(exc).__name__}: {exc}"
        return ShadowScores(shadow.content_id, tuple(ids), scores, served, error)

    def _empty(self, results: list[Result | None]) -> ScoredBatch:
        names = self.input_names
        empty = ModelInput(names, np.zeros((0, len(names)), dtype=np.float32))
        batch = ScoredBatch(_filled(results), empty, _NO_ROWS)
        if results:
            self.sink.batch_scored(BatchScored(self.clock(), self.source, batch))
        return batch


def _filled(results: list[Result | None]) -> tuple[Result, ...]:
    missing = [i for i, r in enumerate(results) if r is None]
    if missing:
        raise AssertionError(f"no result for positions {missing[:10]}")  # a bug in the scorer, never bad input
    return tuple(r for r in results if r is not None)

"""The one call the worker makes per micro-batch: the scoring pipeline every path shares.

:class:`RowScorer` is the seam between the stream machinery (transactions, recovery, labels) and scoring: the
worker hands it contract rows in processing order and gets back, per row, a decision or a rejection; labels
reach ``scorer.engine`` (scheduled, applied where the stream reaches them). :class:`PipelineScorer` is the
scoring service's :class:`~scoring_api.pipeline.Scorer` behind that seam (compiled validation, online features,
model input by name, the deployed models, the decision configuration), built for the stream by
:func:`stream_scorer`:

* without idempotency claims (:class:`NoClaims`): Kafka's transactions make the stream exactly once, and a batch
  processed again (replayed after a crash, retried after an aborted transaction) must update the features
  again, where a claim would answer it from the log and skip them; a log that claims nothing compares no
  content, so the transactions' fingerprints are not computed;
* without a sink on the scoring path: the worker reports a batch to its sinks (the audit trail, the monitors)
  only once its decisions are committed (:class:`~scoring_api.worker.loop.BatchObserver`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd

from ingest.contract import TRANSACTION_COLUMNS
from scoring_api.records import Decision, Rejection, ScoredBatch
from scoring_api.sinks import Sinks

if TYPE_CHECKING:
    from features import OnlineFeatureEngine
    from ingest.validation import CompiledChecker
    from scoring_api.deployments.snapshot import ModelSource
    from scoring_api.pipeline import PolicySource, Scorer
    from scoring_api.pipeline.idempotency import Claim


@dataclass(frozen=True, eq=False)
class ScoredRows:
    """The pipeline's answer for a run of rows: one result per row, in row order."""

    batch: ScoredBatch

    @cached_property
    def decided(self) -> list[tuple[int, Decision]]:
        """(row, decision) of every row decided (computed once: the outputs and the metrics read it)."""
        return [(k, r) for k, r in enumerate(self.batch.results) if isinstance(r, Decision)]

    @property
    def refused(self) -> np.ndarray:
        """Positions of the rows refused (by validation)."""
        return np.array([k for k, r in enumerate(self.batch.results) if isinstance(r, Rejection)], dtype=np.int64)

    @property
    def reasons(self) -> list[str]:
        """Why each refused row was refused (the failed checks), in :attr:`refused` order."""
        return ["; ".join(r.reasons) for r in self.batch.rejections]


class RowScorer(Protocol):
    """Scores contract rows in order, updating the online features as it goes."""

    @property
    def engine(self) -> OnlineFeatureEngine:
        """The online feature engine whose state the rows update (labels are scheduled on it)."""

    def score(self, rows: pd.DataFrame) -> ScoredRows:
        """Validate ``rows`` (contract columns, processing order), compute their features, score and decide."""


class NoClaims:
    """A decision log that claims nothing: every transaction handed to the scorer is scored (see the module)."""

    def claim(self, transaction_ids: Sequence[str], fingerprints: Sequence[str]) -> list[Claim]:
        return [None] * len(transaction_ids)

    def record(self, decisions: Sequence[Decision], fingerprints: Sequence[str]) -> None:
        """Nothing to keep."""

    def release(self, transaction_ids: Sequence[str]) -> None:
        """Nothing was claimed."""

    def get(self, transaction_id: str) -> Decision | None:
        return None


class PipelineScorer:
    """The scoring pipeline as the worker's :class:`RowScorer`."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer

    @property
    def engine(self) -> OnlineFeatureEngine:
        return self.scorer.feature_engine

    def score(self, rows: pd.DataFrame) -> ScoredRows:
        return ScoredRows(self.scorer.score_frame(rows[list(TRANSACTION_COLUMNS)]))


def stream_scorer(
    engine: OnlineFeatureEngine, checker: CompiledChecker, models: ModelSource, policies: PolicySource
) -> PipelineScorer:
    """The pipeline built for the stream (see the module docstring)."""
    from scoring_api.pipeline import Scorer

    pipeline = Scorer(
        feature_engine=engine, checker=checker, models=models, policies=policies, log=NoClaims(), sink=Sinks([]),
        source="stream", fingerprints=False,
    )  # fmt: skip
    return PipelineScorer(pipeline)

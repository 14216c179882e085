"""Running a planned micro-batch through the scorer: its labels scheduled in the online engine, its rows scored
in one call (the engine applies each label where the stream reaches it), the labels no valid row reached applied
at the end.

The same function serves the live batch (its results become Kafka records) and the replay of a committed batch
after a crash (its results are thrown away: only the feature state it leaves matters).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from scoring_api.worker.plan import BatchPlan
from scoring_api.worker.scoring import RowScorer, ScoredRows


@dataclass
class ProcessedBatch:
    """The pipeline's results for ``plan.rows`` (row order), and the labels applied."""

    scored: ScoredRows
    labels: pd.DataFrame
    #: Of the applied labels, the frauds whose transaction the feature state still held.
    labels_reached: int = 0


def process_plan(plan: BatchPlan, scorer: RowScorer) -> ProcessedBatch:
    """Score ``plan.rows`` with ``plan.labels`` applied where the stream reaches them."""
    engine = scorer.engine
    before = engine.labels_applied
    if len(plan.labels):
        engine.schedule_labels(plan.labels)
    scored = scorer.score(plan.rows)
    if engine.scheduled_labels:
        engine.apply_scheduled_labels()
    return ProcessedBatch(scored=scored, labels=plan.labels, labels_reached=engine.labels_applied - before)

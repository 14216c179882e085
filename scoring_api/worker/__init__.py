"""The stream scoring worker: ``transactions`` in, decisions to ``scores``, exactly once, through crashes and
rebalances. See ``docs/stream-worker.md`` for the design; :class:`StreamWorker` is one group member.

The names below load on first use (PEP 562), so that ``fraud --help``, which registers ``fraud worker`` from
:mod:`scoring_api.worker.cli`, does not import pandas, numba and Kafka.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from scoring_api.worker.app import WorkerConfig, build_worker, run_worker, worker_topics
    from scoring_api.worker.decisions import StreamDecision, decode_decision, encode_decisions
    from scoring_api.worker.errors import JournalError, RecoveryError, TopologyError, WorkerError
    from scoring_api.worker.loop import (
        BatchObserver,
        CommittedBatch,
        DecisionRecorder,
        SinkObserver,
        StreamWorker,
        WorkerReport,
        WorkerTopics,
    )
    from scoring_api.worker.scoring import PipelineScorer, RowScorer, ScoredRows, stream_scorer
    from scoring_api.worker.settings import WorkerSettings

_HOMES = {
    "WorkerConfig": "app",
    "build_worker": "app",
    "run_worker": "app",
    "worker_topics": "app",
    "StreamDecision": "decisions",
    "decode_decision": "decisions",
    "encode_decisions": "decisions",
    "JournalError": "errors",
    "RecoveryError": "errors",
    "TopologyError": "errors",
    "WorkerError": "errors",
    "BatchObserver": "loop",
    "DecisionRecorder": "loop",
    "CommittedBatch": "loop",
    "StreamWorker": "loop",
    "WorkerReport": "loop",
    "WorkerTopics": "loop",
    "PipelineScorer": "scoring",
    "SinkObserver": "loop",
    "stream_scorer": "scoring",
    "RowScorer": "scoring",
    "ScoredRows": "scoring",
    "WorkerSettings": "settings",
}
__getattr__ = lazy_exports(__name__, {name: f".{home}" for name, home in _HOMES.items()})

__all__ = [
    "BatchObserver",
    "CommittedBatch",
    "DecisionRecorder",
    "JournalError",
    "PipelineScorer",
    "RecoveryError",
    "RowScorer",
    "ScoredRows",
    "SinkObserver",
    "StreamDecision",
    "StreamWorker",
    "TopologyError",
    "WorkerConfig",
    "WorkerError",
    "WorkerReport",
    "WorkerSettings",
    "WorkerTopics",
    "build_worker",
    "decode_decision",
    "encode_decisions",
    "run_worker",
    "stream_scorer",
    "worker_topics",
]

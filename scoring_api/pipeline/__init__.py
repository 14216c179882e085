"""The scoring pipeline as a plain library (no HTTP): raw transactions in, decisions out.

:class:`Scorer` serves the API, the stream worker, the demo and the benches alike.
"""

from __future__ import annotations

from scoring_api.pipeline.idempotency import DecisionLog, InMemoryDecisionLog
from scoring_api.pipeline.labels import LabelFeed, LabelSource
from scoring_api.pipeline.scorer import FixedPolicy, PolicySource, Scorer
from scoring_api.records import (
    Decision,
    ModelRole,
    Outcome,
    ReasonCode,
    Rejection,
    Result,
    RiskBand,
    ScoredBatch,
    ShadowScores,
)

__all__ = [
    "Decision",
    "DecisionLog",
    "FixedPolicy",
    "InMemoryDecisionLog",
    "LabelFeed",
    "LabelSource",
    "ModelRole",
    "Outcome",
    "PolicySource",
    "ReasonCode",
    "Rejection",
    "Result",
    "RiskBand",
    "ScoredBatch",
    "Scorer",
    "ShadowScores",
]

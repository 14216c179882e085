"""Decisions: ordered rules before the model, thresholds per segment, in versioned configurations."""

from __future__ import annotations

from scoring_api.decisions.config import DecisionConfig, Rule, RuleMatch, Segment, Thresholds
from scoring_api.decisions.policy import DecisionInputs, DecisionPolicy, ModelThresholds, Verdict

__all__ = [
    "DecisionConfig",
    "DecisionInputs",
    "DecisionPolicy",
    "ModelThresholds",
    "Rule",
    "RuleMatch",
    "Segment",
    "Thresholds",
    "Verdict",
]

"""Errors of the evaluation subpackage."""

from __future__ import annotations

from model_engine.errors import ModelEngineError


class EvaluationError(ModelEngineError):
    """Scores and labels cannot be evaluated as given (the message says what is wrong with the input)."""

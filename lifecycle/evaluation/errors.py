"""Errors of the evaluation subpackage."""

from __future__ import annotations

from lifecycle.errors import LifecycleError


class EvaluationError(LifecycleError, ValueError):
    """Scores and labels cannot be evaluated as given (the message says what is wrong with the input)."""

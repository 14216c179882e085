"""Errors of the evaluation subpackage."""

from __future__ import annotations

from lifecycle.errors import LifecycleError


class EvaluationError(LifecycleError):
    """Scores and labels cannot be evaluated as given (the message says what is wrong with the input)."""

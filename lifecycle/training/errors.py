"""Errors of the training subpackage."""

from __future__ import annotations

from lifecycle.errors import LifecycleError


class TrainingError(LifecycleError):
    """A training run cannot go on (the message says which step and what to change)."""


class TrainingInputError(TrainingError, ValueError):
    """The data, labels or options given to a training run cannot be used (the message says what to change)."""


class SplitError(TrainingInputError):
    """A time split is impossible on the given data (periods empty, gap shorter than the label delay)."""


class ParityError(TrainingError):
    """A compiled artifact does not reproduce its scikit-learn model within the stated tolerance."""


class InvalidDataError(TrainingInputError):
    """The training data failed validation; fix the data or pass --allow-invalid to train anyway."""

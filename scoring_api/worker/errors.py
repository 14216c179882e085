"""Errors of the stream worker, under the scoring service's root :class:`~scoring_api.errors.ScoringError`."""

from __future__ import annotations

from scoring_api.errors import ScoringError


class WorkerError(ScoringError):
    """The stream worker cannot go on; the message says why and what to do next."""


class JournalError(WorkerError):
    """The journal topic cannot be read, or holds a record this worker cannot decode."""


class RecoveryError(WorkerError):
    """The feature state could not be brought back to the committed batches (journal or inputs missing)."""


class TopologyError(WorkerError):
    """The topics do not fit the worker: missing, or ``labels`` not partitioned like ``transactions``."""

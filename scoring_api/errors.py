"""Errors of the scoring service: one root, :class:`ScoringError`, with a subclass per failure."""

from __future__ import annotations


class ScoringError(Exception):
    """The scoring service cannot do what was asked (the message says why and what to do next)."""


class NoModelLoadedError(ScoringError, RuntimeError):
    """Scoring was asked for before any model was loaded; call ``ServingModel.load()`` first."""


class DemoRefusedError(ScoringError, RuntimeError):
    """The gate did not bless the trained model, so nothing is served: the message names the failed checks."""

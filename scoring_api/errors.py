"""Errors of the scoring service: one root, :class:`ScoringError`, with a subclass per failure."""

from __future__ import annotations


class ScoringError(Exception):
    """The scoring service cannot do what was asked (the message says why and what to do next)."""


class NoModelLoadedError(ScoringError, RuntimeError):
    """Scoring was asked for before any model was loaded; load the champion first."""


class ModelMismatchError(ScoringError):
    """A model reads other inputs than the service's feature set builds (names, order or feature versions)."""


class DeploymentError(ScoringError):
    """A deployment change cannot be made (nothing to promote, no previous champion, a share out of range)."""


class DecisionConfigError(ScoringError):
    """A decision configuration version cannot be activated or found."""


class UnknownDecisionConfigError(DecisionConfigError):
    """No decision configuration has that version."""


class AccessError(ScoringError):
    """An API key cannot be created, found or revoked."""


class ReplayError(ScoringError):
    """A recorded decision cannot be replayed: its model or its decision configuration cannot be found (the
    message says which), or the model's files are not the ones recorded."""


class ServiceConfigError(ScoringError):
    """The service's settings cannot run as given (placeholder secrets in production, embedded state with
    several worker processes...)."""


class DemoError(ScoringError, RuntimeError):
    """A step of ``fraud demo`` could not complete: the message says which and where to look (a log, a report)."""


class DemoRefusedError(DemoError):
    """The gate did not bless the trained model, so nothing is served: the message names the failed checks."""

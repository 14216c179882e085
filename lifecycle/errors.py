"""The model lifecycle's exceptions: one root, :class:`LifecycleError`, with a subclass per subpackage
(training, evaluation, registry); each message says what to do next."""

from __future__ import annotations


class LifecycleError(Exception):
    """Root of every error raised by :mod:`lifecycle` (training, evaluation, the registry and the gate)."""


__all__ = ["LifecycleError"]

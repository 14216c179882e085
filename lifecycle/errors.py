"""The model lifecycle's exceptions: one root, :class:`LifecycleError`, with a subclass per subpackage
(training, evaluation, registry); each message says what to do next."""

from __future__ import annotations


class LifecycleError(Exception):
    """Root of every error raised by :mod:`lifecycle` (training, evaluation, the registry and the gate); those
    caused by the caller's input (data, options, a model name, the registry URL) are also ValueErrors or
    LookupErrors."""


__all__ = ["LifecycleError"]

"""The Triton GPU backend: fused MLP, forest and elementwise kernels behind the engine's Backend protocol.

Importing this package imports neither torch nor triton; they load when the backend is asked for, and a machine
without them (or without a CUDA device) gets :class:`~model_engine.errors.BackendUnavailableError` naming what
is missing.
"""

from __future__ import annotations

from typing import Any

from model_engine.backends.triton.availability import Availability, check, require

__all__ = ["Availability", "TritonBackend", "check", "require"]


def __getattr__(name: str) -> Any:
    # Lazy: the backend module imports torch and triton, so it is loaded only once the backend is asked for.
    if name == "TritonBackend":
        require()
        from model_engine.backends.triton.backend import TritonBackend

        return TritonBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

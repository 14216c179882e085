"""Backends that run graphs: NumPy (the reference), numba (compiled CPU kernels) and Triton (GPU).

Backends are imported lazily by :func:`get_backend`.
"""

from __future__ import annotations

from model_engine.backends.base import DEFAULT_TILE_ROWS, Backend, Executable, backend_names, get_backend

__all__ = ["DEFAULT_TILE_ROWS", "Backend", "Executable", "backend_names", "get_backend"]

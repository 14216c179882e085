"""The backend protocol: ``prepare(graph) -> Executable``, then ``executable.run(*inputs) -> outputs``.

A backend turns a verified graph into something that runs; the graph's inputs arrive as NumPy arrays in
``graph.inputs`` order and the outputs come back as NumPy arrays in ``graph.outputs`` order. Backends are looked
up by name with :func:`get_backend`, which imports a backend's module only when it is asked for, so ``torch`` and
``triton`` load only for the GPU backend.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from model_engine.errors import BackendUnavailableError, SignatureError
from model_engine.ir.graph import Graph

Array = np.ndarray[Any, Any]

DEFAULT_TILE_ROWS = 16384
"""Rows per tile: large enough to amortise per-tile work, small enough that a tile's buffers stay in cache."""


@runtime_checkable
class Executable(Protocol):
    """A graph prepared by one backend."""

    graph: Graph

    def run(self, *inputs: Array) -> list[Array]:
        """Outputs (in ``graph.outputs`` order) for inputs given in ``graph.inputs`` order."""
        ...


@runtime_checkable
class Backend(Protocol):
    """Something that can run graphs: a name and ``prepare``."""

    name: str

    def prepare(self, graph: Graph, *, tile_rows: int = DEFAULT_TILE_ROWS) -> Executable:
        """Check the graph can run here and build its executable (compiling kernels if the backend does)."""
        ...


_BACKENDS: dict[str, str] = {
    "numpy": "model_engine.backends.numpy_backend:NumpyBackend",
    "numba": "model_engine.backends.numba_backend:NumbaBackend",
    "triton": "model_engine.backends.triton:TritonBackend",
}


def backend_names() -> list[str]:
    """Every backend name known (whether or not it can run on this machine)."""
    return list(_BACKENDS)


def get_backend(name: str) -> Backend:
    """The backend called ``name``, imported on first use; a clear error when unknown or unavailable here."""
    try:
        target = _BACKENDS[name]
    except KeyError:
        raise BackendUnavailableError(f"unknown backend {name!r}; choose one of {', '.join(_BACKENDS)}") from None
    module_name, attr = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendUnavailableError(
            f"backend {name!r} cannot be imported here ({exc}); install its dependencies or choose numpy"
        ) from exc
    backend: Backend = getattr(module, attr)()
    return backend


def check_inputs(graph: Graph, inputs: Sequence[Array]) -> None:
    """Raise :class:`SignatureError` unless the arrays match the graph's input types."""
    if len(inputs) != len(graph.inputs):
        raise SignatureError(f"the graph takes {len(graph.inputs)} input(s), got {len(inputs)}")
    rows = {a.shape[0] for a in inputs if a.ndim > 0}
    if len(rows) > 1:
        raise SignatureError(f"inputs have different row counts {sorted(rows)}")
    for value, array in zip(graph.inputs, inputs, strict=True):
        if not value.type.matches(array):
            raise SignatureError(
                f"input {value.name!r} must be {value.type}, got {array.dtype}{list(array.shape)}; "
                "cast it or select the signature's columns"
            )


def row_tiles(n_rows: int, tile_rows: int) -> list[tuple[int, int]]:
    """``[start, stop)`` row ranges of at most ``tile_rows`` rows covering ``n_rows`` (one empty range for 0)."""
    if tile_rows < 1:
        raise ValueError(f"tile_rows must be >= 1, got {tile_rows}")
    if n_rows == 0:
        return [(0, 0)]
    return [(start, min(start + tile_rows, n_rows)) for start in range(0, n_rows, tile_rows)]

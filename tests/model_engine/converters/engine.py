"""How the converter tests run a converted graph: on every backend available here, in small row tiles."""

from __future__ import annotations

from typing import Any

import numpy as np

from model_engine.backends import get_backend
from model_engine.errors import BackendUnavailableError
from model_engine.ir import Graph

TILE_ROWS = 64  # small, so batches of a few hundred rows cross tile boundaries


def available_backends() -> list[str]:
    """The CPU backends importable here (NumPy always; the compiled one once it exists)."""
    names = ["numpy"]
    try:
        get_backend("numba")
    except BackendUnavailableError:
        pass
    else:
        names.append("numba")
    return names


def run(graph: Graph, x: np.ndarray[Any, Any], backend: str) -> np.ndarray[Any, Any]:
    (out,) = get_backend(backend).prepare(graph, tile_rows=TILE_ROWS).run(x)
    return out

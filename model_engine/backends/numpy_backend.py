"""The NumPy backend: a plain interpreter over the op reference kernels, the executable specification.

It runs any verified graph, node by node in topological order, one row tile at a time, dropping each
intermediate after its last use. Every other backend is tested against it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from model_engine.backends.base import DEFAULT_TILE_ROWS, Array, check_inputs, row_tiles
from model_engine.ir.graph import Graph
from model_engine.ops.registry import get_op
from model_engine.ops.verify import verify_graph


def interpret(graph: Graph, inputs: list[Array]) -> list[Array]:
    """Evaluate the graph on concrete inputs with the reference kernels (no tiling)."""
    env: dict[str, Array] = dict(graph.constants)
    env.update({v.name: a for v, a in zip(graph.inputs, inputs, strict=True)})
    keep = set(graph.output_values())
    last_use: dict[str, int] = {}
    for i, node in enumerate(graph.nodes):
        for name in node.inputs:
            last_use[name] = i
    with np.errstate(all="ignore"):  # NaN and inf propagate as IEEE says; the kernels handle them on purpose
        for i, node in enumerate(graph.nodes):
            results = get_op(node.op).reference(node.attrs, *(env[n] for n in node.inputs))
            for value, array in zip(node.outputs, results, strict=True):
                env[value.name] = np.asarray(array, dtype=value.type.dtype.numpy)
            for name in set(node.inputs):
                if last_use[name] == i and name not in keep and name not in graph.constants:
                    del env[name]
    return [env[name] for name in graph.output_values()]


class NumpyExecutable:
    """A graph ready to run with the NumPy reference kernels, in row tiles."""

    def __init__(self, graph: Graph, tile_rows: int) -> None:
        self.graph = graph
        self.tile_rows = tile_rows
        self._out_types = [graph.type_of(name) for name in graph.output_values()]

    def run(self, *inputs: Array) -> list[Array]:
        arrays = list(inputs)
        check_inputs(self.graph, arrays)
        n_rows = arrays[0].shape[0] if arrays and arrays[0].ndim else 0
        tiles = row_tiles(n_rows, self.tile_rows)
        if len(tiles) == 1:
            return interpret(self.graph, arrays)
        outputs = [
            np.empty((n_rows, *(int(d or 0) for d in t.shape[1:])), dtype=t.dtype.numpy) for t in self._out_types
        ]
        for start, stop in tiles:
            for out, part in zip(outputs, interpret(self.graph, [a[start:stop] for a in arrays]), strict=True):
                out[start:stop] = part
        return outputs


class NumpyBackend:
    """The reference backend (always available).

    >>> from model_engine.ir import DType
    >>> from model_engine.ops import GraphBuilder
    >>> b = GraphBuilder()
    >>> b.output("y", b.op("exp", b.input("x", DType.FLOAT64, 1)))
    >>> NumpyBackend().prepare(b.build()).run(np.zeros((2, 1)))
    [array([[1.],
           [1.]])]
    """

    name = "numpy"

    def prepare(self, graph: Graph, *, tile_rows: int = DEFAULT_TILE_ROWS) -> NumpyExecutable:
        verify_graph(graph)
        return NumpyExecutable(graph, tile_rows)


def run_graph(graph: Graph, *inputs: Any) -> list[Array]:
    """Run a graph once with the reference backend (a convenience for tests and constant folding)."""
    return NumpyBackend().prepare(graph).run(*(np.asarray(a) for a in inputs))

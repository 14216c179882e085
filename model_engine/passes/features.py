"""Unused-input-feature elimination: shrink the input matrix to the columns the model reads.

A column is read when a ``gather_columns`` selects it, a tree splits on it, or a ``matmul`` by constant weights
has a non-zero weight row for it (a zero row contributes nothing to finite inputs). Any other reader of the input
counts as reading every column. The result's notes give ``kept_columns``: the original index of each remaining
column, which the model's signature records.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from model_engine.ir.graph import Graph, Node, Value
from model_engine.ir.types import TensorType
from model_engine.passes.infra import PassResult
from model_engine.passes.rewrite import NameSource

Array = np.ndarray[Any, Any]


def _columns_read(graph: Graph, node: Node, x: str, width: int) -> set[int]:
    everything = set(range(width))
    if node.inputs[0] != x or x in node.inputs[1:]:
        return everything
    if node.op == "gather_columns":
        return {int(i) for i in node.attrs["indices"]}  # type: ignore[union-attr]
    if node.op == "matmul" and graph.is_constant(node.inputs[1]):
        return {int(i) for i in np.flatnonzero(np.any(graph.constants[node.inputs[1]] != 0, axis=1))}
    if node.op in ("tree_ensemble", "tree_traverse_compact"):
        feature, left = graph.constants[node.inputs[1]], graph.constants[node.inputs[3]]
        return {int(i) for i in np.unique(feature[left >= 0])}
    if node.op in ("tree_traverse_perfect", "tree_gemm"):
        return {int(i) for i in np.unique(graph.constants[node.inputs[1]])}
    return everything


def eliminate_unused_features(graph: Graph) -> PassResult:
    """Drop input columns nothing reads (graphs with one matrix input ``[N, F]``)."""
    if len(graph.inputs) != 1 or graph.inputs[0].type.rank != 2 or graph.inputs[0].name in graph.outputs.values():
        return PassResult(graph, False)
    x = graph.inputs[0]
    width = x.type.shape[1]
    assert width is not None
    used: set[int] = set()
    for node in graph.users(x.name):
        used |= _columns_read(graph, node, x.name, width)
    kept = sorted(used)
    if len(kept) == width:
        return PassResult(graph, False)
    remap = np.zeros(width, dtype=np.int64)
    remap[kept] = np.arange(len(kept))
    constants: dict[str, Array] = dict(graph.constants)
    names = NameSource(graph)
    nodes: list[Node] = []
    for node in graph.nodes:
        if x.name in node.inputs:
            node = _remap_reader(node, constants, names, remap, kept)
        nodes.append(node)
    new_x = Value(x.name, TensorType(x.type.dtype, (None, len(kept))))
    shrunk = graph.with_nodes(nodes, constants=constants, inputs=[new_x])
    return PassResult(shrunk, True, {"kept_columns": tuple(kept), "dropped": width - len(kept)})


def _remap_reader(node: Node, constants: dict[str, Array], names: NameSource, remap: Array, kept: list[int]) -> Node:
    if node.op == "gather_columns":
        return node.replace(attrs={"indices": tuple(int(remap[i]) for i in node.attrs["indices"])})  # type: ignore[union-attr]
    if node.op == "matmul":
        return _with_constant(node, 1, constants, names, constants[node.inputs[1]][kept])
    # tree ops: remap split features (leaf rows of the table are never read, any valid column will do)
    feature = constants[node.inputs[1]]
    return _with_constant(node, 1, constants, names, remap[feature.clip(0)].astype(np.int32))


def _with_constant(node: Node, slot: int, constants: dict[str, Array], names: NameSource, array: Array) -> Node:
    name = names.fresh(f"{node.inputs[slot]}.cols")
    constants[name] = np.ascontiguousarray(array)
    inputs = list(node.inputs)
    inputs[slot] = name
    return node.replace(inputs=tuple(inputs))

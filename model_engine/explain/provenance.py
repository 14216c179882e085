"""Column provenance: which columns of a graph's input matrix each column of a value depends on.

An explanation is stated against the signature's raw features, while a model head reads derived columns (scaled
values, one-hot indicators, an imputer's missing flags, a booster's categorical-split columns). When each derived
column depends on at most one raw feature, contributions of the derived columns add up, per raw feature, to that
feature's contribution. This analysis finds those dependencies by walking the graph once: a value's dependency is
a boolean matrix ``[its columns, input columns]``; ops are read by what they do to columns (elementwise ops keep
them, ``gather_columns`` picks them, ``matmul`` by constant weights mixes those with a non-zero weight), and any op
not known here counts as mixing every column it reads, which can only make the answer more cautious.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from model_engine.errors import GraphError
from model_engine.ir.graph import Graph, Node
from model_engine.ops.registry import OpKind, get_op

Dependency = np.ndarray[Any, np.dtype[np.bool_]]
COLUMN_OPS = ("one_hot", "category_index", "bucketize")  # [N, 1] -> columns that all read the one input column


def column_sources(graph: Graph, value: str) -> Dependency:
    """``[K, F]``: whether column k of ``value`` depends on column f of the graph's one input ``[N, F]``."""
    if len(graph.inputs) != 1 or graph.inputs[0].type.rank != 2:
        raise GraphError("column provenance needs a graph over one input matrix [N, F]")
    x = graph.inputs[0]
    width = int(x.type.shape[1] or 0)
    deps: dict[str, Dependency] = {x.name: np.eye(width, dtype=bool)}
    for node in graph.nodes:
        if value in deps:
            break
        out = node.outputs[0].type
        if len(node.outputs) != 1 or out.rank != 2 or not out.batched:
            continue
        deps[node.outputs[0].name] = _node_sources(graph, node, deps, int(out.shape[1] or 0), width)
    if value not in deps:
        raise GraphError(f"{value!r} is not a batched matrix computed from the graph's input")
    return deps[value]


def feature_groups(sources: Dependency) -> tuple[int, ...]:
    """Per column of ``sources`` ``[K, F]``: the first column derived from the same single input feature (the
    group's representative), or the column itself when it depends on no feature or on several."""
    groups: list[int] = []
    first: dict[int, int] = {}
    for k, row in enumerate(sources):
        features = np.flatnonzero(row)
        groups.append(first.setdefault(int(features[0]), k) if features.size == 1 else k)
    return tuple(groups)


def _node_sources(graph: Graph, node: Node, deps: dict[str, Dependency], out_width: int, width: int) -> Dependency:
    inputs = [deps.get(name) for name in node.inputs]  # None: a constant (depends on no input column)
    if node.op == "gather_columns":
        return _first(inputs, width)[list(node.attrs["indices"])]  # type: ignore[arg-type]
    if node.op == "concat":
        return np.vstack([_first([d], width) for d in inputs])
    if node.op in COLUMN_OPS:
        return np.repeat(_first(inputs, width)[:1], out_width, axis=0)
    if node.op == "gather_rows":
        return np.repeat(_first(inputs[1:], width)[:1], out_width, axis=0)
    if node.op == "matmul" and inputs[0] is not None and graph.is_constant(node.inputs[1]):
        mixes = graph.constants[node.inputs[1]] != 0  # [K, M]
        mixed: Dependency = (mixes.T.astype(np.int64) @ inputs[0].astype(np.int64)) > 0
        return mixed
    if node.op == "segment_sum":
        out = np.zeros((out_width, width), dtype=bool)
        for column, segment in enumerate(node.attrs["segments"]):  # type: ignore[arg-type]
            out[int(segment)] |= _first(inputs, width)[column]
        return out
    if get_op(node.op).kind is OpKind.ELEMENTWISE:
        out = np.zeros((out_width, width), dtype=bool)
        for dep in inputs:
            if dep is not None:
                out |= dep if dep.shape[0] == out_width else np.repeat(dep[:1], out_width, axis=0)
        return out
    mixed = np.zeros(width, dtype=bool)
    for dep in inputs:
        if dep is not None:
            mixed |= dep.any(axis=0)
    return np.repeat(mixed[None, :], out_width, axis=0)


def _first(inputs: list[Dependency | None], width: int) -> Dependency:
    dep = inputs[0]
    return np.zeros((0, width), dtype=bool) if dep is None else dep

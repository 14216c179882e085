"""Constant folding: a node whose inputs are all constants becomes a constant (its value computed once)."""

from __future__ import annotations

from typing import Any

import numpy as np

from model_engine.ir.graph import Graph
from model_engine.ops.registry import get_op
from model_engine.passes.infra import PassResult

MAX_FOLDED_ELEMENTS = 1 << 22  # do not trade a small computation for a huge stored tensor


def fold_constants(graph: Graph) -> PassResult:
    """Evaluate constant-only nodes with the reference kernels; the constant keeps the output's name."""
    constants: dict[str, np.ndarray[Any, Any]] = dict(graph.constants)
    nodes = []
    folded = 0
    for node in graph.nodes:
        if node.inputs and all(i in constants for i in node.inputs) and not any(v.type.batched for v in node.outputs):
            with np.errstate(all="ignore"):
                results = get_op(node.op).reference(node.attrs, *(constants[i] for i in node.inputs))
            if sum(np.size(r) for r in results) <= MAX_FOLDED_ELEMENTS:
                for value, array in zip(node.outputs, results, strict=True):
                    constants[value.name] = np.asarray(array, dtype=value.type.dtype.numpy)
                folded += 1
                continue
        nodes.append(node)
    if not folded:
        return PassResult(graph, False)
    return PassResult(graph.with_nodes(nodes, constants=constants), True, {"folded": folded})

"""Lower a float64 graph to float32, keeping tree decisions and bin edges exact.

Inputs, weights, casts and fused immediates become float32. Split thresholds are rounded toward minus infinity so
``x <= t`` decides the same for every float32 ``x``; bucketize edges are rounded the way their comparison needs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from model_engine.ir.graph import Graph, Node, Value
from model_engine.ir.types import DType
from model_engine.ops.groups import GroupOp
from model_engine.ops.trees import float32_thresholds
from model_engine.passes.infra import PassResult
from model_engine.passes.types import infer_types

THRESHOLD_SLOT = 2  # every tree op takes (x, feature, threshold, ...)


def _round_up(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return -float32_thresholds(-np.asarray(values, dtype=np.float64))


def _constant_roles(graph: Graph) -> dict[str, str]:
    roles: dict[str, str] = {}
    for node in graph.nodes:
        if node.op in GroupOp.TREE:
            roles[node.inputs[THRESHOLD_SLOT]] = "threshold"
        elif node.op == "bucketize":
            # side=right counts edges e <= x, i.e. not (x < e): rounding e up keeps that exact for float32 x
            roles[node.inputs[1]] = "edges_up" if node.attrs.get("right", True) else "threshold"
    return roles


def _program_to_float32(program: Any) -> Any:
    return tuple(
        (op, tuple(("c", a[1], DType.FLOAT32.value) if a[0] == "c" and a[2] == "float64" else a for a in args))
        for op, args in program
    )


def to_float32(graph: Graph) -> PassResult:
    """Cast every float64 input, constant and cast target to float32 (exact rounding for thresholds)."""
    roles = _constant_roles(graph)
    constants: dict[str, np.ndarray[Any, Any]] = {}
    modified = False
    for name, array in graph.constants.items():
        if array.dtype == np.float64:
            role = roles.get(name)
            if role == "threshold":
                array = float32_thresholds(array)
            elif role == "edges_up":
                array = _round_up(array)
            else:
                array = array.astype(np.float32)
            modified = True
        constants[name] = array
    inputs = []
    for value in graph.inputs:
        if value.type.dtype is DType.FLOAT64:
            value = Value(value.name, value.type.with_dtype(DType.FLOAT32))
            modified = True
        inputs.append(value)
    nodes: list[Node] = []
    for node in graph.nodes:
        if node.op == "cast" and node.attrs["to"] == DType.FLOAT64.value:
            node = node.replace(attrs={"to": DType.FLOAT32.value})
            modified = True
        elif node.op == "fused_elementwise":
            program = _program_to_float32(node.attrs["program"])
            if program != node.attrs["program"]:
                node = node.replace(attrs={"program": program})
                modified = True
        nodes.append(node)
    if not modified:
        return PassResult(graph, False)
    return PassResult(infer_types(graph.with_nodes(nodes, constants=constants, inputs=inputs)).graph, True)

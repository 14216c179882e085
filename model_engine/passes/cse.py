"""Common-subexpression elimination: identical nodes (op, inputs, attributes) and identical constants merge."""

from __future__ import annotations

from typing import Any

import numpy as np

from model_engine.ir.graph import Graph, Node
from model_engine.passes.infra import PassResult
from model_engine.passes.rewrite import substitute


def eliminate_common_subexpressions(graph: Graph) -> PassResult:
    """Keep the first of each set of equal constants and equal nodes; later readers use it instead."""
    mapping: dict[str, str] = {}
    seen_constants: dict[tuple[str, tuple[int, ...], bytes], str] = {}
    constants: dict[str, np.ndarray[Any, Any]] = {}
    for name, array in graph.constants.items():
        key = (array.dtype.str, array.shape, np.ascontiguousarray(array).tobytes())
        if key in seen_constants:
            mapping[name] = seen_constants[key]
        else:
            seen_constants[key] = name
            constants[name] = array
    seen_nodes: dict[tuple[Any, ...], Node] = {}
    nodes: list[Node] = []
    for original in graph.nodes:
        node = substitute([original], {}, mapping)[0][0]  # read the survivors of earlier merges
        node_key = (node.op, node.inputs, node.attr_key())
        first = seen_nodes.get(node_key)
        if first is not None and len(first.outputs) == len(node.outputs):
            mapping.update({v.name: f.name for v, f in zip(node.outputs, first.outputs, strict=True)})
            continue
        seen_nodes[node_key] = node
        nodes.append(node)
    if not mapping:
        return PassResult(graph, False)
    nodes, outputs = substitute(nodes, graph.outputs, mapping)
    return PassResult(graph.with_nodes(nodes, outputs=outputs, constants=constants), True, {"merged": len(mapping)})

"""Type inference: recompute every node's output types from its inputs (after edits that change dtypes)."""

from __future__ import annotations

from model_engine.ir.graph import Graph, Value
from model_engine.ir.types import TensorType
from model_engine.ops.registry import get_op
from model_engine.passes.infra import PassResult


def infer_types(graph: Graph) -> PassResult:
    """Re-infer output types in topological order; ``modified`` when any declared type changes."""
    types: dict[str, TensorType] = {v.name: v.type for v in graph.inputs}
    types.update({name: TensorType.of_array(a) for name, a in graph.constants.items()})
    nodes = []
    modified = False
    for node in graph.nodes:
        inferred = get_op(node.op).infer(node.attrs, [types[i] for i in node.inputs])
        if tuple(v.type for v in node.outputs) != inferred:
            node = node.replace(outputs=tuple(Value(v.name, t) for v, t in zip(node.outputs, inferred, strict=True)))
            modified = True
        nodes.append(node)
        types.update({v.name: v.type for v in node.outputs})
    return PassResult(graph.with_nodes(nodes) if modified else graph, modified)

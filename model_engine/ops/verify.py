"""``verify_graph``: check a graph against the op vocabulary, naming the node and the broken rule.

Verification lives with the ops, not in :mod:`model_engine.ir.graph`: it needs every op's type inference, and the
IR must not import the vocabulary that is built on it.
"""

from __future__ import annotations

from model_engine.errors import GraphError, VerifyError
from model_engine.ir.graph import Graph
from model_engine.ir.types import TensorType
from model_engine.ops.registry import get_op


def verify_graph(graph: Graph) -> None:
    """Check every invariant of ``graph``; raise :class:`VerifyError` naming the node and the broken rule.

    Unique value and node names; every input defined before use (topological order); ops from the vocabulary with
    valid attributes (and, for ops that index with constant inputs, valid constant values); declared output types
    equal to the op's inferred types; outputs exist.
    """
    defined: dict[str, TensorType] = {}
    for value in graph.inputs:
        _define(defined, value.name, value.type, "graph input")
    for name, array in graph.constants.items():
        _define(defined, name, TensorType.of_array(array), "constant")
    node_names: set[str] = set()
    for node in graph.nodes:
        if node.name in node_names:
            raise VerifyError(f"node name {node.name!r} is used twice")
        node_names.add(node.name)
        for name in node.inputs:
            if name not in defined:
                raise VerifyError(f"node {node.name} ({node.op}) reads {name!r} before it is defined")
        opdef = get_op(node.op)
        try:
            inferred = opdef.infer(node.attrs, [defined[n] for n in node.inputs])
            if opdef.check_values is not None:
                arrays = [graph.constants.get(n) for n in node.inputs]
                opdef.check_values(node.attrs, [defined[n] for n in node.inputs], arrays)
        except GraphError as exc:
            raise VerifyError(f"node {node.name} ({node.op}): {exc}") from exc
        declared = tuple(v.type for v in node.outputs)
        if declared != tuple(inferred):
            shown = ", ".join(str(t) for t in inferred)
            raise VerifyError(
                f"node {node.name} ({node.op}) declares outputs {', '.join(map(str, declared))} "
                f"but the op infers {shown}; run type inference after editing the graph"
            )
        for value in node.outputs:
            _define(defined, value.name, value.type, f"output of node {node.name}")
    if not graph.outputs:
        raise VerifyError("the graph has no outputs")
    for public, name in graph.outputs.items():
        if name not in defined:
            raise VerifyError(f"graph output {public!r} refers to undefined value {name!r}")


def _define(defined: dict[str, TensorType], name: str, type_: TensorType, what: str) -> None:
    if name in defined:
        raise VerifyError(f"value name {name!r} ({what}) is defined twice")
    defined[name] = type_

"""Dead-node elimination: drop nodes and constants that no graph output depends on."""

from __future__ import annotations

from model_engine.ir.graph import Graph
from model_engine.passes.infra import PassResult


def eliminate_dead_nodes(graph: Graph) -> PassResult:
    """Walk back from the outputs; keep only what they read (graph inputs always stay: they are the interface)."""
    live = set(graph.outputs.values())
    kept = []
    for node in reversed(graph.nodes):
        if any(v.name in live for v in node.outputs):
            kept.append(node)
            live.update(node.inputs)
    kept.reverse()
    constants = {k: v for k, v in graph.constants.items() if k in live}
    removed = len(graph.nodes) - len(kept) + len(graph.constants) - len(constants)
    if not removed:
        return PassResult(graph, False)
    return PassResult(graph.with_nodes(kept, constants=constants), True, {"removed": removed})

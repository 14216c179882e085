"""Elementwise fusion: chains of elementwise ops become one ``fused_elementwise`` node.

A group grows backwards from a sink through producers that are fusable and read by nothing else, so each
intermediate disappears from memory; scalar (0-d) constants become immediates of the program.
"""

from __future__ import annotations

from typing import Any

from model_engine.ir.graph import Graph, Node
from model_engine.ir.types import TensorType
from model_engine.ops.fused import FUSABLE
from model_engine.ops.registry import get_op
from model_engine.passes.infra import PassResult
from model_engine.passes.rewrite import single_user


def _group(graph: Graph, sink: Node, taken: set[str]) -> list[Node]:
    members = {sink.name: sink}
    frontier = [sink]
    while frontier:
        node = frontier.pop()
        for name in node.inputs:
            producer = graph.producer(name)
            if (
                producer is not None
                and producer.op in FUSABLE
                and producer.name not in taken
                and producer.name not in members
                and single_user(graph, name) is node
            ):
                members[producer.name] = producer
                frontier.append(producer)
    order = {n.name: i for i, n in enumerate(graph.nodes)}
    return sorted(members.values(), key=lambda n: order[n.name])


def _program(graph: Graph, group: list[Node]) -> tuple[tuple[Any, ...], list[str]]:
    inside = {v.name for n in group for v in n.outputs}
    external: list[str] = []
    for node in group:
        for name in node.inputs:
            scalar = graph.is_constant(name) and graph.constants[name].ndim == 0
            if name not in inside and not scalar and name not in external:
                external.append(name)
    registers = {name: i for i, name in enumerate(external)}
    program = []
    for k, node in enumerate(group):
        args: list[tuple[Any, ...]] = []
        for name in node.inputs:
            if name in registers:
                args.append(("r", registers[name]))
            else:
                array = graph.constants[name]
                args.append(("c", array.item(), array.dtype.name))
        program.append((node.op, tuple(args)))
        registers[node.output.name] = len(external) + k
    return tuple(program), external


def fuse_elementwise(graph: Graph) -> PassResult:
    """Replace each maximal chain of two or more fusable elementwise ops by one fused node."""
    taken: set[str] = set()
    replacement: dict[str, Node] = {}  # sink name -> fused node
    for sink in reversed(graph.nodes):
        if sink.op not in FUSABLE or sink.name in taken:
            continue
        group = _group(graph, sink, taken)
        if len(group) < 2:
            continue
        program, external = _program(graph, group)
        attrs = {"program": program}
        probe = Node(sink.name, "fused_elementwise", tuple(external), sink.outputs, attrs)
        types = [graph.type_of(n) for n in external]
        inferred: tuple[TensorType, ...] = get_op("fused_elementwise").infer(probe.attrs, types)
        if inferred != tuple(v.type for v in sink.outputs):
            continue  # dropping an immediate's shape changed broadcasting; leave this chain alone
        taken.update(n.name for n in group)
        replacement[sink.name] = probe
    if not replacement:
        return PassResult(graph, False)
    nodes = [replacement.get(n.name, n) for n in graph.nodes if n.name not in taken or n.name in replacement]
    used = {i for n in nodes for i in n.inputs} | set(graph.outputs.values())
    constants = {k: v for k, v in graph.constants.items() if k in used}
    return PassResult(graph.with_nodes(nodes, constants=constants), True, {"fused_groups": len(replacement)})

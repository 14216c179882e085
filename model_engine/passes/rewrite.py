"""Small graph-rewriting tools shared by the passes: renaming values, fresh names, rebuilding graphs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from model_engine.ir.graph import Graph, Node, Value
from model_engine.ir.types import TensorType
from model_engine.ops.registry import get_op


class NameSource:
    """Fresh value/node names that collide with nothing in a graph."""

    def __init__(self, graph: Graph) -> None:
        self._taken = graph.value_names() | {n.name for n in graph.nodes}

    def fresh(self, base: str) -> str:
        k = 0
        name = base
        while name in self._taken:
            name = f"{base}_{k}"
            k += 1
        self._taken.add(name)
        return name


def substitute(nodes: Iterable[Node], outputs: Mapping[str, str], mapping: Mapping[str, str]) -> tuple[
    list[Node], dict[str, str]]:  # fmt: skip
    """Rewrite node inputs and graph outputs reading a value in ``mapping`` to read its replacement."""

    def resolve(name: str) -> str:
        while name in mapping:
            name = mapping[name]
        return name

    new_nodes = []
    for node in nodes:
        inputs = tuple(resolve(i) for i in node.inputs)
        new_nodes.append(node if inputs == node.inputs else node.replace(inputs=inputs))
    return new_nodes, {k: resolve(v) for k, v in outputs.items()}


def make_node(names: NameSource, op: str, inputs: tuple[str, ...], types: Mapping[str, TensorType],
              attrs: Mapping[str, Any] | None = None, base: str | None = None) -> Node:  # fmt: skip
    """A new node with a fresh name whose output types are inferred from ``types`` (name -> type)."""
    probe = Node(names.fresh(base or op), op, inputs, (), attrs or {})
    out_types = get_op(op).infer(probe.attrs, [types[i] for i in inputs])
    outputs = tuple(Value(names.fresh(probe.name if len(out_types) == 1 else f"{probe.name}.{i}"), t)
                    for i, t in enumerate(out_types))  # fmt: skip
    return probe.replace(outputs=outputs)


def type_table(graph: Graph) -> dict[str, TensorType]:
    """name -> type of every value in the graph (a mutable copy passes extend as they add values)."""
    return {name: graph.type_of(name) for name in graph.value_names()}


def add_constant(constants: dict[str, np.ndarray[Any, Any]], types: dict[str, TensorType], names: NameSource,
                 array: np.ndarray[Any, Any], base: str = "const") -> str:  # fmt: skip
    name = names.fresh(base)
    constants[name] = array
    types[name] = TensorType.of_array(array)
    return name


def single_user(graph: Graph, name: str) -> Node | None:
    """The only node reading ``name`` (and ``name`` is no graph output), else None."""
    users = graph.users(name)
    if len(users) != 1 or name in graph.outputs.values():
        return None
    return users[0]


def without_unused_constants(graph: Graph) -> Graph:
    used = {i for node in graph.nodes for i in node.inputs} | set(graph.outputs.values())
    constants = {k: v for k, v in graph.constants.items() if k in used}
    return graph if len(constants) == len(graph.constants) else graph.with_nodes(graph.nodes, constants=constants)

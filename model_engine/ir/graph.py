"""The graph IR: values, nodes and the graph that holds them in topological order.

A graph is a pure function of its inputs. Every value has a unique name and a :class:`TensorType`; it is a graph
input, a constant (weights, held as NumPy arrays in ``Graph.constants``) or the output of exactly one node. Nodes
are immutable and name the values they read; passes build new graphs instead of editing one in place.

This module knows the structure only. Checking a graph against the op vocabulary is
:func:`model_engine.ops.verify_graph` (the ops sit above the IR), and its JSON form is :mod:`.serialize`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from model_engine.errors import GraphError
from model_engine.ir.types import TensorType

AttrValue = int | float | str | bool | None | tuple[Any, ...]
"""An attribute: a scalar, a string or a (nested) tuple of those. Arrays belong in constants, not attributes."""


@dataclass(frozen=True)
class Value:
    """A named, typed value of the graph (what a node input refers to by name)."""

    name: str
    type: TensorType

    def __str__(self) -> str:
        return f"%{self.name}: {self.type}"


def freeze_attr(value: Any) -> AttrValue:
    """Normalise an attribute to its immutable form (lists become tuples, NumPy scalars Python scalars)."""
    if isinstance(value, (list, tuple)):
        return tuple(freeze_attr(v) for v in value)
    if isinstance(value, np.ndarray):
        return freeze_attr(value.tolist())
    if isinstance(value, np.generic):
        return freeze_attr(value.item())
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "value") and isinstance(value.value, str):  # str enums such as DType
        return str(value.value)
    raise GraphError(f"attribute values must be scalars, strings or tuples of them, got {type(value).__name__}")


@dataclass(frozen=True)
class Node:
    """One operation: ``outputs = op(*inputs, **attrs)``. ``inputs`` are value names; attributes are immutable."""

    name: str
    op: str
    inputs: tuple[str, ...]
    outputs: tuple[Value, ...]
    attrs: Mapping[str, AttrValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        frozen = {k: freeze_attr(v) for k, v in sorted(self.attrs.items())}
        object.__setattr__(self, "attrs", MappingProxyType(frozen))
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", tuple(self.outputs))

    @property
    def output(self) -> Value:
        """The single output of a one-output node."""
        if len(self.outputs) != 1:
            raise GraphError(f"node {self.name} ({self.op}) has {len(self.outputs)} outputs, not one")
        return self.outputs[0]

    def attr_key(self) -> tuple[tuple[str, AttrValue], ...]:
        """A hashable form of the attributes (used by common-subexpression elimination)."""
        return tuple(self.attrs.items())

    def replace(self, **changes: Any) -> Node:
        """A copy of this node with some fields changed."""
        fields: dict[str, Any] = {"name": self.name, "op": self.op, "inputs": self.inputs, "outputs": self.outputs}
        fields["attrs"] = dict(self.attrs)
        fields.update(changes)
        return Node(**fields)

    def __str__(self) -> str:
        outs = ", ".join(str(v) for v in self.outputs)
        args = ", ".join(f"%{i}" for i in self.inputs)
        attrs = "".join(f", {k}={_short(v)}" for k, v in self.attrs.items())
        return f"{outs} = {self.op}({args}{attrs})"


def _short(value: AttrValue) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Graph:
    """A typed dataflow graph: inputs, constants, nodes in topological order and named outputs.

    ``outputs`` maps each public output name (e.g. ``"probabilities"``) to the value that holds it, so passes can
    replace the producing value without renaming the model's outputs.

    >>> from model_engine.ir import DType
    >>> from model_engine.ops import GraphBuilder
    >>> b = GraphBuilder()
    >>> b.output("y", b.op("exp", b.input("x", DType.FLOAT32, 3)))
    >>> graph = b.build()
    >>> graph.op_counts(), str(graph.type_of(graph.outputs["y"])), [n.op for n in graph.users("x")]
    ({'exp': 1}, 'float32[N, 3]', ['exp'])
    """

    def __init__(
        self,
        inputs: Sequence[Value],
        nodes: Sequence[Node],
        outputs: Mapping[str, str],
        constants: Mapping[str, np.ndarray[Any, Any]],
    ) -> None:
        self.inputs: tuple[Value, ...] = tuple(inputs)
        self.nodes: tuple[Node, ...] = tuple(nodes)
        self.outputs: dict[str, str] = dict(outputs)
        self.constants: dict[str, np.ndarray[Any, Any]] = {}
        for name, array in constants.items():
            if array.flags.writeable:
                array = array.copy()
                array.flags.writeable = False
            self.constants[name] = array
        self._types: dict[str, TensorType] = {v.name: v.type for v in self.inputs}
        self._types.update({n: TensorType.of_array(a) for n, a in self.constants.items()})
        self._producers: dict[str, Node] = {}
        self._users: dict[str, list[Node]] = {}
        for node in self.nodes:
            for out in node.outputs:
                self._types[out.name] = out.type
                self._producers[out.name] = node
            for name in dict.fromkeys(node.inputs):
                self._users.setdefault(name, []).append(node)

    # -- queries ---------------------------------------------------------------------------------------------
    def type_of(self, name: str) -> TensorType:
        """The type of a value (graph input, constant or node output)."""
        try:
            return self._types[name]
        except KeyError:
            raise GraphError(f"no value named {name!r} in the graph") from None

    def has_value(self, name: str) -> bool:
        return name in self._types

    def producer(self, name: str) -> Node | None:
        """The node that computes a value, or None for graph inputs and constants."""
        return self._producers.get(name)

    def users(self, name: str) -> list[Node]:
        """The nodes that read a value, in topological order."""
        return list(self._users.get(name, ()))

    def is_constant(self, name: str) -> bool:
        return name in self.constants

    def output_values(self) -> list[str]:
        """The value names behind the graph outputs, in output order."""
        return list(self.outputs.values())

    def value_names(self) -> set[str]:
        return set(self._types)

    def op_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for node in self.nodes:
            counts[node.op] = counts.get(node.op, 0) + 1
        return counts

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def copy(self) -> Graph:
        """A new graph with the same (immutable) nodes and the same read-only constant arrays."""
        return Graph(self.inputs, self.nodes, self.outputs, self.constants)

    def with_nodes(
        self,
        nodes: Sequence[Node],
        *,
        outputs: Mapping[str, str] | None = None,
        constants: Mapping[str, np.ndarray[Any, Any]] | None = None,
        inputs: Sequence[Value] | None = None,
    ) -> Graph:
        """A new graph with some parts replaced (the others shared with this one)."""
        return Graph(
            self.inputs if inputs is None else inputs,
            nodes,
            self.outputs if outputs is None else outputs,
            self.constants if constants is None else constants,
        )

    # -- display ---------------------------------------------------------------------------------------------
    def __str__(self) -> str:
        lines = ["graph(" + ", ".join(str(v) for v in self.inputs) + "):"]
        for name, array in self.constants.items():
            lines.append(f"  const %{name}: {TensorType.of_array(array)}")
        lines.extend(f"  {node}" for node in self.nodes)
        lines.append("  return " + ", ".join(f"{k}=%{v}" for k, v in self.outputs.items()))
        return "\n".join(lines)

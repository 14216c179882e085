"""GraphBuilder: the way converters and tests write graphs, one typed op at a time.

Every ``op`` call infers its output type at once, so a mistake is reported where it is made, not at the end. The
builder lives with the ops (not in :mod:`model_engine.ir`) because that inference is the op vocabulary's.

Example (a logistic regression on three features)::

    import numpy as np
    from model_engine.ir import DType
    from model_engine.ops import GraphBuilder

    b = GraphBuilder()
    x = b.input("x", DType.FLOAT64, 3)                      # [N, 3]
    w = b.constant(np.array([[0.5], [-1.0], [2.0]]), name="coef")
    z = b.op("add", b.op("matmul", x, w), b.scalar(0.1, DType.FLOAT64))
    p = b.op("sigmoid", z)                                  # [N, 1]
    one = b.scalar(1.0, DType.FLOAT64)
    b.output("probabilities", b.op("concat", b.op("sub", one, p), p))   # [N, 2]
    graph = b.build()                                       # verified

Attributes are keyword arguments: ``b.op("gather_columns", x, indices=(0, 2))``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from model_engine.errors import GraphError
from model_engine.ir.graph import Graph, Node, Value
from model_engine.ir.types import DType, TensorType
from model_engine.ops.registry import get_op
from model_engine.ops.verify import verify_graph

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


class GraphBuilder:
    """Build a :class:`Graph` incrementally; names are made unique automatically.

    >>> b = GraphBuilder()
    >>> x = b.input("x", DType.FLOAT64, 2)
    >>> b.output("y", b.op("exp", x))
    >>> print(b.build())
    graph(%x: float64[N, 2]):
      %exp: float64[N, 2] = exp(%x)
      return y=%exp
    """

    def __init__(self) -> None:
        self._inputs: list[Value] = []
        self._nodes: list[Node] = []
        self._outputs: dict[str, str] = {}
        self._constants: dict[str, np.ndarray[Any, Any]] = {}
        self._types: dict[str, TensorType] = {}
        self._node_names: set[str] = set()
        self._counters: dict[str, int] = {}

    def _fresh(self, base: str, taken: set[str] | dict[str, Any]) -> str:
        if not _NAME.match(base):
            raise GraphError(f"invalid name {base!r}: use letters, digits, '_' and '.', not starting with a digit")
        if base not in taken:
            return base
        k = self._counters.get(base, 0)
        while f"{base}_{k}" in taken:
            k += 1
        self._counters[base] = k + 1
        return f"{base}_{k}"

    def input(self, name: str, dtype: DType, n_features: int | tuple[int | None, ...]) -> Value:
        """A graph input: ``[N, n_features]`` for an int, or the given shape (``None`` = batch) for a tuple."""
        if name in self._types:
            raise GraphError(f"input name {name!r} is already used")
        shape = (None, n_features) if isinstance(n_features, int) else tuple(n_features)
        value = Value(self._fresh(name, self._types), TensorType(DType(dtype), shape))
        self._inputs.append(value)
        self._types[value.name] = value.type
        return value

    def constant(self, array: Any, name: str = "const", dtype: DType | None = None) -> Value:
        """A constant (weights); the array is copied and frozen. ``dtype`` casts it first."""
        data = np.array(array, dtype=None if dtype is None else DType(dtype).numpy, copy=True)
        type_ = TensorType.of_array(data)  # rejects unsupported dtypes such as object or float16
        data.flags.writeable = False
        value = Value(self._fresh(name, self._types), type_)
        self._constants[value.name] = data
        self._types[value.name] = type_
        return value

    def scalar(self, value: float, dtype: DType, name: str = "scalar") -> Value:
        """A 0-d constant, broadcast by elementwise ops."""
        return self.constant(np.asarray(value, dtype=DType(dtype).numpy), name=name)

    def op(self, op: str, *inputs: Value | str, name: str | None = None, **attrs: Any) -> Value:
        """Add a node computing ``op(*inputs, **attrs)`` and return its (single) output value."""
        names = tuple(v.name if isinstance(v, Value) else v for v in inputs)
        for n in names:
            if n not in self._types:
                raise GraphError(f"{op}: input {n!r} is not a value of this builder")
        node_name = self._fresh(name or op, self._node_names)
        probe = Node(node_name, op, names, (), attrs)  # normalises the attributes
        try:
            types = get_op(op).infer(probe.attrs, [self._types[n] for n in names])
        except GraphError as exc:
            raise type(exc)(f"node {node_name}: {exc}") from exc
        outputs = tuple(
            Value(self._fresh(node_name if len(types) == 1 else f"{node_name}.{i}", self._types), t)
            for i, t in enumerate(types)
        )
        self._nodes.append(probe.replace(outputs=outputs))
        self._node_names.add(node_name)
        for value in outputs:
            self._types[value.name] = value.type
        return outputs[0]

    def type_of(self, value: Value | str) -> TensorType:
        return self._types[value.name if isinstance(value, Value) else value]

    def output(self, name: str, value: Value | str) -> None:
        """Expose a value as a named graph output (e.g. ``"probabilities"``)."""
        if name in self._outputs:
            raise GraphError(f"output {name!r} is already defined")
        target = value.name if isinstance(value, Value) else value
        if target not in self._types:
            raise GraphError(f"output {name!r}: {target!r} is not a value of this builder")
        self._outputs[name] = target

    def build(self) -> Graph:
        """The finished graph, verified."""
        graph = Graph(self._inputs, self._nodes, self._outputs, self._constants)
        verify_graph(graph)
        return graph

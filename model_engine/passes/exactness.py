"""Which decisions of a float64 graph float32 would keep: the analysis behind the default precision.

A *decision* is an op whose result jumps when its input crosses a value: a comparison, a tree split, a bin edge,
a category match, a float -> int cast. Computing a graph in float32 keeps every decision exactly when each one
reads a value float32 holds exactly for every input the model will see; the thresholds, edges and categories on
the other side are rounded by :func:`~model_engine.passes.to_float32` in the direction that keeps the decision.

The analysis follows two facts per column of every value, from the input columns the caller declares exact
(float32 data, category codes, bools) and the constants:

- *exact*: float32 holds the column's values exactly, whatever the input;
- *integral*: the values are small integers (|v| < 2**24), so sums and products of them stay exact.

Moving data (column gathers, concatenation, row lookups, ``where``) keeps the facts; indicator ops (one-hot,
category index, comparisons, ``isnan``, bucketize) give exact integers; arithmetic keeps exactness only on
integers. An op the analysis does not know counts as a decision on all its inputs, so a new op
can make the choice more careful, never wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from model_engine.ir.graph import Graph, Node
from model_engine.ops.groups import GroupOp

Array = np.ndarray[Any, Any]
INTEGRAL_LIMIT = 2.0**24  # integers up to this magnitude are exact in float32

_INDICATORS = frozenset({"one_hot", "category_index", "bucketize"}) | GroupOp.COMPARE | GroupOp.PREDICATE
_MOVES = frozenset({"gather_columns", "concat", "gather_rows", "where"})
_INTEGRAL_ARITHMETIC = frozenset({"add", "sub", "mul", "neg", "abs", "maximum", "minimum", "relu", "reduce_sum",
                                  "reduce_max", "matmul"})  # fmt: skip
_DECIDE_ON_FIRST_INPUT = frozenset({"one_hot", "category_index", "bucketize"})


@dataclass(frozen=True)
class Facts:
    """Per column (or one entry for a value that is not a matrix): exact in float32, small integers."""

    exact: Array
    integral: Array

    @classmethod
    def same(cls, width: int, exact: bool, integral: bool) -> Facts:
        return cls(np.full(width, exact), np.full(width, integral and exact))

    @classmethod
    def of_constant(cls, array: Array) -> Facts:
        values = np.asarray(array)
        columns = values.reshape(values.shape[0], -1) if values.ndim == 2 else values.reshape(-1, 1)
        if values.dtype.kind in "biu":
            integral = np.abs(columns.astype(np.float64)) < INTEGRAL_LIMIT
            flags = np.all(integral, axis=0)
            return cls(flags, flags)
        finite = np.where(np.isfinite(columns), columns, 0.0)
        with np.errstate(over="ignore"):  # beyond float32's range rounds to infinity: not exact, as it should read
            exact = np.all((columns.astype(np.float32).astype(np.float64) == columns) | np.isnan(columns), axis=0)
        integral = exact & np.all((np.floor(finite) == finite) & (np.abs(finite) < INTEGRAL_LIMIT), axis=0)
        if values.ndim != 2:  # a vector or scalar broadcasts along rows: one verdict for all of it
            return cls(np.array([bool(exact.all())]), np.array([bool(integral.all())]))
        return cls(exact, integral)

    def all_exact(self) -> bool:
        return bool(self.exact.all())

    def all_integral(self) -> bool:
        return bool(self.integral.all())


def _width(graph: Graph, name: str) -> int:
    t = graph.type_of(name)
    return int(t.shape[1] or 0) if t.rank == 2 else 1


class _Analysis:
    def __init__(self, graph: Graph, exact_input_columns: Sequence[bool]) -> None:
        self.graph = graph
        self.facts: dict[str, Facts] = {}
        for value in graph.inputs:
            flags = np.asarray(exact_input_columns, dtype=bool)
            if flags.shape != (_width(graph, value.name),):
                raise ValueError(f"{len(flags)} exactness flags for input {value} of the graph")
            self.facts[value.name] = Facts(flags, np.zeros_like(flags))
        for name, array in graph.constants.items():
            self.facts[name] = Facts.of_constant(array)

    def first_inexact_decision(self) -> str | None:
        for node in self.graph.nodes:
            problem = self._decision_problem(node)
            if problem is not None:
                return problem
            for value in node.outputs:
                self.facts[value.name] = self._output_facts(node, _width(self.graph, value.name))
        return None

    def _all_exact(self, names: Sequence[str]) -> bool:
        return all(self.facts[n].all_exact() for n in names)

    def _decision_problem(self, node: Node) -> str | None:
        op = node.op
        if op in _DECIDE_ON_FIRST_INPUT:
            read = [node.inputs[0]]
        elif op in GroupOp.COMPARE or (op == "cast" and str(node.attrs["to"]) in ("int32", "int64", "bool")):
            read = list(node.inputs)
        elif op in GroupOp.TREE:
            return self._tree_problem(node)
        elif op == "fused_elementwise":
            program_ops = {str(instruction[0]) for instruction in node.attrs["program"]}  # type: ignore[union-attr]
            read = list(node.inputs) if program_ops & GroupOp.COMPARE else []
        elif op in _KNOWN:
            read = []
        else:  # an op this analysis does not know may decide: it must read exact values
            read = list(node.inputs)
        if not self._all_exact(read):
            return f"node {node.name} ({op}) decides on a value that float32 would round"
        return None

    def _tree_problem(self, node: Node) -> str | None:
        x = self.facts[node.inputs[0]]
        feature = self.graph.constants.get(node.inputs[1])
        if feature is None:
            read = np.arange(x.exact.shape[0])
        elif node.op in ("tree_ensemble", "tree_traverse_compact"):
            left = self.graph.constants[node.inputs[3]]
            read = np.unique(feature[left >= 0])
        else:
            read = np.unique(feature)
        rounded = [int(c) for c in read if not x.exact[int(c)]]
        if rounded:
            return (
                f"node {node.name} ({node.op}) splits on input column(s) {rounded[:5]} whose values float32 would "
                "round (a split threshold between a value and its float32 rounding would change the leaf)"
            )
        return None

    def _output_facts(self, node: Node, width: int) -> Facts:
        op, inputs = node.op, [self.facts[n] for n in node.inputs]
        if op in _INDICATORS:
            return Facts.same(width, True, True)
        if op == "gather_columns":
            index = [int(i) for i in node.attrs["indices"]]  # type: ignore[union-attr]
            return Facts(inputs[0].exact[index], inputs[0].integral[index])
        if op == "concat":
            return Facts(np.concatenate([f.exact for f in inputs]), np.concatenate([f.integral for f in inputs]))
        if op == "gather_rows":
            return inputs[0]
        if op == "where":
            a, b = inputs[1], inputs[2]
            return Facts.same(width, a.all_exact() and b.all_exact(), a.all_integral() and b.all_integral())
        if op == "cast":
            target = str(node.attrs["to"])
            if target in ("int32", "int64", "bool"):
                return Facts.same(width, True, True)
            return Facts.same(width, inputs[0].all_exact(), inputs[0].all_integral())
        if op in _INTEGRAL_ARITHMETIC and all(f.all_integral() for f in inputs):
            return Facts.same(width, True, True)
        return Facts.same(width, False, False)


_OTHERS = frozenset({"cast", "softmax", "fused_elementwise"})
_KNOWN = _INDICATORS | _MOVES | _INTEGRAL_ARITHMETIC | GroupOp.FUSABLE | GroupOp.TREE | _OTHERS


def first_inexact_decision(graph: Graph, exact_input_columns: Sequence[bool]) -> str | None:
    """None when computing ``graph`` in float32 keeps every decision for every input; else which node would not.

    ``exact_input_columns`` says, per column of the graph's (single, matrix) input, whether float32 holds that
    column's values exactly (float32 data, category codes, bools) or not (float64 data).
    """
    return _Analysis(graph, exact_input_columns).first_inexact_decision()

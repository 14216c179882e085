"""Algebraic folds that remove work before the matrix products.

- An affine step (``x * s``, ``x / s``, ``x + b``, ``x - b`` with per-column constants: a scaler) feeding a
  ``matmul`` by constant weights is folded into the weights and a bias: ``(x - m) / s @ W = x @ (W / s) - m/s @ W``.
- Constant biases added one after the other merge: ``(y + b1) + b2 = y + (b1 + b2)``.
- ``matmul(concat(..., one_hot(c), ...), W)`` splits into one product per part, and
  ``matmul(one_hot(c; categories), W)`` becomes a row gather ``W[index of c]`` (a zero row for unknown values).

The rewrites change summation order, so results agree with the unfolded graph to rounding, not bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from model_engine.ir.graph import Graph, Node
from model_engine.passes.infra import PassResult
from model_engine.passes.rewrite import NameSource, add_constant, make_node, single_user, substitute, type_table

Array = np.ndarray[Any, Any]
AFFINE_OPS = ("add", "sub", "mul", "div")


class _Edit:
    """Collects one rewrite: nodes to drop, nodes to add in place of an anchor, and value renames."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.names = NameSource(graph)
        self.types = type_table(graph)
        self.constants: dict[str, Array] = dict(graph.constants)
        self.new_nodes: list[Node] = []

    def const(self, array: Array, base: str) -> str:
        return add_constant(self.constants, self.types, self.names, np.ascontiguousarray(array), base)

    def node(self, op: str, *inputs: str, **attrs: Any) -> str:
        node = make_node(self.names, op, tuple(inputs), self.types, attrs)
        self.new_nodes.append(node)
        self.types.update({v.name: v.type for v in node.outputs})
        return node.output.name

    def finish(self, anchor: Node, removed: Sequence[Node], result: str) -> Graph:
        drop = {n.name for n in removed} | {anchor.name}
        nodes: list[Node] = []
        for node in self.graph.nodes:
            if node.name == anchor.name:
                nodes.extend(self.new_nodes)
            elif node.name not in drop:
                nodes.append(node)
        nodes, outputs = substitute(nodes, self.graph.outputs, {anchor.output.name: result})
        return self.graph.with_nodes(nodes, outputs=outputs, constants=self.constants)


def _column_vector(array: Array, width: int) -> Array | None:
    """A per-column constant as a [width] vector, or None when it varies along rows or is shaped otherwise."""
    if array.size == 1:
        return np.full(width, array.reshape(()), dtype=array.dtype)
    if array.shape in ((width,), (1, width)):
        return array.reshape(width)
    return None


def _fold_affine(graph: Graph) -> Graph | None:
    for m in graph.nodes:
        if m.op != "matmul" or not graph.is_constant(m.inputs[1]):
            continue
        p = graph.producer(m.inputs[0])
        if p is None or p.op not in AFFINE_OPS or single_user(graph, m.inputs[0]) is not m:
            continue
        const_slots = [i for i, name in enumerate(p.inputs) if graph.is_constant(name)]
        if len(const_slots) != 1:
            continue
        slot = const_slots[0]
        u = p.inputs[1 - slot]
        if graph.type_of(u) != graph.type_of(m.inputs[0]):
            continue
        width = graph.type_of(u).shape[1]
        assert width is not None
        col = _column_vector(graph.constants[p.inputs[slot]], width)
        if col is None or (p.op == "div" and slot == 0):
            continue
        w = graph.constants[m.inputs[1]]
        edit = _Edit(graph)
        if p.op == "mul":
            result = edit.node("matmul", u, edit.const(col[:, None] * w, "weights"))
        elif p.op == "div":
            result = edit.node("matmul", u, edit.const(w / col[:, None], "weights"))
        elif p.op == "add":
            product = edit.node("matmul", u, m.inputs[1])
            result = edit.node("add", product, edit.const(col @ w, "bias"))
        elif slot == 1:  # u - c
            product = edit.node("matmul", u, m.inputs[1])
            result = edit.node("add", product, edit.const(-(col @ w), "bias"))
        else:  # c - u
            product = edit.node("matmul", u, edit.const(-w, "weights"))
            result = edit.node("add", product, edit.const(col @ w, "bias"))
        return edit.finish(m, [p], result)
    return None


def _merge_biases(graph: Graph) -> Graph | None:
    for outer in graph.nodes:
        if outer.op != "add":
            continue
        for slot in (0, 1):
            inner_name, c2 = outer.inputs[slot], outer.inputs[1 - slot]
            inner = graph.producer(inner_name)
            if inner is None or inner.op != "add" or not graph.is_constant(c2):
                continue
            if single_user(graph, inner_name) is not outer:
                continue
            consts = [i for i in inner.inputs if graph.is_constant(i)]
            others = [i for i in inner.inputs if not graph.is_constant(i)]
            if len(consts) != 1 or len(others) != 1:
                continue
            merged = graph.constants[consts[0]] + graph.constants[c2]
            edit = _Edit(graph)
            result = edit.node("add", others[0], edit.const(merged, "bias"))
            if edit.types[result] != outer.output.type:
                continue
            return edit.finish(outer, [inner], result)
    return None


def _one_hot_gather(graph: Graph) -> Graph | None:
    for m in graph.nodes:
        if m.op != "matmul" or not graph.is_constant(m.inputs[1]):
            continue
        p = graph.producer(m.inputs[0])
        if p is None or p.op != "one_hot" or single_user(graph, m.inputs[0]) is not m:
            continue
        w = graph.constants[m.inputs[1]]
        edit = _Edit(graph)
        table = edit.const(np.vstack([w, np.zeros((1, w.shape[1]), dtype=w.dtype)]), "table")
        index = edit.node("category_index", p.inputs[0], categories=p.attrs["categories"])
        return edit.finish(m, [p], edit.node("gather_rows", table, index))
    return None


def _split_concat(graph: Graph) -> Graph | None:
    for m in graph.nodes:
        if m.op != "matmul" or not graph.is_constant(m.inputs[1]):
            continue
        p = graph.producer(m.inputs[0])
        if p is None or p.op != "concat" or single_user(graph, m.inputs[0]) is not m:
            continue
        producers = [graph.producer(i) for i in p.inputs]
        if not any(q is not None and q.op == "one_hot" for q in producers):
            continue
        w = graph.constants[m.inputs[1]]
        edit = _Edit(graph)
        start = 0
        total = ""
        for part in p.inputs:
            width = graph.type_of(part).shape[1]
            assert width is not None
            product = edit.node("matmul", part, edit.const(w[start : start + width], "weights"))
            total = product if not total else edit.node("add", total, product)
            start += width
        return edit.finish(m, [p], total)
    return None


RULES: tuple[Callable[[Graph], Graph | None], ...] = (_fold_affine, _merge_biases, _split_concat, _one_hot_gather)


def fold_algebraic(graph: Graph) -> PassResult:
    """Apply the folds until none applies (so a second run finds nothing)."""
    applied = 0
    while True:
        for rule in RULES:
            rewritten = rule(graph)
            if rewritten is not None:
                graph = rewritten
                applied += 1
                break
        else:
            break
    if not applied:
        return PassResult(graph, False)
    from model_engine.passes.dce import eliminate_dead_nodes

    return PassResult(eliminate_dead_nodes(graph).graph, True, {"rewrites": applied})

"""Tree strategy lowering: each ``tree_ensemble`` becomes the traversal layout that suits its trees' shape.

- ``tree_gemm`` for very shallow ensembles (depth <= 3): three matrix steps, no branches;
- ``tree_traverse_perfect`` when padding every tree to a complete binary tree of the maximum depth costs at most
  a few times the real leaves: children are implicit (2i+1, 2i+2), the loop has a fixed trip count;
- ``tree_traverse_compact`` otherwise (deep, unbalanced trees such as leaf-wise boosting): explicit children,
  nodes renumbered in depth-first order so a row's path walks forward through memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from model_engine.ir.graph import Graph, Node
from model_engine.passes.infra import PassResult
from model_engine.passes.rewrite import NameSource

Array = np.ndarray[Any, Any]
GEMM_MAX_DEPTH = 3
GEMM_MAX_CELLS = 1 << 22
PERFECT_MAX_DEPTH = 12
PERFECT_MAX_PADDING = 4.0
STRATEGIES = ("auto", "gemm", "perfect", "compact")


@dataclass(frozen=True)
class Tables:
    feature: Array
    threshold: Array
    left: Array
    right: Array
    value: Array
    missing_left: Array
    roots: Array

    @classmethod
    def of(cls, graph: Graph, node: Node) -> Tables:
        return cls(*(graph.constants[name] for name in node.inputs[1:]))

    def preorder(self, root: int) -> list[tuple[int, int]]:
        """(node, depth) of one tree in depth-first order, left subtree first."""
        order: list[tuple[int, int]] = []
        stack = [(int(root), 0)]
        while stack:
            node, depth = stack.pop()
            order.append((node, depth))
            if self.left[node] >= 0:
                stack.append((int(self.right[node]), depth + 1))
                stack.append((int(self.left[node]), depth + 1))
        return order

    def depth(self) -> int:
        return max((d for root in self.roots for _, d in self.preorder(root)), default=0)


def choose_strategy(tables: Tables) -> str:
    """The layout for an ensemble, from its depth, size and leaf count."""
    depth = tables.depth()
    n_leaves = int(np.sum(tables.left < 0))
    n_splits = len(tables.left) - n_leaves
    if depth <= GEMM_MAX_DEPTH and n_splits * n_leaves <= GEMM_MAX_CELLS:
        return "gemm"
    if depth <= PERFECT_MAX_DEPTH and len(tables.roots) * 2**depth <= PERFECT_MAX_PADDING * n_leaves:
        return "perfect"
    return "compact"


def _perfect(t: Tables, depth: int) -> list[Array]:
    n_trees, width = len(t.roots), 2**depth
    feature = np.zeros((n_trees, width - 1), dtype=np.int32)
    # padding splits send everything left (x <= +inf, NaN left) down to a copy of the shallow leaf's value
    threshold = np.full((n_trees, width - 1), np.inf, dtype=t.threshold.dtype)
    missing_left = np.ones((n_trees, width - 1), dtype=bool)
    leaf_value = np.zeros((n_trees, width, t.value.shape[1]), dtype=t.value.dtype)
    for k, root in enumerate(t.roots):
        stack = [(int(root), 0, 0)]
        while stack:
            node, pos, d = stack.pop()
            if t.left[node] >= 0:
                feature[k, pos], threshold[k, pos] = t.feature[node], t.threshold[node]
                missing_left[k, pos] = t.missing_left[node]
                stack.append((int(t.right[node]), 2 * pos + 2, d + 1))
                stack.append((int(t.left[node]), 2 * pos + 1, d + 1))
            else:
                span = 2 ** (depth - d)
                first = pos * span + span - 1 - (width - 1)
                leaf_value[k, first : first + span] = t.value[node]
    return [feature, threshold, missing_left, leaf_value]


def _compact(t: Tables) -> list[Array]:
    order = [node for root in t.roots for node, _ in t.preorder(root)]
    new_id = np.full(len(t.left), -1, dtype=np.int64)
    new_id[order] = np.arange(len(order))
    idx = np.asarray(order, dtype=np.int64)
    left = np.where(t.left[idx] >= 0, new_id[t.left[idx].clip(0)], -1).astype(np.int32)
    right = np.where(t.right[idx] >= 0, new_id[t.right[idx].clip(0)], -1).astype(np.int32)
    feature = np.where(left >= 0, t.feature[idx], 0).astype(np.int32)
    roots = new_id[t.roots].astype(np.int32)
    return [feature, t.threshold[idx], left, right, t.value[idx], t.missing_left[idx], roots]


def _gemm(t: Tables) -> list[Array]:
    splits = np.flatnonzero(t.left >= 0)
    leaves = np.flatnonzero(t.left < 0)
    split_pos = {int(n): i for i, n in enumerate(splits)}
    leaf_pos = {int(n): i for i, n in enumerate(leaves)}
    dtype = t.threshold.dtype
    path = np.zeros((len(splits), len(leaves)), dtype=dtype)
    left_counts = np.zeros(len(leaves), dtype=dtype)
    for root in t.roots:
        stack: list[tuple[int, list[tuple[int, int]]]] = [(int(root), [])]
        while stack:
            node, ancestors = stack.pop()
            if t.left[node] >= 0:
                stack.append((int(t.left[node]), [*ancestors, (split_pos[node], 1)]))
                stack.append((int(t.right[node]), [*ancestors, (split_pos[node], -1)]))
            else:
                column = leaf_pos[node]
                for split, sign in ancestors:
                    path[split, column] = sign
                left_counts[column] = sum(1 for _, sign in ancestors if sign > 0)
    return [
        t.feature[splits].astype(np.int32),
        t.threshold[splits],
        t.missing_left[splits],
        path,
        left_counts,
        t.value[leaves],
    ]


def make_lower_trees(strategy: str = "auto") -> Callable[[Graph], PassResult]:
    """The lowering pass, choosing the layout by shape (``auto``) or forcing one."""
    if strategy not in STRATEGIES:
        raise ValueError(f"tree strategy must be one of {STRATEGIES}, got {strategy!r}")

    def lower_trees(graph: Graph) -> PassResult:
        names = NameSource(graph)
        constants = dict(graph.constants)
        nodes: list[Node] = []
        chosen: list[str] = []
        for node in graph.nodes:
            if node.op != "tree_ensemble":
                nodes.append(node)
                continue
            tables = Tables.of(graph, node)
            kind = choose_strategy(tables) if strategy == "auto" else strategy
            attrs = dict(node.attrs)
            slots: tuple[str, ...]
            if kind == "gemm":
                arrays, op = _gemm(tables), "tree_gemm"
                attrs["n_trees"] = len(tables.roots)
                slots = ("feature", "threshold", "missing_go_left", "path", "left_counts", "leaf_value")
            elif kind == "perfect":
                depth = tables.depth()
                arrays, op = _perfect(tables, depth), "tree_traverse_perfect"
                attrs["depth"] = depth
                slots = ("feature", "threshold", "missing_go_left", "leaf_value")
            else:
                arrays, op = _compact(tables), "tree_traverse_compact"
                slots = ("feature", "threshold", "left", "right", "value", "missing_go_left", "tree_roots")
            inputs = [node.inputs[0]]
            for slot, array in zip(slots, arrays, strict=True):
                name = names.fresh(f"{node.name}.{slot}")
                constants[name] = np.ascontiguousarray(array)
                inputs.append(name)
            nodes.append(Node(node.name, op, tuple(inputs), node.outputs, attrs))
            chosen.append(kind)
        if not chosen:
            return PassResult(graph, False)
        used = {i for n in nodes for i in n.inputs}
        constants = {k: v for k, v in constants.items() if k in used}
        return PassResult(graph.with_nodes(nodes, constants=constants), True, {"strategies": tuple(chosen)})

    lower_trees.__name__ = "lower_trees" if strategy == "auto" else f"lower_trees_{strategy}"
    return lower_trees


lower_trees = make_lower_trees("auto")

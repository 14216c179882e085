"""Host-side node tables of a tree ensemble in the two layouts the forest kernel traverses (NumPy only).

Both layouts pack a node's feature and its missing-value direction into one int32 ``code = feature * 2 +
missing_go_left`` so a traversal step reads two words (code, threshold). The decision is sklearn's: go left when
``x <= threshold``; a NaN goes left exactly when ``missing_go_left``.

- Perfect layout: every tree padded to a perfect binary tree of depth ``D``: ``2**D - 1`` internal nodes in
  breadth-first order with implicit children (``2i + 1``, ``2i + 2``) and ``2**D`` leaves. A leaf above depth
  ``D`` becomes padding nodes that send every input left (threshold ``+inf``, NaN left) down to copies of its value.
- Compact layout: the real nodes only, renumbered so the two children of a node are adjacent; each node stores
  the offset of its left child (the right one is the next). A leaf points at itself and sends every input left,
  so rows that reached a leaf stay there while deeper trees finish.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np

from model_engine.errors import GraphError
from model_engine.ops.trees import float32_thresholds

Array = np.ndarray[Any, Any]
MAX_PERFECT_DEPTH = 12
"""Deepest tree padded to the perfect layout (``2**12`` leaves a tree); deeper ones use the compact layout."""


class ForestOutput(IntEnum):
    """Post-transform of the aggregated scores (same codes as the MLP kernel's outputs)."""

    IDENTITY = 0
    SIGMOID = 1
    BINARY_SIGMOID = 2
    SOFTMAX = 3


@dataclass(frozen=True)
class TreeTables:
    """An ensemble as flat per-node arrays, every tree's nodes indexed globally.

    ``left[i] < 0`` marks a leaf; ``value`` is ``[n_nodes, n_outputs]`` (only leaf rows are read);
    ``roots[t]`` is the node index of tree ``t``'s root.
    """

    feature: Array
    threshold: Array
    left: Array
    right: Array
    missing_go_left: Array
    value: Array
    roots: Array

    @property
    def n_trees(self) -> int:
        return int(self.roots.shape[0])

    @property
    def n_outputs(self) -> int:
        return int(self.value.shape[1])


@dataclass(frozen=True)
class PerfectLayout:
    depth: int
    n_trees: int
    n_outputs: int
    code: Array  # int32 [n_trees * (2**depth - 1)] (at least one element)
    threshold: Array  # float32, same shape
    leaf_value: Array  # float32 [n_trees * 2**depth, c_pad]

    @property
    def c_pad(self) -> int:
        return int(self.leaf_value.shape[1])


@dataclass(frozen=True)
class CompactLayout:
    depth: int  # the deepest tree's depth: the number of traversal steps
    n_trees: int
    n_outputs: int
    code: Array  # int32 [n_nodes]
    threshold: Array  # float32 [n_nodes]
    left: Array  # int32 [n_nodes]: the left child's index (the right child is left + 1); a leaf's own index
    value: Array  # float32 [n_nodes, c_pad]
    roots: Array  # int32 [n_trees]
    node_ids: Array  # int64 [n_nodes]: the node's index in the source tables (to report leaves in their ids)

    @property
    def c_pad(self) -> int:
        return int(self.value.shape[1])


def node_words(code: Array, threshold: Array) -> Array:
    """One int64 per node: ``code`` in the low 32 bits, the float32 threshold's bit pattern in the high 32."""
    low = np.asarray(code, dtype=np.int32).view(np.uint32).astype(np.uint64)
    high = np.asarray(threshold, dtype=np.float32).view(np.uint32).astype(np.uint64)
    words: Array = ((high << np.uint64(32)) | low).view(np.int64)
    return words


def tree_depths(tables: TreeTables) -> Array:
    """Depth of every tree (a lone leaf has depth 0); raises GraphError on cycles or bad child indices."""
    depths = np.zeros(tables.n_trees, dtype=np.int64)
    n_nodes = tables.feature.shape[0]
    for t, root in enumerate(tables.roots):
        stack = [(int(root), 0)]
        seen = 0
        while stack:
            node, d = stack.pop()
            seen += 1
            if not 0 <= node < n_nodes or seen > n_nodes:
                raise GraphError(f"tree {t}: child index {node} is out of range or the tree has a cycle")
            depths[t] = max(depths[t], d)
            if tables.left[node] >= 0:
                stack += [(int(tables.left[node]), d + 1), (int(tables.right[node]), d + 1)]
    return depths


def _c_pad(n_outputs: int) -> int:
    return 1 << max(0, n_outputs - 1).bit_length()


def _codes(tables: TreeTables) -> Array:
    return (tables.feature.astype(np.int64) * 2 + tables.missing_go_left.astype(np.int64)).astype(np.int32)


def pack_perfect(tables: TreeTables, depth: int | None = None) -> PerfectLayout:
    """Pad every tree to a perfect tree of ``depth`` (default: the deepest tree's depth)."""
    deepest = int(tree_depths(tables).max(initial=0))
    depth = deepest if depth is None else depth
    if depth < deepest or depth > MAX_PERFECT_DEPTH:
        raise GraphError(f"perfect layout depth {depth} must be in [{deepest}, {MAX_PERFECT_DEPTH}]")
    n_int, n_leaf, c_pad = (1 << depth) - 1, 1 << depth, _c_pad(tables.n_outputs)
    code = np.full(max(1, tables.n_trees * n_int), 1, dtype=np.int32)  # padding: feature 0, NaN left
    threshold = np.full(code.shape, np.inf, dtype=np.float32)
    leaf_value = np.zeros((tables.n_trees * n_leaf, c_pad), dtype=np.float32)
    codes, thresholds = _codes(tables), float32_thresholds(tables.threshold)
    values = np.asarray(tables.value, dtype=np.float32)
    for t, root in enumerate(tables.roots):
        stack = [(int(root), 0, 0)]  # (node, depth, breadth-first position within its level)
        while stack:
            node, d, pos = stack.pop()
            if tables.left[node] >= 0:
                slot = t * n_int + (1 << d) - 1 + pos
                code[slot], threshold[slot] = codes[node], thresholds[node]
                stack += [(int(tables.left[node]), d + 1, 2 * pos), (int(tables.right[node]), d + 1, 2 * pos + 1)]
            else:  # a leaf at depth d covers 2**(depth - d) leaves of the perfect tree
                span = 1 << (depth - d)
                start = t * n_leaf + pos * span
                leaf_value[start : start + span, : tables.n_outputs] = values[node]
    return PerfectLayout(depth, tables.n_trees, tables.n_outputs, code, threshold, leaf_value)


def perfect_from_arrays(
    feature: Array, threshold: Array, missing_go_left: Array, leaf_value: Array, depth: int
) -> PerfectLayout:
    """The layout from already padded perfect-tree arrays (the ``tree_traverse_perfect`` op's constants):
    ``feature``, ``threshold``, ``missing_go_left`` are ``[T, 2**depth - 1]``, ``leaf_value`` ``[T, 2**depth, O]``."""
    n_trees, n_int = feature.shape
    if n_int != (1 << depth) - 1 or leaf_value.shape[:2] != (n_trees, 1 << depth):
        raise GraphError(f"perfect tables {feature.shape} / {leaf_value.shape} do not match depth {depth}")
    n_outputs = int(leaf_value.shape[2])
    code = (feature.astype(np.int64) * 2 + missing_go_left.astype(np.int64)).astype(np.int32).reshape(-1)
    thresholds = float32_thresholds(threshold).reshape(-1)
    if code.size == 0:  # depth 0: no splits, keep one padding node so every table has an address
        code, thresholds = np.ones(1, dtype=np.int32), np.full(1, np.inf, dtype=np.float32)
    values = np.zeros((n_trees << depth, _c_pad(n_outputs)), dtype=np.float32)
    values[:, :n_outputs] = leaf_value.reshape(n_trees << depth, n_outputs)
    return PerfectLayout(depth, n_trees, n_outputs, code, thresholds, values)


def pack_compact(tables: TreeTables) -> CompactLayout:
    """Renumber each tree breadth-first so siblings are adjacent; leaves point at themselves."""
    depth = int(tree_depths(tables).max(initial=0))
    c_pad = _c_pad(tables.n_outputs)
    codes, thresholds = _codes(tables), float32_thresholds(tables.threshold)
    values = np.asarray(tables.value, dtype=np.float32)
    order: list[int] = []
    roots = np.empty(tables.n_trees, dtype=np.int32)
    new_left: dict[int, int] = {}
    for t, root in enumerate(tables.roots):
        roots[t] = len(order)
        order.append(int(root))
        cursor = len(order) - 1
        while cursor < len(order):
            node = order[cursor]
            if tables.left[node] >= 0:
                new_left[cursor] = len(order)
                order += [int(tables.left[node]), int(tables.right[node])]
            cursor += 1
    n = len(order)
    code = np.full(n, 1, dtype=np.int32)
    threshold = np.full(n, np.inf, dtype=np.float32)
    left = np.arange(n, dtype=np.int32)
    value = np.zeros((n, c_pad), dtype=np.float32)
    for new, old in enumerate(order):
        if new in new_left:
            code[new], threshold[new], left[new] = codes[old], thresholds[old], new_left[new]
        else:
            value[new, : tables.n_outputs] = values[old]
    node_ids = np.asarray(order, dtype=np.int64)
    return CompactLayout(depth, tables.n_trees, tables.n_outputs, code, threshold, left, value, roots, node_ids)

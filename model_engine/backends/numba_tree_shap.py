"""The numba kernel of ``tree_shap``: Algorithm 2 of Lundberg et al. (2018) row by row, without recursion.

The reference (:mod:`model_engine.ops.tree_shap`) carries all rows through one recursion; this kernel walks each
row through each tree with an explicit stack, keeping the unique path of every depth in its own row of small
preallocated tables, with the same arithmetic in the same order, so both give the same bits. Work per row and
tree is O(leaves x depth^2), as in the paper.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba
import numpy as np

from model_engine.ir.graph import Graph, Node
from model_engine.ops.tree_shap import expected_margin, output_column, player_of, tree_depths

Step = Callable[[list[Any]], None]


@numba.njit(cache=True, nogil=True)
def _unwound_sum(ones: Any, zeros: Any, weights: Any, level: int, depth: int, k: int) -> float:
    one, zero = ones[level, k], zeros[level, k]
    following = weights[level, depth]
    total = 0.0
    for i in range(depth - 1, -1, -1):
        if one != 0:
            part = following * (depth + 1) / ((i + 1) * one)
            total = total + part
            following = weights[level, i] - part * zero * ((depth - i) / (depth + 1))
        else:
            total = total + (weights[level, i] / zero) / ((depth - i) / (depth + 1))
    return total


@numba.njit(cache=True, nogil=True)
def _unwind(features: Any, ones: Any, zeros: Any, weights: Any, level: int, depth: int, k: int) -> None:
    one, zero = ones[level, k], zeros[level, k]
    following = weights[level, depth]
    for i in range(depth - 1, -1, -1):
        if one != 0:
            kept = weights[level, i]
            weights[level, i] = following * (depth + 1) / ((i + 1) * one)
            following = kept - weights[level, i] * zero * (depth - i) / (depth + 1)
        else:
            weights[level, i] = weights[level, i] * (depth + 1) / (zero * (depth - i))
    for i in range(k, depth):
        features[level, i] = features[level, i + 1]
        zeros[level, i] = zeros[level, i + 1]
        ones[level, i] = ones[level, i + 1]


@numba.njit(cache=True, nogil=True)
def tree_shap_rows(x: Any, feature: Any, threshold: Any, left: Any, right: Any, value: Any, missing_left: Any,
                   roots: Any, cover: Any, players: Any, max_depth: int, divisor: float, base: float,
                   out: Any) -> None:  # fmt: skip
    """``out[i, :F]``: the TreeSHAP values of row i (divided by ``divisor`` when it is not 1), ``out[i, F] = base``;
    ``players[k]`` is the player of column k (the path holds players, a split reads its own column)."""
    n, width = x.shape
    size = max_depth + 2
    features = np.zeros((size, size), dtype=np.int64)
    zeros = np.zeros((size, size))
    ones = np.zeros((size, size))
    weights = np.zeros((size, size))
    stack_node = np.zeros(2 * size + 2, dtype=np.int64)
    stack_level = np.zeros(2 * size + 2, dtype=np.int64)
    stack_depth = np.zeros(2 * size + 2, dtype=np.int64)
    stack_feature = np.zeros(2 * size + 2, dtype=np.int64)
    stack_zero = np.zeros(2 * size + 2)
    stack_one = np.zeros(2 * size + 2)
    phi = np.zeros(width)
    for row in range(n):
        phi[:] = 0.0
        for t in range(roots.shape[0]):
            top = 0
            stack_node[0], stack_level[0], stack_depth[0], stack_feature[0] = roots[t], 0, 0, -1
            stack_zero[0], stack_one[0] = 1.0, 1.0
            top = 1
            while top > 0:
                top -= 1
                node, level, depth = stack_node[top], stack_level[top], stack_depth[top]
                zero, one = stack_zero[top], stack_one[top]
                for i in range(depth):  # the parent's path, then EXTEND
                    features[level, i] = features[level - 1, i]
                    zeros[level, i] = zeros[level - 1, i]
                    ones[level, i] = ones[level - 1, i]
                    weights[level, i] = weights[level - 1, i]
                features[level, depth] = stack_feature[top]
                zeros[level, depth] = zero
                ones[level, depth] = one
                weights[level, depth] = 1.0 if depth == 0 else 0.0
                for i in range(depth - 1, -1, -1):
                    weights[level, i + 1] += one * weights[level, i] * (i + 1) / (depth + 1)
                    weights[level, i] = zero * weights[level, i] * (depth - i) / (depth + 1)
                if left[node] < 0:
                    leaf = value[node]
                    for i in range(1, depth + 1):
                        w = _unwound_sum(ones, zeros, weights, level, depth, i)
                        phi[features[level, i]] += w * (ones[level, i] - zeros[level, i]) * leaf
                    continue
                split = np.int64(feature[node])
                player = players[split]
                v = x[row, split]
                goes_left = (v <= threshold[node]) | ((v != v) & missing_left[node])
                incoming_zero, incoming_one = 1.0, 1.0
                for k in range(depth + 1):
                    if features[level, k] == player:
                        incoming_zero, incoming_one = zeros[level, k], ones[level, k]
                        _unwind(features, ones, zeros, weights, level, depth, k)
                        depth -= 1
                        break
                lc, rc = np.int64(left[node]), np.int64(right[node])
                # pushed right first so the left child is walked first, as the reference recursion does
                for child, taken in ((rc, not goes_left), (lc, goes_left)):
                    stack_node[top], stack_level[top], stack_depth[top] = child, level + 1, depth + 1
                    stack_feature[top] = player
                    stack_zero[top] = cover[child] / cover[node] * incoming_zero
                    stack_one[top] = incoming_one * (1.0 if taken else 0.0)
                    top += 1
        for j in range(width):
            out[row, j] = phi[j] / divisor if divisor != 1.0 else phi[j]
        out[row, width] = base


def tree_shap_step(graph: Graph, node: Node, x_slot: int, out_slot: int) -> Step:
    """A numba-backend step running ``node`` (a ``tree_shap``) over the tables, prepared once."""
    feature, threshold, left, right, value, missing_left, roots, cover = (graph.constants[n] for n in node.inputs[1:])
    column = output_column(node.attrs, value)
    players = player_of(node.attrs, int(graph.type_of(node.inputs[0]).shape[1] or 0))
    max_depth = int(tree_depths(left, right, roots).max(initial=0))
    divisor = float(len(roots)) if node.attrs.get("aggregation", "sum") == "mean" else 1.0
    base = expected_margin(node.attrs, left, right, column, roots, cover)

    def run(s: list[Any]) -> None:
        tree_shap_rows(s[x_slot], feature, threshold, left, right, column, missing_left, roots, cover, players,
                       max_depth, divisor, base, s[out_slot])  # fmt: skip

    return run

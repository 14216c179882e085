"""``tree_shap``: path-dependent TreeSHAP over the ``tree_ensemble`` node tables (Lundberg et al. 2018, Alg. 2).

``tree_shap(x, feature, threshold, left, right, value, missing_go_left, tree_roots, cover; output, aggregation,
base_score, groups) -> [N, F + 1]``: the exact Shapley values of one output column of the ensemble's raw sum
(divided by the tree count for ``aggregation="mean"``) for the conditional expectations TreeSHAP defines: below a
split on a feature outside the coalition, both children are averaged by their ``cover`` (the training weight that
reached them). The last column is the ensemble's expected value under those covers plus ``base_score``, so each
row sums to the raw margin. The first eight inputs are the ``tree_ensemble`` tables; ``cover`` is float [M],
positive, with each split's cover the sum of its children's (the explainer builds it so; the algorithm's local
accuracy needs it).

``groups`` (optional, one int per column of ``x``) makes several columns one player of the game: the columns
derived from one input feature (a categorical split's membership columns, a one-hot block) are that feature, so a
path through splits on two of them holds the feature once, as a path through two splits on one column does.
``groups[k]`` is the column that represents column k's group (``groups[groups[k]] == groups[k]``); the group's
value is reported in that column and the group's other columns are 0. Without it every column is its own player.

Splits follow the scoring rule, NaN included: go left when ``x <= threshold``, or when ``x`` is NaN and
``missing_go_left``. The reference below runs Algorithm 2 for all rows at once: which nodes it visits and the
features and zero fractions on its paths depend on the tree alone; only the one fractions (0 or 1: does the row
take this branch) and the path weights depend on the row, and they are carried as vectors over the rows. The
numba kernel runs the same arithmetic row by row, in the same order, so both give the same bits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from model_engine.errors import OpTypeError
from model_engine.ir.types import DType, TensorType
from model_engine.ops.attribution import attribution_type, expect_constant
from model_engine.ops.registry import Array, Attrs, OpDef, OpKind, register
from model_engine.ops.trees import _table_check, _table_infer


def _infer(attrs: Attrs, types: Sequence[TensorType]) -> tuple[TensorType, ...]:
    x, value, cover = types[0], types[5], types[8]
    _table_infer("tree_shap")({}, types[:8])  # the tree_ensemble table checks
    output, base = attrs["output"], attrs.get("base_score", 0.0)
    n_outputs = value.shape[1]
    if not isinstance(output, int) or isinstance(output, bool) or not 0 <= output < (n_outputs or 0):
        raise OpTypeError(f"tree_shap: output must be a column of value [M, {n_outputs}], got {output!r}")
    if attrs.get("aggregation", "sum") not in ("sum", "mean"):
        raise OpTypeError(f"tree_shap: aggregation must be 'sum' or 'mean', got {attrs.get('aggregation')!r}")
    if not isinstance(base, float):
        raise OpTypeError(f"tree_shap: base_score must be a float, got {base!r}")
    if x.dtype is not DType.FLOAT64:
        raise OpTypeError(f"tree_shap computes in float64, got {x}")
    expect_constant("tree_shap", "cover", cover, x, (types[1].shape[0],))
    width = int(x.shape[1] or 0)
    groups = attrs.get("groups")
    if groups is not None and not (
        isinstance(groups, tuple)
        and len(groups) == width
        and all(isinstance(g, int) and not isinstance(g, bool) and 0 <= g < width for g in groups)
        and all(groups[g] == g for g in groups)
    ):
        raise OpTypeError(
            f"tree_shap: groups must give each of the {width} columns its group's representative column (one "
            f"that represents itself), got {groups!r}"
        )
    return (attribution_type("tree_shap", x),)


def _check(attrs: Attrs, types: Sequence[TensorType], arrays: Sequence[Array | None]) -> None:
    _table_check(attrs, types, arrays)
    cover = arrays[8]
    if cover is not None and not bool(np.all(cover > 0.0)):
        raise OpTypeError("tree_shap: every node's cover must be positive; the cover table is corrupt")


def player_of(attrs: Attrs, width: int) -> Array:
    """The player (representative column) of each of the ``width`` columns, int64: ``groups``, else the identity."""
    groups = attrs.get("groups")
    return np.arange(width, dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)


def output_column(attrs: Attrs, value: Array) -> Array:
    """The explained column of the leaf values, contiguous float64."""
    output = attrs["output"]
    assert isinstance(output, int)
    return np.ascontiguousarray(value[:, output], dtype=np.float64)


def go_left(xv: Array, threshold: float, missing_left: bool) -> Array:
    out: Array = (xv <= threshold) | (np.isnan(xv) & missing_left)
    return out


def tree_depths(left: Array, right: Array, roots: Array) -> Array:
    """The depth of each tree (a single leaf has depth 0)."""
    depths = np.zeros(len(roots), dtype=np.int64)
    for t, root in enumerate(roots.tolist()):
        stack = [(int(root), 0)]
        while stack:
            node, depth = stack.pop()
            depths[t] = max(depths[t], depth)
            if left[node] >= 0:
                stack.extend(((int(left[node]), depth + 1), (int(right[node]), depth + 1)))
    return depths


def expected_margin(attrs: Attrs, left: Array, right: Array, value: Array, roots: Array, cover: Array) -> float:
    """The ensemble's expected raw output under the covers (the base value), trees in order, leaves left first."""
    total = 0.0
    for root in roots.tolist():
        expected, stack = 0.0, [int(root)]
        while stack:
            node = stack.pop()
            if left[node] < 0:
                expected += float(value[node]) * (float(cover[node]) / float(cover[root]))
            else:
                stack.extend((int(right[node]), int(left[node])))
        total += expected
    if attrs.get("aggregation", "sum") == "mean":
        total = total / len(roots)
    return total + float(attrs.get("base_score", 0.0))  # type: ignore[arg-type]


class _Paths:
    """The unique path of Algorithm 2 for all rows: features and zero fractions shared, one fractions and
    weights ``[path length, N]``."""

    def __init__(self, features: list[int], zeros: list[float], ones: Array, weights: Array) -> None:
        self.features, self.zeros, self.ones, self.weights = features, zeros, ones, weights

    def extended(self, depth: int, zero: float, one: Array, feature: int) -> _Paths:
        """A copy of the first ``depth`` elements extended by one (the EXTEND of Algorithm 2)."""
        n = one.shape[0]
        ones, weights = np.empty((depth + 1, n)), np.empty((depth + 1, n))
        ones[:depth], weights[:depth] = self.ones[:depth], self.weights[:depth]
        ones[depth], weights[depth] = one, 1.0 if depth == 0 else 0.0
        for i in range(depth - 1, -1, -1):
            weights[i + 1] += one * weights[i] * (i + 1) / (depth + 1)
            weights[i] = zero * weights[i] * (depth - i) / (depth + 1)
        return _Paths([*self.features[:depth], feature], [*self.zeros[:depth], zero], ones, weights)

    def unwind(self, depth: int, k: int) -> None:
        """Remove element ``k`` (UNWIND); the path then holds ``depth`` elements."""
        one, zero, w = self.ones[k].copy(), self.zeros[k], self.weights
        nonzero = one != 0
        following = w[depth].copy()
        for i in range(depth - 1, -1, -1):
            kept = w[i].copy()
            with_one = following * (depth + 1) / ((i + 1) * one)
            without = w[i] * (depth + 1) / (zero * (depth - i))
            w[i] = np.where(nonzero, with_one, without)
            following = np.where(nonzero, kept - with_one * zero * (depth - i) / (depth + 1), following)
        for i in range(k, depth):
            self.features[i], self.zeros[i], self.ones[i] = self.features[i + 1], self.zeros[i + 1], self.ones[i + 1]
        del self.features[depth:], self.zeros[depth:]

    def unwound_sum(self, depth: int, k: int) -> Array:
        """The total weight of the path with element ``k`` removed (UNWOUND-SUM)."""
        one, zero, w = self.ones[k], self.zeros[k], self.weights
        nonzero = one != 0
        following = w[depth].copy()
        total: Array = np.zeros_like(following)
        for i in range(depth - 1, -1, -1):
            part = following * (depth + 1) / ((i + 1) * one)
            total = np.where(nonzero, total + part, total + (w[i] / zero) / ((depth - i) / (depth + 1)))
            following = np.where(nonzero, w[i] - part * zero * ((depth - i) / (depth + 1)), following)
        return total


def _recurse(tables: tuple[Array, ...], x: Array, phi: Array, node: int, parent: _Paths, depth: int, zero: float,
             one: Array, feature: int) -> None:  # fmt: skip
    """Algorithm 2's RECURSE; the path holds players (``feature`` is one), splits read their own column."""
    features, thresholds, left, right, value, missing_left, cover, players = tables
    path = parent.extended(depth, zero, one, feature)
    if left[node] < 0:
        for i in range(1, depth + 1):
            phi[:, path.features[i]] += path.unwound_sum(depth, i) * (path.ones[i] - path.zeros[i]) * value[node]
        return
    split = int(features[node])
    player = int(players[split])
    goes_left = go_left(x[:, split], thresholds[node], bool(missing_left[node]))
    incoming_zero, incoming_one = 1.0, np.ones(x.shape[0])
    if player in path.features:
        k = path.features.index(player)
        incoming_zero, incoming_one = path.zeros[k], path.ones[k].copy()
        path.unwind(depth, k)
        depth -= 1
    for child, taken in ((int(left[node]), goes_left), (int(right[node]), ~goes_left)):
        fraction = cover[child] / cover[node]
        _recurse(tables, x, phi, child, path, depth + 1, fraction * incoming_zero, incoming_one * taken, player)


def _reference(attrs: Attrs, x: Array, feature: Array, threshold: Array, left: Array, right: Array, value: Array,
               missing_left: Array, roots: Array, cover: Array) -> tuple[Array, ...]:  # fmt: skip
    column = output_column(attrs, value)
    n, width = x.shape
    tables = (feature, threshold, left, right, column, missing_left, cover, player_of(attrs, width))
    phi = np.zeros((n, width))
    empty = _Paths([], [], np.empty((0, n)), np.empty((0, n)))
    with np.errstate(all="ignore"):  # the branch a row does not take may divide by zero; np.where drops it
        for root in roots.tolist():
            _recurse(tables, x, phi, int(root), empty, 0, 1.0, np.ones(n), -1)
    if attrs.get("aggregation", "sum") == "mean":
        phi = phi / len(roots)
    out = np.empty((n, width + 1))
    out[:, :width] = phi
    out[:, width] = expected_margin(attrs, left, right, column, roots, cover)
    return (out,)


register(
    OpDef(
        "tree_shap",
        OpKind.OPAQUE,
        _infer,
        _reference,
        9,
        attrs=frozenset({"output", "aggregation", "base_score", "groups"}),
        required=frozenset({"output"}),
        check_values=_check,
        doc=(
            "tree_shap(x, feature, threshold, left, right, value, missing_go_left, tree_roots, cover; output, "
            "aggregation, base_score, groups) -> [N, F + 1]: path-dependent TreeSHAP values of value[:, output] "
            "(columns of one group as one player), base last"
        ),
    )
)

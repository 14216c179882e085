"""Tree-ensemble ops: the high-level ``tree_ensemble`` and the three layouts the strategy pass lowers it to.

Node-table layout of ``tree_ensemble(x, feature, threshold, left, right, value, missing_go_left, tree_roots)``,
every table a constant holding the nodes of all trees one after another (node ids are global):

- ``feature``  int32 [M]: the input column a split reads (ignored for leaves);
- ``threshold`` float [M] (the dtype of ``x``): go left when ``x[feature] <= threshold`` (scikit-learn's rule);
- ``left``, ``right`` int32 [M]: global child ids; a leaf has ``left == right == -1``;
- ``value`` float [M, n_outputs] (dtype of ``x``): the output of each leaf, by node id (rows of splits ignored);
- ``missing_go_left`` bool [M]: where NaN goes at each split (HistGradientBoosting's missing-value routing);
- ``tree_roots`` int32 [T]: the root node id of each tree.

Attributes: ``aggregation`` ("sum" | "mean"), ``post_transform`` ("none" | "sigmoid" | "softmax"), ``base_score``
(tuple of n_outputs floats) and ``n_classes``. The result is computed in a fixed order (so it is deterministic):
``raw = value[leaf(tree 0)] + value[leaf(tree 1)] + ...``; divided by T for "mean"; plus ``base_score``; then the
transform. "none" outputs ``raw`` [N, n_outputs]; "sigmoid" (n_outputs == 1, n_classes == 2) outputs
``[1 - s, s]`` with ``s = sigmoid(raw)``; "softmax" (n_outputs == n_classes) outputs ``softmax(raw)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from model_engine.errors import OpTypeError
from model_engine.ir.types import DType, TensorType
from model_engine.ops.elementwise import sigmoid
from model_engine.ops.linalg import matmul_rows
from model_engine.ops.reductions import softmax
from model_engine.ops.registry import Array, Attrs, InferFn, OpDef, OpKind, register

COMMON_ATTRS = frozenset({"aggregation", "post_transform", "base_score", "n_classes"})
TREE_OPS = ("tree_ensemble", "tree_traverse_compact", "tree_traverse_perfect", "tree_gemm")


def float32_thresholds(thresholds: Array) -> Array:
    """Cast split thresholds to float32 rounding toward minus infinity.

    For a float32 ``x`` and a float64 ``t``, ``x <= t`` holds exactly when ``x <= t32`` with ``t32`` the largest
    float32 not above ``t``: rounding to nearest could move ``t32`` above ``t`` and flip the decision for the one
    float32 value between them.
    """
    t64 = np.asarray(thresholds, dtype=np.float64)
    t32 = t64.astype(np.float32)
    above = t32.astype(np.float64) > t64
    t32[above] = np.nextafter(t32[above], np.float32(-np.inf))
    return t32


# -- shared checks and post-processing --------------------------------------------------------------------------
def _common_infer(op: str, attrs: Attrs, x: TensorType, n_outputs: int) -> TensorType:
    if x.rank != 2 or not x.dtype.is_float:
        raise OpTypeError(f"{op} needs a float matrix x [N, F], got {x}")
    aggregation = attrs.get("aggregation", "sum")
    if aggregation not in ("sum", "mean"):
        raise OpTypeError(f"{op}: aggregation must be 'sum' or 'mean', got {aggregation!r}")
    base = attrs.get("base_score", (0.0,) * n_outputs)
    if not isinstance(base, tuple) or len(base) != n_outputs:
        raise OpTypeError(f"{op}: base_score must be a tuple of {n_outputs} floats, got {base!r}")
    transform = attrs.get("post_transform", "none")
    n_classes = attrs.get("n_classes", 2 if transform == "sigmoid" else n_outputs)
    if not isinstance(n_classes, int):
        raise OpTypeError(f"{op}: n_classes must be an int, got {n_classes!r}")
    if transform == "none":
        width = n_outputs
    elif transform == "sigmoid":
        if n_outputs != 1 or n_classes != 2:
            raise OpTypeError(f"{op}: sigmoid needs one output and n_classes=2, got {n_outputs} and {n_classes}")
        width = 2
    elif transform == "softmax":
        if n_outputs != n_classes:
            raise OpTypeError(f"{op}: softmax needs n_outputs == n_classes, got {n_outputs} and {n_classes}")
        width = n_classes
    else:
        raise OpTypeError(f"{op}: post_transform must be none, sigmoid or softmax, got {transform!r}")
    return TensorType(x.dtype, (x.shape[0], width))


def _expect(op: str, what: str, t: TensorType, dtype: DType, rank: int) -> None:
    if t.dtype is not dtype or t.rank != rank or t.batched:
        raise OpTypeError(f"{op}: {what} must be a constant {dtype.value} tensor of rank {rank}, got {t}")


def finish(attrs: Attrs, raw: Array, n_trees: int) -> Array:
    """Aggregate and transform summed leaf values (``raw``, [N, n_outputs]) as the attributes say."""
    if attrs.get("aggregation", "sum") == "mean":
        raw = raw / raw.dtype.type(n_trees)
    base = attrs.get("base_score")
    if base is not None:
        raw = raw + np.asarray(base, dtype=raw.dtype)
    transform = attrs.get("post_transform", "none")
    if transform == "sigmoid":
        s = sigmoid(raw[:, :1])
        return np.concatenate([1.0 - s, s], axis=1)
    if transform == "softmax":
        return softmax(raw)
    return raw


def _go_left(xv: Array, threshold: Array, missing_left: Array) -> Array:
    out: Array = (xv <= threshold) | (np.isnan(xv) & missing_left)
    return out


# -- tree_ensemble and tree_traverse_compact: explicit node tables ----------------------------------------------
def _table_infer(op: str) -> InferFn:
    def infer(attrs: Attrs, types: Sequence[TensorType]) -> tuple[TensorType, ...]:
        x, feature, threshold, left, right, value, missing_left, roots = types
        for what, t in (("feature", feature), ("left", left), ("right", right), ("tree_roots", roots)):
            _expect(op, what, t, DType.INT32, 1)
        _expect(op, "threshold", threshold, x.dtype, 1)
        _expect(op, "missing_go_left", missing_left, DType.BOOL, 1)
        _expect(op, "value", value, x.dtype, 2)
        n_nodes = feature.shape[0]
        for what, t in (("threshold", threshold), ("left", left), ("right", right), ("missing_go_left", missing_left)):
            if t.shape[0] != n_nodes:
                raise OpTypeError(f"{op}: {what} has {t.shape[0]} nodes, feature has {n_nodes}")
        if value.shape[0] != n_nodes:
            raise OpTypeError(f"{op}: value has {value.shape[0]} rows, there are {n_nodes} nodes")
        assert value.shape[1] is not None
        return (_common_infer(op, attrs, x, value.shape[1]),)

    return infer


def traverse_tables(
    x: Array, feature: Array, threshold: Array, left: Array, right: Array, missing_left: Array, roots: Array
) -> Array:
    """The leaf node id each row reaches in each tree, [N, T] (vectorised over rows, one tree at a time)."""
    n = x.shape[0]
    rows = np.arange(n)
    leaves = np.empty((n, len(roots)), dtype=np.int64)
    for t, root in enumerate(roots):
        node = np.full(n, root, dtype=np.int64)
        while True:
            child_left = left[node]
            internal = child_left >= 0
            if not internal.any():
                break
            f = np.where(internal, feature[node], 0)
            go = _go_left(x[rows, f], threshold[node], missing_left[node])
            node = np.where(internal, np.where(go, child_left, right[node]), node)
        leaves[:, t] = node
    return leaves


def _sum_leaves(value: Array, leaves: Array) -> Array:
    raw = np.zeros((leaves.shape[0], value.shape[-1]), dtype=value.dtype)
    for t in range(leaves.shape[1]):  # tree order: the fixed summation order every backend follows
        raw += value[leaves[:, t]]
    return raw


def _table_ref(attrs: Attrs, x: Array, feature: Array, threshold: Array, left: Array, right: Array, value: Array,
               missing_left: Array, roots: Array) -> tuple[Array, ...]:  # fmt: skip
    leaves = traverse_tables(x, feature, threshold, left, right, missing_left, roots)
    return (finish(attrs, _sum_leaves(value, leaves), len(roots)),)


def _check_range(op: str, what: str, indices: Array, upper: int | None) -> None:
    if upper is not None and indices.size and (int(indices.min()) < 0 or int(indices.max()) >= upper):
        raise OpTypeError(f"{op}: {what} holds indices outside [0, {upper}); the node tables are corrupt")


def _table_check(attrs: Attrs, types: Sequence[TensorType], arrays: Sequence[Array | None]) -> None:
    """Children follow their parent in the table (so every walk ends), features and roots are in range."""
    feature, left, right, roots = arrays[1], arrays[3], arrays[4], arrays[7]
    if feature is None or left is None or right is None or roots is None:
        return
    op, n_nodes = "tree node tables", feature.shape[0]
    _check_range(op, "tree_roots", roots, n_nodes)
    split = np.flatnonzero(left >= 0)
    _check_range(op, "feature (of a split)", feature[split], types[0].shape[1])
    for what, child in (("left", left[split]), ("right", right[split])):
        if child.size and (bool((child <= split).any()) or int(child.max()) >= n_nodes):
            raise OpTypeError(f"{op}: a {what} child does not follow its split within the table; it is corrupt")


def _feature_check(attrs: Attrs, types: Sequence[TensorType], arrays: Sequence[Array | None]) -> None:
    """Every split's feature is a column of ``x``."""
    if arrays[1] is not None:
        _check_range("tree op", "feature", arrays[1], types[0].shape[1])


for _name, _doc in (
    ("tree_ensemble", "a tree ensemble as node tables (see the module docstring); lowered by the strategy pass"),
    ("tree_traverse_compact", "tree traversal over explicit child tables (the tree_ensemble layout, renumbered)"),
):
    register(
        OpDef(_name, OpKind.OPAQUE, _table_infer(_name), _table_ref, 8, attrs=COMMON_ATTRS, doc=_doc,
              check_values=_table_check)
    )  # fmt: skip


# -- tree_traverse_perfect: complete binary trees with implicit children ----------------------------------------
def _perfect_infer(attrs: Attrs, types: Sequence[TensorType]) -> tuple[TensorType, ...]:
    op = "tree_traverse_perfect"
    x, feature, threshold, missing_left, leaf_value = types
    depth = attrs["depth"]
    if not isinstance(depth, int) or depth < 0:
        raise OpTypeError(f"{op}: depth must be an int >= 0, got {depth!r}")
    _expect(op, "feature", feature, DType.INT32, 2)
    _expect(op, "threshold", threshold, x.dtype, 2)
    _expect(op, "missing_go_left", missing_left, DType.BOOL, 2)
    _expect(op, "leaf_value", leaf_value, x.dtype, 3)
    n_trees = feature.shape[0]
    for what, t in (("feature", feature), ("threshold", threshold), ("missing_go_left", missing_left)):
        if t.shape != (n_trees, 2**depth - 1):
            raise OpTypeError(f"{op}: {what} must be [T, 2**depth - 1] = [{n_trees}, {2**depth - 1}], got {t}")
    if leaf_value.shape[:2] != (n_trees, 2**depth):
        raise OpTypeError(f"{op}: leaf_value must be [T, 2**depth, n_outputs], got {leaf_value}")
    assert leaf_value.shape[2] is not None
    return (_common_infer(op, attrs, x, leaf_value.shape[2]),)


def _perfect_ref(attrs: Attrs, x: Array, feature: Array, threshold: Array, missing_left: Array,
                 leaf_value: Array) -> tuple[Array, ...]:  # fmt: skip
    depth = int(attrs["depth"])  # type: ignore[arg-type]
    n, n_trees = x.shape[0], feature.shape[0]
    rows = np.arange(n)
    leaves = np.empty((n, n_trees), dtype=np.int64)
    for t in range(n_trees):
        idx = np.zeros(n, dtype=np.int64)
        for _ in range(depth):
            go = _go_left(x[rows, feature[t, idx]], threshold[t, idx], missing_left[t, idx])
            idx = 2 * idx + np.where(go, 1, 2)
        leaves[:, t] = t * (2**depth) + idx - (2**depth - 1)
    flat = leaf_value.reshape(n_trees * 2**depth, leaf_value.shape[2])
    return (finish(attrs, _sum_leaves(flat, leaves), n_trees),)


register(
    OpDef(
        "tree_traverse_perfect",
        OpKind.OPAQUE,
        _perfect_infer,
        _perfect_ref,
        5,
        attrs=COMMON_ATTRS | {"depth"},
        required=frozenset({"depth"}),
        check_values=_feature_check,
        doc="perfect-tree traversal: node i has children 2i+1 (left) and 2i+2; shallower leaves are padded",
    )
)


# -- tree_gemm: the matrix form for very shallow trees ----------------------------------------------------------
def _gemm_infer(attrs: Attrs, types: Sequence[TensorType]) -> tuple[TensorType, ...]:
    op = "tree_gemm"
    x, feature, threshold, missing_left, path, left_counts, leaf_value = types
    _expect(op, "feature", feature, DType.INT32, 1)
    _expect(op, "threshold", threshold, x.dtype, 1)
    _expect(op, "missing_go_left", missing_left, DType.BOOL, 1)
    _expect(op, "path", path, x.dtype, 2)
    _expect(op, "left_counts", left_counts, x.dtype, 1)
    _expect(op, "leaf_value", leaf_value, x.dtype, 2)
    n_splits, n_leaves = path.shape
    if feature.shape[0] != n_splits or threshold.shape[0] != n_splits or missing_left.shape[0] != n_splits:
        raise OpTypeError(f"{op}: feature, threshold and missing_go_left must have the {n_splits} rows of path")
    if left_counts.shape[0] != n_leaves or leaf_value.shape[0] != n_leaves:
        raise OpTypeError(f"{op}: left_counts and leaf_value must have the {n_leaves} columns of path")
    n_trees = attrs["n_trees"]
    if not isinstance(n_trees, int) or n_trees < 1:
        raise OpTypeError(f"{op}: n_trees must be a positive int, got {n_trees!r}")
    assert leaf_value.shape[1] is not None
    return (_common_infer(op, attrs, x, leaf_value.shape[1]),)


def _gemm_ref(attrs: Attrs, x: Array, feature: Array, threshold: Array, missing_left: Array, path: Array,
              left_counts: Array, leaf_value: Array) -> tuple[Array, ...]:  # fmt: skip
    conditions = _go_left(x[:, feature], threshold, missing_left).astype(x.dtype)
    # Counts of 0/1 terms are exact in any order (BLAS is fine); the leaf values' sum is added row by row.
    reached = (conditions @ path == left_counts).astype(x.dtype)
    return (finish(attrs, matmul_rows(reached, leaf_value), int(attrs["n_trees"])),)  # type: ignore[arg-type]


register(
    OpDef(
        "tree_gemm",
        OpKind.OPAQUE,
        _gemm_infer,
        _gemm_ref,
        7,
        attrs=COMMON_ATTRS | {"n_trees"},
        required=frozenset({"n_trees"}),
        check_values=_feature_check,
        doc=(
            "tree_gemm(x, feature[S], threshold[S], missing_go_left[S], path[S, L], left_counts[L], leaf_value[L, O])"
            ": split conditions C [N, S]; leaf l is reached when (C @ path)[l] == left_counts[l]"
        ),
    )
)

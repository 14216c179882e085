"""Tree ensembles on CPU (numba): the node layouts, chosen per ensemble, and the kernels that walk them.

The IR keeps its node tables (:mod:`model_engine.ops.trees`); this module lays a ``tree_traverse_compact`` op's
tables out for the CPU in one of two layouts (:func:`choose_layout`):

- **binned** (the default): the distinct split thresholds of each input column are its bin edges. Each block of
  rows is binned once (a branch-free binary search per value: the bin is 1 + the number of edges below the value,
  NaN is bin 0), then every split is one integer comparison: ``x <= edges[k]`` holds exactly when
  ``bin <= k + 1``. The bin comes from the very comparison the split states, in the graph's dtype, so the
  decision is exact for any input. A node is two int32 words (column | missing side | bin span, and first child):
  8 bytes against 16 (float32) or 32 (float64) for a float record, and a block's bins (uint8 while a column has
  at most 254 edges, else uint16) take an eighth or a quarter of its float64 rows' cache. Missing values need no
  branch: a split reads ``(bin - lo) <= span`` as unsigned numbers, with ``lo = 0`` where NaN goes left (bin 0
  passes) and ``lo = 1`` where it goes right (bin 0 wraps around and fails).
- **records**: float records ``(threshold, feature, first child, missing goes left)`` compared with ``x`` itself;
  the fallback when binning cannot hold the ensemble (a column with more than 65,534 distinct thresholds, more
  than 32,767 columns, or a NaN threshold).

Nodes are renumbered breadth first per tree, so a split's children are adjacent (left, then right) and the next
node is ``first child + 1 - go_left``, without a data-dependent branch. Both layouts walk eight rows through one
tree together, each in its own register (eight independent load chains the CPU overlaps), for at most the tree's
depth (a leaf is its own child) and stop as soon as the eight stand still; below eight rows, eight trees walk
side by side for each row instead. Leaf values are added in tree order: the NumPy reference's summation order.
Hand-written rather than a library's: no maintained library walks these tables with these exact decisions, and
the layout and lane count are measured choices (``docs/converters.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from model_engine.errors import BackendUnavailableError

Array = np.ndarray[Any, Any]
LAYOUTS = ("auto", "binned", "records")
POST_NONE, POST_SIGMOID, POST_SOFTMAX = 0, 1, 2
LANES = 8
MAX_BINNED_EDGES = 65534  # bins 0 (NaN) .. edges + 1 must fit a uint16
MAX_BINNED_FEATURES = 1 << 15
LEAF_WORD = -(1 << 16)  # column 0, lo 0, span 0xFFFF: every bin goes "left", to the leaf itself


@numba.njit(cache=True, nogil=True)
def _finish(raw: Any, out: Any, mean_divisor: float, base: Any, post: int) -> None:
    n, n_out = raw.shape
    for i in range(n):
        for o in range(n_out):
            v = raw[i, o]
            if mean_divisor != 1.0:
                v = v / mean_divisor
            raw[i, o] = v + base[o] if base.shape[0] > 0 else v
        if post == 1:
            z = raw[i, 0]
            s = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
            out[i, 0] = 1.0 - s
            out[i, 1] = s
        elif post == 2:
            m = raw[i, 0]
            for o in range(1, n_out):
                m = max(m, raw[i, o])
            total = 0.0
            for o in range(n_out):
                e = math.exp(raw[i, o] - m)
                out[i, o] = e
                total += e
            for o in range(n_out):
                out[i, o] = out[i, o] / total
        else:
            for o in range(n_out):
                out[i, o] = raw[i, o]


def finish_args(attrs: Any, n_trees: int, dtype: Any) -> tuple[float, Array, int]:
    """(mean divisor, base scores, transform code) of a tree op's attributes, for the kernels' epilogue."""
    transforms = {"none": POST_NONE, "sigmoid": POST_SIGMOID, "softmax": POST_SOFTMAX}
    post = transforms[str(attrs.get("post_transform", "none"))]
    divisor = float(n_trees) if attrs.get("aggregation", "sum") == "mean" else 1.0
    base = attrs.get("base_score")
    return divisor, np.asarray(base if base is not None else (), dtype=dtype), post


_U0, _U1, _U2, _U3 = np.uint64(0), np.uint64(1), np.uint64(2), np.uint64(3)


# -- the two node steps: (nodes, row data, row, node) -> next node -------------------------------------------------
@numba.njit(cache=True, nogil=True, inline="always")
def _step_records(records: Any, x: Any, row: Any, k: Any) -> Any:
    node = np.uint64(k)  # unsigned indices: no negative-index wraparound code in the hot loop
    v = x[np.uint64(row), np.uint64(records[node, _U1])]
    go_left = (v <= records[node, _U0]) | ((v != v) & (records[node, _U3] != 0))
    return np.int64(records[node, _U2]) + 1 - np.int64(go_left)


@numba.njit(cache=True, nogil=True, inline="always")
def _step_binned(nodes: Any, bins: Any, row: Any, k: Any) -> Any:
    node = np.uint64(k)  # unsigned indices: no negative-index wraparound code in the hot loop (17 % measured)
    word = np.int64(nodes[node, _U0])
    shifted = (np.int64(bins[np.uint64(row), np.uint64(word & 0x7FFF)]) - ((word >> 15) & 1)) & 0xFFFFFFFF
    return np.int64(nodes[node, _U1]) + 1 - np.int64(shifted <= ((word >> 16) & 0xFFFF))


# -- the walks, shared by both layouts ------------------------------------------------------------------------------
def _walks(step: Any) -> tuple[Any, Any]:
    """The two walks over one layout's node ``step`` (a factory rather than a function argument, so that numba
    caches the compiled walks on disk): rows through trees, eight rows at a time, and one row through the trees,
    eight trees at a time."""

    @numba.njit(cache=True, nogil=True)
    def rows_through_trees(nodes: Any, data: Any, offset: int, start: int, stop: int, roots: Any, depths: Any,
                           value: Any, raw: Any) -> None:  # fmt: skip
        n_out = value.shape[1]
        full = start + (stop - start) // LANES * LANES
        for t in range(roots.shape[0]):
            root = roots[t]
            for i in range(start, full, LANES):
                r = i - offset  # the row of ``data``
                k0 = k1 = k2 = k3 = k4 = k5 = k6 = k7 = root
                for _ in range(depths[t]):
                    n0 = step(nodes, data, r, k0)
                    n1 = step(nodes, data, r + 1, k1)
                    n2 = step(nodes, data, r + 2, k2)
                    n3 = step(nodes, data, r + 3, k3)
                    n4 = step(nodes, data, r + 4, k4)
                    n5 = step(nodes, data, r + 5, k5)
                    n6 = step(nodes, data, r + 6, k6)
                    n7 = step(nodes, data, r + 7, k7)
                    if (n0 ^ k0) | (n1 ^ k1) | (n2 ^ k2) | (n3 ^ k3) | (n4 ^ k4) | (n5 ^ k5) | (n6 ^ k6) | (
                        n7 ^ k7
                    ) == 0:
                        break
                    k0, k1, k2, k3, k4, k5, k6, k7 = n0, n1, n2, n3, n4, n5, n6, n7
                for o in range(n_out):
                    raw[i, o] += value[k0, o]
                    raw[i + 1, o] += value[k1, o]
                    raw[i + 2, o] += value[k2, o]
                    raw[i + 3, o] += value[k3, o]
                    raw[i + 4, o] += value[k4, o]
                    raw[i + 5, o] += value[k5, o]
                    raw[i + 6, o] += value[k6, o]
                    raw[i + 7, o] += value[k7, o]
            for i in range(full, stop):
                k = root
                for _ in range(depths[t]):
                    k = step(nodes, data, i - offset, k)
                for o in range(n_out):
                    raw[i, o] += value[k, o]

    @numba.njit(cache=True, nogil=True)
    def trees_for_row(nodes: Any, data: Any, r: int, i: int, roots: Any, depths: Any, value: Any, raw: Any) -> None:
        n_out = value.shape[1]
        n_trees = roots.shape[0]
        full = n_trees // LANES * LANES
        for t in range(0, full, LANES):
            k0, k1, k2, k3 = roots[t], roots[t + 1], roots[t + 2], roots[t + 3]
            k4, k5, k6, k7 = roots[t + 4], roots[t + 5], roots[t + 6], roots[t + 7]
            depth = 0
            for d in range(t, t + LANES):
                depth = max(depth, depths[d])
            for _ in range(depth):
                n0 = step(nodes, data, r, k0)
                n1 = step(nodes, data, r, k1)
                n2 = step(nodes, data, r, k2)
                n3 = step(nodes, data, r, k3)
                n4 = step(nodes, data, r, k4)
                n5 = step(nodes, data, r, k5)
                n6 = step(nodes, data, r, k6)
                n7 = step(nodes, data, r, k7)
                moved = (n0 ^ k0) | (n1 ^ k1) | (n2 ^ k2) | (n3 ^ k3) | (n4 ^ k4) | (n5 ^ k5) | (n6 ^ k6) | (n7 ^ k7)
                if moved == 0:  # all eight at their leaves
                    break
                k0, k1, k2, k3, k4, k5, k6, k7 = n0, n1, n2, n3, n4, n5, n6, n7
            for o in range(n_out):  # tree order, as everywhere
                raw[i, o] += value[k0, o]
                raw[i, o] += value[k1, o]
                raw[i, o] += value[k2, o]
                raw[i, o] += value[k3, o]
                raw[i, o] += value[k4, o]
                raw[i, o] += value[k5, o]
                raw[i, o] += value[k6, o]
                raw[i, o] += value[k7, o]
        for t in range(full, n_trees):
            k = roots[t]
            for _ in range(depths[t]):
                k = step(nodes, data, r, k)
            for o in range(n_out):
                raw[i, o] += value[k, o]

    return rows_through_trees, trees_for_row


_records_rows, _records_row = _walks(_step_records)
_binned_rows, _binned_row = _walks(_step_binned)


# -- perfect trees (tree_traverse_perfect): implicit children ---------------------------------------------------
@numba.njit(cache=True, nogil=True)
def perfect_trees(x: Any, feature: Any, threshold: Any, missing_left: Any, leaf_value: Any, depth: int,
                  row_block: int, divisor: float, base: Any, post: int, out: Any) -> None:  # fmt: skip
    """Implicit-children traversal; LANES rows step down a tree in lockstep (a fixed trip count: depth), or,
    below LANES rows, LANES trees side by side for each row."""
    n = x.shape[0]
    n_trees = feature.shape[0]
    n_out = leaf_value.shape[2]
    first_leaf = (1 << depth) - 1
    idx = np.zeros(LANES, dtype=np.int64)
    raw = np.zeros((n, n_out), dtype=out.dtype)
    if n < LANES:
        for i in range(n):
            for t0 in range(0, n_trees, LANES):
                width = min(LANES, n_trees - t0)
                for r in range(width):
                    idx[r] = 0
                for _ in range(depth):
                    for r in range(width):
                        k = idx[r]
                        v = x[i, feature[t0 + r, k]]
                        go_left = (v <= threshold[t0 + r, k]) | ((v != v) & missing_left[t0 + r, k])
                        idx[r] = 2 * k + 2 - np.int64(go_left)
                for r in range(width):  # tree order, as everywhere
                    for o in range(n_out):
                        raw[i, o] += leaf_value[t0 + r, idx[r] - first_leaf, o]
        _finish(raw, out, divisor, base, post)
        return
    for start in range(0, n, row_block):
        stop = min(start + row_block, n)
        for t in range(n_trees):
            for i in range(start, stop, LANES):
                lanes = min(LANES, stop - i)
                for r in range(lanes):
                    idx[r] = 0
                for _ in range(depth):
                    for r in range(lanes):
                        k = idx[r]
                        v = x[i + r, feature[t, k]]
                        go_left = (v <= threshold[t, k]) | ((v != v) & missing_left[t, k])
                        idx[r] = 2 * k + 2 - np.int64(go_left)
                for r in range(lanes):
                    leaf = idx[r] - first_leaf
                    for o in range(n_out):
                        raw[i + r, o] += leaf_value[t, leaf, o]
    _finish(raw, out, divisor, base, post)


# -- the records layout ---------------------------------------------------------------------------------------------
@numba.njit(cache=True, nogil=True)
def compact_trees(x: Any, records: Any, value: Any, roots: Any, depths: Any, row_block: int, divisor: float,
                  base: Any, post: int, out: Any) -> None:  # fmt: skip
    """Walk the float records (:func:`pack_records`) with ``x`` itself, ``row_block`` rows through each tree."""
    n = x.shape[0]
    raw = np.zeros((n, value.shape[1]), dtype=out.dtype)
    if n < LANES:
        for i in range(n):
            _records_row(records, x, i, i, roots, depths, value, raw)
    else:
        for start in range(0, n, row_block):
            stop = min(start + row_block, n)
            _records_rows(records, x, 0, start, stop, roots, depths, value, raw)
    _finish(raw, out, divisor, base, post)


# -- the binned layout ----------------------------------------------------------------------------------------------
@numba.njit(cache=True, nogil=True)
def _bin_rows(x: Any, start: int, stop: int, edges: Any, starts: Any, bins: Any) -> None:
    """``bins[i - start, f]`` = 1 + the number of column f's edges below ``x[i, f]`` (0 for NaN)."""
    for f in range(starts.shape[0] - 1):
        first = starts[f]
        count = starts[f + 1] - first
        if count == 0:
            continue
        for i in range(start, stop):
            v = x[i, f]
            if v != v:
                bins[i - start, f] = 0
                continue
            base, size = first, count  # branch-free lower bound: a fixed trip count per column
            while size > 1:
                half = size >> 1
                base += half if edges[base + half - 1] < v else 0
                size -= half
            bins[i - start, f] = base - first + 1 + (1 if edges[base] < v else 0)


@numba.njit(cache=True, nogil=True)
def binned_trees(x: Any, edges: Any, starts: Any, nodes: Any, value: Any, roots: Any, depths: Any, bins_like: Any,
                 row_block: int, divisor: float, base: Any, post: int, out: Any) -> None:  # fmt: skip
    """Bin each block of ``row_block`` rows (bins of ``bins_like``'s dtype), then walk the binned nodes."""
    n = x.shape[0]
    raw = np.zeros((n, value.shape[1]), dtype=out.dtype)
    bins = np.empty((min(row_block, max(n, 1)), starts.shape[0] - 1), dtype=bins_like.dtype)
    if n < LANES:
        _bin_rows(x, 0, n, edges, starts, bins)
        for i in range(n):
            _binned_row(nodes, bins, i, i, roots, depths, value, raw)
    else:
        for start in range(0, n, row_block):
            stop = min(start + row_block, n)
            _bin_rows(x, start, stop, edges, starts, bins)
            _binned_rows(nodes, bins, start, start, stop, roots, depths, value, raw)
    _finish(raw, out, divisor, base, post)


# -- building the layouts -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BreadthFirst:
    """Nodes renumbered breadth first per tree: ``order[new] = old``; ``first_child[new]`` (new ids, the right
    child follows it; -1 for a leaf), the new roots and each tree's depth."""

    order: Array
    first_child: Array
    roots: Array
    depths: Array

    @classmethod
    def of(cls, left: Array, right: Array, roots: Array) -> BreadthFirst:
        order = np.empty(len(left), dtype=np.int64)
        first_child = np.full(len(left), -1, dtype=np.int64)
        new_roots = np.zeros(len(roots), dtype=np.int64)
        depths = np.zeros(len(roots), dtype=np.int64)
        left_of, right_of = left.tolist(), right.tolist()
        next_id = 0
        for t, root in enumerate(roots.tolist()):
            new_roots[t] = next_id
            level: list[int] = [int(root)]
            while level:
                start = next_id
                order[start : start + len(level)] = level
                next_id += len(level)
                below: list[int] = []
                for j, old in enumerate(level):
                    if left_of[old] >= 0:
                        first_child[start + j] = next_id + len(below)
                        below += (left_of[old], right_of[old])
                if below:
                    depths[t] += 1
                level = below
        return cls(order[:next_id], first_child[:next_id], new_roots, depths)


def pack_records(feature: Array, threshold: Array, left: Array, right: Array, value: Array, missing_left: Array,
                 roots: Array) -> tuple[Array, Array, Array, Array]:  # fmt: skip
    """The records layout of node tables (in the op's input order): one record ``(threshold, feature, first child,
    missing goes left)`` per node in the threshold's dtype (ids stay exact below 2**24); a leaf is
    ``(+inf, 0, itself, 1)``. Returns the records, the values in the new order, the new roots and tree depths."""
    if len(left) >= 1 << 24:
        raise BackendUnavailableError(
            f"the numba backend packs node ids into float32 records, exact below 2**24 nodes; this ensemble has "
            f"{len(left)} nodes: score it with backend 'numpy'"
        )
    bfs = BreadthFirst.of(left, right, roots)
    old = bfs.order
    leaf = bfs.first_child < 0
    records = np.empty((len(old), 4), dtype=threshold.dtype)
    records[:, 0] = np.where(leaf, np.inf, threshold[old])
    records[:, 1] = np.where(leaf, 0, feature[old])
    records[:, 2] = np.where(leaf, np.arange(len(old)), bfs.first_child)
    records[:, 3] = leaf | missing_left[old].astype(bool)
    return records, np.ascontiguousarray(value[old]), bfs.roots, bfs.depths


@dataclass(frozen=True)
class BinnedLayout:
    """The binned layout (see the module docstring): column ``f``'s edges are ``edges[starts[f]:starts[f + 1]]``;
    ``nodes`` [M, 2] int32; ``bins_like`` an empty array of the bins' dtype."""

    edges: Array
    starts: Array
    nodes: Array
    value: Array
    roots: Array
    depths: Array
    bins_like: Array


def binning_problem(feature: Array, threshold: Array, left: Array, n_features: int) -> str | None:
    """Why the binned layout cannot hold these node tables, or None when it can."""
    split = left >= 0
    if n_features > MAX_BINNED_FEATURES:
        return f"{n_features} input columns (the binned nodes hold column numbers below {MAX_BINNED_FEATURES})"
    if np.isnan(threshold[split]).any():
        return "a split threshold is NaN"
    counts = [len(np.unique(threshold[split & (feature == f)])) for f in np.unique(feature[split]).tolist()]
    if max(counts, default=0) > MAX_BINNED_EDGES:
        return f"a column has {max(counts)} distinct thresholds (the bins hold {MAX_BINNED_EDGES})"
    return None


def pack_binned(feature: Array, threshold: Array, left: Array, right: Array, value: Array, missing_left: Array,
                roots: Array, *, n_features: int) -> BinnedLayout:  # fmt: skip
    """The binned layout of node tables (in the op's input order; check :func:`binning_problem` first)."""
    problem = binning_problem(feature, threshold, left, n_features)
    if problem is not None:
        raise ValueError(f"the binned tree layout cannot hold this ensemble: {problem}")
    split = left >= 0
    per_column = [np.unique(threshold[split & (feature == f)]) for f in range(n_features)]
    starts = np.zeros(n_features + 1, dtype=np.int64)
    starts[1:] = np.cumsum([len(e) for e in per_column])
    edges = np.concatenate([np.zeros(0, dtype=threshold.dtype), *per_column]).astype(threshold.dtype)
    bfs = BreadthFirst.of(left, right, roots)
    old = bfs.order
    is_split = bfs.first_child >= 0
    column = np.where(is_split, feature[old], 0).astype(np.int64)
    # the edge index k of each split's own threshold: x <= edges[k]  <=>  bin <= k + 1
    k = np.zeros(len(old), dtype=np.int64)
    for f, column_edges in enumerate(per_column):
        here = is_split & (column == f)
        k[here] = np.searchsorted(column_edges, threshold[old[here]])
    lo = np.where(missing_left[old], 0, 1)
    span = k + 1 - lo
    word = (span << 16) | (lo << 15) | column
    words = np.where(is_split, word, LEAF_WORD & 0xFFFFFFFF)
    nodes = np.empty((len(old), 2), dtype=np.int32)
    nodes[:, 0] = words.astype(np.uint32).view(np.int32)
    nodes[:, 1] = np.where(is_split, bfs.first_child, np.arange(len(old)))
    widest = int(np.diff(starts).max(initial=0))
    bins_dtype = np.uint8 if widest <= 254 else np.uint16
    return BinnedLayout(edges, starts, nodes, np.ascontiguousarray(value[old]), bfs.roots, bfs.depths,
                        np.zeros(0, dtype=bins_dtype))  # fmt: skip


def choose_layout(feature: Array, threshold: Array, left: Array, n_features: int, layout: str = "auto") -> str:
    """ "binned" whenever binning holds the ensemble (measured faster on every model of the CPU benchmark), else
    "records"; a forced layout is checked."""
    if layout not in LAYOUTS:
        raise ValueError(f"tree layout must be one of {LAYOUTS}, got {layout!r}")
    if layout == "records":
        return layout
    problem = binning_problem(feature, threshold, left, n_features)
    if problem is None:
        return "binned"
    if layout == "binned":
        raise ValueError(f"the binned tree layout cannot hold this ensemble: {problem}")
    return "records"

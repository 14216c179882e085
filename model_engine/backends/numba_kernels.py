"""Compiled CPU kernels (numba): tree traversal for the three tree layouts' hot loops, and fused elementwise
programs turned into one loop each.

Tree kernels walk a block of rows through one tree at a time, so a tree's tables stay in cache while the block
passes, and add leaf values in tree order: the same summation order as the NumPy reference.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numba
import numpy as np

from model_engine.errors import BackendUnavailableError
from model_engine.ir.types import DType
from model_engine.ops.fused import Instruction

ROW_BLOCK = 64

POST_NONE, POST_SIGMOID, POST_SOFTMAX = 0, 1, 2


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


LANES = 8  # rows walked through a tree together: independent load chains the CPU overlaps


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


@numba.njit(cache=True, nogil=True)
def compact_trees(x: Any, records: Any, value: Any, roots: Any, depths: Any, row_block: int, divisor: float,
                  base: Any, post: int, out: Any) -> None:  # fmt: skip
    """Explicit-children traversal over packed node records (see :func:`pack_records`): one cache line holds
    whole nodes, the children of a split are adjacent, and the decision picks the child arithmetically, so there
    is no data-dependent branch. LANES rows step down a tree together for the tree's depth (leaves are their own
    child); below LANES rows, LANES trees step side by side for each row instead."""
    n = x.shape[0]
    n_out = value.shape[1]
    lane = np.zeros(LANES, dtype=np.int64)
    raw = np.zeros((n, n_out), dtype=out.dtype)
    n_trees = roots.shape[0]
    if n < LANES:
        # too few rows to fill the lanes: walk LANES trees side by side for each row instead
        for i in range(n):
            for t0 in range(0, n_trees, LANES):
                width = min(LANES, n_trees - t0)
                depth = 0
                for r in range(width):
                    lane[r] = roots[t0 + r]
                    depth = max(depth, depths[t0 + r])
                for _ in range(depth):
                    for r in range(width):
                        k = lane[r]
                        v = x[i, np.int64(records[k, 1])]
                        go_left = (v <= records[k, 0]) | ((v != v) & (records[k, 3] != 0))
                        lane[r] = np.int64(records[k, 2]) + 1 - np.int64(go_left)
                for r in range(width):  # tree order, as everywhere
                    for o in range(n_out):
                        raw[i, o] += value[lane[r], o]
        _finish(raw, out, divisor, base, post)
        return
    for start in range(0, n, row_block):
        stop = min(start + row_block, n)
        for t in range(n_trees):
            root = roots[t]
            depth = depths[t]
            for i in range(start, stop, LANES):
                lanes = min(LANES, stop - i)
                for r in range(lanes):
                    lane[r] = root
                for _ in range(depth):
                    for r in range(lanes):
                        k = lane[r]
                        v = x[i + r, np.int64(records[k, 1])]
                        go_left = (v <= records[k, 0]) | ((v != v) & (records[k, 3] != 0))
                        lane[r] = np.int64(records[k, 2]) + 1 - np.int64(go_left)
                for r in range(lanes):
                    for o in range(n_out):
                        raw[i + r, o] += value[lane[r], o]
    _finish(raw, out, divisor, base, post)


def pack_records(feature: Any, threshold: Any, left: Any, right: Any, missing_left: Any, value: Any,
                 roots: Any) -> tuple[Any, Any, Any, Any]:  # fmt: skip
    """Renumber the nodes so a split's children are adjacent (breadth first), and pack each node into one record
    ``(threshold, feature, left child, missing goes left)`` of the threshold's dtype (ids stay exact below 2**24).
    A leaf is ``(+inf, 0, itself, 1)``: every value goes "left", to the leaf itself. Returns the records, the
    values in the new order, the new roots and each tree's depth."""
    if len(left) >= 1 << 24:
        raise BackendUnavailableError(
            f"the numba backend packs node ids into float32 records, exact below 2**24 nodes; this ensemble has "
            f"{len(left)} nodes: score it with backend 'numpy'"
        )
    dtype = threshold.dtype
    records = np.zeros((len(left), 4), dtype=dtype)
    new_value = np.zeros_like(value)
    new_roots = np.zeros(len(roots), dtype=np.int64)
    depths = np.zeros(len(roots), dtype=np.int64)
    next_id = 0
    for t, root in enumerate(roots.tolist()):
        new_roots[t] = next_id
        queue = [(int(root), next_id, 0)]
        next_id += 1
        head = 0
        while head < len(queue):
            old, new, depth = queue[head]
            head += 1
            new_value[new] = value[old]
            if left[old] < 0:
                records[new] = (np.inf, 0, new, 1)
                depths[t] = max(depths[t], depth)
            else:
                records[new] = (threshold[old], feature[old], next_id, 1 if missing_left[old] else 0)
                queue.append((int(left[old]), next_id, depth + 1))
                queue.append((int(right[old]), next_id + 1, depth + 1))
                next_id += 2
    return records, new_value, new_roots, depths


def finish_args(attrs: Any, n_trees: int, dtype: Any) -> tuple[float, Any, int]:
    """(mean divisor, base scores, transform code) of a tree op's attributes, for the kernels' epilogue."""
    transforms = {"none": POST_NONE, "sigmoid": POST_SIGMOID, "softmax": POST_SOFTMAX}
    post = transforms[str(attrs.get("post_transform", "none"))]
    divisor = float(n_trees) if attrs.get("aggregation", "sum") == "mean" else 1.0
    base = attrs.get("base_score")
    return divisor, np.asarray(base if base is not None else (), dtype=dtype), post


@numba.njit(cache=True, nogil=True)
def binary_head(p: Any, c: float, out: Any) -> None:
    """``concat(c - p, p)``: the two-class probabilities from the positive one."""
    for i in range(p.shape[0]):
        out[i, 0] = c - p[i, 0]
        out[i, 1] = p[i, 0]


# -- fused elementwise programs -> generated loops --------------------------------------------------------------
_TEMPLATES: dict[str, str] = {
    "neg": "(-{0})",
    "abs": "abs({0})",
    "exp": "math.exp({0})",
    "log": "_log({0})",
    "sqrt": "_sqrt({0})",
    "tanh": "math.tanh({0})",
    "sigmoid": "_sigmoid({0})",
    "relu": "({0} if ({0} > 0 or {0} != {0}) else 0.0)",
    "add": "({0} + {1})",
    "sub": "({0} - {1})",
    "mul": "({0} * {1})",
    "div": "_div({0}, {1})",
    "maximum": "({0} if ({0} >= {1} or {0} != {0}) else {1})",
    "minimum": "({0} if ({0} <= {1} or {0} != {0}) else {1})",
    "less": "({0} < {1})",
    "less_equal": "({0} <= {1})",
    "greater": "({0} > {1})",
    "greater_equal": "({0} >= {1})",
    "equal": "({0} == {1})",
    "isnan": "({0} != {0})",
    "where": "({1} if {0} else {2})",
}


@numba.njit(cache=True, inline="always")
def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@numba.njit(cache=True, inline="always")
def _log(z: float) -> float:
    if z > 0:
        return math.log(z)
    if z == 0:
        return -math.inf
    return math.nan


@numba.njit(cache=True, inline="always")
def _sqrt(z: float) -> float:
    return math.sqrt(z) if z >= 0 else math.nan


@numba.njit(cache=True, inline="always")
def _div(a: float, b: float) -> float:
    if b != 0:
        return a / b
    if a != a or a == 0:
        return math.nan
    return math.inf if a > 0 else -math.inf


def _immediate(value: Any, dtype: str) -> str:
    if dtype == DType.BOOL.value:
        return "True" if value else "False"
    number = float(value)
    if math.isnan(number):
        return "math.nan"
    if math.isinf(number):
        return "math.inf" if number > 0 else "(-math.inf)"
    return repr(number) if DType(dtype).is_float else repr(int(number))


_INDEX = {"full": "a{0}[i, j]", "col": "a{0}[i, 0]", "row": "a{0}[j]", "scalar": "a{0}[0]"}
"""How a fused kernel reads each input of an [N, K] output: same shape, one column, one row, one value."""


def program_source(program: Sequence[Instruction], kinds: Sequence[str]) -> str:
    """Python source of a loop evaluating a (validated) fused program; ops come only from the fixed templates."""
    n_inputs = len(kinds)
    args = ", ".join(f"a{i}" for i in range(n_inputs))
    lines = [f"def kernel(out, {args}):", "    n, k = out.shape"]
    lines += ["    for i in range(n):", "        for j in range(k):"]
    lines += [f"            r{i} = {_INDEX[kind].format(i)}" for i, kind in enumerate(kinds)]
    for k, (op, operands) in enumerate(program):
        parts = [f"r{a[1]}" if a[0] == "r" else _immediate(a[1], a[2]) for a in operands]
        lines.append(f"            r{n_inputs + k} = {_TEMPLATES[op].format(*parts)}")
    lines.append(f"            out[i, j] = r{n_inputs + len(program) - 1}")
    return "\n".join(lines) + "\n"


_FUSED_CACHE: dict[str, Callable[..., None]] = {}


def fused_kernel(program: Sequence[Instruction], kinds: Sequence[str]) -> Callable[..., None]:
    """The compiled loop of a program for inputs read as ``kinds`` (compiled once per distinct loop)."""
    source = program_source(program, kinds)
    kernel = _FUSED_CACHE.get(source)
    if kernel is None:
        namespace: dict[str, Any] = {
            "math": math, "_sigmoid": _sigmoid, "_log": _log, "_sqrt": _sqrt, "_div": _div,
        }  # fmt: skip
        exec(compile(source, "<fused_elementwise>", "exec"), namespace)  # the source is built from templates only
        kernel = numba.njit(nogil=True)(namespace["kernel"])
        _FUSED_CACHE[source] = kernel
    return kernel

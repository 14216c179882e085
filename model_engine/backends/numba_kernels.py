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
            raw[i, o] = v + base[o]
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


@numba.njit(cache=True, nogil=True)
def perfect_raw(x: Any, feature: Any, threshold: Any, missing_left: Any, leaf_value: Any, depth: int,
                raw: Any) -> None:  # fmt: skip
    n = x.shape[0]
    n_trees = feature.shape[0]
    n_out = leaf_value.shape[2]
    first_leaf = (1 << depth) - 1
    raw[:, :] = 0
    for start in range(0, n, ROW_BLOCK):
        stop = min(start + ROW_BLOCK, n)
        for t in range(n_trees):
            for i in range(start, stop):
                idx = 0
                for _ in range(depth):
                    v = x[i, feature[t, idx]]
                    idx = 2 * idx + 1 if v <= threshold[t, idx] or (v != v and missing_left[t, idx]) else 2 * idx + 2
                leaf = idx - first_leaf
                for o in range(n_out):
                    raw[i, o] += leaf_value[t, leaf, o]


@numba.njit(cache=True, nogil=True)
def compact_raw(x: Any, feature: Any, threshold: Any, left: Any, right: Any, value: Any, missing_left: Any,
                roots: Any, raw: Any) -> None:  # fmt: skip
    n = x.shape[0]
    n_out = value.shape[1]
    raw[:, :] = 0
    for start in range(0, n, ROW_BLOCK):
        stop = min(start + ROW_BLOCK, n)
        for t in range(roots.shape[0]):
            root = roots[t]
            for i in range(start, stop):
                node = root
                while left[node] >= 0:
                    v = x[i, feature[node]]
                    node = left[node] if v <= threshold[node] or (v != v and missing_left[node]) else right[node]
                for o in range(n_out):
                    raw[i, o] += value[node, o]


def finish(raw: Any, out: Any, attrs: Any, n_trees: int) -> None:
    """Aggregation, base score and transform of a tree op (compiled)."""
    post = {"none": POST_NONE, "sigmoid": POST_SIGMOID, "softmax": POST_SOFTMAX}[
        str(attrs.get("post_transform", "none"))
    ]
    divisor = float(n_trees) if attrs.get("aggregation", "sum") == "mean" else 1.0
    base = np.asarray(attrs.get("base_score") or (0.0,) * raw.shape[1], dtype=raw.dtype)
    _finish(raw, out, divisor, base, post)


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


def program_source(program: Sequence[Instruction], n_inputs: int) -> str:
    """Python source of a loop evaluating a (validated) fused program; ops come only from the fixed templates."""
    args = ", ".join(f"a{i}" for i in range(n_inputs))
    lines = [
        f"def kernel(out, {args}):",
        "    n, k = out.shape",
        "    for i in range(n):",
        "        for j in range(k):",
    ]
    lines += [f"            r{i} = a{i}[i, j]" for i in range(n_inputs)]
    for k, (op, operands) in enumerate(program):
        parts = [f"r{a[1]}" if a[0] == "r" else _immediate(a[1], a[2]) for a in operands]
        lines.append(f"            r{n_inputs + k} = {_TEMPLATES[op].format(*parts)}")
    lines.append(f"            out[i, j] = r{n_inputs + len(program) - 1}")
    return "\n".join(lines) + "\n"


_FUSED_CACHE: dict[str, Callable[..., None]] = {}


def fused_kernel(program: Sequence[Instruction], n_inputs: int) -> Callable[..., None]:
    """The compiled loop of a program (compiled once per distinct program in a process)."""
    source = program_source(program, n_inputs)
    kernel = _FUSED_CACHE.get(source)
    if kernel is None:
        namespace: dict[str, Any] = {
            "math": math, "_sigmoid": _sigmoid, "_log": _log, "_sqrt": _sqrt, "_div": _div,
        }  # fmt: skip
        exec(compile(source, "<fused_elementwise>", "exec"), namespace)  # the source is built from templates only
        kernel = numba.njit(nogil=True)(namespace["kernel"])
        _FUSED_CACHE[source] = kernel
    return kernel

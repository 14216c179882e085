"""Compiled CPU kernels (numba): the two-class head, and fused elementwise programs turned into one loop each
(the tree kernels are :mod:`model_engine.backends.numba_trees`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numba

from model_engine.ir.types import DType
from model_engine.ops.fused import Instruction


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

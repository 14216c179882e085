"""Elementwise ops: unary maths, broadcasting binary arithmetic and comparisons, ``where`` and ``cast``.

These are also the instructions a ``fused_elementwise`` program may contain (see :mod:`.fused`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from model_engine.errors import OpTypeError
from model_engine.ir.types import DType, TensorType, broadcast_shapes
from model_engine.ops.registry import Array, Attrs, OpDef, OpKind, register


def sigmoid(x: Array) -> Array:
    """The logistic function without overflow for large |x| (same formula as SciPy's ``expit``)."""
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


UNARY: dict[str, Callable[[Array], Array]] = {
    "neg": np.negative,
    "abs": np.abs,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "tanh": np.tanh,
    "sigmoid": sigmoid,
    "relu": lambda x: np.maximum(x, np.zeros((), dtype=x.dtype)),
}
"""Float -> float unary ops."""

BINARY: dict[str, Callable[[Array, Array], Array]] = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.divide,
    "maximum": np.maximum,
    "minimum": np.minimum,
}
"""Broadcasting binary arithmetic on two inputs of the same dtype."""

COMPARE: dict[str, Callable[[Array, Array], Array]] = {
    "less": np.less,
    "less_equal": np.less_equal,
    "greater": np.greater,
    "greater_equal": np.greater_equal,
    "equal": np.equal,
}
"""Broadcasting comparisons giving bool."""

PREDICATE: dict[str, Callable[[Array], Array]] = {"isnan": np.isnan}
"""Float -> bool unary tests."""

TERNARY = frozenset({"where"})
"""Elementwise ops of three inputs."""


def _unary_infer(name: str, *, result: DType | None) -> Callable[[Attrs, Sequence[TensorType]], tuple[TensorType, ...]]:
    def infer(attrs: Attrs, types: Sequence[TensorType]) -> tuple[TensorType, ...]:
        (t,) = types
        if not t.dtype.is_float:
            raise OpTypeError(f"{name} needs a float input, got {t}")
        return (t.with_dtype(result or t.dtype),)

    return infer


def _binary_infer(
    name: str, *, result: DType | None
) -> Callable[[Attrs, Sequence[TensorType]], tuple[TensorType, ...]]:
    def infer(attrs: Attrs, types: Sequence[TensorType]) -> tuple[TensorType, ...]:
        a, b = types
        if a.dtype is not b.dtype:
            raise OpTypeError(f"{name} needs inputs of one dtype, got {a} and {b}; insert a cast")
        if a.dtype is DType.BOOL:
            raise OpTypeError(f"{name} is not defined on bool inputs")
        return (TensorType(result or a.dtype, broadcast_shapes(a.shape, b.shape)),)

    return infer


def _kernel(fn: Callable[..., Array]) -> Callable[..., tuple[Array, ...]]:
    return lambda attrs, *xs: (fn(*xs),)


for _table, _arity, _result, _doc in (
    (UNARY, 1, None, "elementwise {} of a float tensor"),
    (PREDICATE, 1, DType.BOOL, "elementwise test {} of a float tensor, giving bool"),
    (BINARY, 2, None, "broadcasting {} of two tensors of one dtype"),
    (COMPARE, 2, DType.BOOL, "broadcasting comparison {}, giving bool"),
):
    _infer = _unary_infer if _arity == 1 else _binary_infer
    for _name, _fn in _table.items():
        _typed = _infer(_name, result=_result)
        register(OpDef(_name, OpKind.ELEMENTWISE, _typed, _kernel(_fn), _arity, doc=_doc.format(_name)))


def _where_infer(attrs: Attrs, types: Sequence[TensorType]) -> tuple[TensorType, ...]:
    cond, a, b = types
    if cond.dtype is not DType.BOOL:
        raise OpTypeError(f"where needs a bool condition, got {cond}")
    if a.dtype is not b.dtype:
        raise OpTypeError(f"where needs both branches of one dtype, got {a} and {b}")
    return (TensorType(a.dtype, broadcast_shapes(cond.shape, broadcast_shapes(a.shape, b.shape))),)


def _where_ref(attrs: Attrs, cond: Array, a: Array, b: Array) -> tuple[Array, ...]:
    return (np.where(cond, a, b),)


register(
    OpDef(
        "where",
        OpKind.ELEMENTWISE,
        _where_infer,
        _where_ref,
        3,
        doc="where(cond, a, b): a where cond holds, else b (broadcasting)",
    )
)


def _cast_infer(attrs: Attrs, types: Sequence[TensorType]) -> tuple[TensorType, ...]:
    (t,) = types
    try:
        target = DType(str(attrs["to"]))
    except ValueError:
        raise OpTypeError(f"cast: unknown target dtype {attrs['to']!r}") from None
    return (t.with_dtype(target),)


def cast_into(x: Array, out: Array) -> None:
    """Convert ``x``'s elements to ``out``'s dtype in place: NumPy's conversion (as ``astype``), so floats round
    to nearest, float -> int truncates toward zero and bool -> number gives 0 or 1. The ``cast`` op's one
    definition: its reference kernel and every backend that writes into a preallocated buffer call it."""
    np.copyto(out, x, casting="unsafe")


def _cast_ref(attrs: Attrs, x: Array) -> tuple[Array, ...]:
    out = np.empty(x.shape, dtype=DType(str(attrs["to"])).numpy)
    cast_into(x, out)
    return (out,)


register(
    OpDef(
        "cast",
        OpKind.ELEMENTWISE,
        _cast_infer,
        _cast_ref,
        1,
        attrs=frozenset({"to"}),
        required=frozenset({"to"}),
        doc="cast(x, to=dtype): convert the element type (float -> int truncates toward zero)",
    )
)

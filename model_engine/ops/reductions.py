"""Reductions along the feature axis (axis 1, keeping it): sum, max, and the softmax over it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from model_engine.errors import OpTypeError
from model_engine.ir.types import TensorType
from model_engine.ops.registry import Array, Attrs, InferFn, OpDef, OpKind, register


def _reduce_infer(op: str, *, keep_width: bool) -> InferFn:
    def infer(attrs: Attrs, types: Sequence[TensorType]) -> tuple[TensorType, ...]:
        (t,) = types
        if t.rank != 2 or not t.dtype.is_float:
            raise OpTypeError(f"{op} needs a float matrix [N, K], got {t}")
        return (t if keep_width else TensorType(t.dtype, (t.shape[0], 1)),)

    return infer


def softmax(x: Array) -> Array:
    """Row softmax, shifted by the row maximum as scikit-learn does."""
    shifted = x - x.max(axis=1, keepdims=True)
    ex = np.exp(shifted)
    out: Array = ex / ex.sum(axis=1, keepdims=True)
    return out


register(
    OpDef(
        "reduce_sum",
        OpKind.REDUCTION,
        _reduce_infer("reduce_sum", keep_width=False),
        lambda attrs, x: (x.sum(axis=1, keepdims=True),),
        1,
        doc="reduce_sum(x[N, K]) -> [N, 1]",
    )
)
register(
    OpDef(
        "reduce_max",
        OpKind.REDUCTION,
        _reduce_infer("reduce_max", keep_width=False),
        lambda attrs, x: (x.max(axis=1, keepdims=True),),
        1,
        doc="reduce_max(x[N, K]) -> [N, 1]",
    )
)
register(
    OpDef(
        "softmax",
        OpKind.REDUCTION,
        _reduce_infer("softmax", keep_width=True),
        lambda attrs, x: (softmax(x),),
        1,
        doc="softmax(x[N, K]) over each row",
    )
)

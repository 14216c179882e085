"""Matrix products."""

from __future__ import annotations

from collections.abc import Sequence

from model_engine.errors import OpTypeError
from model_engine.ir.types import TensorType
from model_engine.ops.registry import Attrs, OpDef, OpKind, register


def _matmul_infer(attrs: Attrs, types: Sequence[TensorType]) -> tuple[TensorType, ...]:
    a, b = types
    if a.rank != 2 or b.rank != 2 or b.batched:
        raise OpTypeError(f"matmul needs a [N, K] matrix times a [K, M] matrix, got {a} and {b}")
    if a.dtype is not b.dtype or not a.dtype.is_float:
        raise OpTypeError(f"matmul needs two float matrices of one dtype, got {a} and {b}")
    if a.shape[1] != b.shape[0]:
        raise OpTypeError(f"matmul: inner dimensions differ, {a} @ {b}")
    return (TensorType(a.dtype, (a.shape[0], b.shape[1])),)


register(
    OpDef(
        "matmul",
        OpKind.MATMUL,
        _matmul_infer,
        lambda attrs, a, b: (a @ b,),
        2,
        doc="matmul(a[N, K], b[K, M]) -> [N, M]",
    )
)

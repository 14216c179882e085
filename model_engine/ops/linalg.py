"""Matrix products.

A row's product never depends on the other rows of its batch: NumPy's own sum of products (``einsum``, which
adds the terms of each output in one fixed order) rather than BLAS, whose kernels change with the batch's shape
and round a row differently alone than among others. The engine's promise is per row: the same artifact and
the same input give the same score, bit for bit, on one backend, however transactions are batched (an audited
decision is replayed alone).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

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


def matmul_rows(a: Any, b: Any, out: Any = None) -> Any:
    """``a @ b`` computed row by row in a fixed order (see the module docstring)."""
    return np.einsum("nk,km->nm", a, b, out=out)


register(
    OpDef(
        "matmul",
        OpKind.MATMUL,
        _matmul_infer,
        lambda attrs, a, b: (matmul_rows(a, b),),
        2,
        doc="matmul(a[N, K], b[K, M]) -> [N, M]",
    )
)

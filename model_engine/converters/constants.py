"""Constants in the graph's float dtype, with the rounding each use needs to decide exactly like float64."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from model_engine.ir import DType, Value
from model_engine.ops import GraphBuilder, float32_thresholds


def float_dtype(builder: GraphBuilder, x: Value) -> DType:
    """The float dtype the graph computes in (that of its input)."""
    return builder.type_of(x).dtype


def weights(builder: GraphBuilder, array: npt.ArrayLike, dtype: DType, name: str) -> Value:
    """A float constant cast to ``dtype`` (round to nearest: used where a rounding error is a numeric error)."""
    return builder.constant(np.asarray(array, dtype=np.float64), name=name, dtype=dtype)


def thresholds_at_most(builder: GraphBuilder, array: npt.ArrayLike, dtype: DType, name: str) -> Value:
    """Thresholds for ``x <= t``: cast toward minus infinity, so every float32 ``x`` decides as against float64."""
    t = np.asarray(array, dtype=np.float64)
    data: Any = float32_thresholds(t) if dtype is DType.FLOAT32 else t
    return builder.constant(data, name=name, dtype=dtype)


def thresholds_at_least(builder: GraphBuilder, array: npt.ArrayLike, dtype: DType, name: str) -> Value:
    """Edges for ``x >= e``: cast toward plus infinity, the mirror of :func:`thresholds_at_most`."""
    e = np.asarray(array, dtype=np.float64)
    data: Any = -float32_thresholds(-e) if dtype is DType.FLOAT32 else e
    return builder.constant(data, name=name, dtype=dtype)

"""Attribution ops: additive contributions of a model's inputs to its margin, and their regrouping by input.

Every attribution op returns ``[N, K + 1]``: one column per input column and, last, the base value (the margin the
contributions are measured from), so that the row sums to the model's margin. ``tree_shap`` lives in
:mod:`.tree_shap` and ``integrated_gradients`` in :mod:`.gradients`; this module holds the linear terms and
``segment_sum``, which adds the columns derived from one raw input (a one-hot block, an imputer's indicator) back
into that input's column.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from model_engine.errors import OpTypeError
from model_engine.ir.types import TensorType
from model_engine.ops.registry import Array, Attrs, OpDef, OpKind, register


def attribution_type(op: str, z: TensorType) -> TensorType:
    """``[N, K + 1]`` for a float input ``[N, K]``: the shape every attribution op returns."""
    if z.rank != 2 or z.shape[1] is None or not z.dtype.is_float:
        raise OpTypeError(f"{op} needs a float matrix [N, K], got {z}")
    return TensorType(z.dtype, (z.shape[0], z.shape[1] + 1))


def expect_constant(op: str, what: str, t: TensorType, like: TensorType, shape: tuple[int | None, ...]) -> None:
    """A constant input of ``like``'s dtype and exactly ``shape``."""
    if t.dtype is not like.dtype or t.batched or t.shape != shape:
        dims = ", ".join(str(d) for d in shape)
        raise OpTypeError(f"{op}: {what} must be a constant {like.dtype.value}[{dims}], got {t}")


# -- linear_terms(z[N,K], weight[K], center[K], base[]) ---------------------------------------------------------
def _linear_infer(attrs: Attrs, types: Sequence[TensorType]) -> tuple[TensorType, ...]:
    z, weight, center, base = types
    out = attribution_type("linear_terms", z)
    width = z.shape[1]
    expect_constant("linear_terms", "weight", weight, z, (width,))
    expect_constant("linear_terms", "center", center, z, (width,))
    expect_constant("linear_terms", "base", base, z, ())
    return (out,)


def _linear_ref(attrs: Attrs, z: Array, weight: Array, center: Array, base: Array) -> tuple[Array, ...]:
    out = np.empty((z.shape[0], z.shape[1] + 1), dtype=z.dtype)
    out[:, :-1] = weight * (z - center)
    out[:, -1] = base
    return (out,)


register(
    OpDef(
        "linear_terms",
        OpKind.OPAQUE,
        _linear_infer,
        _linear_ref,
        4,
        doc=(
            "linear_terms(z[N, K], weight[K], center[K], base[]) -> [N, K + 1]: weight * (z - center) per column, "
            "then base = bias + weight . center (the margin at the center), so each row sums to z @ weight + bias"
        ),
    )
)


# -- segment_sum(x[N,K]; segments, n_segments) ------------------------------------------------------------------
def _segments(attrs: Attrs, width: int) -> tuple[tuple[int, ...], int]:
    segments, n_segments = attrs["segments"], attrs["n_segments"]
    if not isinstance(n_segments, int) or isinstance(n_segments, bool) or n_segments < 1:
        raise OpTypeError(f"segment_sum: n_segments must be a positive int, got {n_segments!r}")
    if (
        not isinstance(segments, tuple)
        or len(segments) != width
        or not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s < n_segments for s in segments)
    ):
        raise OpTypeError(f"segment_sum: segments must be {width} ints in [0, {n_segments}), got {segments!r}")
    return segments, n_segments


def _segment_infer(attrs: Attrs, types: Sequence[TensorType]) -> tuple[TensorType, ...]:
    (x,) = types
    if x.rank != 2 or x.shape[1] is None or not x.dtype.is_float:
        raise OpTypeError(f"segment_sum needs a float matrix [N, K], got {x}")
    _, n_segments = _segments(attrs, x.shape[1])
    return (TensorType(x.dtype, (x.shape[0], n_segments)),)


def _segment_ref(attrs: Attrs, x: Array) -> tuple[Array, ...]:
    segments, n_segments = _segments(attrs, x.shape[1])
    out = np.zeros((x.shape[0], n_segments), dtype=x.dtype)
    for column, segment in enumerate(segments):  # column order: the fixed summation order
        out[:, segment] += x[:, column]
    return (out,)


register(
    OpDef(
        "segment_sum",
        OpKind.REDUCTION,
        _segment_infer,
        _segment_ref,
        1,
        attrs=frozenset({"segments", "n_segments"}),
        required=frozenset({"segments", "n_segments"}),
        doc=(
            "segment_sum(x[N, K]; segments, n_segments) -> [N, n_segments]: out[:, segments[k]] += x[:, k] in "
            "column order (attributions of derived columns summed back into the input each came from)"
        ),
    )
)

"""Injective ops: column selection, concatenation, one-hot encoding, category lookup, row gather, binning.

All work on matrices ``[N, K]``; a "column" input is ``[N, 1]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from model_engine.errors import OpTypeError
from model_engine.ir.types import DType, TensorType
from model_engine.ops.registry import Array, Attrs, OpDef, OpKind, register


def _matrix(op: str, t: TensorType, what: str = "input") -> tuple[int | None, int]:
    if t.rank != 2 or t.shape[1] is None:
        raise OpTypeError(f"{op} needs a matrix {what} [N, K], got {t}")
    return t.shape[0], t.shape[1]


def _column(op: str, t: TensorType) -> None:
    _, width = _matrix(op, t)
    if width != 1:
        raise OpTypeError(f"{op} works on one column [N, 1], got {t}; select the column with gather_columns")


def _int_tuple(op: str, attrs: Attrs, key: str) -> tuple[int, ...]:
    value = attrs[key]
    if not isinstance(value, tuple) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise OpTypeError(f"{op}: attribute {key} must be a tuple of ints, got {value!r}")
    return tuple(int(v) for v in value)


def _float_tuple(op: str, attrs: Attrs, key: str) -> tuple[float, ...]:
    value = attrs[key]
    if not isinstance(value, tuple) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise OpTypeError(f"{op}: attribute {key} must be a tuple of numbers, got {value!r}")
    return tuple(float(v) for v in value)


# -- gather_columns(x; indices) ---------------------------------------------------------------------------------
def _gather_columns_infer(attrs: Attrs, types: Sequence[TensorType]) -> tuple[TensorType, ...]:
    (t,) = types
    rows, width = _matrix("gather_columns", t)
    indices = _int_tuple("gather_columns", attrs, "indices")
    bad = [i for i in indices if not 0 <= i < width]
    if bad:
        raise OpTypeError(f"gather_columns: indices {bad} out of range for {t}")
    return (TensorType(t.dtype, (rows, len(indices))),)


def _gather_columns_ref(attrs: Attrs, x: Array) -> tuple[Array, ...]:
    return (np.ascontiguousarray(x[:, list(_int_tuple("gather_columns", attrs, "indices"))]),)


register(
    OpDef(
        "gather_columns",
        OpKind.INJECTIVE,
        _gather_columns_infer,
        _gather_columns_ref,
        1,
        attrs=frozenset({"indices"}),
        required=frozenset({"indices"}),
        doc="gather_columns(x; indices): the columns x[:, indices] in that order",
    )
)


# -- concat(*xs) along columns ----------------------------------------------------------------------------------
def _concat_infer(attrs: Attrs, types: Sequence[TensorType]) -> tuple[TensorType, ...]:
    if not types:
        raise OpTypeError("concat needs at least one input")
    dtypes = {t.dtype for t in types}
    if len(dtypes) != 1:
        raise OpTypeError(f"concat needs inputs of one dtype, got {', '.join(map(str, types))}")
    rows = {_matrix("concat", t)[0] for t in types}
    if len(rows) != 1:
        raise OpTypeError(f"concat needs inputs with the same rows, got {', '.join(map(str, types))}")
    width = sum(_matrix("concat", t)[1] for t in types)
    return (TensorType(types[0].dtype, (rows.pop(), width)),)


register(
    OpDef(
        "concat",
        OpKind.INJECTIVE,
        _concat_infer,
        lambda attrs, *xs: (np.concatenate(xs, axis=1),),
        None,
        doc="concat(*xs): matrices side by side (along columns)",
    )
)


# -- one_hot(x[N,1]; categories) --------------------------------------------------------------------------------
def _one_hot_infer(attrs: Attrs, types: Sequence[TensorType]) -> tuple[TensorType, ...]:
    (t,) = types
    _column("one_hot", t)
    if not t.dtype.is_float:
        raise OpTypeError(f"one_hot needs a float column, got {t}")
    categories = _float_tuple("one_hot", attrs, "categories")
    return (TensorType(t.dtype, (t.shape[0], len(categories))),)


def _one_hot_ref(attrs: Attrs, x: Array) -> tuple[Array, ...]:
    categories = np.asarray(_float_tuple("one_hot", attrs, "categories"), dtype=x.dtype)
    return ((x == categories[None, :]).astype(x.dtype),)


register(
    OpDef(
        "one_hot",
        OpKind.INJECTIVE,
        _one_hot_infer,
        _one_hot_ref,
        1,
        attrs=frozenset({"categories"}),
        required=frozenset({"categories"}),
        doc="one_hot(x[N,1]; categories): [N, K] indicator of x == categories[k]; unknown values give zeros",
    )
)


# -- category_index(x[N,1]; categories) -> int32 ----------------------------------------------------------------
def _category_index_infer(attrs: Attrs, types: Sequence[TensorType]) -> tuple[TensorType, ...]:
    (t,) = types
    _column("category_index", t)
    _float_tuple("category_index", attrs, "categories")
    return (TensorType(DType.INT32, t.shape),)


def _category_index_ref(attrs: Attrs, x: Array) -> tuple[Array, ...]:
    categories = np.asarray(_float_tuple("category_index", attrs, "categories"), dtype=x.dtype)
    hits = x == categories[None, :]
    index = np.where(hits.any(axis=1), hits.argmax(axis=1), len(categories))
    return (index.astype(np.int32).reshape(-1, 1),)


register(
    OpDef(
        "category_index",
        OpKind.INJECTIVE,
        _category_index_infer,
        _category_index_ref,
        1,
        attrs=frozenset({"categories"}),
        required=frozenset({"categories"}),
        doc="category_index(x[N,1]; categories): int32 position of x in categories, K when unknown",
    )
)


# -- gather_rows(table[K, M], index[N, 1]) -----------------------------------------------------------------------
def _gather_rows_infer(attrs: Attrs, types: Sequence[TensorType]) -> tuple[TensorType, ...]:
    table, index = types
    if table.rank != 2 or table.batched:
        raise OpTypeError(f"gather_rows needs a constant table [K, M], got {table}")
    _column("gather_rows", index)
    if not index.dtype.is_int:
        raise OpTypeError(f"gather_rows needs an int index column, got {index}")
    return (TensorType(table.dtype, (index.shape[0], table.shape[1])),)


register(
    OpDef(
        "gather_rows",
        OpKind.INJECTIVE,
        _gather_rows_infer,
        lambda attrs, table, index: (np.ascontiguousarray(table[index[:, 0]]),),
        2,
        doc="gather_rows(table[K, M], index[N, 1]): row table[index[n]] for each n (an embedding lookup)",
    )
)


# -- bucketize(x[N,1], edges[B]) ---------------------------------------------------------------------------------
def _bucketize_infer(attrs: Attrs, types: Sequence[TensorType]) -> tuple[TensorType, ...]:
    x, edges = types
    _column("bucketize", x)
    if edges.rank != 1 or edges.dtype is not x.dtype:
        raise OpTypeError(f"bucketize needs 1-D edges of the input's dtype, got {edges} for {x}")
    return (x,)


def _bucketize_ref(attrs: Attrs, x: Array, edges: Array) -> tuple[Array, ...]:
    bins = np.searchsorted(edges, x[:, 0], side="right" if attrs.get("right", True) else "left")
    return (bins.astype(x.dtype).reshape(-1, 1),)


register(
    OpDef(
        "bucketize",
        OpKind.INJECTIVE,
        _bucketize_infer,
        _bucketize_ref,
        2,
        attrs=frozenset({"right"}),
        doc="bucketize(x[N,1], edges[B]; right=True): the bin number searchsorted(edges, x, side), as x's dtype",
    )
)

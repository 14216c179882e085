"""OneHotEncoder: one ``one_hot`` per input column, plus a 0/1 routing matrix where categories share columns.

The plain case (each kept category its own column, unknown values all zeros) emits ``one_hot`` directly, so the
algebraic passes can turn a following matrix product into a row gather. Infrequent grouping and unknown values
routed to the infrequent column go through an exact 0/1 matrix product instead. NaN categories are matched with
``isnan`` (``one_hot`` compares with ``==``, which NaN never satisfies).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.preprocessing import OneHotEncoder

from model_engine.converters.categories import codes_reader
from model_engine.converters.constants import float_dtype, weights
from model_engine.converters.params import OneHotParams, one_hot_params
from model_engine.converters.registry import register_converter
from model_engine.ir import Value
from model_engine.ops import GraphBuilder


def emit_one_hot(params: OneHotParams, builder: GraphBuilder, x: Value) -> Value:
    """Emit the encoding described by a match table over the columns of ``x``."""
    columns = [builder.op("gather_columns", x, indices=(feature,)) for feature in range(params.n_features)]
    return emit_one_hot_columns(params, builder, columns)


def emit_one_hot_columns(params: OneHotParams, builder: GraphBuilder, columns: list[Value]) -> Value:
    """Emit the encoding of feature columns given one by one ([N, 1] each): one block of outputs per feature."""
    starts = np.concatenate([[0], np.cumsum(params.widths)])
    blocks = [
        _emit_block(params, feature, builder, columns[feature], int(starts[feature]), int(starts[feature + 1]))
        for feature in range(params.n_features)
        if starts[feature + 1] > starts[feature]
    ]
    return blocks[0] if len(blocks) == 1 else builder.op("concat", *blocks)


def _emit_block(
    params: OneHotParams, feature: int, builder: GraphBuilder, column: Value, start: int, stop: int
) -> Value:
    dtype = float_dtype(builder, column)
    rows = params.feature == feature
    values, targets = params.value[rows], params.column[rows]
    is_nan = np.isnan(values)
    numbers, number_targets = values[~is_nan], targets[~is_nan]
    nan_target = int(targets[is_nan][0]) if is_nan.any() else -1
    unknown = int(params.unknown_column[feature])
    kept = number_targets >= 0
    order = np.argsort(number_targets[kept], kind="stable")
    plain = (
        unknown < 0
        and np.array_equal(number_targets[kept][order], np.arange(start, start + int(kept.sum())))
        and (nan_target < 0 or nan_target == start + int(kept.sum()))
        and stop - start == int(kept.sum()) + (nan_target >= 0)
    )
    if plain:
        parts = [builder.op("one_hot", column, categories=tuple(float(v) for v in numbers[kept][order]))]
        if nan_target >= 0:
            parts.append(builder.op("cast", builder.op("isnan", column), to=dtype.value))
        return parts[0] if len(parts) == 1 else builder.op("concat", *parts)
    # General case: indicators of every known value (dropped ones included, so they are not "unknown"), then
    # route each to its output column with a 0/1 matrix; an extra row routes unknown values.
    parts = [builder.op("one_hot", column, categories=tuple(float(v) for v in numbers))]
    routes = [number_targets]
    if is_nan.any():
        parts.append(builder.op("cast", builder.op("isnan", column), to=dtype.value))
        routes.append(np.array([nan_target]))
    known = parts[0] if len(parts) == 1 else builder.op("concat", *parts)
    if unknown >= 0:
        one = builder.scalar(1.0, dtype)
        known = builder.op("concat", known, builder.op("sub", one, builder.op("reduce_sum", known)))
        routes.append(np.array([unknown]))
    target = np.concatenate(routes)
    routing = np.zeros((target.shape[0], stop - start))
    hit = target >= 0
    routing[np.flatnonzero(hit), target[hit] - start] = 1.0
    return builder.op("matmul", known, weights(builder, routing, dtype, "one_hot_routing"))


@register_converter(OneHotEncoder)
def convert_one_hot_encoder(encoder: Any, builder: GraphBuilder, x: Value) -> Value:
    return emit_one_hot(one_hot_params(encoder, codes_reader(builder, x, "OneHotEncoder")), builder, x)

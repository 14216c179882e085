"""StandardScaler and MinMaxScaler: per-feature affine maps, in the operation order scikit-learn uses."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from model_engine.converters.constants import float_dtype, weights
from model_engine.converters.params import AffineParams, min_max_params, standard_scaler_params
from model_engine.converters.registry import register_converter
from model_engine.ir import Value
from model_engine.ops import GraphBuilder


def emit_affine(params: AffineParams, builder: GraphBuilder, x: Value) -> Value:
    """Emit an affine map, leaving out identity parts (zero offset, unit scale)."""
    dtype = float_dtype(builder, x)
    y = x
    has_offset = bool(np.any(params.offset != 0.0))
    has_scale = bool(np.any(params.scale != 1.0))
    if params.divide:
        if has_offset:
            y = builder.op("sub", y, weights(builder, params.offset, dtype, "mean"))
        if has_scale:
            y = builder.op("div", y, weights(builder, params.scale, dtype, "scale"))
    else:
        if has_scale:
            y = builder.op("mul", y, weights(builder, params.scale, dtype, "scale"))
        if has_offset:
            y = builder.op("add", y, weights(builder, params.offset, dtype, "offset"))
    if params.clip is not None:
        low, high = params.clip
        y = builder.op("maximum", y, builder.scalar(low, dtype))
        y = builder.op("minimum", y, builder.scalar(high, dtype))
    return y


@register_converter(StandardScaler)
def convert_standard_scaler(scaler: Any, builder: GraphBuilder, x: Value) -> Value:
    return emit_affine(standard_scaler_params(scaler), builder, x)


@register_converter(MinMaxScaler)
def convert_min_max_scaler(scaler: Any, builder: GraphBuilder, x: Value) -> Value:
    return emit_affine(min_max_params(scaler), builder, x)

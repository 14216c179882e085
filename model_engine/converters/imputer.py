"""SimpleImputer: NaN replaced by the fitted statistic (a vocabulary code for a string one), empty columns dropped,
optional missing indicator."""

from __future__ import annotations

from typing import Any

from sklearn.impute import SimpleImputer

from model_engine.converters.categories import ConversionBuilder, codes_reader
from model_engine.converters.constants import float_dtype, weights
from model_engine.converters.params import imputer_params
from model_engine.converters.registry import register_converter
from model_engine.ir import Value
from model_engine.ops import GraphBuilder


@register_converter(SimpleImputer)
def convert_simple_imputer(imputer: Any, builder: GraphBuilder, x: Value) -> Value:
    params = imputer_params(imputer, codes_reader(builder, x, "SimpleImputer"))
    dtype = float_dtype(builder, x)
    kept = x
    if params.keep.shape[0] != params.n_features:
        kept = builder.op("gather_columns", x, indices=tuple(int(i) for i in params.keep))
    fill = weights(builder, params.fill.reshape(1, -1), dtype, "fill")
    imputed = builder.op("where", builder.op("isnan", kept), fill, kept)
    if isinstance(builder, ConversionBuilder):
        builder.carries(imputed, kept)  # a categorical column stays in its vocabulary's codes
    parts = [imputed]
    if params.indicator.shape[0]:
        watched = builder.op("gather_columns", x, indices=tuple(int(i) for i in params.indicator))
        parts.append(builder.op("cast", builder.op("isnan", watched), to=dtype.value))
    return parts[0] if len(parts) == 1 else builder.op("concat", *parts)

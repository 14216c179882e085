"""KBinsDiscretizer: ``bucketize`` per column against its inner edges, then the ordinal or one-hot encoding."""

from __future__ import annotations

from typing import Any

from sklearn.preprocessing import KBinsDiscretizer

from model_engine.converters.constants import float_dtype, thresholds_at_least
from model_engine.converters.encoder import emit_one_hot_columns
from model_engine.converters.params import binning_params
from model_engine.converters.registry import register_converter
from model_engine.ir import Value
from model_engine.ops import GraphBuilder


@register_converter(KBinsDiscretizer)
def convert_kbins_discretizer(discretizer: Any, builder: GraphBuilder, x: Value) -> Value:
    params = binning_params(discretizer)
    dtype = float_dtype(builder, x)
    bins = []
    for j in range(params.n_features):
        edges = params.inner_edges[j, : int(params.n_bins[j]) - 1]
        column = builder.op("gather_columns", x, indices=(j,))
        if edges.size == 0:  # a single bin: every value lands in bin 0
            bins.append(builder.op("mul", column, builder.scalar(0.0, dtype)))
            continue
        # bucketize counts the edges e with e <= x, i.e. x >= e: float32 edges round up to decide exactly.
        bounds = thresholds_at_least(builder, edges, dtype, "bin_edges")
        bins.append(builder.op("bucketize", column, bounds, right=True))
    if params.one_hot is None:
        return bins[0] if len(bins) == 1 else builder.op("concat", *bins)
    return emit_one_hot_columns(params.one_hot, builder, bins)

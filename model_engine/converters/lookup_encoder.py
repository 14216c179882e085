"""OrdinalEncoder and TargetEncoder: per feature, a row lookup by category (see :mod:`.params.lookup`).

``category_index`` finds the category's position (K for a value matching none, such as ``UNKNOWN_CODE``), a
``gather_rows`` reads that row of the table (the K known rows, then the unknown row), and ``isnan`` routes missing
values to their own row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.preprocessing import OrdinalEncoder, TargetEncoder

from model_engine.converters.categories import codes_reader
from model_engine.converters.constants import float_dtype, weights
from model_engine.converters.params.lookup import lookup_params
from model_engine.converters.registry import register_converter
from model_engine.ir import Value
from model_engine.ops import GraphBuilder


@register_converter(OrdinalEncoder, TargetEncoder)
def convert_lookup_encoder(encoder: Any, builder: GraphBuilder, x: Value) -> Value:
    params = lookup_params(encoder, codes_reader(builder, x, type(encoder).__name__))
    dtype = float_dtype(builder, x)
    blocks = []
    for j, categories in enumerate(params.categories):
        column = builder.op("gather_columns", x, indices=(j,))
        index = builder.op("category_index", column, categories=tuple(float(c) for c in categories))
        table = np.vstack([params.known[j], params.unknown[j][None, :]])
        looked_up = builder.op("gather_rows", weights(builder, table, dtype, "lookup"), index)
        missing = weights(builder, params.missing[j][None, :], dtype, "lookup_missing")
        blocks.append(builder.op("where", builder.op("isnan", column), missing, looked_up))
    return blocks[0] if len(blocks) == 1 else builder.op("concat", *blocks)

"""ColumnTransformer: each fitted transformer applied to its columns, outputs side by side in fitted order.

Column selections (indices, slices, masks, names, callables) are taken as scikit-learn resolved them at fit time
(input positions of the transformer's input); the remainder is passed through or dropped as fitted.
"""

from __future__ import annotations

from typing import Any

from sklearn.compose import ColumnTransformer

from model_engine.converters.registry import convert, register_converter
from model_engine.errors import ConversionError
from model_engine.ir import Value
from model_engine.ops import GraphBuilder


def _input_indices(transformer: Any, name: str) -> tuple[int, ...]:
    resolved = getattr(transformer, "_transformer_to_input_indices", None)
    if resolved is None or name not in resolved:
        raise ConversionError(
            f"ColumnTransformer step {name!r} has no resolved input columns; refit it with scikit-learn >= 1.2"
        )
    return tuple(int(i) for i in resolved[name])


@register_converter(ColumnTransformer)
def convert_column_transformer(transformer: Any, builder: GraphBuilder, x: Value) -> Value:
    parts: list[Value] = []
    for name, step, _ in transformer.transformers_:
        if isinstance(step, str) and step == "drop":
            continue
        indices = _input_indices(transformer, name)
        if not indices:  # scikit-learn skips transformers that selected no column
            continue
        selected = builder.op("gather_columns", x, indices=indices)
        if isinstance(step, str) and step == "passthrough":
            parts.append(selected)
        else:
            parts.append(convert(step, builder, selected))
    if not parts:
        raise ConversionError("ColumnTransformer outputs no column (every transformer drops its input)")
    return parts[0] if len(parts) == 1 else builder.op("concat", *parts)

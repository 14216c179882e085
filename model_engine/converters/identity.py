"""FunctionTransformer without a function: the identity, which is how ColumnTransformer stores its passthrough
remainder. A FunctionTransformer running arbitrary Python cannot be compiled and is refused."""

from __future__ import annotations

from typing import Any

from sklearn.preprocessing import FunctionTransformer

from model_engine.converters.registry import register_converter
from model_engine.errors import ConversionError
from model_engine.ir import Value
from model_engine.ops import GraphBuilder


@register_converter(FunctionTransformer)
def convert_function_transformer(transformer: Any, builder: GraphBuilder, x: Value) -> Value:
    if transformer.func is not None:
        name = getattr(transformer.func, "__name__", repr(transformer.func))
        raise ConversionError(
            f"FunctionTransformer(func={name}) runs arbitrary Python and cannot be compiled; only the identity "
            "(func=None, e.g. a ColumnTransformer passthrough) is supported"
        )
    return x

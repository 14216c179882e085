"""LogisticRegression: one matrix product, then the sigmoid (two classes) or softmax link."""

from __future__ import annotations

from typing import Any

from sklearn.linear_model import LogisticRegression

from model_engine.converters.constants import float_dtype, weights
from model_engine.converters.links import binary_probabilities
from model_engine.converters.params import LinearParams, logistic_params
from model_engine.converters.registry import register_converter
from model_engine.ir import Value
from model_engine.ops import GraphBuilder


def emit_linear_scores(params: LinearParams, builder: GraphBuilder, x: Value) -> Value:
    """The decision function ``x @ coef.T + intercept`` ([N, 1] for two classes)."""
    dtype = float_dtype(builder, x)
    z = builder.op("matmul", x, weights(builder, params.weight, dtype, "coef"))
    return builder.op("add", z, weights(builder, params.bias, dtype, "intercept"))


def emit_linear_probabilities(params: LinearParams, builder: GraphBuilder, x: Value) -> Value:
    z = emit_linear_scores(params, builder, x)
    if params.link == "sigmoid":
        return binary_probabilities(builder, z)
    return builder.op("softmax", z)


@register_converter(LogisticRegression)
def convert_logistic_regression(model: Any, builder: GraphBuilder, x: Value) -> Value:
    return emit_linear_probabilities(logistic_params(model), builder, x)

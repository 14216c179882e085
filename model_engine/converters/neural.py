"""MLPClassifier: dense layers with the fitted hidden activation, then the logistic or softmax output."""

from __future__ import annotations

from typing import Any

from sklearn.neural_network import MLPClassifier

from model_engine.converters.constants import float_dtype, weights
from model_engine.converters.links import probabilities_from_logistic
from model_engine.converters.params import MLPParams, mlp_params
from model_engine.converters.registry import register_converter
from model_engine.ir import Value
from model_engine.ops import GraphBuilder

_HIDDEN_OPS = {"relu": "relu", "tanh": "tanh", "logistic": "sigmoid"}


def emit_mlp_logits(params: MLPParams, builder: GraphBuilder, x: Value) -> Value:
    """The dense layers up to the output units' pre-activations (the logits)."""
    dtype = float_dtype(builder, x)
    h = x
    last = len(params.weights) - 1
    for i, (w, b) in enumerate(zip(params.weights, params.biases, strict=True)):
        h = builder.op("matmul", h, weights(builder, w, dtype, f"layer{i}.weight"))
        h = builder.op("add", h, weights(builder, b, dtype, f"layer{i}.bias"))
        if i < last and params.activation != "identity":
            h = builder.op(_HIDDEN_OPS[params.activation], h)
    return h


@register_converter(MLPClassifier)
def convert_mlp_classifier(model: Any, builder: GraphBuilder, x: Value) -> Value:
    params = mlp_params(model)
    h = emit_mlp_logits(params, builder, x)
    if params.output == "logistic":
        return probabilities_from_logistic(builder, builder.op("sigmoid", h))
    return builder.op("softmax", h)

"""MLPClassifier: integrated gradients (``integrated_gradients``) of its logit, from a baseline at the input's zero.

The baseline is the zero of the MLP's input. In the training's pipelines a StandardScaler feeds the MLP, so that
zero is the training mean, stored with the artifact as the scaler's mean; the base value is the logit of the mean
transaction. ReLU networks (the training's) integrate exactly along the path; tanh and logistic networks with
Gauss-Legendre quadrature (see :mod:`model_engine.ops.gradients`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from model_engine.converters.constants import weights
from model_engine.converters.neural import emit_mlp_logits
from model_engine.converters.params import mlp_params
from model_engine.errors import ExplanationUnavailableError
from model_engine.explain.heads import Head
from model_engine.ir import DType, Value
from model_engine.ops import GraphBuilder
from model_engine.ops.gradients import DEFAULT_NODES, PIECEWISE_LINEAR


def explain_mlp(model: Any, builder: GraphBuilder, z: Value) -> Head:
    params = mlp_params(model)
    if params.output != "logistic":
        raise ExplanationUnavailableError("a multiclass MLPClassifier has no single margin to explain")
    dtype = DType.FLOAT64
    layers = []
    for i, (w, b) in enumerate(zip(params.weights, params.biases, strict=True)):
        layers += [weights(builder, w, dtype, f"layer{i}.weight"), weights(builder, b, dtype, f"layer{i}.bias")]
    baseline = weights(builder, np.zeros(params.weights[0].shape[0]), dtype, "explain.baseline")
    attributions = builder.op("integrated_gradients", z, baseline, *layers, activation=params.activation,
                              nodes=DEFAULT_NODES)  # fmt: skip
    exact = params.activation in PIECEWISE_LINEAR
    notes = {
        "baseline": "zero of the MLP's input (the training mean after a StandardScaler)",
        "integration": "exact over the linear pieces" if exact else f"Gauss-Legendre, {DEFAULT_NODES} nodes",
    }
    return Head(attributions, emit_mlp_logits(params, builder, z), z, "integrated_gradients", notes)

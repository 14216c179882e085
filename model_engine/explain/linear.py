"""LogisticRegression: the linear terms ``w_k * z_k`` of the columns it reads, the intercept as the base value.

The terms are centred at the model input's zero. In front of a StandardScaler (as the training's pipelines are)
that zero is the training mean, so the base value is the margin of the mean transaction and each term says how far
the feature's distance from its mean moved the margin; the pipeline's scaler or encoder steps run first, and the
terms of the columns derived from one raw feature (a one-hot block) add up to that feature's contribution.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from model_engine.converters.constants import float_dtype, weights
from model_engine.converters.params import logistic_params
from model_engine.errors import ExplanationUnavailableError
from model_engine.explain.heads import Head
from model_engine.ir import Value
from model_engine.ops import GraphBuilder


def explain_logistic_regression(model: Any, builder: GraphBuilder, z: Value) -> Head:
    params = logistic_params(model)
    if params.link != "sigmoid":
        raise ExplanationUnavailableError("a multinomial LogisticRegression has no single margin to explain")
    dtype = float_dtype(builder, z)
    weight, bias = params.weight[:, 0], float(params.bias[0])
    margin = builder.op("add", builder.op("matmul", z, weights(builder, params.weight, dtype, "coef")),
                        weights(builder, params.bias, dtype, "intercept"))  # fmt: skip
    center = np.zeros_like(weight)
    terms = builder.op(
        "linear_terms",
        z,
        weights(builder, weight, dtype, "explain.coef"),
        weights(builder, center, dtype, "explain.center"),
        builder.scalar(bias + float(weight @ center), dtype, "explain.base"),
    )
    return Head(terms, margin, z, "linear", {"center": "zero of the model input (the training mean after a "
                                                      "StandardScaler)"})  # fmt: skip

"""VotingClassifier with soft voting: the (weighted) mean of its estimators' probabilities, as ``np.average``
computes it (the weighted sum divided by the sum of the weights)."""

from __future__ import annotations

from typing import Any

from sklearn.ensemble import VotingClassifier

from model_engine.converters.constants import float_dtype, weights
from model_engine.converters.registry import convert, register_converter
from model_engine.errors import ConversionError
from model_engine.ir import Value
from model_engine.ops import GraphBuilder


@register_converter(VotingClassifier)
def convert_voting(model: Any, builder: GraphBuilder, x: Value) -> Value:
    if model.voting != "soft":
        raise ConversionError("VotingClassifier(voting='hard') gives labels, not probabilities; use voting='soft'")
    dtype = float_dtype(builder, x)
    chosen = [w for (_, est), w in zip(model.estimators, model.weights or [1.0] * len(model.estimators), strict=True)
              if not (isinstance(est, str) and est == "drop")]  # fmt: skip
    total: Value | None = None
    for estimator, weight in zip(model.estimators_, chosen, strict=True):
        probabilities = convert(estimator, builder, x)
        term = (
            probabilities
            if model.weights is None
            else builder.op("mul", probabilities, weights(builder, weight, dtype, "vote.weight"))
        )
        total = term if total is None else builder.op("add", total, term)
    assert total is not None
    divisor = float(len(chosen)) if model.weights is None else float(sum(chosen))
    return builder.op("div", total, builder.scalar(divisor, dtype))

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


def soft_vote_members(model: Any) -> list[tuple[Any, float]]:
    """The fitted members of a soft ``VotingClassifier`` and their weights (1 each when it has none), "drop"
    members left out."""
    if model.voting != "soft":
        raise ConversionError("VotingClassifier(voting='hard') gives labels, not probabilities; use voting='soft'")
    chosen = [float(w) for (_, est), w in zip(model.estimators, model.weights or [1.0] * len(model.estimators),
                                              strict=True) if not (isinstance(est, str) and est == "drop")]  # fmt: skip
    return list(zip(model.estimators_, chosen, strict=True))


@register_converter(VotingClassifier)
def convert_voting(model: Any, builder: GraphBuilder, x: Value) -> Value:
    members = soft_vote_members(model)
    dtype = float_dtype(builder, x)
    total: Value | None = None
    for estimator, weight in members:
        probabilities = convert(estimator, builder, x)
        term = (
            probabilities
            if model.weights is None
            else builder.op("mul", probabilities, weights(builder, weight, dtype, "vote.weight"))
        )
        total = term if total is None else builder.op("add", total, term)
    assert total is not None
    divisor = float(len(members)) if model.weights is None else sum(w for _, w in members)
    return builder.op("div", total, builder.scalar(divisor, dtype))

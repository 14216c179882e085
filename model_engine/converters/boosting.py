"""GradientBoostingClassifier: prior raw score plus shrunk regression trees, then sigmoid or softmax."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sklearn.ensemble import GradientBoostingClassifier

from model_engine.converters.params import gradient_boosting_params
from model_engine.converters.registry import register_converter
from model_engine.converters.tree import emit_tree_ensemble
from model_engine.ir import Value
from model_engine.ops import GraphBuilder


def emit_gradient_boosting(model: Any, builder: GraphBuilder, x: Value, *, raw: bool = False) -> Value:
    """The booster's probabilities, or with ``raw`` its decision function (before the link)."""
    params = gradient_boosting_params(model)
    if not raw:
        return emit_tree_ensemble(params, builder, x)
    scores = emit_tree_ensemble(replace(params, post_transform="none"), builder, x)
    if model.loss == "exponential":
        # The tables hold twice the raw score (the exponential link is expit(2 * raw)); halving is exact.
        scores = builder.op("mul", scores, builder.scalar(0.5, builder.type_of(scores).dtype))
    return scores


@register_converter(GradientBoostingClassifier)
def convert_gradient_boosting(model: Any, builder: GraphBuilder, x: Value) -> Value:
    return emit_gradient_boosting(model, builder, x)

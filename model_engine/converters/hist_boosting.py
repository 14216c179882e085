"""HistGradientBoostingClassifier: its predictor trees with their NaN routing, baseline score and link."""

from __future__ import annotations

from typing import Any

from sklearn.ensemble import HistGradientBoostingClassifier

from model_engine.converters.params import hist_boosting_params
from model_engine.converters.registry import register_converter
from model_engine.converters.tree import emit_tree_ensemble
from model_engine.ir import GraphBuilder, Value


@register_converter(HistGradientBoostingClassifier)
def convert_hist_gradient_boosting(model: Any, builder: GraphBuilder, x: Value) -> Value:
    return emit_tree_ensemble(hist_boosting_params(model), builder, x)

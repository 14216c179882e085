"""GradientBoostingClassifier: prior raw score plus shrunk regression trees, then sigmoid or softmax."""

from __future__ import annotations

from typing import Any

from sklearn.ensemble import GradientBoostingClassifier

from model_engine.converters.params import gradient_boosting_params
from model_engine.converters.registry import register_converter
from model_engine.converters.tree import emit_tree_ensemble
from model_engine.ir import Value
from model_engine.ops import GraphBuilder


@register_converter(GradientBoostingClassifier)
def convert_gradient_boosting(model: Any, builder: GraphBuilder, x: Value) -> Value:
    return emit_tree_ensemble(gradient_boosting_params(model), builder, x)

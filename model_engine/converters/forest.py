"""RandomForestClassifier and ExtraTreesClassifier: the mean of the trees' leaf class fractions."""

from __future__ import annotations

from typing import Any

from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

from model_engine.converters.params import forest_params
from model_engine.converters.registry import register_converter
from model_engine.converters.tree import emit_tree_ensemble
from model_engine.ir import Value
from model_engine.ops import GraphBuilder


@register_converter(RandomForestClassifier, ExtraTreesClassifier)
def convert_forest(model: Any, builder: GraphBuilder, x: Value) -> Value:
    return emit_tree_ensemble(forest_params(model), builder, x)

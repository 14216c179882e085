"""DecisionTreeClassifier, and the ``tree_ensemble`` emission every tree-based converter shares."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.tree import DecisionTreeClassifier

from model_engine.converters.constants import float_dtype, thresholds_at_most, weights
from model_engine.converters.params import TreeEnsembleParams, decision_tree_params
from model_engine.converters.registry import register_converter
from model_engine.ir import DType, Value
from model_engine.ops import GraphBuilder


def tree_tables(params: TreeEnsembleParams, builder: GraphBuilder, dtype: DType) -> list[Value]:
    """The seven node-table constants every tree op takes after ``x``, in order; thresholds rounded toward -inf in
    float32, so every float32 ``x`` decides as against the float64 thresholds."""
    return [
        builder.constant(params.feature, name="tree.feature"),
        thresholds_at_most(builder, params.threshold, dtype, "tree.threshold"),
        builder.constant(params.left, name="tree.left"),
        builder.constant(params.right, name="tree.right"),
        weights(builder, params.value, dtype, "tree.value"),
        builder.constant(params.missing_go_left, name="tree.missing_go_left"),
        builder.constant(params.tree_roots, name="tree.roots"),
    ]


def emit_tree_ensemble(params: TreeEnsembleParams, builder: GraphBuilder, x: Value) -> Value:
    """One ``tree_ensemble`` node over constant node tables (:func:`tree_tables`)."""
    return builder.op(
        "tree_ensemble",
        x,
        *tree_tables(params, builder, float_dtype(builder, x)),
        aggregation=params.aggregation,
        post_transform=params.post_transform,
        base_score=tuple(float(v) for v in np.asarray(params.base_score)),
        n_classes=params.n_classes,
    )


@register_converter(DecisionTreeClassifier)
def convert_decision_tree(model: Any, builder: GraphBuilder, x: Value) -> Value:
    return emit_tree_ensemble(decision_tree_params(model), builder, x)

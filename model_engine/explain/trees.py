"""Tree ensembles: TreeSHAP (``tree_shap``) over the same node tables the scoring graph is converted from.

Boosters (GradientBoosting, HistGradientBoosting, and XGBoost and LightGBM when installed) sum trees into a
logit: their TreeSHAP values are exact contributions to the margin. Forests and single trees (RandomForest,
ExtraTrees, DecisionTree) average leaf class fractions into a probability ``p``, whose logit is not a sum over
trees, so exact Shapley values of the margin would cost exponential time. Their TreeSHAP values are exact for ``p``
and are mapped onto the logit by one factor per row, ``(logit(p) - logit(E[p])) / (p - E[p])`` (the slope of the
logit between the base value and the prediction; its derivative at ``E[p]`` when they coincide): each feature
keeps its sign and its share, and the values add up to the margin. ``p`` is clipped to ``[1e-12, 1 - 1e-12]`` so a
forest that is certain has a finite margin (``sigmoid`` of it is the score within 1e-12).

Covers are each library's training weights (scikit-learn's weighted sample counts, XGBoost's hessian sums,
LightGBM's row counts; see the parameter readers), made consistent first (a split's cover is the sum of its
children's) so that the zero fractions of every split add up to one, which TreeSHAP's local accuracy needs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.tree import DecisionTreeClassifier

from model_engine.converters.boosters import booster_trees, installed_boosters
from model_engine.converters.hist_boosting import hist_boosting_trees
from model_engine.converters.params import (
    TreeEnsembleParams,
    decision_tree_params,
    forest_params,
    gradient_boosting_params,
)
from model_engine.converters.tree import emit_tree_ensemble, tree_tables
from model_engine.errors import ExplanationUnavailableError
from model_engine.explain.heads import Head
from model_engine.ir import DType, Value
from model_engine.ops import GraphBuilder

CLIP = 1e-12  # forests: probabilities are clipped to [CLIP, 1 - CLIP] before their logit
_PARAMS = {
    DecisionTreeClassifier: decision_tree_params,
    RandomForestClassifier: forest_params,
    ExtraTreesClassifier: forest_params,
    GradientBoostingClassifier: gradient_boosting_params,
}
_TREES_WITH_INPUTS = {HistGradientBoostingClassifier: hist_boosting_trees,
                      **dict.fromkeys(installed_boosters(), booster_trees)}  # fmt: skip
"""Boosters whose trees read derived columns beside the input's (categorical splits): tables and tree inputs."""
TREE_TYPES: tuple[type, ...] = (*_PARAMS, *_TREES_WITH_INPUTS)
"""The classifiers :func:`explain_trees` explains."""


def consistent_cover(params: TreeEnsembleParams) -> npt.NDArray[np.float64]:
    """Leaf covers as recorded, each split's the sum of its children's (children follow parents in the table)."""
    if params.cover is None:
        raise ExplanationUnavailableError("these trees carry no node covers (training weights); reconvert them")
    cover = params.cover.astype(np.float64, copy=True)
    leaves = params.left < 0
    if not bool(np.all(cover[leaves] > 0.0)):
        raise ExplanationUnavailableError("a leaf of these trees has no training weight, so TreeSHAP is undefined")
    for node in np.flatnonzero(~leaves)[::-1]:
        cover[node] = cover[params.left[node]] + cover[params.right[node]]
    return cover


def emit_tree_shap(params: TreeEnsembleParams, builder: GraphBuilder, x: Value, output: int) -> Value:
    """``tree_shap`` over the tables of ``params`` (float64, the explanation graph's precision)."""
    return builder.op(
        "tree_shap",
        x,
        *tree_tables(params, builder, DType.FLOAT64),
        builder.constant(consistent_cover(params), name="tree.cover"),
        output=output,
        aggregation=params.aggregation,
        base_score=float(params.base_score[output]),
    )


def _clipped_logit(builder: GraphBuilder, p: Value) -> Value:
    dtype = DType.FLOAT64
    clipped = builder.op(
        "minimum", builder.op("maximum", p, builder.scalar(CLIP, dtype)), builder.scalar(1.0 - CLIP, dtype)
    )
    return builder.op("sub", builder.op("log", clipped), builder.op("log", builder.op("sub", builder.scalar(1.0, dtype),
                                                                                      clipped)))  # fmt: skip


def _onto_logit(builder: GraphBuilder, shap: Value, p: Value, width: int) -> tuple[Value, Value]:
    """TreeSHAP values of a probability mapped onto its logit (module docstring); returns (attributions, margin)."""
    dtype = DType.FLOAT64
    values = builder.op("gather_columns", shap, indices=tuple(range(width)))
    expected = builder.op("gather_columns", shap, indices=(width,))
    margin, base = _clipped_logit(builder, p), _clipped_logit(builder, expected)
    total = builder.op("reduce_sum", values)
    secant = builder.op("div", builder.op("sub", margin, base), total)
    e = builder.op("minimum", builder.op("maximum", expected, builder.scalar(CLIP, dtype)),
                   builder.scalar(1.0 - CLIP, dtype))  # fmt: skip
    tangent = builder.op("div", builder.scalar(1.0, dtype), builder.op("mul", e, builder.op("sub", builder.scalar(
        1.0, dtype), e)))  # fmt: skip
    moved = builder.op("greater", builder.op("abs", total), builder.scalar(0.0, dtype))
    factor = builder.op("where", moved, secant, tangent)
    return builder.op("concat", builder.op("mul", values, factor), base), margin


def explain_trees(model: Any, builder: GraphBuilder, z: Value) -> Head:
    with_inputs = _TREES_WITH_INPUTS.get(type(model))
    params, inputs = with_inputs(model, builder, z) if with_inputs else (_PARAMS[type(model)](model), z)
    raw = emit_tree_ensemble(replace(params, post_transform="none"), builder, inputs)
    width = int(builder.type_of(inputs).shape[1] or 0)
    if params.post_transform == "sigmoid":  # a booster: the raw sum is the margin
        return Head(emit_tree_shap(params, builder, inputs, 0), raw, inputs, "tree_shap", {"scale": "margin"})
    if params.post_transform != "none" or params.n_outputs != 2:
        raise ExplanationUnavailableError(f"{type(model).__name__} with {params.n_outputs} outputs has no margin")
    p = builder.op("gather_columns", raw, indices=(1,))
    attributions, margin = _onto_logit(builder, emit_tree_shap(params, builder, inputs, 1), p, width)
    notes = {"scale": "probability TreeSHAP mapped onto the logit by the secant factor", "clip": CLIP}
    return Head(attributions, margin, inputs, "tree_shap", notes)

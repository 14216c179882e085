"""HistGradientBoostingClassifier: its predictor trees with their NaN routing, baseline score and link.

Categorical splits read derived columns (see :mod:`.params.hist_trees`) computed here from the raw input with
``one_hot`` membership tests, appended after the input's own columns.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sklearn.ensemble import HistGradientBoostingClassifier

from model_engine.converters.categories import codes_reader
from model_engine.converters.constants import float_dtype
from model_engine.converters.params import CategoricalSplitColumn, TreeEnsembleParams, hist_boosting_params
from model_engine.converters.registry import register_converter
from model_engine.converters.tree import emit_tree_ensemble
from model_engine.ir import Value
from model_engine.ops import GraphBuilder


def _membership(builder: GraphBuilder, column: Value, categories: Any) -> Value:
    """1 where the column equals one of ``categories``, else 0 ([N, 1])."""
    hits = builder.op("one_hot", column, categories=tuple(float(c) for c in categories))
    return builder.op("reduce_sum", hits)


def _split_column(split: CategoricalSplitColumn, builder: GraphBuilder, x: Value) -> Value:
    dtype = float_dtype(builder, x)
    column = builder.op("gather_columns", x, indices=(split.feature,))
    in_left = _membership(builder, column, split.left)
    in_known = _membership(builder, column, split.known)
    one = builder.scalar(1.0, dtype)
    known = builder.op("greater", in_known, builder.scalar(0.5, dtype))
    return builder.op("where", known, builder.op("sub", one, in_left), builder.scalar(float("nan"), dtype))


def hist_boosting_trees(model: Any, builder: GraphBuilder, x: Value) -> tuple[TreeEnsembleParams, Value]:
    """The booster's node tables (string categories read as ``x``'s vocabulary codes) and the columns its trees
    read: ``x``, then the derived categorical-split columns. The scoring converter and the explainer share it."""
    params = hist_boosting_params(model, codes_reader(builder, x, "HistGradientBoostingClassifier"))
    if not params.derived:
        return params.tables, x
    return params.tables, builder.op("concat", x, *(_split_column(split, builder, x) for split in params.derived))


def emit_hist_gradient_boosting(model: Any, builder: GraphBuilder, x: Value, *, raw: bool = False) -> Value:
    """The booster's probabilities, or with ``raw`` its decision function (the summed leaves and baseline, before
    the link: ``[N, 1]`` for two classes)."""
    tables, inputs = hist_boosting_trees(model, builder, x)
    if raw:
        tables = replace(tables, post_transform="none")
    return emit_tree_ensemble(tables, builder, inputs)


@register_converter(HistGradientBoostingClassifier)
def convert_hist_gradient_boosting(model: Any, builder: GraphBuilder, x: Value) -> Value:
    return emit_hist_gradient_boosting(model, builder, x)

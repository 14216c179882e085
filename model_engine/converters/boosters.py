"""XGBoost and LightGBM classifiers (optional: registered when the library is installed, see ``supported``).

Categorical splits read derived membership columns (see :mod:`.params.boosters`) appended after the input's own.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from typing import Any

from model_engine.converters.categories import codes_reader
from model_engine.converters.constants import float_dtype
from model_engine.converters.params.boosters import (
    BoosterParams,
    MembershipColumn,
    lightgbm_margin_scale,
    lightgbm_params,
    xgboost_params,
)
from model_engine.converters.params.categories import CodesOf
from model_engine.converters.params.trees import TreeEnsembleParams
from model_engine.converters.tree import emit_tree_ensemble
from model_engine.ir import Value
from model_engine.ops import GraphBuilder

BoosterReader = Callable[[Any, CodesOf], BoosterParams]


@cache
def installed_boosters() -> dict[type, BoosterReader]:
    """``XGBClassifier`` and ``LGBMClassifier`` with their parameter readers, for the libraries installed (extras
    ``xgboost``, ``lightgbm``)."""
    found: dict[type, BoosterReader] = {}
    if importlib.util.find_spec("xgboost") is not None:
        from xgboost import XGBClassifier

        found[XGBClassifier] = xgboost_params
    if importlib.util.find_spec("lightgbm") is not None:
        from lightgbm import LGBMClassifier

        found[LGBMClassifier] = lightgbm_params
    return found


def _membership(column: MembershipColumn, builder: GraphBuilder, x: Value) -> Value:
    source = builder.op("gather_columns", x, indices=(column.feature,))
    members = builder.op(
        "reduce_sum", builder.op("one_hot", source, categories=tuple(float(m) for m in column.members))
    )
    if not column.keep_missing:
        return members
    nan = builder.scalar(float("nan"), float_dtype(builder, x))
    return builder.op("where", builder.op("isnan", source), nan, members)


def booster_trees(model: Any, builder: GraphBuilder, x: Value) -> tuple[TreeEnsembleParams, Value]:
    """The booster's node tables (string categories read as ``x``'s vocabulary codes) and the columns its trees
    read: ``x``, then the derived membership columns. The scoring converter and the explainer share it."""
    read = installed_boosters()[type(model)]
    params = read(model, codes_reader(builder, x, type(model).__name__))
    if not params.derived:
        return params.tables, x
    return params.tables, builder.op("concat", x, *(_membership(column, builder, x) for column in params.derived))


def booster_margin_scale(model: Any) -> float:
    """What the library's own raw score (its decision function) is multiplied by to give the margin the node
    tables hold: LightGBM's ``sigmoid`` parameter, 1 for XGBoost. The converter and the explainer share it."""
    return lightgbm_margin_scale(model) if installed_boosters()[type(model)] is lightgbm_params else 1.0


def emit_booster_decision_function(model: Any, builder: GraphBuilder, x: Value) -> Value:
    """The library's own raw score ``[N, 1]`` (LightGBM's ``decision_function``: the margin before the sigmoid
    and its scale), which scikit-learn calibrates."""
    tables, inputs = booster_trees(model, builder, x)
    margin = emit_tree_ensemble(replace(tables, post_transform="none"), builder, inputs)
    scale = booster_margin_scale(model)
    return margin if scale == 1.0 else builder.op("div", margin, builder.scalar(scale, float_dtype(builder, margin)))


def convert_booster(model: Any, builder: GraphBuilder, x: Value) -> Value:
    tables, inputs = booster_trees(model, builder, x)
    return emit_tree_ensemble(tables, builder, inputs)

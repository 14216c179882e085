"""XGBoost and LightGBM classifiers (optional: registered when the library is installed, see ``supported``).

Categorical splits read derived membership columns (see :mod:`.params.boosters`) appended after the input's own.
"""

from __future__ import annotations

from typing import Any

from model_engine.converters.categories import codes_reader
from model_engine.converters.constants import float_dtype
from model_engine.converters.params.boosters import BoosterParams, MembershipColumn, lightgbm_params, xgboost_params
from model_engine.converters.tree import emit_tree_ensemble
from model_engine.ir import Value
from model_engine.ops import GraphBuilder


def _membership(column: MembershipColumn, builder: GraphBuilder, x: Value) -> Value:
    source = builder.op("gather_columns", x, indices=(column.feature,))
    members = builder.op(
        "reduce_sum", builder.op("one_hot", source, categories=tuple(float(m) for m in column.members))
    )
    if not column.keep_missing:
        return members
    nan = builder.scalar(float("nan"), float_dtype(builder, x))
    return builder.op("where", builder.op("isnan", source), nan, members)


def _emit(params: BoosterParams, builder: GraphBuilder, x: Value) -> Value:
    inputs = x
    if params.derived:
        inputs = builder.op("concat", x, *(_membership(column, builder, x) for column in params.derived))
    return emit_tree_ensemble(params.tables, builder, inputs)


def convert_xgboost(model: Any, builder: GraphBuilder, x: Value) -> Value:
    return _emit(xgboost_params(model, codes_reader(builder, x, "XGBClassifier")), builder, x)


def convert_lightgbm(model: Any, builder: GraphBuilder, x: Value) -> Value:
    return _emit(lightgbm_params(model, codes_reader(builder, x, "LGBMClassifier")), builder, x)

"""XGBoost and LightGBM explanations against references: brute-force Shapley values over tiny trees read from
each library's own tree table (``trees_to_dataframe``: its splits, missing directions, leaf values and covers),
each library's own TreeSHAP (``pred_contribs`` / ``pred_contrib``) and the shap package's ``TreeExplainer``, for
every booster case (categorical splits on string columns included), and the covers against each library's dump.

XGBoost computes its contributions in float32, so they are compared within 1e-5; LightGBM's in float64, within
1e-9. LightGBM's contributions are of its raw score, whose logit is ``sigmoid`` times it and, for a random forest
(``boosting_type="rf"``), the average over the trees where the raw score is the sum: they are scaled so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from model_engine import compile_model
from model_engine.converters.params.boosters import lightgbm_params, xgboost_params
from tests.model_engine.converters.booster_cases import (
    CATEGORICAL_MODELS,
    MODELS,
    NAMES,
    N,
    booster_data,
    lgb_classifier,
    xgb_classifier,
)
from tests.model_engine.explain.cases import BOOSTER_CASES, BoosterCase, compiled
from tests.model_engine.explain.shapley import Tree, brute_force_shapley

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")

ROWS = 150


def _is_xgboost(model: Any) -> bool:
    return isinstance(model, xgb.XGBClassifier)


def _fresh_rows(rows: int, seed: int) -> np.ndarray:
    """Rows like the training data, not rounded to cents (so no row sits on a threshold), NaN included."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, N)) * np.array([1, 5, 0.3, 2, 50, 1])
    X[rng.random(X.shape) < 0.1] = np.nan
    return X


# -- tiny trees read from each library's tree table --------------------------------------------------------------
def _xgboost_tree(nodes: pd.DataFrame) -> Tree:
    rows = list(nodes.itertuples())
    index = {row.ID: k for k, row in enumerate(rows)}

    def children(node: int) -> tuple[int, int]:
        row = rows[node]
        return (-1, -1) if row.Feature == "Leaf" else (index[row.Yes], index[row.No])

    def goes_left(node: int, x: np.ndarray) -> bool:  # XGBoost: x < split in float32 goes to "Yes"
        row = rows[node]
        v = x[int(row.Feature[1:])]
        return bool(row.Missing == row.Yes) if np.isnan(v) else bool(np.float32(v) < np.float32(row.Split))

    return children, goes_left, lambda n: float(rows[n].Gain), lambda n: float(rows[n].Cover), \
        lambda n: int(rows[n].Feature[1:])  # fmt: skip


def _lightgbm_tree(nodes: pd.DataFrame) -> Tree:
    rows = list(nodes.itertuples())
    index = {row.node_index: k for k, row in enumerate(rows)}

    def children(node: int) -> tuple[int, int]:
        row = rows[node]
        return (-1, -1) if not isinstance(row.split_feature, str) else (index[row.left_child], index[row.right_child])

    def goes_left(node: int, x: np.ndarray) -> bool:  # LightGBM: x <= threshold; missing type None reads NaN as 0
        row = rows[node]
        v = x[int(row.split_feature.split("_")[1])]
        if np.isnan(v):
            if row.missing_type != "None":
                return bool(row.missing_direction == "left")
            v = 0.0
        return bool(v <= row.threshold)

    return children, goes_left, lambda n: float(rows[n].value), lambda n: float(rows[n].count), \
        lambda n: int(rows[n].split_feature.split("_")[1])  # fmt: skip


def _margin(model: Any, X: Any) -> np.ndarray:
    if _is_xgboost(model):
        return np.asarray(model.get_booster().predict(xgb.DMatrix(X), output_margin=True), dtype=np.float64)
    return np.asarray(model.booster_.predict(X, raw_score=True), dtype=np.float64)


TINY = {
    "xgboost": lambda: xgb_classifier(n_estimators=3, max_depth=2),
    "lightgbm": lambda: lgb_classifier(n_estimators=3, num_leaves=4, min_child_samples=10),
    "lightgbm_no_missing": lambda: lgb_classifier(
        n_estimators=3, num_leaves=4, min_child_samples=10, use_missing=False
    ),
}


@pytest.mark.parametrize("name", list(TINY))
def test_tiny_booster_values_are_brute_force_shapley_values(name: str) -> None:
    X_train, y = booster_data(400, seed=0)
    model = TINY[name]().fit(X_train, y)
    if _is_xgboost(model):
        trees = [_xgboost_tree(t) for _, t in model.get_booster().trees_to_dataframe().groupby("Tree")]
        rtol, atol = 1e-6, 1e-7  # the table prints XGBoost's float32 covers to 8 digits
    else:
        trees = [_lightgbm_tree(t) for _, t in model.booster_.trees_to_dataframe().groupby("tree_index")]
        rtol, atol = 1e-12, 1e-12
    X = _fresh_rows(12, seed=5)
    explained = compile_model(model, NAMES, dtype="float64").explain(X)
    margin = _margin(model, X)
    for row, x in enumerate(X):
        phi, _ = brute_force_shapley(trees, x)
        np.testing.assert_allclose(explained.values[row], phi, rtol=rtol, atol=atol)
    np.testing.assert_allclose(explained.margin, margin, rtol=0, atol=1e-5)
    np.testing.assert_allclose(explained.base_value + explained.values.sum(axis=1), explained.margin, atol=1e-12)


# -- each library's own TreeSHAP, and shap's ----------------------------------------------------------------------
def _library_input(case: BoosterCase, X: Any) -> Any:
    """The rows as the library's own predictor takes them (the pipeline's scaler applied first)."""
    model = case.model()
    return model[:-1].transform(X) if case.kind == "scaled" else case.as_sklearn_input(X)


def _booster(case: BoosterCase) -> Any:
    model = case.model()
    return model[-1] if case.kind == "scaled" else model


def _raw_scale(booster: Any) -> float:
    """What LightGBM's raw-score contributions are multiplied by to be contributions to the logit (see above)."""
    if _is_xgboost(booster):
        return 1.0
    params = booster.get_params()
    trees = booster.booster_.num_trees() if params.get("boosting_type") == "rf" else 1
    return float(params.get("sigmoid", 1.0)) / trees


def _tolerance(booster: Any) -> float:
    return 1e-5 if _is_xgboost(booster) else 1e-9


def _own_contributions(booster: Any, X: Any) -> np.ndarray:
    if _is_xgboost(booster):
        matrix = xgb.DMatrix(X, enable_categorical=isinstance(X, pd.DataFrame))
        return np.asarray(booster.get_booster().predict(matrix, pred_contribs=True), dtype=np.float64)
    return np.asarray(booster.booster_.predict(X, pred_contrib=True), dtype=np.float64)


@pytest.mark.parametrize("case", BOOSTER_CASES, ids=lambda c: c.id)
def test_values_are_each_librarys_own_tree_shap_values(case: BoosterCase) -> None:
    """Categorical features are one player in each library's TreeSHAP, as in the engine's (its grouped columns)."""
    X = case.inputs(ROWS, seed=6)
    explained = compiled(case.id, "float64").explain(X)
    booster = _booster(case)
    reference = _own_contributions(booster, _library_input(case, X)) * _raw_scale(booster)
    tolerance = _tolerance(booster)
    np.testing.assert_allclose(explained.values, reference[:, :-1], rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(explained.base_value, reference[:, -1], rtol=tolerance, atol=tolerance)


@pytest.mark.filterwarnings("ignore:LightGBM binary classifier with TreeExplainer")  # shap's note on its output
@pytest.mark.parametrize("case", BOOSTER_CASES, ids=lambda c: c.id)
def test_values_agree_with_the_shap_tree_explainer(case: BoosterCase) -> None:
    shap = pytest.importorskip("shap")
    X = case.inputs(ROWS, seed=7)
    explained = compiled(case.id, "float64").explain(X)
    booster = _booster(case)
    explainer = shap.TreeExplainer(booster, feature_perturbation="tree_path_dependent")
    scale = _raw_scale(booster)
    reference = np.asarray(explainer.shap_values(_library_input(case, X)), dtype=np.float64) * scale
    tolerance = _tolerance(booster)
    np.testing.assert_allclose(explained.values, reference, rtol=tolerance, atol=tolerance)
    expected = float(np.ravel(explainer.expected_value)[0]) * scale
    np.testing.assert_allclose(explained.base_value, expected, rtol=tolerance, atol=tolerance)


# -- covers ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("library", list(CATEGORICAL_MODELS))
def test_covers_are_each_librarys_own(library: str) -> None:
    """XGBoost's hessian sums are what its tree table calls Cover, node for node; LightGBM's row counts are its
    table's count (the engine lays a tree out in preorder, so the counts are compared as a multiset per tree)."""
    model = MODELS[library]().fit(*booster_data(600, seed=0))
    if library == "xgboost":
        cover = xgboost_params(model).tables.cover
        table = model.get_booster().trees_to_dataframe()
        assert cover is not None
        np.testing.assert_allclose(cover, table["Cover"].to_numpy(), rtol=1e-6)
        return
    params = lightgbm_params(model).tables
    assert params.cover is not None
    table = model.booster_.trees_to_dataframe()
    bounds = [*params.tree_roots.tolist(), params.n_nodes]
    for tree, counts in table.groupby("tree_index")["count"]:
        ours = params.cover[bounds[int(tree)] : bounds[int(tree) + 1]]
        np.testing.assert_array_equal(np.sort(ours), np.sort(counts.to_numpy(dtype=np.float64)))

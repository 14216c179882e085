"""TreeSHAP against references: an independent brute-force Shapley computation on tiny trees (every coalition,
the conditional expectations TreeSHAP defines), and the shap package's TreeExplainer when it is installed.

Boosters are compared value for value. A forest's values are TreeSHAP values of its probability mapped onto the
logit by one factor per row, so the reference's values are mapped the same way before comparing (the factor is
checked too: it is the secant of the logit between the base value and the prediction).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.tree import DecisionTreeClassifier

from model_engine import compile_model
from tests.model_engine.explain.shapley import Tree, brute_force_shapley

N_FEATURES = 4
NAMES = [f"f{i}" for i in range(N_FEATURES)]


def _data(n: int, seed: int, nan: bool = True) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, N_FEATURES))
    y = (x[:, 0] + 0.7 * x[:, 1] - 0.4 * x[:, 2] + 0.3 * rng.normal(size=n) > 0).astype(int)
    if nan:
        x[rng.random(x.shape) < 0.1] = np.nan
    return x, y


# -- trees read straight from scikit-learn ----------------------------------------------------------------------
def _sklearn_tree(tree: Any, value: np.ndarray, player: Callable[[int], int] = int) -> Tree:
    def children(node: int) -> tuple[int, int]:
        return int(tree.children_left[node]), int(tree.children_right[node])

    def goes_left(node: int, x: np.ndarray) -> bool:
        v = x[tree.feature[node]]
        if np.isnan(v):
            return bool(tree.missing_go_to_left[node])
        return bool(np.float32(v) <= tree.threshold[node])  # scikit-learn compares float32 inputs

    return children, goes_left, lambda n: float(value[n]), lambda n: float(tree.weighted_n_node_samples[n]), \
        lambda n: player(int(tree.feature[n]))  # fmt: skip


def _hist_tree(predictor: Any, player: Callable[[int], int] = int) -> Tree:
    """A predictor's tree over the booster's preprocessed rows (categorical columns first, as category codes)."""
    nodes, bitsets = predictor.nodes, predictor.raw_left_cat_bitsets

    def children(node: int) -> tuple[int, int]:
        return (-1, -1) if nodes["is_leaf"][node] else (int(nodes["left"][node]), int(nodes["right"][node]))

    def goes_left(node: int, x: np.ndarray) -> bool:
        v = x[nodes["feature_idx"][node]]
        if np.isnan(v):
            return bool(nodes["missing_go_to_left"][node])
        if nodes["is_categorical"][node]:  # the categories that go left, as a bitset of 32-bit words
            words = bitsets[nodes["bitset_idx"][node]]
            return bool((int(words[int(v) // 32]) >> (int(v) % 32)) & 1)
        return bool(v <= nodes["num_threshold"][node])

    return children, goes_left, lambda n: float(nodes["value"][n]), lambda n: float(nodes["count"][n]), \
        lambda n: player(int(nodes["feature_idx"][n]))  # fmt: skip


def _fit(model: Any, nan: bool) -> Any:
    x, y = _data(300, 0, nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(x, y)


FORESTS = {
    "decision_tree": lambda: DecisionTreeClassifier(max_depth=3, random_state=0),
    "random_forest": lambda: RandomForestClassifier(3, max_depth=3, random_state=0),
    "extra_trees": lambda: ExtraTreesClassifier(3, max_depth=3, random_state=0),
}


def _probability_trees(model: Any) -> list[Tree]:
    estimators = model.estimators_ if hasattr(model, "estimators_") else [model]
    trees = []
    for estimator in estimators:
        counts = estimator.tree_.value[:, 0, :]
        fractions = counts[:, 1] / counts.sum(axis=1)
        trees.append(_sklearn_tree(estimator.tree_, fractions / len(estimators)))
    return trees


@pytest.mark.parametrize("name", list(FORESTS))
def test_forest_values_are_brute_force_shapley_values_of_the_probability_mapped_onto_the_logit(name: str) -> None:
    model = _fit(FORESTS[name](), nan=True)
    compiled = compile_model(model, NAMES, dtype="float64")
    X = _data(12, 5)[0]
    explained = compiled.explain(X)
    trees = _probability_trees(model)
    for row, x in enumerate(X):
        phi, expected = brute_force_shapley(trees, x)
        p = model.predict_proba(x[None, :])[0, 1]
        np.testing.assert_allclose(phi.sum() + expected, p, atol=1e-12)  # the reference's own local accuracy
        assert explained.base_value[row] == pytest.approx(math.log(expected / (1 - expected)), abs=1e-12)
        logit_p = math.log(max(p, 1e-12) / (1 - min(p, 1 - 1e-12)))
        assert explained.margin[row] == pytest.approx(logit_p, abs=1e-9)
        if abs(phi.sum()) > 1e-9:
            factor = (explained.margin[row] - explained.base_value[row]) / phi.sum()
            np.testing.assert_allclose(explained.values[row], phi * factor, rtol=1e-9, atol=1e-12)


def _gbm_trees(model: Any) -> tuple[list[Tree], float]:
    trees = [_sklearn_tree(e.tree_, e.tree_.value[:, 0, 0] * model.learning_rate) for e in model.estimators_[:, 0]]
    return trees, float(model._raw_predict_init(np.zeros((1, N_FEATURES)))[0, 0])


def _hist_trees(model: Any) -> tuple[list[Tree], float]:
    return [_hist_tree(p[0]) for p in model._predictors], float(np.ravel(model._baseline_prediction)[0])


BOOSTERS = {
    "gradient_boosting": (lambda: GradientBoostingClassifier(n_estimators=3, max_depth=2, random_state=0), _gbm_trees),
    "hist_gradient_boosting": (lambda: HistGradientBoostingClassifier(max_iter=3, max_leaf_nodes=4), _hist_trees),
}


@pytest.mark.parametrize("name", list(BOOSTERS))
def test_booster_values_are_brute_force_shapley_values_of_the_margin(name: str) -> None:
    make, read = BOOSTERS[name]
    model = _fit(make(), nan=name == "hist_gradient_boosting")
    compiled = compile_model(model, NAMES, dtype="float64")
    X = _data(12, 6, nan=name == "hist_gradient_boosting")[0]
    explained = compiled.explain(X)
    trees, prior = read(model)
    for row, x in enumerate(X):
        phi, expected = brute_force_shapley(trees, x)
        np.testing.assert_allclose(explained.values[row], phi, rtol=1e-9, atol=1e-12)
        assert explained.base_value[row] == pytest.approx(prior + expected, abs=1e-12)
        assert explained.margin[row] == pytest.approx(model.decision_function(x[None, :])[0], abs=1e-9)


def _with_category(X: np.ndarray, seed: int, unknown: bool) -> np.ndarray:
    """X with its last column replaced by category codes 0..4 (7, never seen at fit, where ``unknown``; some NaN)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 5, size=len(X)).astype(np.float64)
    if unknown:
        codes[rng.random(len(X)) < 0.15] = 7.0
    codes[rng.random(len(X)) < 0.1] = np.nan
    return np.column_stack([X[:, :-1], codes])


def _grouped(compiled: Any) -> bool:
    return any(node.op == "tree_shap" and "groups" in node.attrs for node in compiled.explanation.graph.nodes)


def test_native_categorical_splits_are_one_player_the_feature() -> None:
    """The engine reads a histogram booster's categorical splits through derived membership columns, one per
    category set; grouped, they are the categorical feature, and the values are brute-force Shapley values over the
    raw features, with the trees read straight from scikit-learn (its preprocessing, its category bitsets)."""
    x, _ = _data(600, 0)
    x = _with_category(x, 0, unknown=False)
    effect = np.array([0.0, 2.0, -1.0, 1.5, -2.0, 0.0])[np.nan_to_num(x[:, 3], nan=5.0).astype(int)]
    noise = 0.5 * np.random.default_rng(1).normal(size=len(x))
    y = (np.nan_to_num(x[:, 0]) + effect + noise > 0).astype(int)  # each category its own effect: several splits
    model = HistGradientBoostingClassifier(max_iter=4, max_leaf_nodes=6, categorical_features=[3], random_state=0)
    model.fit(x, y)
    compiled = compile_model(model, NAMES, dtype="float64")
    assert _grouped(compiled)
    X = _with_category(_data(24, 8)[0], 8, unknown=True)
    explained = compiled.explain(X)
    preprocessor = model._preprocessor  # categorical columns first, as codes; unknown categories become NaN
    order = np.concatenate([np.flatnonzero(mask) for _, _, mask in preprocessor.transformers_[:2]])
    trees = [_hist_tree(p[0], lambda f: int(order[f])) for p in model._predictors]
    baseline = float(np.ravel(model._baseline_prediction)[0])
    for row, z in enumerate(preprocessor.transform(X)):
        phi, expected = brute_force_shapley(trees, z, N_FEATURES)
        np.testing.assert_allclose(explained.values[row], phi, rtol=1e-9, atol=1e-12)
        assert explained.base_value[row] == pytest.approx(baseline + expected, abs=1e-12)
        assert explained.margin[row] == pytest.approx(model.decision_function(X[row : row + 1])[0], abs=1e-9)


def test_one_hot_columns_read_by_trees_are_one_player_the_feature() -> None:
    """A booster reading a one-hot block: its columns are one player, the categorical feature."""
    x, _ = _data(600, 0, nan=False)
    x = np.nan_to_num(_with_category(x, 0, unknown=False), nan=4.0)
    y = ((x[:, 0] + 0.5 * x[:, 1] > 0) ^ np.isin(x[:, 3], [1.0, 3.0])).astype(int)
    encode = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), [3])],
                               remainder="passthrough")  # fmt: skip
    model = make_pipeline(encode, GradientBoostingClassifier(n_estimators=4, max_depth=3, random_state=0)).fit(x, y)
    compiled = compile_model(model, NAMES, dtype="float64")
    assert _grouped(compiled)
    X = np.nan_to_num(_with_category(_data(24, 9, nan=False)[0], 9, unknown=True), nan=4.0)
    explained = compiled.explain(X)
    booster = model[-1]
    n_categories = len(encode.named_transformers_["cat"].categories_[0])
    player = [3] * n_categories + [0, 1, 2]  # the one-hot block, then the passthrough columns
    trees = [_sklearn_tree(e.tree_, e.tree_.value[:, 0, 0] * booster.learning_rate, lambda f: player[f])
             for e in booster.estimators_[:, 0]]  # fmt: skip
    prior = float(booster._raw_predict_init(np.zeros((1, len(player))))[0, 0])
    for row, z in enumerate(encode.transform(X)):
        phi, expected = brute_force_shapley(trees, z, N_FEATURES)
        np.testing.assert_allclose(explained.values[row], phi, rtol=1e-9, atol=1e-12)
        assert explained.base_value[row] == pytest.approx(prior + expected, abs=1e-12)
        assert explained.margin[row] == pytest.approx(model.decision_function(X[row : row + 1])[0], abs=1e-9)


SHAP_MODELS = {
    "random_forest": lambda: RandomForestClassifier(20, max_depth=6, random_state=0),
    "gradient_boosting": lambda: GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0),
    "hist_gradient_boosting_nan": lambda: HistGradientBoostingClassifier(max_iter=30, max_leaf_nodes=15),
}


@pytest.mark.parametrize("name", list(SHAP_MODELS))
def test_values_agree_with_the_shap_tree_explainer(name: str) -> None:
    shap = pytest.importorskip("shap")
    nan = name.endswith("nan")
    model = _fit(SHAP_MODELS[name](), nan=nan)
    X = _data(200, 7, nan=nan)[0]
    explained = compile_model(model, NAMES, dtype="float64").explain(X)
    explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    reference = np.asarray(explainer.shap_values(X))
    if name == "random_forest":  # probability scale, one slice per class
        reference = reference[:, :, 1]
        expected = explainer.expected_value[1]
        assert explained.base_value[0] == pytest.approx(math.log(expected / (1 - expected)), abs=1e-9)
        factor = (explained.margin - explained.base_value) / reference.sum(axis=1)
        reference = reference * factor[:, None]
    else:
        assert explained.base_value[0] == pytest.approx(float(np.ravel(explainer.expected_value)[0]), abs=1e-9)
    np.testing.assert_allclose(explained.values, reference, rtol=1e-7, atol=1e-9)

"""Tree models decide exactly like scikit-learn: the same leaf in every tree, for random rows, rows holding NaN
and rows placed exactly at split thresholds (and one float step either side), in float64 and float32."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline

from model_engine.converters import convert_estimator
from model_engine.ir import Graph
from model_engine.ops.trees import traverse_tables
from tests.model_engine.converters.cases import TREE_CASES, Case
from tests.model_engine.converters.engine import available_backends, run
from tests.model_engine.converters.test_parity import TOLERANCE

Array = np.ndarray[Any, Any]
MAX_SPLITS_PER_MODEL = 80  # adversarial rows are built for (at most) this many split thresholds per model


def final_step(case: Case, x: Array) -> tuple[Any, Array]:
    """The tree estimator of a case and the matrix it receives (after any preprocessing steps)."""
    model = case.model()
    if isinstance(model, Pipeline):
        return model[-1], np.asarray(model[:-1].transform(case.as_sklearn_input(x)), dtype=x.dtype)
    return model, x


def engine_leaves(graph: Graph, x: Array) -> Array:
    """Local leaf ids [N, T] the graph's node tables route each row to (global id minus the tree's root)."""
    (node,) = [n for n in graph.nodes if n.op == "tree_ensemble"]
    feature, threshold, left, right, _, missing, roots = (graph.constants[name] for name in node.inputs[1:])
    leaves: Array = traverse_tables(x, feature, threshold, left, right, missing, roots) - roots[None, :]
    return leaves


def leaf_values(graph: Graph, x: Array) -> Array:
    (node,) = [n for n in graph.nodes if n.op == "tree_ensemble"]
    feature, threshold, left, right, value, missing, roots = (graph.constants[name] for name in node.inputs[1:])
    contributions: Array = value[traverse_tables(x, feature, threshold, left, right, missing, roots)].sum(axis=-1)
    return contributions


def assert_same_leaves(model: Any, graph: Graph, x: Array) -> None:
    if isinstance(model, HistGradientBoostingClassifier):
        # The histogram booster exposes no apply(): compare the value each tree contributes (leaf values differ).
        known, f_idx = model._bin_mapper.make_known_categories_bitsets()
        trees = [p for iteration in model._predictors for p in iteration]
        expected = np.stack([p.predict(x.astype(np.float64), known, f_idx, 1) for p in trees], axis=1)
        np.testing.assert_array_equal(leaf_values(graph, x).astype(np.float64), expected.astype(x.dtype))
        return
    expected = model.apply(x)
    if isinstance(model, GradientBoostingClassifier):
        expected = expected.reshape(x.shape[0], -1)  # [N, stages, K] -> stage-major trees, as the tables are laid out
    np.testing.assert_array_equal(engine_leaves(graph, x), expected.reshape(x.shape[0], -1))


def split_thresholds(model: Any) -> list[tuple[int, float]]:
    """(feature, threshold) of the model's splits, as scikit-learn stores them."""
    if isinstance(model, HistGradientBoostingClassifier):
        nodes = [p.nodes for iteration in model._predictors for p in iteration]
        pairs = [(int(n["feature_idx"]), float(n["num_threshold"])) for ns in nodes for n in ns if not n["is_leaf"]]
    else:
        estimators = getattr(model, "estimators_", [model])
        trees = [e.tree_ for e in np.asarray(estimators, dtype=object).reshape(-1)]
        pairs = [(int(f), float(t)) for tr in trees for f, t in zip(tr.feature, tr.threshold, strict=True) if f >= 0]
    finite = sorted({p for p in pairs if np.isfinite(p[1])})
    rng = np.random.default_rng(0)
    if len(finite) > MAX_SPLITS_PER_MODEL:
        finite = [finite[i] for i in sorted(rng.choice(len(finite), MAX_SPLITS_PER_MODEL, replace=False))]
    return finite


def at_thresholds(base: Array, splits: list[tuple[int, float]], dtype: str) -> Array:
    """Rows equal to ``base`` except one feature placed at a threshold or one representable step either side."""
    rows = []
    for feature, t in splits:
        if dtype == "float64":
            candidates = [t, np.nextafter(t, np.inf), np.nextafter(t, -np.inf)]
        else:
            t32 = np.float32(t)
            candidates = [t32, np.nextafter(t32, np.float32(np.inf)), np.nextafter(t32, np.float32(-np.inf))]
        for value in candidates:
            row = base.copy()
            row[feature] = value
            rows.append(row)
    return np.asarray(rows, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", TREE_CASES, ids=lambda c: c.id)
def test_random_rows_reach_the_same_leaves(case: Case, dtype: str) -> None:
    model, x = final_step(case, case.inputs(200, seed=3).astype(dtype))
    assert_same_leaves(model, convert_estimator(model, x.shape[1], dtype=dtype), x)


@pytest.mark.parametrize("backend", available_backends())
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", TREE_CASES, ids=lambda c: c.id)
def test_rows_at_thresholds_decide_like_sklearn(case: Case, dtype: str, backend: str) -> None:
    model, x = final_step(case, case.inputs(1, seed=5).astype(dtype))
    base = np.nan_to_num(x[0], nan=0.0)
    rows = at_thresholds(base, split_thresholds(model), dtype)
    graph = convert_estimator(model, x.shape[1], dtype=dtype)
    assert_same_leaves(model, graph, rows)
    np.testing.assert_allclose(run(graph, rows, backend), model.predict_proba(rows), rtol=0.0, atol=TOLERANCE[dtype])


@pytest.mark.parametrize("case", TREE_CASES, ids=lambda c: c.id)
def test_node_tables_are_well_formed(case: Case) -> None:
    model, x = final_step(case, case.inputs(1).astype("float64"))
    graph = convert_estimator(model, x.shape[1], dtype="float64")
    (node,) = [n for n in graph.nodes if n.op == "tree_ensemble"]
    feature, _, left, right, value, missing, roots = (graph.constants[name] for name in node.inputs[1:])
    leaf = left < 0
    assert np.array_equal(leaf, right < 0)
    assert not missing[leaf].any()
    assert ((feature >= 0) & (feature < x.shape[1])).all()
    # every node is reached exactly once from exactly one root: the tables hold trees, not shared subtrees
    parents = np.zeros(feature.shape[0], dtype=np.int64)
    np.add.at(parents, left[~leaf], 1)
    np.add.at(parents, right[~leaf], 1)
    assert (parents[roots] == 0).all()
    assert (np.delete(parents, roots) == 1).all()
    assert np.isfinite(value[leaf]).all()

"""Linear terms against their closed form: ``coef_k * z_k`` for the columns ``z`` the logistic regression reads
(computed by scikit-learn's own ``transform``), summed per raw feature over the columns that feature moves: a
string column's one-hot block or target encoding, unknown and missing categories included."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.model_engine.converters.cases import N_NUMERIC
from tests.model_engine.explain.cases import AnyCase, compiled, explainable_cases, final_step

LINEAR = [c for c in explainable_cases() if type(final_step(c.make())).__name__ == "LogisticRegression"]


def _dense(array: Any) -> np.ndarray:
    return np.asarray(array.toarray() if hasattr(array, "toarray") else array, dtype=np.float64)


def _perturbed(X: Any, j: int, rng: np.random.Generator) -> Any:
    """``X`` with feature j alone shuffled across the rows (and numeric features jittered)."""
    if isinstance(X, pd.DataFrame):
        column = X.iloc[:, j].to_numpy()
        shuffled = rng.permutation(column)
        if column.dtype.kind == "f":
            shuffled = shuffled + rng.normal(size=len(column))
        return X.assign(**{str(X.columns[j]): shuffled})
    other = X.copy()
    other[:, j] = rng.permutation(X[:, j]) + rng.normal(size=X.shape[0]) * (1.0 if j < N_NUMERIC else 0.0)
    return other


def _columns_moved_by_each_feature(transform: Any, X: Any, case: AnyCase) -> np.ndarray:
    """[F, K]: which transformed columns change when one raw feature alone changes (found by perturbation)."""
    base = _dense(transform(case.as_sklearn_input(X)))
    rng = np.random.default_rng(7)
    moved = np.zeros((X.shape[1], base.shape[1]), dtype=bool)
    for j in range(X.shape[1]):
        for _ in range(4):
            changed = _dense(transform(case.as_sklearn_input(_perturbed(X, j, rng)))) != base
            moved[j] |= (changed & ~(np.isnan(base) & np.isnan(changed))).any(axis=0)
    return moved


@pytest.mark.parametrize("case", LINEAR, ids=lambda c: c.id)
def test_linear_terms_are_the_coefficients_times_the_model_inputs_summed_per_feature(case: AnyCase) -> None:
    estimator = case.model()
    model = compiled(case.id, "float64")
    X = case.inputs(200, seed=5)
    head = final_step(estimator)
    transform = estimator[:-1].transform if hasattr(estimator, "steps") and len(estimator.steps) > 1 else None
    z = _dense(transform(case.as_sklearn_input(X))) if transform else X
    terms = z * head.coef_[0]
    moved = _columns_moved_by_each_feature(transform, X, case) if transform else np.eye(X.shape[1], dtype=bool)
    assert (moved.sum(axis=0) <= 1).all()
    expected = terms @ moved.T.astype(np.float64)
    constant = terms[:, ~moved.any(axis=0)].sum(axis=1)  # columns no feature moves belong to the base
    explained = model.explain(X)
    np.testing.assert_allclose(explained.values, expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(explained.base_value, head.intercept_[0] + constant, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(explained.margin, estimator.decision_function(case.as_sklearn_input(X)), atol=1e-9)


def test_scaled_logistic_regression_terms_are_distances_from_the_training_mean() -> None:
    case = next(c for c in LINEAR if c.id == "train_logistic")
    estimator = case.model()
    scaler, head = estimator[0], estimator[-1]
    X = case.inputs(50)
    # a float32 model's scaler computes in float32 from the rounded input, as its scoring graph's does
    as32 = np.float32
    in_float32 = ((X.astype(as32) - scaler.mean_.astype(as32)) / scaler.scale_.astype(as32)).astype(np.float64)
    for dtype, scaled in (("float64", (X - scaler.mean_) / scaler.scale_), ("float32", in_float32)):
        explained = compiled(case.id, dtype).explain(X)
        expected = head.coef_[0] * scaled
        np.testing.assert_allclose(explained.values, expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(explained.base_value, np.full(50, head.intercept_[0]))
    mean_row = compiled(case.id, "float64").explain(scaler.mean_[None, :])
    np.testing.assert_allclose(mean_row.values, 0.0, atol=1e-12)
    assert mean_row.method == "linear"

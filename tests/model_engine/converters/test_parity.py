"""Parity with scikit-learn: every case, on every CPU backend, in float64 and float32, for several batch sizes.

Tolerances are absolute, on ``predict_proba`` (classifiers) or ``transform`` (transformers).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from scipy import sparse

from model_engine.converters import PROBABILITIES, TRANSFORMED, convert_estimator
from model_engine.ir import graph_to_json
from tests.model_engine.converters.cases import ALL_CASES, CLASSIFIER_CASES, Case
from tests.model_engine.converters.engine import available_backends, run

ATOL_FLOAT64 = 1e-9
ATOL_FLOAT32 = 1e-5
TOLERANCE = {"float64": ATOL_FLOAT64, "float32": ATOL_FLOAT32}
BATCH_SIZES = (1, 7, 131)  # one row, a ragged small batch, and one spanning several row tiles

Array = np.ndarray[Any, Any]


def sklearn_output(case: Case, x: Array, input_dtype: str = "float64") -> Array:
    model = case.model(input_dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unknown-category warnings are expected
        out = (
            model.predict_proba(case.as_sklearn_input(x))
            if hasattr(model, "predict_proba")
            else model.transform(case.as_sklearn_input(x))
        )
    return np.asarray(out.toarray() if sparse.issparse(out) else out, dtype=np.float64)


@pytest.mark.parametrize("backend", available_backends())
@pytest.mark.parametrize("n_rows", BATCH_SIZES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.id)
def test_engine_matches_sklearn(case: Case, dtype: str, n_rows: int, backend: str) -> None:
    graph = convert_estimator(case.model(), case.feature_names if case.named else case.n_features, dtype=dtype)
    x = case.inputs(n_rows).astype(dtype)
    expected = sklearn_output(case, x)
    got = run(graph, x, backend)
    assert got.dtype == np.dtype(dtype)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0.0, atol=TOLERANCE[dtype])


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.id)
def test_graph_names_its_output_by_role(case: Case) -> None:
    graph = convert_estimator(case.model(), case.n_features if not case.named else case.feature_names)
    role = PROBABILITIES if case in CLASSIFIER_CASES else TRANSFORMED
    assert list(graph.outputs) == [role]


@pytest.mark.parametrize("case", [c for c in CLASSIFIER_CASES if c.nan], ids=lambda c: c.id)
def test_rows_entirely_missing_follow_the_fitted_routing(case: Case) -> None:
    x = np.full((3, case.n_features), np.nan)
    graph = convert_estimator(case.model(), case.feature_names if case.named else case.n_features, dtype="float64")
    np.testing.assert_allclose(run(graph, x, "numpy"), sklearn_output(case, x), rtol=0.0, atol=ATOL_FLOAT64)


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.id)
def test_conversion_is_deterministic(case: Case) -> None:
    first = convert_estimator(case.model(), case.feature_names if case.named else case.n_features)
    second = convert_estimator(case.model(), case.feature_names if case.named else case.n_features)
    assert graph_to_json(first) == graph_to_json(second)
    assert first.constants.keys() == second.constants.keys()
    for name, array in first.constants.items():
        assert array.dtype == second.constants[name].dtype
        np.testing.assert_array_equal(array, second.constants[name])

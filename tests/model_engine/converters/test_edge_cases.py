"""Corner cases of single converters that the generic case catalogue does not reach."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import KBinsDiscretizer, MinMaxScaler, OneHotEncoder

from model_engine.converters import convert_estimator
from model_engine.converters.params import hist_boosting_params, sklearn_float32_threshold
from tests.model_engine.converters.engine import available_backends, run
from tests.model_engine.converters.test_parity import TOLERANCE

Array = np.ndarray[Any, Any]
DTYPES = ["float64", "float32"]


def _check(model: Any, x: Array, dtype: str, backend: str = "numpy") -> None:
    x = x.astype(dtype)
    graph = convert_estimator(model, x.shape[1], dtype=dtype)
    expected = model.predict_proba(x) if hasattr(model, "predict_proba") else model.transform(x)
    expected = expected.toarray() if hasattr(expected, "toarray") else expected
    np.testing.assert_allclose(run(graph, x, backend), expected, rtol=0.0, atol=TOLERANCE[dtype])


@pytest.mark.parametrize("keep_empty", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_imputer_drops_or_keeps_a_column_never_observed(keep_empty: bool, dtype: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 4))
    x[:, 2] = np.nan
    x[rng.random(x.shape) < 0.2] = np.nan
    imputer = SimpleImputer(keep_empty_features=keep_empty, add_indicator=True).fit(x)
    graph = convert_estimator(imputer, 4, dtype=dtype)
    # 3 kept columns (4 with keep_empty) plus the indicator of the 4 columns that had missing values
    assert graph.type_of(graph.outputs["transformed"]).shape == (None, 8 if keep_empty else 7)
    with warnings.catch_warnings(action="ignore"):  # "skipping features without any observed values"
        _check(imputer, x, dtype)


@pytest.mark.parametrize("backend", available_backends())
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", ["quantile", "uniform", "kmeans"])
def test_kbins_rows_at_bin_edges_land_in_sklearn_bins(strategy: str, dtype: str, backend: str) -> None:
    rng = np.random.default_rng(0)
    train = rng.normal(size=(200, 2)) * [1.0, 1e3]
    model = KBinsDiscretizer(n_bins=6, encode="ordinal", strategy=strategy, quantile_method="linear").fit(train)
    rows = []
    for j, edges in enumerate(model.bin_edges_):
        for edge in edges:
            if dtype == "float64":
                values = [edge, np.nextafter(edge, np.inf), np.nextafter(edge, -np.inf)]
            else:
                e32 = np.float32(edge)
                values = [e32, np.nextafter(e32, np.float32(np.inf)), np.nextafter(e32, np.float32(-np.inf))]
            for v in values:
                row = np.median(train, axis=0)
                row[j] = v
                rows.append(row)
    x = np.asarray(rows, dtype=dtype)
    graph = convert_estimator(model, 2, dtype=dtype)
    np.testing.assert_array_equal(run(graph, x, backend), model.transform(x))


@pytest.mark.parametrize("dtype", DTYPES)
def test_min_max_clip_bounds_values_outside_the_fitted_range(dtype: str) -> None:
    train = np.random.default_rng(0).uniform(0, 1, size=(50, 3))
    model = MinMaxScaler(clip=True, feature_range=(0.0, 1.0)).fit(train)
    _check(model, np.array([[-5.0, 0.5, 7.0], [1e6, -1e6, 0.25]]), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "encoder",
    [
        OneHotEncoder(drop=[2.0, 0.0], sparse_output=False, handle_unknown="ignore"),
        OneHotEncoder(drop="if_binary", sparse_output=False),
        OneHotEncoder(handle_unknown="warn", min_frequency=10, sparse_output=False),
        OneHotEncoder(categories=[[0.0, 1.0, 2.0, 3.0, 9.0], [0.0, 1.0]], sparse_output=False, handle_unknown="ignore"),
    ],
    ids=["drop_explicit", "drop_if_binary", "warn_infrequent", "explicit_categories"],
)
def test_one_hot_configurations(encoder: OneHotEncoder, dtype: str) -> None:
    rng = np.random.default_rng(0)
    train = np.c_[rng.choice([0.0, 1.0, 2.0, 3.0], size=60, p=[0.5, 0.3, 0.15, 0.05]), rng.integers(0, 2, 60)]
    model = encoder.fit(train)
    rows = np.c_[np.array([0.0, 1.0, 2.0, 3.0, 5.0, 9.0]), np.array([0.0, 1.0, 0.0, 1.0, 1.0, 0.0])]
    if model.handle_unknown == "error":
        rows = rows[np.isin(rows[:, 0], model.categories_[0])]
    with warnings.catch_warnings(action="ignore"):  # unknown-category warnings are expected
        _check(model, rows, dtype)


def test_float32_threshold_emulation_decides_like_a_float32_cast() -> None:
    rng = np.random.default_rng(0)
    low = rng.normal(size=2000).astype(np.float32) * np.float32(10.0) ** rng.integers(-30, 30, 2000).astype(np.float32)
    high = np.nextafter(low, np.float32(np.inf))
    midpoints = (low.astype(np.float64) + high.astype(np.float64)) / 2.0  # what scikit-learn trees store
    arbitrary = rng.normal(size=2000) * 1e3
    for t in (midpoints, arbitrary):
        emulated = sklearn_float32_threshold(t)
        for x in (t, np.nextafter(t, np.inf), np.nextafter(t, -np.inf), emulated, np.nextafter(emulated, np.inf)):
            with np.errstate(over="ignore"):
                np.testing.assert_array_equal(x <= emulated, x.astype(np.float32) <= t)


@pytest.mark.parametrize("backend", available_backends())
@pytest.mark.parametrize("dtype", DTYPES)
def test_histogram_booster_categorical_splits_on_awkward_values(dtype: str, backend: str) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(0)
    codes = rng.choice([1.0, 3.0, 5.0, 7.0, 9.0, 11.0, np.nan], size=400)
    train = np.c_[rng.normal(size=400), codes]
    labels = np.isin(codes, [3.0, 7.0]) | (train[:, 0] > 1.0)
    model = HistGradientBoostingClassifier(max_iter=5, max_leaf_nodes=6, categorical_features=[1]).fit(train, labels)
    assert len(hist_boosting_params(model).derived) >= 1  # the model does split on categories
    probes = np.array([1.0, 3.0, 7.0, 11.0, np.nan, 4.0, -1.0, 2.5, 3.0000001, 300.0, -0.0, 0.0])
    x = np.c_[np.linspace(-2.0, 2.0, probes.shape[0]), probes].astype(dtype)
    graph = convert_estimator(model, 2, dtype=dtype)
    np.testing.assert_allclose(run(graph, x, backend), model.predict_proba(x), rtol=0.0, atol=TOLERANCE[dtype])

"""XGBoost and LightGBM binary classifiers compile and match each library's own ``predict_proba`` within 1e-5:
with NaN routed by each split's default direction, inputs placed exactly on every split threshold and one float
step either side, categorical splits (pandas categorical columns, with unknown and missing values), inside a
scikit-learn pipeline, and early-stopped models up to their best iteration."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from model_engine import compile_model
from model_engine.errors import ConversionError
from tests.model_engine.converters.booster_cases import (
    CATEGORICAL_NAMES,
    CATEGORIES,
    MODELS,
    NAMES,
    N,
    as_categorical,
    booster_data,
    categorical_frame,
    fitted,
    fitted_categorical,
    lgb_classifier,
    xgb_classifier,
)

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")

ATOL = 1e-5


def _split_values(model: Any) -> np.ndarray:
    if isinstance(model, xgb.XGBClassifier):
        frame = model.get_booster().trees_to_dataframe()
        return frame["Split"].dropna().to_numpy(dtype=np.float64)
    frame = model.booster_.trees_to_dataframe()
    return frame["threshold"].dropna().to_numpy(dtype=np.float64)


@pytest.mark.parametrize("input_dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(MODELS))
def test_booster_matches_its_library(name: str, input_dtype: str) -> None:
    model = fitted(name, input_dtype)
    compiled = compile_model(model, NAMES, input_dtype=input_dtype)
    X_new = booster_data(800, seed=1)[0].astype(input_dtype)
    on_thresholds = (
        np.random.default_rng(2)
        .choice(
            np.concatenate([(t := _split_values(model)), np.nextafter(t, np.inf), np.nextafter(t, -np.inf)]), (600, N)
        )
        .astype(input_dtype)
    )
    for batch in (X_new, on_thresholds, np.full((3, N), np.nan, dtype=input_dtype)):
        for backend in ("numpy", "numba"):
            np.testing.assert_allclose(
                compiled.predict_proba(batch, backend=backend), model.predict_proba(batch), rtol=0, atol=ATOL
            )


def test_booster_in_a_pipeline_and_after_early_stopping() -> None:
    X, y = booster_data(2000, seed=0)
    for booster in (
        xgb_classifier(early_stopping_rounds=3, n_estimators=200),
        lgb_classifier(n_estimators=200),
    ):
        pipeline = make_pipeline(StandardScaler(), booster)
        fit_params = {"eval_set": [(X[1500:], y[1500:])]}
        if isinstance(booster, lgb.LGBMClassifier):
            fit_params["callbacks"] = [lgb.early_stopping(3, verbose=False)]
        else:
            fit_params["verbose"] = False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            booster.fit(StandardScaler().fit(X[:1500]).transform(X[:1500]), y[:1500], **fit_params)
            pipeline.steps[0][1].fit(X[:1500])
        compiled = compile_model(pipeline, NAMES)
        X_new = booster_data(500, seed=3)[0]
        np.testing.assert_allclose(compiled.predict_proba(X_new), pipeline.predict_proba(X_new), rtol=0, atol=ATOL)


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_categorical_splits_on_string_categories(library: str) -> None:
    model = fitted_categorical(library)
    compiled = compile_model(model, CATEGORICAL_NAMES)
    assert compiled.signature.vocabularies["channel"] == tuple(CATEGORIES)
    frame = categorical_frame(600, 1, scoring=True, unknown=True)
    np.testing.assert_allclose(compiled.predict_proba(frame), model.predict_proba(as_categorical(frame)), rtol=0,
                               atol=ATOL)  # fmt: skip


def test_unsupported_booster_configurations_say_why() -> None:
    X, y = booster_data(300, seed=0, nan=0.0)
    with pytest.raises(ConversionError, match="binary"):
        compile_model(xgb_classifier().fit(X, np.arange(300) % 3), NAMES)
    with pytest.raises(ConversionError, match="gbtree"):
        compile_model(xgb_classifier(booster="dart").fit(X, y), NAMES)
    with pytest.raises(ConversionError, match="Zero"):
        compile_model(lgb_classifier(zero_as_missing=True).fit(np.where(X > 1, 0.0, X), y), NAMES)

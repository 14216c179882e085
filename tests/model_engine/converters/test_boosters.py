"""XGBoost and LightGBM binary classifiers compile and match each library's own ``predict_proba`` within 1e-5:
with NaN routed by each split's default direction, inputs placed exactly on every split threshold and one float
step either side, categorical splits (pandas categorical columns, with unknown and missing values), inside a
scikit-learn pipeline, and early-stopped models up to their best iteration."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from model_engine import compile_model
from model_engine.errors import ConversionError

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")

ATOL = 1e-5
N = 6
NAMES = [f"f{i}" for i in range(N)]


def _data(rows: int, seed: int, nan: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.round(rng.normal(size=(rows, N)) * np.array([1, 5, 0.3, 2, 50, 1]), 2)
    y = (X[:, 0] + X[:, 1] / 5 - X[:, 3] / 2 + rng.normal(size=rows) * 0.3 > 0).astype(int)
    X[rng.random(X.shape) < nan] = np.nan
    return X, y


def _xgb(**options: Any) -> Any:
    settings = {"n_estimators": 30, "max_depth": 4, "learning_rate": 0.3, "n_jobs": 1, "random_state": 0, **options}
    return xgb.XGBClassifier(**settings)


def _lgb(**options: Any) -> Any:
    settings = {"n_estimators": 30, "num_leaves": 15, "n_jobs": 1, "random_state": 0, "verbose": -1, **options}
    return lgb.LGBMClassifier(**settings)


MODELS = {
    "xgboost": lambda: _xgb(),
    "xgboost_deep_lossguide": lambda: _xgb(grow_policy="lossguide", max_leaves=31, max_depth=0),
    "lightgbm": lambda: _lgb(),
    "lightgbm_no_missing": lambda: _lgb(use_missing=False),
    "lightgbm_rf": lambda: _lgb(boosting_type="rf", bagging_freq=1, bagging_fraction=0.7),
    "lightgbm_sigmoid": lambda: _lgb(objective="binary", sigmoid=0.7),
}


def _split_values(model: Any) -> np.ndarray:
    if isinstance(model, xgb.XGBClassifier):
        frame = model.get_booster().trees_to_dataframe()
        return frame["Split"].dropna().to_numpy(dtype=np.float64)
    frame = model.booster_.trees_to_dataframe()
    return frame["threshold"].dropna().to_numpy(dtype=np.float64)


@pytest.mark.parametrize("input_dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(MODELS))
def test_booster_matches_its_library(name: str, input_dtype: str) -> None:
    X, y = _data(1500, seed=0)
    X = X.astype(input_dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MODELS[name]().fit(X, y)
    compiled = compile_model(model, NAMES, input_dtype=input_dtype)
    X_new = _data(800, seed=1)[0].astype(input_dtype)
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
    X, y = _data(2000, seed=0)
    for booster in (
        _xgb(early_stopping_rounds=3, n_estimators=200),
        _lgb(n_estimators=200),
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
        X_new = _data(500, seed=3)[0]
        np.testing.assert_allclose(compiled.predict_proba(X_new), pipeline.predict_proba(X_new), rtol=0, atol=ATOL)


def _categorical_frame(rows: int, seed: int, *, scoring: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    channel = rng.choice(["pos", "ecom", "atm", "moto", "mail"], rows).astype(object)
    if scoring:
        channel[rng.random(rows) < 0.1] = None
    return pd.DataFrame({"amount": np.round(rng.lognormal(3, 1, rows), 2), "hour": rng.integers(0, 24, rows) * 1.0,
                         "channel": channel})  # fmt: skip


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_categorical_splits_on_string_categories(library: str) -> None:
    train = _categorical_frame(1500, 0, scoring=False)
    categories = ["atm", "ecom", "mail", "moto", "pos"]
    train["channel"] = pd.Categorical(train["channel"], categories=categories)
    y = (train["channel"].isin(["ecom", "moto"]) & (train["amount"] > 12)).to_numpy().astype(int)
    if library == "xgboost":
        model = _xgb(enable_categorical=True, tree_method="hist", max_cat_to_onehot=1).fit(train, y)
    else:
        model = _lgb(min_data_per_group=5, cat_smooth=1).fit(train, y)
    compiled = compile_model(model, ["amount", "hour", "channel"])
    assert compiled.signature.vocabularies["channel"] == tuple(categories)
    frame = _categorical_frame(600, 1, scoring=True)
    frame.loc[frame.index[:20], "channel"] = "crypto"  # unknown at fit
    as_category = frame.assign(channel=pd.Categorical(frame["channel"].where(frame["channel"] != "crypto"),
                                                      categories=categories))  # fmt: skip
    np.testing.assert_allclose(compiled.predict_proba(frame), model.predict_proba(as_category), rtol=0, atol=ATOL)


def test_unsupported_booster_configurations_say_why() -> None:
    X, y = _data(300, seed=0, nan=0.0)
    with pytest.raises(ConversionError, match="binary"):
        compile_model(_xgb().fit(X, np.arange(300) % 3), NAMES)
    with pytest.raises(ConversionError, match="gbtree"):
        compile_model(_xgb(booster="dart").fit(X, y), NAMES)
    with pytest.raises(ConversionError, match="Zero"):
        compile_model(_lgb(zero_as_missing=True).fit(np.where(X > 1, 0.0, X), y), NAMES)

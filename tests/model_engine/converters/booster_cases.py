"""XGBoost and LightGBM classifiers fitted on seeded data, shared by the converter tests and the explanation
contract tests so both run the same models.

Numeric data: six features on different scales, rounded to cents (so thresholds fall on values that occur), NaN in
a tenth of the cells. Categorical data: a string ``channel`` (five categories) beside ``amount`` and ``hour``,
fitted as a pandas categorical column; scoring frames hold missing channels and, where asked, one never seen.
The libraries are imported where a model is made, so this module loads without them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

N = 6
NAMES = [f"f{i}" for i in range(N)]
CATEGORIES = ["atm", "ecom", "mail", "moto", "pos"]
CATEGORICAL_NAMES = ["amount", "hour", "channel"]
UNKNOWN = "crypto"


def booster_data(rows: int, seed: int, nan: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.round(rng.normal(size=(rows, N)) * np.array([1, 5, 0.3, 2, 50, 1]), 2)
    y = (X[:, 0] + X[:, 1] / 5 - X[:, 3] / 2 + rng.normal(size=rows) * 0.3 > 0).astype(int)
    X[rng.random(X.shape) < nan] = np.nan
    return X, y


def xgb_classifier(**options: Any) -> Any:
    import xgboost as xgb

    settings = {"n_estimators": 30, "max_depth": 4, "learning_rate": 0.3, "n_jobs": 1, "random_state": 0, **options}
    return xgb.XGBClassifier(**settings)


def lgb_classifier(**options: Any) -> Any:
    import lightgbm as lgb

    settings = {"n_estimators": 30, "num_leaves": 15, "n_jobs": 1, "random_state": 0, "verbose": -1, **options}
    return lgb.LGBMClassifier(**settings)


MODELS: dict[str, Callable[[], Any]] = {
    "xgboost": lambda: xgb_classifier(),
    "xgboost_deep_lossguide": lambda: xgb_classifier(grow_policy="lossguide", max_leaves=31, max_depth=0),
    "lightgbm": lambda: lgb_classifier(),
    "lightgbm_no_missing": lambda: lgb_classifier(use_missing=False),
    "lightgbm_rf": lambda: lgb_classifier(boosting_type="rf", bagging_freq=1, bagging_fraction=0.7),
    "lightgbm_sigmoid": lambda: lgb_classifier(objective="binary", sigmoid=0.7),
}


@cache
def fitted(name: str, input_dtype: str = "float64") -> Any:
    """``MODELS[name]`` fitted on 1,500 rows of :func:`booster_data` in ``input_dtype``."""
    X, y = booster_data(1500, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MODELS[name]().fit(X.astype(input_dtype), y)


def categorical_frame(rows: int, seed: int, *, scoring: bool, unknown: bool = False) -> pd.DataFrame:
    """Channels as strings; at scoring time some missing (None) and, with ``unknown``, the first 20 unseen."""
    rng = np.random.default_rng(seed)
    channel = rng.choice(["pos", "ecom", "atm", "moto", "mail"], rows).astype(object)
    if scoring:
        channel[rng.random(rows) < 0.1] = None
    if unknown:
        channel[:20] = UNKNOWN
    return pd.DataFrame({"amount": np.round(rng.lognormal(3, 1, rows), 2), "hour": rng.integers(0, 24, rows) * 1.0,
                         "channel": channel})  # fmt: skip


def as_categorical(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as the libraries take it: ``channel`` a pandas categorical of the fitted categories (an unseen
    value becomes missing, as pandas makes it)."""
    known = frame["channel"].where(frame["channel"].isin(CATEGORIES))
    return frame.assign(channel=pd.Categorical(known, categories=CATEGORIES))


def categorical_labels(frame: pd.DataFrame) -> np.ndarray:
    return (frame["channel"].isin(["ecom", "moto"]) & (frame["amount"] > 12)).to_numpy().astype(int)


CATEGORICAL_MODELS: dict[str, Callable[[], Any]] = {
    "xgboost": lambda: xgb_classifier(enable_categorical=True, tree_method="hist", max_cat_to_onehot=1),
    "lightgbm": lambda: lgb_classifier(min_data_per_group=5, cat_smooth=1),
}
"""Each library's classifier with categorical splits on ``channel``."""


@cache
def fitted_categorical(library: str) -> Any:
    train = as_categorical(categorical_frame(1500, 0, scoring=False))
    return CATEGORICAL_MODELS[library]().fit(train, categorical_labels(train))


def scaled(name: str) -> Any:
    """``MODELS[name]`` after a StandardScaler, unfitted."""
    return make_pipeline(StandardScaler(), MODELS[name]())


@cache
def fitted_scaled(name: str) -> Any:
    X, y = booster_data(1500, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return scaled(name).fit(X, y)

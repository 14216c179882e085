"""The string-category pipelines of every family, fitted on transaction-like DataFrames: string columns
``channel`` and ``country`` (a rare channel, a long tail of countries) beside numeric ``amount`` and ``hour``.
Scoring frames hold categories never seen at fit and missing values. Shared by the converter tests and the
explanation contract tests, so both run the same models.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler, TargetEncoder
from sklearn.tree import DecisionTreeClassifier

NUMERIC = ["amount", "hour"]
CATEGORICAL = ["channel", "country"]
FEATURES = NUMERIC + CATEGORICAL


def transactions(rows: int, seed: int, *, scoring: bool) -> pd.DataFrame:
    """Channels pos/ecom/atm (moto rare), countries with a long tail; at scoring time unknown values and None."""
    rng = np.random.default_rng(seed)
    channel = rng.choice(["pos", "ecom", "atm", "moto"], rows, p=[0.5, 0.3, 0.18, 0.02]).astype(object)
    country = rng.choice([f"c{k:02d}" for k in range(12)], rows, p=np.r_[[0.3, 0.2, 0.15, 0.1], [0.25 / 8] * 8])
    country = country.astype(object)
    if scoring:
        channel[rng.random(rows) < 0.08] = "crypto"  # never seen at fit
        country[rng.random(rows) < 0.08] = "zz"
        channel[rng.random(rows) < 0.05] = None
    amount = np.round(rng.lognormal(3.0, 1.0, rows), 2)
    return pd.DataFrame({"amount": amount, "hour": rng.integers(0, 24, rows).astype(float), "channel": channel,
                         "country": country})  # fmt: skip


def labels(frame: pd.DataFrame) -> np.ndarray:
    risky = frame["channel"].isin(["ecom", "moto"]).to_numpy() | frame["country"].isin(["c05", "c07"]).to_numpy()
    return (risky & (frame["amount"].to_numpy() > 15)).astype(int)


def _onehot(**options: Any) -> OneHotEncoder:
    return OneHotEncoder(sparse_output=False, **options)


def _with_numbers(categorical: Any, model: Any) -> Any:
    return make_pipeline(make_column_transformer((categorical, CATEGORICAL), (StandardScaler(), NUMERIC)), model)


PIPELINES: dict[str, Callable[[], Any]] = {
    "onehot_ignore_logreg": lambda: _with_numbers(_onehot(handle_unknown="ignore"), LogisticRegression()),
    "onehot_infrequent_drop_mlp": lambda: _with_numbers(
        _onehot(handle_unknown="infrequent_if_exist", min_frequency=30, drop="first"),
        MLPClassifier((8,), max_iter=300, random_state=0),
    ),
    "imputer_onehot_tree": lambda: _with_numbers(
        make_pipeline(SimpleImputer(strategy="most_frequent"), _onehot(handle_unknown="ignore")),
        DecisionTreeClassifier(max_depth=5, random_state=0),
    ),
    "imputer_constant_onehot_extra_trees": lambda: _with_numbers(
        make_pipeline(SimpleImputer(strategy="constant", fill_value="none"), _onehot(handle_unknown="ignore")),
        ExtraTreesClassifier(5, max_depth=5, random_state=0),
    ),
    "ordinal_unknown_forest": lambda: _with_numbers(
        OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-2),
        RandomForestClassifier(5, max_depth=6, random_state=0),
    ),
    "ordinal_infrequent_gbm": lambda: _with_numbers(
        OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, max_categories=4),
        GradientBoostingClassifier(n_estimators=8, max_depth=3, random_state=0),
    ),
    "target_encoder_logreg": lambda: _with_numbers(TargetEncoder(random_state=0), LogisticRegression()),
    "hgb_native_categorical": lambda: HistGradientBoostingClassifier(
        max_iter=10, max_leaf_nodes=7, categorical_features=CATEGORICAL, random_state=0
    ),
}


@cache
def fitted(name: str) -> Any:
    train = transactions(600, seed=0, scoring=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return PIPELINES[name]().fit(train, labels(train))

"""The models the explanation tests run: every binary classifier case of the converter catalogue, the
string-category pipelines of every family (scored on DataFrames with unknown and missing categories), the XGBoost
and LightGBM models of the converter tests (numeric, after a scaler, with categorical splits), plus the pipelines
the training fits (scaled logistic regression and MLP, a forest, a histogram booster with NaN), and those calibrated
and voted as the training serves them (Platt and isotonic, around a frozen model or cross-validated, over linear,
forest, MLP, histogram-boosting and XGBoost bases and a soft vote; the isotonic model served as a vote).

Each family's tolerance on ``base_value + sum(values) == margin`` is stated here, relative to ``max(1, |margin|)``.
"""

from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    VotingClassifier,
)
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from model_engine import CompiledModel, compile_model
from model_engine.explain.catalogue import explainable_types
from tests.model_engine.converters.booster_cases import (
    CATEGORICAL_MODELS,
    CATEGORICAL_NAMES,
    MODELS,
    NAMES,
    as_categorical,
    booster_data,
    categorical_frame,
    fitted_categorical,
    fitted_scaled,
    scaled,
)
from tests.model_engine.converters.booster_cases import fitted as fitted_booster
from tests.model_engine.converters.cases import CLASSIFIER_CASES, Case
from tests.model_engine.converters.string_cases import FEATURES, PIPELINES, fitted, transactions

ADDITIVITY = {"linear": 1e-6, "tree_shap": 1e-6, "integrated_gradients": 1e-6}
"""Largest ``|base + sum - margin| / max(1, |margin|)`` accepted, by method."""

SCORE_TOLERANCE = {"float32": 1e-5, "float64": 1e-9}
"""``|sigmoid(margin) - score|``: the engine's own parity tolerances on probabilities."""


@dataclass(frozen=True)
class TrainingCase:
    """A pipeline as the training fits it, on data shaped like scaled transaction features (with outliers)."""

    id: str
    make: Any
    nan: bool = False
    n_features: int = 6

    @property
    def feature_names(self) -> list[str]:
        return [f"f{i}" for i in range(self.n_features)]

    def model(self) -> Any:
        return _fitted_training(self.id)

    def inputs(self, n_rows: int, seed: int = 1) -> np.ndarray[Any, Any]:
        return _training_data(self, n_rows, np.random.default_rng(seed))[0]

    def as_sklearn_input(self, x: np.ndarray[Any, Any]) -> Any:
        return x


def _training_data(case: TrainingCase, n_rows: int, rng: np.random.Generator) -> tuple[Any, Any]:
    x = rng.normal(size=(n_rows, case.n_features)) * np.arange(1, case.n_features + 1) + np.arange(case.n_features)
    x[rng.random(n_rows) < 0.05, 0] *= 8.0  # outliers, as large amounts are
    y = (x[:, 0] - 0.5 * x[:, 1] + 0.2 * x[:, 2] + rng.normal(size=n_rows) > 0.5).astype(np.int64)
    if case.nan:
        x[rng.random(x.shape) < 0.1] = np.nan
    return x.astype(np.float32).astype(np.float64), y


TRAINING_CASES: tuple[TrainingCase, ...] = (
    TrainingCase("train_logistic", lambda: make_pipeline(StandardScaler(), LogisticRegression(C=0.1))),
    TrainingCase("train_forest", lambda: RandomForestClassifier(12, max_depth=6, random_state=0)),
    TrainingCase(
        "train_boosting_nan",
        lambda: HistGradientBoostingClassifier(max_iter=20, max_leaf_nodes=15, early_stopping=False, random_state=0),
        nan=True,
    ),
    TrainingCase(
        "train_mlp",
        lambda: make_pipeline(StandardScaler(), MLPClassifier((16, 8), max_iter=200, random_state=0)),
    ),
)


def _frozen(case_id: str) -> FrozenEstimator:
    return FrozenEstimator(_fitted_training(case_id))


def _served_isotonic(case_id: str) -> VotingClassifier:
    """An isotonic model as the training serves it: a soft vote of the calibrated model and the uncalibrated one
    (weight 1e-6, breaking the calibration's ties)."""
    calibrated = CalibratedClassifierCV(_frozen(case_id), method="isotonic")
    members = [("calibrated", calibrated), ("ranking", _frozen(case_id))]
    return VotingClassifier(members, voting="soft", weights=[1.0 - 1e-6, 1e-6])


def _soft_vote() -> VotingClassifier:
    return VotingClassifier([("lr", _frozen("train_logistic")), ("rf", _frozen("train_forest"))], voting="soft")


CALIBRATED_CASES: tuple[TrainingCase, ...] = (
    TrainingCase("platt_frozen_logistic", lambda: CalibratedClassifierCV(_frozen("train_logistic"))),
    TrainingCase("platt_frozen_boosting_nan", lambda: CalibratedClassifierCV(_frozen("train_boosting_nan")), nan=True),
    TrainingCase("platt_frozen_forest", lambda: CalibratedClassifierCV(_frozen("train_forest"))),
    TrainingCase("platt_frozen_mlp", lambda: CalibratedClassifierCV(_frozen("train_mlp"))),
    TrainingCase("platt_frozen_soft_vote", lambda: CalibratedClassifierCV(_frozen("soft_vote"))),
    TrainingCase(
        "platt_cv_forest",
        lambda: CalibratedClassifierCV(RandomForestClassifier(6, max_depth=5, random_state=0), cv=3),
    ),
    TrainingCase(
        "platt_cv_gbm",
        lambda: CalibratedClassifierCV(GradientBoostingClassifier(n_estimators=8, random_state=0), cv=2),
    ),
    TrainingCase(
        "isotonic_cv_logistic",
        lambda: CalibratedClassifierCV(make_pipeline(StandardScaler(), LogisticRegression()), method="isotonic", cv=3),
    ),
    TrainingCase("isotonic_frozen_mlp", lambda: CalibratedClassifierCV(_frozen("train_mlp"), method="isotonic")),
    TrainingCase("isotonic_frozen_soft_vote", lambda: CalibratedClassifierCV(_frozen("soft_vote"), method="isotonic")),
    TrainingCase("served_isotonic_logistic", lambda: _served_isotonic("train_logistic")),
    TrainingCase("served_isotonic_boosting_nan", lambda: _served_isotonic("train_boosting_nan"), nan=True),
    TrainingCase("soft_vote", _soft_vote),
)
"""Calibrated models and soft votes as the training builds them (numeric, fitted on the training-shaped data)."""


def _booster_calibrated() -> tuple[TrainingCase, ...]:
    """XGBoost (scikit-learn calibrates its probabilities) and LightGBM (its decision function, the raw score before
    the sigmoid's scale) calibrated, where the libraries are installed."""
    cases: tuple[TrainingCase, ...] = ()
    if importlib.util.find_spec("xgboost"):
        from xgboost import XGBClassifier

        xgb = {"n_estimators": 10, "max_depth": 3, "random_state": 0}
        cases += (
            TrainingCase("platt_cv_xgboost", lambda: CalibratedClassifierCV(XGBClassifier(**xgb), cv=2)),
            TrainingCase(
                "isotonic_cv_xgboost", lambda: CalibratedClassifierCV(XGBClassifier(**xgb), method="isotonic", cv=2)
            ),
        )
    if importlib.util.find_spec("lightgbm"):
        from lightgbm import LGBMClassifier

        lgb = {"n_estimators": 10, "num_leaves": 7, "sigmoid": 0.7, "random_state": 0, "verbose": -1}
        cases += (
            TrainingCase("platt_cv_lightgbm", lambda: CalibratedClassifierCV(LGBMClassifier(**lgb), cv=2)),
            TrainingCase(
                "isotonic_cv_lightgbm", lambda: CalibratedClassifierCV(LGBMClassifier(**lgb), method="isotonic", cv=2)
            ),
        )
    return cases


TRAINING_CASES += CALIBRATED_CASES + _booster_calibrated()
TRAINING_BY_ID = {case.id: case for case in TRAINING_CASES}


@cache
def _fitted_training(case_id: str) -> Any:
    case = TRAINING_BY_ID[case_id]
    x, y = _training_data(case, 600, np.random.default_rng(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return case.make().fit(x, y)


@dataclass(frozen=True)
class StringCase:
    """A string-category pipeline of :mod:`tests.model_engine.converters.string_cases`, explained on DataFrames."""

    pipeline: str

    @property
    def id(self) -> str:
        return f"strings_{self.pipeline}"

    @property
    def feature_names(self) -> list[str]:
        return list(FEATURES)

    def make(self) -> Any:
        return PIPELINES[self.pipeline]()

    def model(self) -> Any:
        return fitted(self.pipeline)

    def inputs(self, n_rows: int, seed: int = 1) -> pd.DataFrame:
        return transactions(n_rows, seed, scoring=True)

    def as_sklearn_input(self, x: pd.DataFrame) -> pd.DataFrame:
        return x


STRING_CASES = tuple(StringCase(name) for name in PIPELINES)


@dataclass(frozen=True)
class BoosterCase:
    """An XGBoost or LightGBM model of :mod:`tests.model_engine.converters.booster_cases`: on numeric data alone
    or after a StandardScaler, or with categorical splits on a string column (explained on DataFrames)."""

    name: str
    kind: str = "numeric"  # or "scaled", "categorical" (name is then the library)

    @property
    def id(self) -> str:
        return f"booster_{self.name}" + ("" if self.kind == "numeric" else f"_{self.kind}")

    @property
    def feature_names(self) -> list[str]:
        return list(CATEGORICAL_NAMES if self.kind == "categorical" else NAMES)

    def make(self) -> Any:
        if self.kind == "categorical":
            return CATEGORICAL_MODELS[self.name]()
        return scaled(self.name) if self.kind == "scaled" else MODELS[self.name]()

    def model(self) -> Any:
        if self.kind == "categorical":
            return fitted_categorical(self.name)
        return fitted_scaled(self.name) if self.kind == "scaled" else fitted_booster(self.name)

    def inputs(self, n_rows: int, seed: int = 1) -> Any:
        if self.kind == "categorical":
            return categorical_frame(n_rows, seed, scoring=True, unknown=True)
        return booster_data(n_rows, seed + 10)[0]

    def as_sklearn_input(self, x: Any) -> Any:
        return as_categorical(x) if self.kind == "categorical" else x


BOOSTER_CASES = (
    tuple(
        [BoosterCase(name) for name in MODELS]
        + [BoosterCase(name, "scaled") for name in ("xgboost", "lightgbm")]
        + [BoosterCase(name, "categorical") for name in CATEGORICAL_MODELS]
    )
    if all(importlib.util.find_spec(library) for library in ("xgboost", "lightgbm"))
    else ()
)
"""The XGBoost and LightGBM cases, when both libraries are installed (the dev extra installs them)."""

AnyCase = Case | TrainingCase | StringCase | BoosterCase


def final_step(model: Any) -> Any:
    while isinstance(model, Pipeline):
        model = model.steps[-1][1]
    return model


def binary_cases() -> list[AnyCase]:
    return [c for c in CLASSIFIER_CASES if not c.multiclass] + [*STRING_CASES, *BOOSTER_CASES, *TRAINING_CASES]


def explainable_cases() -> list[AnyCase]:
    return [c for c in binary_cases() if type(final_step(c.make())) in explainable_types()]


def unexplainable_cases() -> list[AnyCase]:
    return [c for c in CLASSIFIER_CASES if c.multiclass] + [
        c for c in binary_cases() if type(final_step(c.make())) not in explainable_types()
    ]


@cache
def compiled(case_id: str, dtype: str) -> CompiledModel:
    case = next(c for c in [*CLASSIFIER_CASES, *STRING_CASES, *BOOSTER_CASES, *TRAINING_CASES] if c.id == case_id)
    return compile_model(case.model(), case.feature_names, dtype=dtype)


def unfrozen(model: Any) -> Any:
    """The model a FrozenEstimator wraps (any other model itself)."""
    return model.estimator if isinstance(model, FrozenEstimator) else model


def reference_margin(model: Any, X: Any) -> np.ndarray[Any, Any]:
    """The quantity an explanation states, computed by scikit-learn on ``X``: independent of the engine
    (:mod:`model_engine.explain.ensembles` states the choices). A single classifier's is its score's logit (from its
    decision function where that is exact); a calibrated model's the mean of its calibrated classifiers' Platt
    logits ``-(a f + b)``, or for isotonic the mean of their base models' margins; a soft vote's the weighted mean
    of its members'."""
    model = unfrozen(model)
    if isinstance(model, Pipeline):
        for _, step in model.steps[:-1]:
            if step is not None and step != "passthrough":
                X = step.transform(X)
        return reference_margin(model.steps[-1][1], X)
    if isinstance(model, CalibratedClassifierCV):
        margins = []
        for member in model.calibrated_classifiers_:
            (calibrator,) = member.calibrators
            if member.method == "isotonic":
                base = unfrozen(member.estimator)  # a vote's margin is not its score's logit: its probability
                vote = isinstance(base, VotingClassifier)
                margins.append(base.predict_proba(X)[:, 1] if vote else reference_margin(base, X))
                continue
            if hasattr(member.estimator, "decision_function"):
                f = member.estimator.decision_function(X)
            else:
                f = member.estimator.predict_proba(X)[:, 1]
            margins.append(-(calibrator.a_ * f + calibrator.b_))
        return np.mean(margins, axis=0)
    if isinstance(model, VotingClassifier):
        kept = [est != "drop" for _, est in model.estimators]
        weights = np.asarray(model.weights if model.weights is not None else [1.0] * len(kept))[kept]
        margins = np.array([reference_margin(m, X) for m in model.estimators_])
        return np.asarray(weights @ margins / weights.sum())
    if isinstance(model, GradientBoostingClassifier) and model.loss == "exponential":
        return np.asarray(2.0 * model.decision_function(X))
    # LightGBM's decision function is its raw score, before its sigmoid's scale: its score's logit is the margin.
    if hasattr(model, "decision_function") and not type(model).__module__.startswith("lightgbm"):
        return np.asarray(model.decision_function(X), dtype=np.float64).ravel()
    p = np.clip(model.predict_proba(X)[:, 1], 1e-12, 1 - 1e-12)
    return np.asarray(np.log(p) - np.log1p(-p))


def sigmoid(z: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    out: np.ndarray[Any, Any] = 1.0 / (1.0 + np.exp(-z))
    return out

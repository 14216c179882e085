"""The catalogue is the truth: every listed estimator has a converter, is exercised by the parity cases, and
anything else (unsupported, unfitted, unconvertible configuration) is refused with an error that says why."""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from model_engine.converters import SUPPORTED_ESTIMATORS, convert_estimator, registered_types
from model_engine.converters.params import hist_boosting_params
from model_engine.errors import ConversionError, MissingConverterError, NotFittedError, SignatureError
from tests.model_engine.converters.cases import ALL_CASES, CASES_BY_ID
from tests.model_engine.converters.test_boosters import MODELS as BOOSTER_MODELS


def _estimator_types(estimator: Any) -> set[type]:
    found = {type(estimator)}
    for _, child in getattr(estimator, "steps", []):
        found |= _estimator_types(child)
    for _, child, _ in getattr(estimator, "transformers_", []):
        if not isinstance(child, str):
            found |= _estimator_types(child)
    wrapped = getattr(estimator, "estimator", None)  # CalibratedClassifierCV, FrozenEstimator
    if wrapped is not None:
        found |= _estimator_types(wrapped)
    for child in getattr(estimator, "estimators_", []):  # VotingClassifier
        found |= _estimator_types(child)
    return found


def test_every_registered_converter_is_in_the_catalogue_and_back() -> None:
    assert set(registered_types()) == set(SUPPORTED_ESTIMATORS)
    assert len(SUPPORTED_ESTIMATORS) == len(set(SUPPORTED_ESTIMATORS))


def test_every_supported_estimator_is_exercised_by_a_parity_case() -> None:
    covered = set().union(*(_estimator_types(case.model()) for case in ALL_CASES))
    # XGBoost and LightGBM compute in float32 themselves: their parity cases (1e-5) are in test_boosters.py
    covered |= {type(make()) for make in BOOSTER_MODELS.values()}
    assert set(SUPPORTED_ESTIMATORS) - covered == set()


def test_unsupported_estimator_is_named_with_the_supported_list() -> None:
    x = np.random.default_rng(0).normal(size=(40, 3))
    model = SVC().fit(x, x[:, 0] > 0)
    with pytest.raises(MissingConverterError, match=r"SVC.*supported estimators are .*LogisticRegression"):
        convert_estimator(model, 3)


def test_unsupported_step_inside_a_pipeline_is_named() -> None:
    x = np.random.default_rng(0).normal(size=(40, 3))
    model = make_pipeline(StandardScaler(), SVC()).fit(x, x[:, 0] > 0)
    with pytest.raises(MissingConverterError, match="SVC"):
        convert_estimator(model, 3)


def test_subclasses_are_not_mistaken_for_the_supported_class() -> None:
    class Tweaked(LogisticRegression):  # type: ignore[misc]
        pass

    x = np.random.default_rng(0).normal(size=(40, 3))
    with pytest.raises(MissingConverterError, match="Tweaked"):
        convert_estimator(Tweaked().fit(x, x[:, 0] > 0), 3)


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.id)
def test_unfitted_estimators_are_refused_by_name(case: Any) -> None:
    unfitted = clone(case.model())
    first_step = unfitted.steps[0][1] if isinstance(unfitted, Pipeline) else unfitted
    names = f"({type(unfitted).__name__}|{type(first_step).__name__})"
    with pytest.raises(NotFittedError, match=names + " is not fitted"):
        convert_estimator(unfitted, case.n_features)


def test_width_mismatch_is_refused() -> None:
    x = np.random.default_rng(0).normal(size=(40, 3))
    with pytest.raises(ConversionError, match="fitted on 3 features but receives 4"):
        convert_estimator(LogisticRegression().fit(x, x[:, 0] > 0), 4)


def test_function_transformer_with_code_is_refused() -> None:
    x = np.random.default_rng(0).normal(size=(40, 3))
    model = make_pipeline(FunctionTransformer(np.log1p), LogisticRegression()).fit(np.abs(x), x[:, 0] > 0)
    with pytest.raises(ConversionError, match="log1p"):
        convert_estimator(model, 3)


@pytest.mark.parametrize("case_id", ["hgb_categorical_nan", "hgb_categorical_multiclass"])
def test_categorical_cases_exercise_categorical_splits(case_id: str) -> None:
    assert len(hist_boosting_params(CASES_BY_ID[case_id].model()).derived) >= 1


def test_named_features_are_read_by_name_from_a_wider_signature() -> None:
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["amount", "hour", "age"])
    model = LogisticRegression().fit(frame, frame["amount"] > 0)
    signature = ["age", "extra", "amount", "hour"]
    graph = convert_estimator(model, signature, dtype="float64")
    wide = np.c_[frame["age"], rng.normal(size=60), frame["amount"], frame["hour"]]
    from tests.model_engine.converters.engine import run

    np.testing.assert_allclose(run(graph, wide, "numpy"), model.predict_proba(frame), rtol=0.0, atol=1e-12)
    with pytest.raises(SignatureError, match=r"\['hour'\]"):
        convert_estimator(model, ["age", "amount"])
    with pytest.raises(SignatureError, match="more than once"):
        convert_estimator(model, ["age", "age", "amount", "hour"])


def test_graphs_compute_in_float_types_only() -> None:
    x = np.random.default_rng(0).normal(size=(40, 3))
    with pytest.raises(ConversionError, match="float32 or float64"):
        convert_estimator(LogisticRegression().fit(x, x[:, 0] > 0), 3, dtype="int32")


def _fit(model: Any, x: Any, y: Any) -> Any:
    with warnings.catch_warnings(action="ignore"):
        return model.fit(x, y)


_RNG = np.random.default_rng(0)
_X = _RNG.normal(size=(80, 3))
_Y = (_X[:, 0] > 0).astype(int)

UNCONVERTIBLE = [
    ("imputer_sentinel", lambda: _fit(SimpleImputer(missing_values=-1.0), _X, None), "missing_values=-1.0"),
    ("mlp_multilabel", lambda: _fit(MLPClassifier((3,), max_iter=20), _X, np.c_[_Y, 1 - _Y]), "single-label"),
    ("tree_multioutput", lambda: _fit(DecisionTreeClassifier(), _X, np.c_[_Y, 1 - _Y]), "2 outputs"),
    ("gbm_init_estimator", lambda: _fit(GradientBoostingClassifier(init=LogisticRegression()), _X, _Y), "init="),
    (
        "onehot_strings",
        lambda: _fit(OneHotEncoder(), np.array([["a"], ["b"]] * 10, dtype=object), None),
        "compile it with compile_model",
    ),
]


@pytest.mark.parametrize(
    ("make", "message"), [(m, msg) for _, m, msg in UNCONVERTIBLE], ids=[c[0] for c in UNCONVERTIBLE]
)
def test_unconvertible_configurations_say_why(make: Any, message: str) -> None:
    model = make()
    with pytest.raises(ConversionError, match=re.escape(message)):
        convert_estimator(model, model.n_features_in_)

"""The contract every explainable model keeps, by parametrisation over the case catalogue: contributions add up
to the margin, the margin is the quantity the explanation states (the score's logit, or for calibrated models and
soft votes the quantity their explainer states, computed independently by scikit-learn), both CPU backends agree bit
for bit, named columns and matrices give the same answer; models that cannot be explained say why and which
families can."""

from __future__ import annotations

import json
import logging
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import ClassifierMixin
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from model_engine import compile_model
from model_engine.converters import SUPPORTED_ESTIMATORS
from model_engine.errors import ExplanationUnavailableError, SignatureError
from model_engine.explain.catalogue import explainable_types
from model_engine.explain.ensembles import PROBABILITY_NOTE
from tests.model_engine.explain.cases import (
    ADDITIVITY,
    SCORE_TOLERANCE,
    AnyCase,
    compiled,
    explainable_cases,
    reference_margin,
    sigmoid,
    unexplainable_cases,
)

EXPLAINABLE = explainable_cases()
ROWS = 97


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("case", EXPLAINABLE, ids=lambda c: c.id)
def test_contributions_add_up_to_the_margin_whose_sigmoid_is_the_score(case: AnyCase, backend: str, dtype: str) -> None:
    model = compiled(case.id, dtype)
    X = case.inputs(ROWS)
    explained = model.explain(X, backend=backend)
    assert explained.features == tuple(case.feature_names)
    assert explained.values.shape == (ROWS, len(case.feature_names))
    assert explained.base_value.shape == explained.margin.shape == (ROWS,)
    assert np.isfinite(explained.values).all()
    assert np.isfinite(explained.margin).all()
    gap = np.abs(explained.base_value + explained.values.sum(axis=1) - explained.margin)
    tolerance = max(ADDITIVITY[method] for method in explained.method.split("+"))
    assert np.all(gap <= tolerance * np.maximum(1.0, np.abs(explained.margin))), gap.max()
    if not explained.is_score_logit:
        stated = reference_margin(case.model(), case.as_sklearn_input(X))
        # scikit-learn's own arithmetic (XGBoost's is float32): held to the engine's parity with it
        np.testing.assert_allclose(sigmoid(explained.margin), sigmoid(stated), rtol=0, atol=SCORE_TOLERANCE["float32"])
        return
    score = model.score(X, backend=backend)
    np.testing.assert_allclose(sigmoid(explained.margin), score, rtol=0, atol=SCORE_TOLERANCE[dtype])
    reference = model.score(X, backend="numpy")
    np.testing.assert_allclose(sigmoid(explained.margin), reference, rtol=0, atol=SCORE_TOLERANCE[dtype])


@pytest.mark.parametrize("case", EXPLAINABLE, ids=lambda c: c.id)
def test_the_default_precision_explains_the_estimators_own_scores(case: AnyCase) -> None:
    """Compiled with the defaults, the explained margin is the logit of the estimator's own ``predict_proba``
    (within the engine's 1e-5 parity), or the stated quantity as scikit-learn computes it, and the explanation
    rounds its input to float32 exactly when the precision chosen for the scoring graph is float32."""
    model = compiled(case.id, "auto")
    X = case.inputs(ROWS, seed=5)
    explained = model.explain(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unknown categories at scoring time are the point
        sklearn_input = case.as_sklearn_input(X)
        if explained.is_score_logit:
            expected = case.model().predict_proba(sklearn_input)[:, 1]
        else:
            expected = sigmoid(reference_margin(case.model(), sklearn_input))
    np.testing.assert_allclose(sigmoid(explained.margin), expected, rtol=0, atol=SCORE_TOLERANCE["float32"])
    assert model.explanation is not None
    rounds = any(node.op == "cast" for node in model.explanation.graph.nodes)
    assert rounds == (model.metadata["precision"]["dtype"] == "float32")


def test_a_float32_model_explains_the_decisions_its_scores_take() -> None:
    """A model forced to float32 scales in float32 before its trees, so on inputs that scale exactly onto a split
    threshold its decisions differ from float64's; its explanation computes the scaler as its scoring graph does, so
    the explained margin is still the score's logit on every row."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 3)) * np.array([40.0, 3.0, 0.2]) + np.array([100.0, 0.0, 1.0])
    y = (x[:, 0] / 40 + x[:, 1] / 3 + rng.normal(size=2000) > 2.5).astype(int)
    model = make_pipeline(StandardScaler(), GradientBoostingClassifier(n_estimators=10, max_depth=3, random_state=0))
    model.fit(x, y)
    scaler, booster = model[0], model[-1]
    on_thresholds = []  # inputs whose scaled value is a split threshold, give or take the scaler's rounding
    for tree in booster.estimators_[:, 0]:
        for feature, threshold in zip(tree.tree_.feature, tree.tree_.threshold, strict=True):
            if feature >= 0:
                row = scaler.mean_.copy()
                row[feature] += threshold * scaler.scale_[feature]
                on_thresholds.append(row)
    X = np.array(on_thresholds)
    compiled = compile_model(model, ["a", "b", "c"], dtype="float32")
    explained = compiled.explain(X)
    np.testing.assert_allclose(sigmoid(explained.margin), compiled.score(X), rtol=0, atol=SCORE_TOLERANCE["float32"])


@pytest.mark.parametrize("case", EXPLAINABLE, ids=lambda c: c.id)
def test_numpy_and_numba_explain_bit_for_bit_alike(case: AnyCase) -> None:
    """The attribution kernels agree bit for bit; a margin computed through a network's tanh or sigmoid may differ
    in the last bit (numba's compiled exp against NumPy's), so it is held to 1e-14, and so may contributions mapped
    onto a probability through the sigmoid (a calibrated model's), held to 1e-12 of the largest."""
    model = compiled(case.id, "float32")
    X = case.inputs(ROWS, seed=3)
    reference, compiled_cpu = model.explain(X, backend="numpy"), model.explain(X, backend="numba")
    assert model.explanation is not None
    through_sigmoid = PROBABILITY_NOTE in json.dumps(dict(model.explanation.notes))
    for name in ("values", "base_value"):
        got, want = getattr(compiled_cpu, name), getattr(reference, name)
        if through_sigmoid:
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * max(1.0, np.abs(want).max()), err_msg=name)
        else:
            np.testing.assert_array_equal(got, want, err_msg=name)
    np.testing.assert_allclose(compiled_cpu.margin, reference.margin, rtol=1e-14, atol=0)
    assert compiled_cpu.method == reference.method


@pytest.mark.parametrize("case", EXPLAINABLE, ids=lambda c: c.id)
def test_named_columns_in_any_order_explain_like_the_matrix(case: AnyCase) -> None:
    """Named columns (string categories included) explain as the signature's matrix of them: categories by their
    vocabulary code, unknown ones -1, missing ones NaN."""
    model = compiled(case.id, "float32")
    X = case.inputs(13, seed=4)
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X, columns=case.feature_names)
    matrix = model.signature.encode(frame)
    reordered = frame[list(reversed(case.feature_names))]
    np.testing.assert_array_equal(model.explain(reordered).values, model.explain(matrix).values)
    named = model.explain(matrix, names=case.feature_names)  # a matrix with its column names, checked as for score
    np.testing.assert_array_equal(named.values, model.explain(matrix).values)
    with pytest.raises(SignatureError, match="another order"):
        model.explain(matrix[:, ::-1], names=list(reversed(case.feature_names)))
    single = model.explain(matrix[:1])
    np.testing.assert_allclose(single.values, model.explain(matrix).values[:1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", unexplainable_cases(), ids=lambda c: c.id)
def test_models_that_cannot_be_explained_say_why_and_what_can(case: AnyCase) -> None:
    model = compiled(case.id, "float32")
    assert model.explanation is None
    with pytest.raises(ExplanationUnavailableError, match="explanations cover two-class"):
        model.explain(case.inputs(3))
    assert "unavailable" in model.metadata["explanation"]


def test_the_triton_backend_explains_on_the_cpu_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    case = EXPLAINABLE[0]
    model = compiled(case.id, "float32")
    X = case.inputs(5)
    with caplog.at_level(logging.WARNING, logger="model_engine.model"):
        got = model.explain(X, backend="triton")
    assert "explaining on the CPU with numba" in caplog.text
    np.testing.assert_array_equal(got.values, model.explain(X, backend="numba").values)


def test_every_supported_classifier_family_explains() -> None:
    classifiers = {t for t in SUPPORTED_ESTIMATORS if issubclass(t, ClassifierMixin)}
    assert classifiers <= set(explainable_types()), classifiers - set(explainable_types())

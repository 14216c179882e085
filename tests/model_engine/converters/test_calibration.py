"""Calibrated classifiers compile: the extracted calibration maps are scikit-learn's, the compiled graph matches
``CalibratedClassifierCV.predict_proba`` within 1e-9 in float64 (also with thousands of isotonic knots) and within
the float32 tolerance for Platt's map, an isotonic map with float32 knots rounds the score and the probability to
float32 as scikit-learn does, and what does not compile is refused with the reason."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier, VotingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from model_engine.compile import compile_model
from model_engine.converters import convert_estimator
from model_engine.converters.params import calibrated_members
from model_engine.errors import ConversionError


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    p = 1.0 / (1.0 + np.exp(-(1.5 * X[:, 0] - X[:, 1] + 0.5 * X[:, 2] * X[:, 3] - 2.0)))
    return X, (rng.random(n) < p).astype(np.int64)


@pytest.fixture(scope="module")
def forest() -> RandomForestClassifier:
    X, y = _data(4000)
    return RandomForestClassifier(30, max_depth=8, random_state=0).fit(X, y)


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_the_extracted_map_is_the_calibrator(forest: RandomForestClassifier, method: str) -> None:
    X, y = _data(3000, seed=1)
    calibrated = CalibratedClassifierCV(FrozenEstimator(forest), method=method).fit(X, y)
    (member,) = calibrated_members(calibrated)
    assert member.response == "predict_proba"
    scores = forest.predict_proba(X)[:, 1]
    (calibrator,) = calibrated.calibrated_classifiers_[0].calibrators
    np.testing.assert_allclose(member.calibration.apply(scores), calibrator.predict(scores), rtol=0, atol=1e-12)


def test_an_isotonic_map_of_many_knots_compiles_within_1e_9_in_float64(forest: RandomForestClassifier) -> None:
    X, y = _data(20000, seed=2)
    calibrated = CalibratedClassifierCV(FrozenEstimator(forest), method="isotonic").fit(X, y)
    (member,) = calibrated_members(calibrated)
    assert member.calibration.x.size > 50  # many knots: the ramps' sum must not drift
    X_new, _ = _data(5000, seed=3)
    model = compile_model(calibrated, ["a", "b", "c", "d"], dtype="float64")
    got = model.predict_proba(X_new, backend="numpy")
    np.testing.assert_allclose(got, calibrated.predict_proba(X_new), rtol=0, atol=1e-9)
    np.testing.assert_allclose(model.predict_proba(X_new, backend="numba"), got, rtol=0, atol=1e-12)


def test_platt_on_a_decision_function_within_the_float32_tolerance() -> None:
    X, y = _data(3000)
    calibrated = CalibratedClassifierCV(LogisticRegression(), method="sigmoid", cv=4).fit(X, y)
    assert {m.response for m in calibrated_members(calibrated)} == {"decision_function"}
    X_new, _ = _data(2000, seed=4)
    expected = calibrated.predict_proba(X_new)
    float64 = compile_model(calibrated, ["a", "b", "c", "d"], dtype="float64").predict_proba(X_new)
    np.testing.assert_allclose(float64, expected, rtol=0, atol=1e-9)
    float32 = compile_model(calibrated, ["a", "b", "c", "d"]).predict_proba(X_new.astype(np.float32))
    np.testing.assert_allclose(float32, expected, rtol=0, atol=1e-5)


def test_what_does_not_compile_is_refused_with_the_reason() -> None:
    X, y = _data(600)
    three = np.digitize(X[:, 0], [-0.5, 0.5])
    with pytest.raises(ConversionError, match="only binary calibration"):
        convert_estimator(CalibratedClassifierCV(LogisticRegression(), cv=2).fit(X, three), 4)
    with pytest.raises(ConversionError, match="temperature"):
        convert_estimator(CalibratedClassifierCV(LogisticRegression(), method="temperature", cv=2).fit(X, y), 4)
    with pytest.raises(ConversionError, match="decision function of LinearSVC"):
        convert_estimator(CalibratedClassifierCV(LinearSVC(), cv=2).fit(X, y), 4)
    hard = VotingClassifier([("lr", LogisticRegression())], voting="hard").fit(X, y)
    with pytest.raises(ConversionError, match="voting='soft'"):
        convert_estimator(hard, 4)


def _steep_float32_calibration() -> CalibratedClassifierCV:
    """A logistic regression fitted and calibrated on float32 features (float32 scores, so float32 knots), whose
    isotonic map rises from 0.6 to 1 between features 1e-5 apart, at scores near 1.6 (float32 spacing 1.2e-7):
    a slope of about 5e4 per unit of score."""
    x = np.repeat([-1.0, 1.0, 4.0, 4.0 + 1e-5], 50)
    y = np.concatenate([np.zeros(50), np.tile([0, 1], 25), np.repeat([0, 1], [20, 30]), np.ones(50)]).astype(int)
    X = x[:, None].astype(np.float32)
    model = LogisticRegression().fit(X, y)
    return CalibratedClassifierCV(FrozenEstimator(model), method="isotonic").fit(X, y)


def test_an_isotonic_map_with_float32_knots_rounds_the_score_as_scikit_learn_does() -> None:
    calibrated = _steep_float32_calibration()
    (calibrator,) = calibrated.calibrated_classifiers_[0].calibrators
    assert calibrator.X_thresholds_.dtype == np.float32
    (member,) = calibrated_members(calibrated)
    assert member.calibration.precision == "float32"
    X_new = np.linspace(4.0 - 2e-6, 4.0 + 1.2e-5, 1001)[:, None]  # float64 scores between float32 ones
    expected = calibrated.predict_proba(X_new)[:, 1]
    assert np.count_nonzero((expected > 0.61) & (expected < 0.99)) > 500  # most rows fall on the steep segment
    scores = calibrated.calibrated_classifiers_[0].estimator.decision_function(X_new)
    np.testing.assert_allclose(member.calibration.apply(scores), expected, rtol=0, atol=1e-7)
    model = compile_model(calibrated, ["a"], dtype="float64")
    # float32 resolution of a probability: scikit-learn returns the isotonic map's value rounded to float32;
    # interpolating the unrounded float64 score instead misses by up to the slope times float32's spacing (~1e-3).
    np.testing.assert_allclose(model.predict_proba(X_new)[:, 1], expected, rtol=0, atol=1e-7)
    np.testing.assert_allclose(model.predict_proba(X_new, backend="numba")[:, 1], expected, rtol=0, atol=1e-7)


@pytest.mark.parametrize("name", ["lightgbm", "lightgbm_sigmoid", "xgboost"])
@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_calibrated_boosters_compile(name: str, method: str) -> None:
    # scikit-learn calibrates LightGBM's decision function (its raw score, before the sigmoid and its scale) and
    # XGBoost's probabilities (XGBClassifier has no decision function): both read from the same node tables.
    pytest.importorskip(name.split("_")[0])
    from tests.model_engine.converters.booster_cases import NAMES, booster_data, fitted

    X, y = booster_data(1500, seed=1)
    calibrated = CalibratedClassifierCV(FrozenEstimator(fitted(name)), method=method).fit(X, y)
    (member,) = calibrated_members(calibrated)
    assert member.response == ("predict_proba" if name == "xgboost" else "decision_function")
    X_new, _ = booster_data(2000, seed=2)
    model = compile_model(calibrated, NAMES, dtype="float64")
    # XGBoost sums its leaves in float32 (its probabilities differ from the float64 sum by about 1e-7), which
    # Platt's map carries through and a steep isotonic segment amplifies to about 1e-4.
    atol = {"sigmoid": 1e-6, "isotonic": 1e-4}[method] if name == "xgboost" else 1e-9
    np.testing.assert_allclose(model.predict_proba(X_new), calibrated.predict_proba(X_new), rtol=0, atol=atol)

"""Calibration on simulated data whose fraud probabilities are known: a model fitted with balanced weights
scores far from them; after the calibration step (fitted on a later slice, method chosen by the Brier score)
the calibration error on fresh data is under a stated bound, and the calibrated model compiles into the graph
within 1e-6 of scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from lifecycle.evaluation import reliability_curve
from lifecycle.training.calibration import METHODS, calibrate
from lifecycle.training.candidates import fit_balanced
from lifecycle.training.errors import TrainingError
from model_engine.compile import compile_model

#: The expected calibration error allowed after calibration, on 40,000 fresh rows (about 3 % positives).
ECE_BOUND = 0.01
#: The mean absolute gap allowed between calibrated and true probabilities.
GAP_BOUND = 0.02


def _simulate(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, their true fraud probability, and labels drawn from it."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    p = 1.0 / (1.0 + np.exp(-(1.2 * X[:, 0] - 0.8 * X[:, 1] + 0.6 * X[:, 2] * X[:, 3] - 4.0)))
    return X.astype(np.float32), p, (rng.random(n) < p).astype(np.int64)


@pytest.fixture(scope="module")
def fitted() -> RandomForestClassifier:
    X, _, y = _simulate(30_000, seed=0)
    return fit_balanced(RandomForestClassifier(60, min_samples_leaf=20, random_state=0, n_jobs=2), X, y)


def test_calibration_brings_scores_to_the_known_probabilities(fitted: RandomForestClassifier) -> None:
    X_slice, _, y_slice = _simulate(30_000, seed=1)
    stamps = pd.Series(pd.date_range("2024-01-01", periods=len(y_slice), freq="20s", tz="UTC"))
    calibration = calibrate(fitted, X_slice, y_slice, stamps)
    assert calibration.method in METHODS
    assert set(calibration.brier_by_method) == set(METHODS)
    assert calibration.brier_by_method[calibration.method] == min(calibration.brier_by_method.values())

    X, p, y = _simulate(40_000, seed=2)
    before = fitted.predict_proba(X)[:, 1]
    after = calibration.model.predict_proba(X)[:, 1]
    ece_before = reliability_curve(before, y).expected_calibration_error
    ece_after = reliability_curve(after, y).expected_calibration_error
    assert ece_before > 0.1  # balanced weights: far from probabilities
    assert ece_after < ECE_BOUND
    assert float(np.mean(np.abs(after - p))) < GAP_BOUND < float(np.mean(np.abs(before - p)))

    compiled = compile_model(calibration.model, ["a", "b", "c", "d"], dtype="float64")
    np.testing.assert_allclose(compiled.score(X, backend="numpy"), after, rtol=0, atol=1e-6)


def test_calibration_keeps_the_models_ranking(fitted: RandomForestClassifier) -> None:
    X_slice, _, y_slice = _simulate(30_000, seed=4)
    stamps = pd.Series(pd.date_range("2024-01-01", periods=len(y_slice), freq="20s", tz="UTC"))
    X, _, _ = _simulate(5_000, seed=5)
    raw = fitted.predict_proba(X)[:, 1]
    for method in METHODS:
        calibration = calibrate(fitted, X_slice, y_slice, stamps, methods=(method,))
        calibrated = calibration.model.predict_proba(X)[:, 1]
        order = np.argsort(raw, kind="mergesort")
        # Never reversed, and never tied where the model was not: the ranking is the model's.
        assert np.all(np.diff(calibrated[order]) >= 0), method
        distinct = np.diff(raw[order]) > 0
        assert np.all(np.diff(calibrated[order])[distinct] > 0), method


def test_a_slice_without_both_classes_in_each_half_is_refused(fitted: RandomForestClassifier) -> None:
    X, _, y = _simulate(2_000, seed=3)
    y[len(y) // 2 :] = 0
    stamps = pd.Series(pd.date_range("2024-01-01", periods=len(y), freq="min", tz="UTC"))
    with pytest.raises(TrainingError, match="later half of the calibration slice holds 0 frauds"):
        calibrate(fitted, X, y, stamps)

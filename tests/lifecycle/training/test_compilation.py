"""Every candidate family, fitted as the pipeline fits it (balanced weights, float32 inputs with wide ranges
and missing values where the family accepts them), compiles, survives an artifact round trip and keeps
parity with scikit-learn within the pipeline's tolerance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import make_classification
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression

from lifecycle.training.candidates import FAMILIES, CandidateFamily, fit_balanced
from lifecycle.training.compilation import check_parity, score_with_artifact
from model_engine import compile_model, save_model

PARITY_ATOL = 1e-5  # the pipeline's default TrainingConfig.parity_atol


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_classification(n_samples=3000, n_features=8, weights=[0.97], random_state=0)
    X[:, 0] *= 1e6  # an amount-like column with a wide range: float64 values would fall between float32 ones
    return X.astype(np.float32), y


@pytest.mark.parametrize("candidate", FAMILIES, ids=lambda f: f.name)
def test_family_compiles_with_parity_and_round_trips(
    candidate: CandidateFamily, data: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    X, y = data
    estimator = fit_balanced(candidate.build(candidate.fast_grid[0], 0), X, y)
    names = [f"f{i}" for i in range(X.shape[1])]
    compiled = compile_model(estimator, names)
    scores, gap = check_parity(compiled, estimator, X, atol=PARITY_ATOL)
    assert gap <= PARITY_ATOL
    save_model(compiled, tmp_path / "artifact")
    np.testing.assert_array_equal(score_with_artifact(tmp_path / "artifact", X), scores)


def test_parity_is_held_to_scikit_learn_in_float64_on_the_float32_inputs() -> None:
    """A calibrated model compiles in float64 on float32 inputs; scikit-learn given those float32 inputs computes
    the scores in float32, whose rounding a steep isotonic segment multiplies (here by about 5e4) beyond the
    tolerance, so parity is measured against scikit-learn on the same inputs in float64."""
    x = np.repeat([-1.0, 1.0, 4.0, 4.0 + 1e-5], 50)
    y = np.concatenate([np.zeros(50), np.tile([0, 1], 25), np.repeat([0, 1], [20, 30]), np.ones(50)]).astype(int)
    X = x[:, None].astype(np.float32)
    model = LogisticRegression().fit(X, y)
    calibrated = CalibratedClassifierCV(FrozenEstimator(model), method="isotonic").fit(X, y)
    X_new = np.unique(np.linspace(4.0 - 2e-6, 4.0 + 1.2e-5, 1001).astype(np.float32))[:, None]
    compiled = compile_model(calibrated, ["a"], dtype="float64", input_dtype="float32")
    _, gap = check_parity(compiled, calibrated, X_new, atol=PARITY_ATOL)
    assert gap <= 1e-7  # float32's resolution of the calibrated probability

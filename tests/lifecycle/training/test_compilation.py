"""Every candidate family, fitted as the pipeline fits it (balanced weights, float32 inputs with wide ranges
and missing values where the family accepts them), compiles, survives an artifact round trip and keeps
parity with scikit-learn within the pipeline's tolerance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification

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

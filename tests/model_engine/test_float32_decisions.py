"""float32 compilation keeps every tree decision: inputs placed exactly at, just above and just below each
split threshold reach the same leaves as scikit-learn (which compares float32 inputs to float64 thresholds).

The ensembles are stumps so that every probe row meets the split it was placed at."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

from model_engine import compile_model


def _threshold_inputs(thresholds: np.ndarray, features: np.ndarray, n_features: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t32 = thresholds.astype(np.float32)
    candidates = np.concatenate([t32, np.nextafter(t32, np.float32(np.inf)), np.nextafter(t32, np.float32(-np.inf))])
    columns = np.concatenate([features, features, features])
    X = rng.normal(size=(len(candidates), n_features)).astype(np.float32)
    X[np.arange(len(candidates)), columns] = candidates
    return X


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("kind", ["forest", "hist"])
def test_inputs_at_thresholds_decide_like_scikit_learn(kind: str, backend: str) -> None:
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(600, 4)) * 10).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    if kind == "forest":
        model = RandomForestClassifier(n_estimators=40, max_depth=1, random_state=0).fit(X, y)
        thresholds = np.concatenate([e.tree_.threshold[e.tree_.children_left >= 0] for e in model.estimators_])
        features = np.concatenate([e.tree_.feature[e.tree_.children_left >= 0] for e in model.estimators_])
    else:
        X[::13, 2] = np.nan
        model = HistGradientBoostingClassifier(max_iter=40, max_depth=1, random_state=0).fit(X, y)
        nodes = np.concatenate([p[0].nodes for p in model._predictors])
        split = nodes["is_leaf"] == 0
        thresholds, features = nodes["num_threshold"][split], nodes["feature_idx"][split].astype(np.int64)
    probe = _threshold_inputs(thresholds, features, 4, seed=1)
    compiled = compile_model(model, ["a", "b", "c", "d"], dtype="float32")
    got = compiled.predict_proba(probe, backend=backend)
    # identical leaves give probabilities equal to float32 rounding of the same sums
    np.testing.assert_allclose(got, model.predict_proba(probe), rtol=0, atol=1e-5)

"""Compiling candidates into engine artifacts, and holding them to their scikit-learn originals.

Parity is checked on the whole test set: the engine computes in float32, so the tolerance is stated in
probability units (``atol``); a model beyond it is not registered.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from lifecycle.training.errors import ParityError
from model_engine import CompiledModel, load_model
from model_engine.compile import compile_model


def compile_for_serving(estimator: Any, feature_names: Sequence[str]) -> CompiledModel:
    """The fitted estimator compiled for the engine, with its signature (feature names in column order)."""
    return compile_model(estimator, list(feature_names))


def check_parity(
    model: CompiledModel, estimator: Any, X: npt.NDArray[Any], *, atol: float, backend: str = "numpy"
) -> tuple[npt.NDArray[np.float64], float]:
    """Engine scores on ``X`` and their largest difference from scikit-learn; refuses a gap above ``atol``."""
    engine = np.asarray(model.score(X, backend=backend), dtype=np.float64)
    reference = np.asarray(estimator.predict_proba(X)[:, 1], dtype=np.float64)
    gap = float(np.max(np.abs(engine - reference))) if len(X) else 0.0
    if gap > atol:
        raise ParityError(
            f"the compiled {type(estimator).__name__} differs from scikit-learn by {gap:.2e} (> {atol:.0e}) on the "
            "test set; report it as an engine bug, or train without this family (--families)"
        )
    return engine, gap


def score_with_artifact(path: Path, X: npt.NDArray[Any], backend: str = "numpy") -> npt.NDArray[np.float64]:
    """Scores of a saved artifact, loaded through the serving code path."""
    return np.asarray(load_model(path, backend=backend).score(X), dtype=np.float64)

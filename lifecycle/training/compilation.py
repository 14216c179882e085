"""Compiling candidates into engine artifacts, and holding them to their scikit-learn originals.

Parity is checked on the whole test set: the engine computes in float32, so the tolerance is stated in
probability units (``atol``); a model beyond it is not registered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from lifecycle.evaluation import EvaluationConfig, EvaluationReport, evaluate
from lifecycle.training.dataset import TrainingData
from lifecycle.training.errors import ParityError, TrainingError
from lifecycle.training.fitting import FittedCandidate
from lifecycle.training.progress import Steps
from model_engine import CompiledModel, compile_model, load_model
from model_engine.errors import ModelEngineError


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


@dataclass(frozen=True)
class CompiledCandidate:
    """A fitted candidate compiled for the engine, its parity with scikit-learn, and its test-period report."""

    fitted: FittedCandidate
    model: CompiledModel
    parity: float
    report: EvaluationReport

    @property
    def family(self) -> str:
        return self.fitted.family


def compile_candidates(
    fitted: Sequence[FittedCandidate],
    data: TrainingData,
    evaluation: EvaluationConfig,
    *,
    parity_atol: float,
    steps: Steps,
) -> tuple[list[CompiledCandidate], dict[str, str]]:
    """Compile each candidate, hold it to scikit-learn on the test period, and evaluate its engine scores there.

    A candidate the engine cannot serve faithfully is left out, not the run: the reason is returned by family.
    """
    compiled: list[CompiledCandidate] = []
    excluded: dict[str, str] = {}
    for candidate in fitted:
        name = candidate.family
        with steps.step(f"compile:{name}", f"compiling {name} and checking parity with scikit-learn"):
            try:
                model = compile_model(candidate.estimator, list(data.input_names))
                scores, gap = check_parity(model, candidate.estimator, data.test_inputs, atol=parity_atol)
            except ModelEngineError as error:
                excluded[name] = f"{type(error).__name__}: {error}"
                steps.progress(f"compile:{name}", f"excluded: {error}")
                continue
        with steps.step(f"evaluate:{name}", f"evaluating {name}"):
            report = evaluate(scores, data.test_transactions, evaluation, first_seen=data.first_seen)
        compiled.append(CompiledCandidate(candidate, model, gap, report))
    if not compiled:
        raise TrainingError(f"no candidate compiled with parity: {excluded}")
    return compiled, excluded

"""The chosen candidate made servable: calibrated, compiled into an engine artifact, and held to its
scikit-learn original; and every candidate's test-period evaluation for the report.

Parity is checked on the whole test set, in probability units (``atol``), against scikit-learn computing in float64
on the same inputs, as the compiled model does; a model beyond it is not registered. (On float32 inputs
scikit-learn computes a pipeline's scores in float32, and a steep isotonic calibration segment turns their
rounding, which also changes with the batch's size, into differences of 1e-4.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from lifecycle.evaluation import EvaluationConfig, EvaluationReport, evaluate
from lifecycle.training.calibration import Calibration, calibrate, raw_scores
from lifecycle.training.dataset import TrainingData
from lifecycle.training.errors import ParityError
from lifecycle.training.fitting import FittedCandidate
from lifecycle.training.progress import Steps
from model_engine import CompiledModel, compile_model, load_model


def check_parity(
    model: CompiledModel, estimator: Any, X: npt.NDArray[Any], *, atol: float, backend: str = "numpy"
) -> tuple[npt.NDArray[np.float64], float]:
    """Engine scores on ``X`` and their largest difference from scikit-learn (on ``X`` in float64); refuses a gap
    above ``atol``."""
    engine = np.asarray(model.score(X, backend=backend), dtype=np.float64)
    reference = np.asarray(estimator.predict_proba(np.asarray(X, dtype=np.float64))[:, 1], dtype=np.float64)
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
class ServedCandidate:
    """The chosen candidate as it will be served: calibrated (when a slice was kept for it), compiled, held to
    scikit-learn, and evaluated on the test period through the engine; with the uncalibrated model's test scores
    for the reliability before calibration."""

    fitted: FittedCandidate
    calibration: Calibration | None
    model: CompiledModel
    parity: float
    report: EvaluationReport
    test_scores: npt.NDArray[np.float64]
    raw_test_scores: npt.NDArray[np.float64]

    @property
    def family(self) -> str:
        return self.fitted.family


def evaluate_candidates(
    fitted: Sequence[FittedCandidate], data: TrainingData, evaluation: EvaluationConfig, *, steps: Steps
) -> dict[str, EvaluationReport]:
    """Each fitted candidate's test-period evaluation (uncalibrated, scikit-learn scores), for the report's
    side-by-side table; the choice was made before, on validation folds, and never reads these."""
    reports: dict[str, EvaluationReport] = {}
    with steps.step("evaluate:candidates", f"evaluating {len(fitted)} candidates on the test period"):
        for candidate in fitted:
            scores = raw_scores(candidate.estimator, data.test_inputs)
            reports[candidate.family] = evaluate(scores, data.test_transactions, evaluation, first_seen=data.first_seen)
    return reports


def serve(
    candidate: FittedCandidate,
    data: TrainingData,
    evaluation: EvaluationConfig,
    *,
    parity_atol: float,
    steps: Steps,
) -> ServedCandidate:
    """Calibrate on the calibration slice (when there is one), compile in float64 (the calibration map's steep
    segments need its precision to match scikit-learn), check parity on the test period and evaluate there.
    :class:`~model_engine.errors.ModelEngineError` when the engine cannot serve it faithfully."""
    name = candidate.family
    calibration: Calibration | None = None
    served: Any = candidate.estimator
    if data.calibration.any():
        with steps.step(f"calibrate:{name}", f"calibrating {name} on the calibration slice"):
            calibration = calibrate(
                candidate.estimator, data.calibration_inputs, data.y_calibration, data.calibration_timestamps
            )
            served = calibration.model
    with steps.step(f"compile:{name}", f"compiling {name} and checking parity with scikit-learn"):
        # float32 inputs (the features are fitted and served as float32); an uncalibrated model keeps the engine's
        # precision choice, a calibrated one computes in float64 (the map's steep segments need it for parity).
        dtype = "auto" if calibration is None else "float64"
        model = compile_model(served, list(data.input_names), dtype=dtype, input_dtype="float32")
        scores, gap = check_parity(model, served, data.test_inputs, atol=parity_atol)
    with steps.step(f"evaluate:{name}", f"evaluating the served {name} on the test period"):
        report = evaluate(scores, data.test_transactions, evaluation, first_seen=data.first_seen)
    raw = raw_scores(candidate.estimator, data.test_inputs)
    return ServedCandidate(candidate, calibration, model, gap, report, scores, raw)

"""CalibratedClassifierCV: its calibrated classifiers' fitted estimators and calibration maps, as plain arrays.

For two classes scikit-learn maps one score per row, the estimator's ``decision_function`` when it has one and
its positive-class ``predict_proba`` otherwise, through each calibrator, and averages the calibrated classifiers'
probabilities (one per cross-validation fold, or one around a frozen, prefit estimator).

* sigmoid (Platt): ``p = 1 / (1 + exp(a * f + b))``;
* isotonic: linear interpolation between the knots ``(X_thresholds_, y_thresholds_)``, clipped outside them, in
  the knots' precision: ``IsotonicRegression`` rounds the score to its knots' dtype before interpolating and the
  result after (float32 knots when the calibrator was fitted on float32 scores), and a steep segment amplifies
  that rounding far beyond float64's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from model_engine.converters.params.fitted import require_fitted
from model_engine.errors import ConversionError

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CalibrationMap:
    """One fitted calibrator: Platt's ``(a, b)``, or the isotonic knots ``x`` (increasing) and values ``y`` with
    the precision the calibrator interpolates in (its knots' dtype)."""

    method: Literal["sigmoid", "isotonic"]
    a: float = 0.0
    b: float = 0.0
    x: F64 = field(default_factory=lambda: np.empty(0))
    y: F64 = field(default_factory=lambda: np.empty(0))
    precision: Literal["float32", "float64"] = "float64"

    def apply(self, scores: npt.ArrayLike) -> F64:
        """The map in NumPy (what the emitted ops compute), for tests of the extraction."""
        f = np.asarray(scores, dtype=np.float64)
        if self.method == "sigmoid":
            return np.asarray(1.0 / (1.0 + np.exp(self.a * f + self.b)), dtype=np.float64)
        rounded = f.astype(self.precision).astype(np.float64)
        return np.interp(rounded, self.x, self.y).astype(self.precision).astype(np.float64)


@dataclass(frozen=True)
class CalibratedMember:
    """One calibrated classifier: the fitted estimator, which score it maps, and the map."""

    estimator: Any
    response: Literal["decision_function", "predict_proba"]
    calibration: CalibrationMap


def _unfrozen(estimator: Any) -> Any:
    # A FrozenEstimator wraps a prefit model and forwards its methods; the model itself is what compiles.
    return estimator.estimator if type(estimator).__name__ == "FrozenEstimator" else estimator


def _calibration_map(calibrator: Any) -> CalibrationMap:
    kind = type(calibrator).__name__
    if kind == "_SigmoidCalibration":
        return CalibrationMap("sigmoid", a=float(calibrator.a_), b=float(calibrator.b_))
    if kind == "IsotonicRegression":
        if calibrator.out_of_bounds != "clip":
            raise ConversionError(f"IsotonicRegression(out_of_bounds={calibrator.out_of_bounds!r}) is not supported")
        knots = np.asarray(calibrator.X_thresholds_)
        if knots.dtype not in (np.float32, np.float64):
            raise ConversionError(f"an isotonic calibrator with {knots.dtype} knots is not supported; refit it")
        x = knots.astype(np.float64)
        y = np.asarray(calibrator.y_thresholds_, dtype=np.float64)
        if x.size == 0 or np.any(np.diff(x) <= 0):
            raise ConversionError("an isotonic calibrator needs strictly increasing knots")
        precision: Literal["float32", "float64"] = "float32" if knots.dtype == np.float32 else "float64"
        return CalibrationMap("isotonic", x=x, y=y, precision=precision)
    raise ConversionError(f"calibrator {kind} is not supported; calibrate with method='sigmoid' or 'isotonic'")


def calibrated_members(model: Any) -> tuple[CalibratedMember, ...]:
    """The calibrated classifiers of a fitted binary ``CalibratedClassifierCV``."""
    require_fitted(model)
    if len(model.classes_) != 2:
        raise ConversionError(
            f"CalibratedClassifierCV with {len(model.classes_)} classes is not supported: only binary calibration "
            "compiles"
        )
    members = []
    for member in model.calibrated_classifiers_:
        if member.method not in ("sigmoid", "isotonic"):
            raise ConversionError(
                f"CalibratedClassifierCV(method={member.method!r}) is not supported; use 'sigmoid' or 'isotonic'"
            )
        estimator = _unfrozen(member.estimator)
        # scikit-learn maps the decision function when the estimator has one, the probabilities otherwise.
        response: Literal["decision_function", "predict_proba"] = (
            "decision_function" if hasattr(member.estimator, "decision_function") else "predict_proba"
        )
        (calibrator,) = member.calibrators
        members.append(CalibratedMember(estimator, response, _calibration_map(calibrator)))
    return tuple(members)

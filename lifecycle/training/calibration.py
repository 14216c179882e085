"""The calibration step: the chosen model's scores made probabilities on a time slice it was not fitted on.

Isotonic regression and Platt's sigmoid are each fitted on the earlier half of the slice and scored by the Brier
score (a proper score: it is lowest for the true probabilities) on the later half; the better one is fitted
again on the whole slice, around the frozen model (scikit-learn's ``CalibratedClassifierCV`` with a
``FrozenEstimator``), which the engine compiles into the model's graph.

Calibration must not change which transactions come first. Platt's map is strictly increasing, but the isotonic
map is flat over blocks of scores, and the ties it makes would cost ranking (on simulated data, AP 0.605 -> 0.581):
so an isotonic model is served as a soft vote of the calibrated model and the uncalibrated one with weights
``1 - TIE_BREAK`` and ``TIE_BREAK``, which keeps the model's order inside each block while moving no probability
by more than ``TIE_BREAK``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import VotingClassifier
from sklearn.frozen import FrozenEstimator

from lifecycle.evaluation import brier_score
from lifecycle.training.errors import TrainingError

METHODS: Final = ("isotonic", "sigmoid")
#: The uncalibrated score's weight in an isotonic model's vote: it breaks the isotonic map's ties.
TIE_BREAK: Final = 1e-6


@dataclass(frozen=True)
class Calibration:
    """The model as served (calibrated), its method, each method's Brier score on the later half of the slice,
    and the weight of the uncalibrated score that breaks the calibration's ties (0 when it makes none)."""

    model: BaseEstimator
    method: str
    brier_by_method: dict[str, float]
    tie_break: float


def _calibrated(model: BaseEstimator, method: str, X: npt.NDArray[Any], y: npt.NDArray[Any]) -> CalibratedClassifierCV:
    return CalibratedClassifierCV(FrozenEstimator(model), method=method).fit(X, y)


def calibrate(
    model: BaseEstimator,
    X: npt.NDArray[Any],
    y: npt.NDArray[Any],
    timestamps: pd.Series,
    *,
    methods: Sequence[str] = METHODS,
) -> Calibration:
    """Choose (among ``methods``) and fit the calibration of ``model`` on the slice ``X``, ``y`` (rows at
    ``timestamps``)."""
    stamps = pd.to_datetime(timestamps, utc=True).to_numpy()
    later = stamps >= stamps.min() + (stamps.max() - stamps.min()) / 2
    for name, half in (("earlier", ~later), ("later", later)):
        frauds = int(y[half].sum())
        if frauds == 0 or frauds == int(half.sum()):
            raise TrainingError(
                f"the {name} half of the calibration slice holds {frauds} frauds among {int(half.sum())} rows; "
                "calibration needs both classes in each half: lengthen it (--calibration-days)"
            )
    brier = {
        method: brier_score(_calibrated(model, method, X[~later], y[~later]).predict_proba(X[later])[:, 1], y[later])
        for method in methods
    }
    method = min(methods, key=lambda m: (brier[m], list(methods).index(m)))
    calibrated = _calibrated(model, method, X, y)
    if method != "isotonic":
        return Calibration(calibrated, method, brier, 0.0)
    members = [("calibrated", FrozenEstimator(calibrated)), ("ranking", FrozenEstimator(model))]
    served = VotingClassifier(members, voting="soft", weights=[1.0 - TIE_BREAK, TIE_BREAK]).fit(X, y)
    return Calibration(served, method, brier, TIE_BREAK)


def raw_scores(model: BaseEstimator, X: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """The uncalibrated model's fraud scores (for the reliability before calibration)."""
    return np.asarray(model.predict_proba(X)[:, 1], dtype=np.float64)

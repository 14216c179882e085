"""A small hyper-parameter search on time-ordered validation folds inside the training period.

Folds respect time: each validation block lies after the data its model is fitted on, with the label-delay
gap in between when the training period is long enough to afford it. Configurations are ranked by mean
average precision over the folds (the metric closest to what investigators experience), AUC breaking ties.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import clone

from lifecycle.evaluation.metrics import average_precision, roc_auc
from lifecycle.registry.lineage import Trial
from lifecycle.training.candidates import CandidateFamily, Params, fit_balanced
from lifecycle.training.errors import TrainingInputError


@dataclass(frozen=True)
class SearchResult:
    """The chosen parameters of one family and every configuration's mean fold scores."""

    family: str
    best_params: dict[str, Any]
    trials: tuple[Trial, ...]


def time_folds(
    timestamps: pd.Series, n_folds: int, gap_days: float
) -> list[tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]]:
    """``n_folds`` consecutive validation blocks over the last half of the period, each fitted on what lies
    before it (minus the gap, dropped to zero when it would leave less than a quarter of the period)."""
    stamps = pd.to_datetime(timestamps, utc=True)
    start, end = stamps.min(), stamps.max()
    span = end - start
    block = span / (2 * n_folds)
    gap = pd.Timedelta(days=gap_days)
    if span - n_folds * block - gap < span / 4:
        gap = pd.Timedelta(0)
    folds = []
    for i in range(n_folds):
        val_start = end - (n_folds - i) * block
        val = ((stamps >= val_start) & (stamps < val_start + block)).to_numpy()
        fit = (stamps < val_start - gap).to_numpy()
        folds.append((fit, val))
    return folds


def search_family(
    candidate: CandidateFamily,
    X: npt.NDArray[Any],
    y: npt.NDArray[Any],
    timestamps: pd.Series,
    *,
    fast: bool,
    gap_days: float,
    seed: int,
) -> SearchResult:
    """Try each configuration of the family's grid on the folds and keep the best by mean AP."""
    grid: tuple[Params, ...] = candidate.fast_grid if fast else candidate.grid
    if len(grid) == 1:
        only = Trial(candidate.name, dict(grid[0]), None, None, note="single configuration: nothing to search")
        return SearchResult(candidate.name, dict(grid[0]), (only,))
    folds = time_folds(timestamps, n_folds=1 if fast else 2, gap_days=gap_days)
    trials: list[Trial] = []
    for params in grid:
        aps, aucs = [], []
        for fit, val in folds:
            if y[fit].sum() == 0 or y[val].sum() == 0 or y[val].sum() == val.sum():
                continue
            model = fit_balanced(clone(candidate.build(params, seed)), X[fit], y[fit])
            scores = model.predict_proba(X[val])[:, 1]
            aps.append(average_precision(scores, y[val]))
            aucs.append(roc_auc(scores, y[val]))
        if aps:
            trials.append(
                Trial(candidate.name, dict(params), float(np.mean(aps)), float(np.mean(aucs)), f"{len(aps)} folds")
            )
    if not trials:
        raise TrainingInputError(
            f"no validation fold of the training period holds both classes to tune {candidate.name}"
        )
    best = max(trials, key=lambda t: (t.average_precision or 0.0, t.auc_roc or 0.0))
    return SearchResult(candidate.name, best.params, tuple(trials))

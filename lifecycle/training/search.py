"""A small hyper-parameter search on time-ordered validation folds inside the fit period.

Folds respect time: each validation block lies after the data its model is fitted on, with the label-delay
gap in between when the period is long enough to afford it. Configurations are ranked by the selection rule
(:mod:`lifecycle.training.selection`: mean average precision over the folds, the metric closest to what
investigators experience, AUC breaking ties); the best configuration's fold scores are also what its family is
compared with the other families on.
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
from lifecycle.training.candidates import CandidateFamily, Params, fit_candidate
from lifecycle.training.errors import TrainingInputError
from lifecycle.training.selection import Evaluated, PeriodScores, choose_on_validation


@dataclass(frozen=True)
class SearchResult:
    """The chosen configuration of one family (with its mean fold scores) and every configuration tried."""

    family: str
    best: Trial
    trials: tuple[Trial, ...]

    @property
    def best_params(self) -> dict[str, Any]:
        return self.best.params


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
    """Score each configuration of the family's grid on the folds (a single configuration too: its fold scores
    are what the family is compared on) and keep the best by the selection rule."""
    grid: tuple[Params, ...] = candidate.fast_grid if fast else candidate.grid
    folds = time_folds(timestamps, n_folds=1 if fast else 2, gap_days=gap_days)
    trials: list[Trial] = []
    for params in grid:
        aps, aucs = [], []
        for fit, val in folds:
            if y[fit].sum() == 0 or y[val].sum() == 0 or y[val].sum() == val.sum():
                continue
            model = fit_candidate(clone(candidate.build(params, seed)), X[fit], y[fit], params)
            scores = model.predict_proba(X[val])[:, 1]
            aps.append(average_precision(scores, y[val]))
            aucs.append(roc_auc(scores, y[val]))
        if aps:
            trials.append(
                Trial(candidate.name, dict(params), float(np.mean(aps)), float(np.mean(aucs)), f"{len(aps)} folds")
            )
    if not trials:
        raise TrainingInputError(
            f"no validation fold of the fit period holds both classes to score {candidate.name}: train on more days"
        )
    evaluated = [
        Evaluated(str(i), t.family, PeriodScores(t.auc_roc or 0.0, t.average_precision or 0.0))
        for i, t in enumerate(trials)
    ]
    best = trials[int(choose_on_validation(evaluated).overall)]
    return SearchResult(candidate.name, best, tuple(trials))

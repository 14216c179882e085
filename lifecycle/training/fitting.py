"""The candidates step: each selected family searched on time-ordered folds of the fit period, then fitted on
all of it as its best configuration says (balanced weights or not)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sklearn.base import BaseEstimator

from lifecycle.registry import Trial
from lifecycle.training.candidates import FAMILIES, fit_candidate
from lifecycle.training.dataset import TrainingData
from lifecycle.training.progress import Steps
from lifecycle.training.search import SearchResult, search_family


@dataclass(frozen=True)
class FittedCandidate:
    """One family's best configuration, fitted on the fit rows, and the search that chose it (whose best trial
    holds the fold scores the family is compared on)."""

    family: str
    estimator: BaseEstimator
    search: SearchResult

    @property
    def params(self) -> dict[str, Any]:
        return self.search.best_params

    @property
    def validation(self) -> Trial:
        return self.search.best


def train_candidates(
    data: TrainingData, families: Sequence[str], *, fast: bool, gap_days: float, seed: int, steps: Steps
) -> list[FittedCandidate]:
    """Search and fit every family of ``families`` (in the catalogue's order)."""
    fitted = []
    for family in (f for f in FAMILIES if f.name in families):
        with steps.step(f"train:{family.name}", f"searching and fitting {family.name}"):
            search = search_family(
                family, data.train_inputs, data.y_train, data.train_timestamps, fast=fast, gap_days=gap_days, seed=seed
            )
            estimator = fit_candidate(
                family.build(search.best_params, seed), data.train_inputs, data.y_train, search.best_params
            )
            fitted.append(FittedCandidate(family.name, estimator, search))
    return fitted

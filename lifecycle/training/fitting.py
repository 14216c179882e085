"""The candidates step: each selected family searched on time-ordered folds of the training period, then
fitted on all of it with balanced weights."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sklearn.base import BaseEstimator

from lifecycle.training.candidates import FAMILIES, fit_balanced
from lifecycle.training.dataset import TrainingData
from lifecycle.training.progress import Steps
from lifecycle.training.search import SearchResult, search_family


@dataclass(frozen=True)
class FittedCandidate:
    """One family's best configuration, fitted on the training rows, and the search that chose it."""

    family: str
    params: dict[str, Any]
    estimator: BaseEstimator
    search: SearchResult


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
            estimator = fit_balanced(family.build(search.best_params, seed), data.train_inputs, data.y_train)
            fitted.append(FittedCandidate(family.name, dict(search.best_params), estimator, search))
    return fitted

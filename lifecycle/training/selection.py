"""Choosing a model without grading its own homework: configurations are compared on validation folds only.

One rule serves ``fraud train`` (inner time-ordered folds of the fit period) and the handbook benchmark (its
validation folds): the highest mean average precision, AUC ROC then card precision breaking ties. Figures on a
later test period may be carried beside the validation figures, for reporting; they never enter the choice.

>>> a = Evaluated("rf deep", "random forest", PeriodScores(0.88, 0.72, 0.29), test=PeriodScores(0.87, 0.60, 0.28))
>>> b = Evaluated("rf shallow", "random forest", PeriodScores(0.88, 0.70, 0.29), test=PeriodScores(0.89, 0.75, 0.31))
>>> choose_on_validation([a, b]).overall
'rf deep'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lifecycle.records import RECORD_CONFIG
from lifecycle.training.errors import TrainingError

#: The rule in words, as the lineage and the reports state it.
RULE = "highest mean average precision on the validation folds; AUC ROC, then card precision@100, break ties"


@dataclass(frozen=True)
class PeriodScores:
    """Means over the folds of one period (validation or test)."""

    __pydantic_config__ = RECORD_CONFIG

    auc_roc: float
    average_precision: float
    card_precision_at_100: float | None = None


@dataclass(frozen=True)
class Evaluated:
    """One configuration: its name, its family, its validation scores, and (for reports only) its test scores."""

    name: str
    family: str
    validation: PeriodScores
    test: PeriodScores | None = None


@dataclass(frozen=True)
class Choice:
    """The configuration chosen for each family, and the one chosen overall."""

    per_family: dict[str, str]
    overall: str


def _rank(scores: PeriodScores) -> tuple[float, float, float]:
    return scores.average_precision, scores.auc_roc, scores.card_precision_at_100 or 0.0


def choose_on_validation(candidates: Sequence[Evaluated]) -> Choice:
    """The best configuration per family and overall by :data:`RULE`, read from the validation scores alone;
    among equals, the first listed wins."""
    if not candidates:
        raise TrainingError("no configuration to choose from")
    best: dict[str, Evaluated] = {}
    for candidate in candidates:
        held = best.get(candidate.family)
        if held is None or _rank(candidate.validation) > _rank(held.validation):
            best[candidate.family] = candidate
    overall = max(best.values(), key=lambda c: _rank(c.validation))
    return Choice({family: c.name for family, c in best.items()}, overall.name)

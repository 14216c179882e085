"""The choice reads validation folds only: a configuration that wins on the test period but not on validation is
not chosen, per family or overall, and training states the rule it chose by."""

from __future__ import annotations

import pytest

from lifecycle.training.errors import TrainingError
from lifecycle.training.selection import Evaluated, PeriodScores, choose_on_validation


def _scores(auc: float, ap: float, cp: float = 0.28) -> PeriodScores:
    return PeriodScores(auc, ap, cp)


def test_a_configuration_that_wins_on_test_but_not_on_validation_is_not_chosen() -> None:
    candidates = [
        Evaluated("rf depth 20", "random forest", _scores(0.883, 0.724), test=_scores(0.870, 0.680, 0.290)),
        # Best on every test metric, second on validation: not chosen.
        Evaluated("rf depth 10", "random forest", _scores(0.878, 0.720), test=_scores(0.899, 0.800, 0.340)),
        Evaluated("lr C=1", "logistic regression", _scores(0.868, 0.626), test=_scores(0.95, 0.90, 0.40)),
    ]
    choice = choose_on_validation(candidates)
    assert choice.per_family == {"random forest": "rf depth 20", "logistic regression": "lr C=1"}
    assert choice.overall == "rf depth 20"
    # The same candidates without their test figures give the same choice: the test period is never read.
    blind = choose_on_validation([Evaluated(c.name, c.family, c.validation) for c in candidates])
    assert blind == choice


def test_ties_on_average_precision_fall_to_auc_then_card_precision() -> None:
    candidates = [
        Evaluated("a", "f", _scores(0.80, 0.70, 0.30)),
        Evaluated("b", "f", _scores(0.85, 0.70, 0.20)),
        Evaluated("c", "g", _scores(0.85, 0.70, 0.25)),
    ]
    choice = choose_on_validation(candidates)
    assert choice.per_family == {"f": "b", "g": "c"}
    assert choice.overall == "c"


def test_nothing_to_choose_from_is_refused() -> None:
    with pytest.raises(TrainingError, match="no configuration"):
        choose_on_validation([])

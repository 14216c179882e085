"""Card precision at k: the handbook's measure of what a team of investigators, who can check k cards a
day, would find.

Rules (ULB/Worldline handbook, restated):

* per day, a card's score is the highest score among its transactions that day and its label the highest
  label (a card is fraudulent that day when any of its transactions is);
* the day's precision is the number of fraudulent cards among the k highest-scored cards, divided by k;
* a card found fraudulent on an earlier day has been blocked: it is removed from the later days;
* the result is the mean over the days.

The other handbook rule, removing cards whose fraud was already known before the test day (known
compromised cards), is a property of the test set, applied when the test set is built
(:func:`lifecycle.training.split.drop_known_compromised_cards`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from lifecycle.evaluation.errors import EvaluationError
from lifecycle.evaluation.metrics import as_scores_and_labels
from lifecycle.records import RECORD_CONFIG


@dataclass(frozen=True)
class CardPrecision:
    """The mean card precision and its per-day parts (day, precision)."""

    __pydantic_config__ = RECORD_CONFIG

    k: int
    mean: float
    per_day: tuple[tuple[str, float], ...]
    detected_cards: int


def card_precision_at_k(
    scores: npt.ArrayLike,
    labels: npt.ArrayLike,
    cards: npt.ArrayLike,
    days: npt.ArrayLike,
    k: int = 100,
) -> CardPrecision:
    """Mean over days of the share of fraudulent cards among the ``k`` highest-scored cards of the day.

    ``days`` holds any sortable day key per transaction (a date, or a day number). Ties between card scores
    are broken by card id so that the result does not depend on row order.
    """
    if k < 1:
        raise EvaluationError(f"k must be at least 1, got {k}")
    s, y = as_scores_and_labels(scores, labels)
    card_ids, day_keys = np.asarray(cards).ravel(), np.asarray(days).ravel()
    # Checked before the frame is built: pandas would refuse unequal columns with its own, vaguer error.
    if card_ids.size != s.size or day_keys.size != s.size:
        raise EvaluationError(
            f"{s.size} scores but {card_ids.size} cards and {day_keys.size} days; pass one card and day per score"
        )
    frame = pd.DataFrame({"score": s, "label": y, "card": card_ids, "day": day_keys})
    if frame.empty:
        raise EvaluationError("no transactions to compute card precision on")
    per_card_day = frame.groupby(["day", "card"], sort=True).agg(score=("score", "max"), label=("label", "max"))
    blocked: set[Any] = set()
    per_day: list[tuple[str, float]] = []
    for day, group in per_card_day.groupby(level="day", sort=True):
        day_cards = group.reset_index(level="day", drop=True)
        day_cards = day_cards[~day_cards.index.isin(blocked)]
        ranked = day_cards.reset_index().sort_values(["score", "card"], ascending=[False, True], kind="mergesort")
        top = ranked.head(k)
        found = top.loc[top["label"] == 1.0, "card"]
        blocked.update(found.tolist())
        per_day.append((str(day), float(len(found)) / k))
    mean = float(np.mean([value for _, value in per_day]))
    return CardPrecision(k=k, mean=mean, per_day=tuple(per_day), detected_cards=len(blocked))

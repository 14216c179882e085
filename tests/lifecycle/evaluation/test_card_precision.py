"""Card precision at k follows the handbook's rules, checked on an example worked out by hand."""

from __future__ import annotations

import pytest

from lifecycle.evaluation import EvaluationError, card_precision_at_k

# (day, card, score, label)
WORKED = [
    (1, "A", 0.90, 0),
    (1, "A", 0.20, 1),
    (1, "B", 0.80, 0),
    (1, "C", 0.50, 1),
    (1, "D", 0.10, 1),
    (2, "A", 0.95, 1),
    (2, "B", 0.70, 1),
    (2, "C", 0.60, 0),
    (2, "C", 0.65, 0),
    (2, "D", 0.30, 1),
    (3, "A", 0.99, 1),
    (3, "B", 0.99, 1),
    (3, "C", 0.40, 1),
    (3, "D", 0.40, 1),
    (3, "E", 0.40, 0),
]


def _columns(rows: list[tuple[int, str, float, int]]) -> tuple[list[float], list[int], list[str], list[int]]:
    return [r[2] for r in rows], [r[3] for r in rows], [r[1] for r in rows], [r[0] for r in rows]


def test_worked_example_k2() -> None:
    """Hand computation with k = 2.

    Day 1: card scores are the max of their transactions: A 0.9 (label max(0, 1) = 1), B 0.8 (0), C 0.5 (1),
    D 0.1 (1). Top 2 = A, B: one fraudulent card -> 1/2 = 0.5. A is detected (blocked from now on).
    Day 2: A is removed although it scores 0.95. B 0.7 (1), C max(0.6, 0.65) = 0.65 (0), D 0.3 (1).
    Top 2 = B, C -> 1/2 = 0.5. B is detected.
    Day 3: A and B removed (both score 0.99 but are blocked). C, D, E tie at 0.4; ties break by card id:
    top 2 = C (1), D (1) -> 2/2 = 1.0.
    Mean over days = (0.5 + 0.5 + 1.0) / 3 = 2/3; detected cards A, B, C, D = 4.
    """
    result = card_precision_at_k(*_columns(WORKED), k=2)
    assert [value for _, value in result.per_day] == [0.5, 0.5, 1.0]
    assert result.mean == pytest.approx(2 / 3)
    assert result.detected_cards == 4


def test_precision_divides_by_k_even_when_fewer_cards() -> None:
    """k = 100 on one day with three cards, two fraudulent: 2 / 100 = 0.02 (the handbook divides by k)."""
    result = card_precision_at_k([0.3, 0.2, 0.1], [1, 0, 1], ["x", "y", "z"], [1, 1, 1], k=100)
    assert result.mean == pytest.approx(0.02)


def test_row_order_does_not_change_the_result() -> None:
    forward = card_precision_at_k(*_columns(WORKED), k=2)
    backward = card_precision_at_k(*_columns(list(reversed(WORKED))), k=2)
    assert forward == backward


def test_k_must_be_positive() -> None:
    with pytest.raises(EvaluationError, match="k must be"):
        card_precision_at_k([0.1], [0], ["a"], [1], k=0)


def test_cards_and_days_must_match_the_scores() -> None:
    with pytest.raises(EvaluationError, match="2 scores but 1 cards and 2 days"):
        card_precision_at_k([0.1, 0.2], [0, 1], ["a"], [1, 1], k=1)
    with pytest.raises(EvaluationError, match="2 scores but 2 cards and 3 days"):
        card_precision_at_k([0.1, 0.2], [0, 1], ["a", "b"], [1, 1, 2], k=1)

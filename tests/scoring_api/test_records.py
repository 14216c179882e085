"""The scorer's records: decisions built from rows are the instances ``Decision(*row)`` gives."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from scoring_api.records import Decision, Explanation, ModelRole, Outcome, ReasonCode, RiskBand, decisions_from_rows

_ROWS = [
    ("d1", "t1", "c1", 0.1, RiskBand.LOW, Outcome.APPROVE, "model", (), (), 0.5, 0.9, "m1", ModelRole.CHAMPION, 3,
     datetime(2026, 1, 2, tzinfo=UTC), False, None),
    ("d2", "t2", "c2", 0.95, RiskBand.HIGH, Outcome.DECLINE, "rule:deny", ("deny",),
     (ReasonCode("amount", 900.0, 1.5, "a large amount"),), 0.5, None, "m2", ModelRole.CANARY, 4,
     datetime(2026, 1, 2, tzinfo=UTC), False, Explanation("linear", -2.0, -0.5)),
]  # fmt: skip


def test_decisions_from_rows_equal_the_decisions_of_the_constructor() -> None:
    built = decisions_from_rows(_ROWS)
    assert built == [Decision(*row) for row in _ROWS]
    assert [hash(d) for d in built] == [hash(Decision(*row)) for row in _ROWS]
    assert dataclasses.replace(built[1], replayed=True).replayed
    with pytest.raises(dataclasses.FrozenInstanceError):
        built[0].score = 0.2  # type: ignore[misc]


def test_a_row_missing_a_field_is_refused() -> None:
    with pytest.raises(ValueError, match="zip"):
        decisions_from_rows([_ROWS[0][:-1]])

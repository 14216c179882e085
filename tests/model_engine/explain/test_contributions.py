"""Contributions: the record the scoring API reads reason codes from."""

from __future__ import annotations

import numpy as np
import pytest

from model_engine import Contributions

FEATURES = ("amount", "hour", "terminal_risk", "card_count")


def _contributions() -> Contributions:
    values = np.array([[0.5, -2.0, 0.0, 1.0], [np.nan, 0.25, -0.25, 0.0]])
    return Contributions(FEATURES, values, np.array([-3.0, -3.0]), np.array([-3.5, np.nan]), "linear")


def test_top_orders_by_magnitude_keeps_signs_and_skips_zero_and_nan() -> None:
    c = _contributions()
    assert c.top(0, 2) == [("hour", -2.0), ("card_count", 1.0)]
    assert c.top(0, 10) == [("hour", -2.0), ("card_count", 1.0), ("amount", 0.5)]
    assert c.top(1, 3) == [("hour", 0.25), ("terminal_risk", -0.25)]  # a tie keeps signature order
    assert c.top(-1, 1) == [("hour", 0.25)]
    assert c.top(0, 0) == []
    with pytest.raises(IndexError):
        c.top(2, 1)
    with pytest.raises(ValueError, match="k must be"):
        c.top(0, -1)


def test_contributions_are_read_only_and_checked() -> None:
    c = _contributions()
    assert len(c) == 2
    with pytest.raises(ValueError, match="read-only"):
        c.values[0, 0] = 1.0
    with pytest.raises(ValueError, match="columns"):
        Contributions(FEATURES[:3], c.values, c.base_value, c.margin, "linear")
    with pytest.raises(ValueError, match="rows"):
        Contributions(FEATURES, c.values, c.base_value[:1], c.margin, "linear")
    with pytest.raises(ValueError, match="method"):
        Contributions(FEATURES, c.values, c.base_value, c.margin, "lime")

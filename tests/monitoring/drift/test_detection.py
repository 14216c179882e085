"""Drift injected into seeded scored streams is detected within a stated number of transactions, naming the
right column; streams without drift keep the false-alarm rate per window at or under the configured level.

Streams are drawn from the pool's stream half (:mod:`tests.monitoring.streams`); the reference profile was
built on the other half, so before the change point there is no drift. Detection points are golden: the
streams are seeded, so the row at which a window first names the injected column is exact.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from monitoring.alerts import drift_candidates
from monitoring.drift import DriftMonitor, WindowSpec
from monitoring.errors import MonitorConfigError
from tests.monitoring.streams import ScoredPool

CHANGE = 11_200
STREAM_ROWS = 30_000
BATCH = 1_000
WINDOWS = (WindowSpec.tumbling(2_500), WindowSpec.sliding(10_000, 2_500))
LEVEL = 0.01
#: The most transactions after the change point that any injected drift may go unnoticed.
DETECTION_BUDGET = 5_000

Inject = Callable[[pd.DataFrame, np.random.Generator], pd.DataFrame]


def _amount_shift(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    return frame.assign(amount=frame["amount"] * 1.6)


def _new_country_mix(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    moved = rng.random(len(frame)) < 0.10
    return frame.assign(country=np.where(moved, "BR", frame["country"].to_numpy(dtype=object)))


def _channel_mix(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    channel = frame["channel"].to_numpy(dtype=object)
    others = channel != "ecom"
    # 14 points more e-commerce: that share of all rows, taken from the other channels.
    moved = others & (rng.random(len(frame)) < 0.14 / others.mean())
    return frame.assign(channel=np.where(moved, "ecom", channel))


def _stuck_feature(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    return frame.assign(card_mean_amount_7d=0.0)


def _score_shift(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    return frame.assign(score=np.clip(frame["score"] + 0.05, 0.0, 1.0))


#: name -> (injection, the column the alert must name first, golden detection row). The window ending at 12,500
#: holds 1,300 changed rows of 2,500: enough for the larger changes; the e-commerce mix and the score shift reach
#: the PSI floor (0.05) only in the first window wholly after the change, ending at 15,000.
DRIFTS: dict[str, tuple[Inject, str, int]] = {
    "amount x1.6": (_amount_shift, "amount", 12_500),
    "10% to a new country": (_new_country_mix, "country", 12_500),
    "14 points more e-commerce": (_channel_mix, "channel", 15_000),
    "feature stuck at zero": (_stuck_feature, "card_mean_amount_7d", 12_500),
    "score +0.05": (_score_shift, "score", 15_000),
}


def _stream(pool: ScoredPool, inject: Inject, seed: int) -> pd.DataFrame:
    stream = pool.shuffled(seed, rows=STREAM_ROWS)
    after = inject(stream.iloc[CHANGE:].copy(), np.random.default_rng(seed))
    return pd.concat([stream.iloc[:CHANGE], after], ignore_index=True)


@pytest.mark.parametrize("name", sorted(DRIFTS))
def test_injected_drift_is_detected_in_time_naming_the_column(pool: ScoredPool, name: str) -> None:
    inject, column, golden = DRIFTS[name]
    stream = _stream(pool, inject, seed=3)
    monitor = DriftMonitor(pool.profile, WINDOWS, level=LEVEL)
    first_alarm = detected_at = None
    named: list[str] = []
    for start in range(0, len(stream), BATCH):
        for report in monitor.update(stream.iloc[start : start + BATCH]).closed:
            if report.drift_detected and first_alarm is None:
                first_alarm = report.end_row
            if detected_at is None and column in [c.column for c in report.drifted]:
                detected_at = report.end_row
                alerts = drift_candidates(report)
                named = [c for alert in alerts for c in alert.details["drifted_columns"][:1]]
    assert first_alarm is not None
    assert first_alarm > CHANGE, f"false alarm before the change at {first_alarm}"
    assert detected_at == golden
    assert detected_at - CHANGE <= DETECTION_BUDGET
    assert column in named, f"the alerts lead with {named}, not {column}"


@pytest.mark.parametrize(("size", "windows"), [(500, 400), (2_000, 200), (10_000, 80)])
def test_no_drift_keeps_false_alarms_per_window_under_the_level(pool: ScoredPool, size: int, windows: int) -> None:
    level = 0.05
    monitor = DriftMonitor(pool.profile, [WindowSpec.tumbling(size)], level=level)
    stream = pool.shuffled(seed=size, rows=size * windows)
    alarms = 0
    for start in range(0, len(stream), size):
        alarms += monitor.update(stream.iloc[start : start + size]).drift_detected
    assert monitor.rows_seen == size * windows
    assert alarms / windows <= level, f"{alarms} false alarms in {windows} windows of {size}"


def test_clock_driven_flags_are_left_out_unless_asked_for(pool: ScoredPool) -> None:
    assert "is_night" not in DriftMonitor(pool.profile).columns
    assert "is_night" in DriftMonitor(pool.profile, include_time_dependent=True).columns


def test_the_psi_floor_decides_between_significant_shifts_and_can_be_turned_off(pool: ScoredPool) -> None:
    window = pool.shuffled(seed=8, rows=20_000).assign(amount=lambda f: f["amount"] * 1.05)
    by_floor = {}
    for floor in (0.0, 0.05):
        report = DriftMonitor(pool.profile, [WindowSpec.tumbling(20_000)], min_psi=floor).update(window).closed[0]
        (amount,) = [c for c in report.columns if c.column == "amount"]
        assert amount.adjusted_p_value <= LEVEL
        assert report.min_psi == report.to_dict()["min_psi"] == floor
        by_floor[floor] = amount.drifted
    assert by_floor == {0.0: True, 0.05: False}
    with pytest.raises(MonitorConfigError, match="PSI floor"):
        DriftMonitor(pool.profile, min_psi=-0.1)

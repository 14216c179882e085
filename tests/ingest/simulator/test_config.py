"""Simulator settings: presets, refused settings, and what the presets share."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import pytest

from ingest.contract import pandas_dtypes
from ingest.errors import IngestError
from ingest.simulator import PRESETS, SimulatorConfig, SimulatorError, UnknownPresetError, simulate


def test_presets_take_overrides() -> None:
    config = SimulatorConfig.preset("handbook", days=60, seed=0)
    assert (config.name, config.days, config.seed, config.n_customers, config.n_terminals) == (
        "handbook", 60, 0, 5_000, 10_000
    )  # fmt: skip
    assert config.start.isoformat() == "2018-04-01T00:00:00+00:00"
    assert not config.merchant_attributes
    realistic = SimulatorConfig.preset("realistic")
    assert realistic.merchant_attributes
    assert realistic.cnp_bursts_per_day > 0
    assert realistic.account_takeovers_per_day > 0
    assert set(PRESETS) == {"handbook", "realistic"}


def test_unknown_presets_and_settings_are_refused_with_the_choices() -> None:
    with pytest.raises(UnknownPresetError, match=r"choose one of \['handbook', 'realistic'\]"):
        SimulatorConfig.preset("visa")
    with pytest.raises(SimulatorError, match=r"unknown simulator settings \['customers'\]"):
        SimulatorConfig.preset("handbook", customers=10)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"days": 0}, "days must be positive"),
        ({"n_customers": -1}, "n_customers must be positive"),
        ({"radius": 0.0}, "radius must be positive"),
        ({"seed": -3}, "seed must not be negative"),
        ({"cnp_bursts_per_day": -1.0}, "cnp_bursts_per_day must not be negative"),
        ({"n_terminals": 1}, "compromised_terminals_per_day cannot exceed n_terminals"),
        ({"fast_report_share": 1.5}, "fast_report_share must lie in"),
        ({"start": datetime(2018, 4, 1)}, "time zone"),
    ],
)
def test_bad_settings_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(SimulatorError, match=message) as caught:
        SimulatorConfig.preset("handbook", **overrides)
    assert isinstance(caught.value, IngestError)


def test_config_json_is_canonical() -> None:
    config = SimulatorConfig.preset("realistic", days=9, seed=2)
    values = json.loads(config.to_json())
    assert values["days"] == 9
    assert values["start"] == "2018-04-01T00:00:00+00:00"
    assert config.to_json() == SimulatorConfig.preset("realistic", days=9, seed=2).to_json()


def test_realistic_preset_shares_the_handbook_stream() -> None:
    """Each step draws from its own random stream: the realistic extras add rows and attributes, but the
    customers, genuine payments and handbook frauds stay those of the handbook preset with the same seed."""
    small = {"days": 4, "n_customers": 400, "n_terminals": 800, "seed": 9}
    handbook = simulate(SimulatorConfig.preset("handbook", **small)).transactions
    realistic = simulate(SimulatorConfig.preset("realistic", **small)).transactions
    shared = ["timestamp", "card_token", "terminal_id", "amount", "is_fraud", "fraud_scenario"]
    kept = realistic[realistic["fraud_scenario"] <= 3][shared].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, handbook[shared])
    assert (realistic["fraud_scenario"] > 3).any()


def test_tiny_handbook_runs_give_empty_well_typed_frames() -> None:
    data = simulate(
        SimulatorConfig.preset("handbook", days=1, n_customers=1, n_terminals=2, compromised_cards_per_day=1)
    )
    assert {c: str(t) for c, t in data.transactions.dtypes.items() if c in pandas_dtypes()} == pandas_dtypes()
    assert len(data.labels) == len(data.transactions)


def test_realistic_patterns_need_online_shops_abroad() -> None:
    with pytest.raises(SimulatorError, match="no online shop abroad"):
        simulate(SimulatorConfig.preset("realistic", days=2, n_customers=3, n_terminals=5))

"""Simulations shared by the simulator tests (each drawn once per session: a few seconds in all)."""

from __future__ import annotations

import pytest

from ingest.simulator import SimulatedData, SimulatorConfig, simulate


@pytest.fixture(scope="session")
def handbook_run() -> SimulatedData:
    """Forty days at the handbook's settings: long enough for overlapping compromise windows."""
    return simulate(SimulatorConfig.preset("handbook", days=40, seed=7))


@pytest.fixture(scope="session")
def realistic_run() -> SimulatedData:
    """Thirty days of the realistic preset, with more injected frauds than by default for a fuller sample."""
    return simulate(
        SimulatorConfig.preset(
            "realistic", days=30, seed=11, n_customers=2_000, cnp_bursts_per_day=4.0, account_takeovers_per_day=3.0
        )
    )

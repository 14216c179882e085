"""The simulation, end to end: profiles, genuine transactions, frauds, merchant attributes, labels."""

from __future__ import annotations

import math

import numpy as np

from ingest.simulator.batch import Batch
from ingest.simulator.config import SimulatorConfig
from ingest.simulator.data import SimulatedData
from ingest.simulator.frame import to_frame, to_table
from ingest.simulator.genuine import draw_genuine
from ingest.simulator.labels import draw_labels
from ingest.simulator.merchants import device_names, draw_merchants, dress_genuine
from ingest.simulator.patterns import account_takeovers, cnp_bursts
from ingest.simulator.profiles import GRID_SIZE, MAX_DAILY_RATE, draw_profiles
from ingest.simulator.scenarios import apply_handbook_scenarios

# One independent random stream per step, so that switching a step on or off (the realistic extras) leaves
# the others' draws unchanged: the realistic preset has the same customers and genuine payments as the handbook.
_STEPS = ("profiles", "genuine", "scenarios", "merchants", "devices", "bursts", "takeovers", "labels")
#: Peak memory per simulated transaction (about 300 bytes measured at two million, doubled for headroom) and
#: per customer-terminal pair within reach (the distance blocks and the arrays built from them).
_BYTES_PER_TRANSACTION = 600
_BYTES_PER_REACH_PAIR = 48


def expected_transactions(config: SimulatorConfig) -> int:
    """About how many genuine transactions ``config`` makes (customers' daily rates are uniform on [0, 4])."""
    return int(config.n_customers * config.days * MAX_DAILY_RATE / 2)


def estimated_memory(config: SimulatorConfig) -> int:
    """About how many bytes of memory simulating ``config`` needs at its peak."""
    reach_share = min(1.0, math.pi * config.radius**2 / GRID_SIZE**2)
    pairs = config.n_customers * config.n_terminals * reach_share
    return int(expected_transactions(config) * _BYTES_PER_TRANSACTION + pairs * _BYTES_PER_REACH_PAIR)


def simulate(config: SimulatorConfig) -> SimulatedData:
    """Simulate ``config.days`` days of card transactions and their late labels.

    >>> from ingest.simulator import SimulatorConfig, simulate
    >>> data = simulate(SimulatorConfig.preset("handbook", days=2, n_customers=50, n_terminals=100, seed=3))
    >>> list(data.transactions.columns[-2:]), bool(data.transactions["timestamp"].is_monotonic_increasing)
    (['is_fraud', 'fraud_scenario'], True)
    """
    seeds = np.random.SeedSequence(config.seed).spawn(len(_STEPS))
    rng = {step: np.random.default_rng(seed) for step, seed in zip(_STEPS, seeds, strict=True)}
    profiles = draw_profiles(config.n_customers, config.n_terminals, config.radius, rng["profiles"])
    batch = draw_genuine(profiles, config.days, rng["genuine"])
    batch = apply_handbook_scenarios(
        batch,
        n_customers=config.n_customers,
        n_terminals=config.n_terminals,
        days=config.days,
        large_amount_threshold=config.large_amount_threshold,
        terminals_per_day=config.compromised_terminals_per_day,
        terminal_days=config.terminal_compromise_days,
        cards_per_day=config.compromised_cards_per_day,
        card_days=config.card_compromise_days,
        amount_factor=config.card_compromise_amount_factor,
        rng=rng["scenarios"],
    )
    devices = [""]
    if config.merchant_attributes or config.cnp_bursts_per_day or config.account_takeovers_per_day:
        merchants = draw_merchants(config.n_terminals, rng["merchants"])
        if config.merchant_attributes:
            batch = dress_genuine(batch, merchants, rng["merchants"])
        devices += device_names(config.n_customers, rng["devices"])  # code 1 + c: customer c's own device
        parts = [batch]
        patterns = (
            (cnp_bursts, config.cnp_bursts_per_day, "bursts"),
            (account_takeovers, config.account_takeovers_per_day, "takeovers"),
        )
        for draw, per_day, step in patterns:
            fraud = draw(
                profiles, merchants, days=config.days, per_day=per_day, first_device=len(devices), rng=rng[step]
            )
            _name_new_devices(devices, fraud, rng["devices"])  # each event brings the fraudster's own device
            parts.append(fraud)
        batch = Batch.concat(parts).in_time_order()
    transactions = to_frame(to_table(batch, start=config.start, devices=devices))
    labels = draw_labels(
        transactions,
        fast_share=config.fast_report_share,
        chargeback_median_days=config.chargeback_median_days,
        maturity_days=config.label_maturity_days,
        genuine_labels=config.genuine_labels,
        rng=rng["labels"],
    )
    return SimulatedData(config=config, transactions=transactions, labels=labels)


def _name_new_devices(devices: list[str], batch: Batch, rng: np.random.Generator) -> None:
    """Extend ``devices`` so that every device code used in ``batch`` has a name (fraudsters' devices)."""
    needed = int(batch.device.max(initial=len(devices) - 1)) + 1 - len(devices)
    devices += device_names(needed, rng)

"""The handbook's fraud scenarios, each rule checked exactly: on crafted transactions where the expected
frauds are known, and as properties of a full simulated stream."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ingest.simulator import SimulatedData
from ingest.simulator.batch import Batch
from ingest.simulator.genuine import SECONDS_PER_DAY
from ingest.simulator.scenarios import apply_handbook_scenarios

THRESHOLD = 220.0


def grid_batch(n_customers: int, n_terminals: int, days: int, per_day: int) -> Batch:
    """``per_day`` transactions per customer and day, customer ``c`` always at terminal ``c % n_terminals``,
    amount 10.00 (or 500.00 for every 7th transaction), in time order."""
    customer = np.tile(np.repeat(np.arange(n_customers, dtype=np.int32), per_day), days)
    day = np.repeat(np.arange(days, dtype=np.int64), n_customers * per_day)
    slot = np.tile(np.arange(n_customers * per_day, dtype=np.int64), days)
    amount = np.where(np.arange(customer.shape[0]) % 7 == 0, 500.0, 10.0)
    return Batch.with_defaults(
        customer=customer,
        terminal=(customer % n_terminals).astype(np.int32),
        seconds=day * SECONDS_PER_DAY + 60 * slot,
        amount=amount,
    )


def run(batch: Batch, *, days: int, terminals_per_day: int = 0, cards_per_day: int = 0, seed: int = 0) -> Batch:
    return apply_handbook_scenarios(
        batch,
        n_customers=int(batch.customer.max()) + 1,
        n_terminals=int(batch.terminal.max()) + 1,
        days=days,
        large_amount_threshold=THRESHOLD,
        terminals_per_day=terminals_per_day,
        terminal_days=28,
        cards_per_day=cards_per_day,
        card_days=14,
        amount_factor=5.0,
        rng=np.random.default_rng(seed),
    )


def test_scenario_1_every_amount_above_220_and_nothing_else() -> None:
    batch = grid_batch(n_customers=4, n_terminals=4, days=3, per_day=5)
    out = run(batch, days=3)
    large = batch.amount > THRESHOLD
    assert large.any()
    np.testing.assert_array_equal(out.is_fraud, large)
    np.testing.assert_array_equal(out.scenario, np.where(large, 1, 0))
    np.testing.assert_array_equal(out.amount, batch.amount)
    assert not batch.is_fraud.any(), "the input batch must be left unchanged"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scenario_2_compromised_terminals_are_all_fraud_for_28_days(seed: int) -> None:
    # Compromises start on day 0 only (days=1); transactions run for 40 days.
    batch = grid_batch(n_customers=10, n_terminals=10, days=40, per_day=2)
    out = run(batch, days=1, terminals_per_day=2, seed=seed)
    day = batch.seconds // SECONDS_PER_DAY
    hit = np.unique(batch.terminal[out.scenario == 2])
    assert hit.shape[0] == 2
    at_hit = np.isin(batch.terminal, hit)
    np.testing.assert_array_equal(out.scenario == 2, at_hit & (day < 28))
    assert out.is_fraud[at_hit & (day < 28)].all()
    # Outside the window, or at other terminals, only the large-amount rule applies.
    rest = ~(at_hit & (day < 28))
    np.testing.assert_array_equal(out.is_fraud[rest], batch.amount[rest] > THRESHOLD)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scenario_3_a_third_of_a_compromised_cards_14_days_multiplied_by_5(seed: int) -> None:
    batch = grid_batch(n_customers=6, n_terminals=6, days=20, per_day=6)
    out = run(batch, days=1, cards_per_day=1, seed=seed)
    day = batch.seconds // SECONDS_PER_DAY
    victims = np.unique(batch.customer[out.scenario == 3])
    assert victims.shape[0] == 1
    window = (batch.customer == victims[0]) & (day < 14)
    chosen = out.scenario == 3
    assert chosen.sum() == window.sum() // 3 == 28
    assert not (chosen & ~window).any()
    np.testing.assert_allclose(out.amount[chosen], batch.amount[chosen] * 5.0)
    np.testing.assert_array_equal(out.amount[~chosen], batch.amount[~chosen])
    assert out.is_fraud[chosen].all()


def test_scenarios_overwrite_in_order() -> None:
    # Every transaction of a compromised terminal is scenario 2 even when its amount is above 220.
    batch = grid_batch(n_customers=2, n_terminals=2, days=5, per_day=7)
    out = run(batch, days=1, terminals_per_day=2)
    assert (out.scenario == 2).all()
    assert out.is_fraud.all()


def test_stream_large_amounts_are_always_fraud(handbook_run: SimulatedData) -> None:
    tx = handbook_run.transactions
    assert tx.loc[tx["amount"] > THRESHOLD, "is_fraud"].all()
    assert (tx.loc[tx["fraud_scenario"] == 1, "amount"] > THRESHOLD).all()
    assert (tx.loc[~tx["is_fraud"], "amount"] <= THRESHOLD).all()
    assert set(tx["fraud_scenario"].unique()) == {0, 1, 2, 3}
    np.testing.assert_array_equal(tx["is_fraud"], tx["fraud_scenario"] > 0)


def test_stream_compromised_terminals_stay_compromised_between_frauds(handbook_run: SimulatedData) -> None:
    """Between two scenario-2 frauds of one terminal less than 28 days apart, every transaction is fraud."""
    tx = handbook_run.transactions
    day = ((tx["timestamp"] - tx["timestamp"].iloc[0].normalize()).dt.days).to_numpy()
    frame = pd.DataFrame({"terminal": tx["terminal_id"], "day": day, "s2": tx["fraud_scenario"] == 2})
    frame["fraud"] = tx["is_fraud"].to_numpy()
    frame = frame.sort_values(["terminal", "day"], kind="stable")
    checked = 0
    for _, group in frame[frame["terminal"].isin(frame.loc[frame["s2"], "terminal"])].groupby("terminal"):
        s2_days = group.loc[group["s2"], "day"].to_numpy()
        first, last = s2_days.min(), s2_days.max()
        if last - first < 28:
            inside = group[(group["day"] >= first) & (group["day"] <= last)]
            assert inside["fraud"].all()
            checked += 1
    assert checked > 20


def test_stream_scenario_3_amounts_are_five_times_cents(handbook_run: SimulatedData) -> None:
    amounts = handbook_run.transactions.loc[handbook_run.transactions["fraud_scenario"] == 3, "amount"]
    assert len(amounts) > 100
    cents = np.round(amounts.to_numpy() * 100)
    assert (cents % 5 == 0).all()

"""Labels arrive after their transactions: frauds after a report or chargeback delay, genuine ones at
maturity; in order of arrival."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ingest.simulator import SimulatedData, SimulatorConfig, simulate

DAY = pd.Timedelta(days=1)


def joined(data: SimulatedData) -> pd.DataFrame:
    tx = data.transactions.set_index("transaction_id")
    labels = data.labels.set_index("transaction_id")
    frame = labels.merge(
        tx[["timestamp", "card_token", "is_fraud"]], left_index=True, right_index=True, how="left", suffixes=("", "_tx")
    )
    assert frame["timestamp"].notna().all(), "every label names a simulated transaction"
    frame["delay"] = frame["reported_at"] - frame["timestamp"]
    return frame


def test_one_label_per_transaction_matching_its_truth(handbook_run: SimulatedData) -> None:
    frame = joined(handbook_run)
    assert len(frame) == len(handbook_run.transactions)
    assert frame.index.is_unique
    np.testing.assert_array_equal(frame["is_fraud"], frame["is_fraud_tx"])
    np.testing.assert_array_equal(frame["card_token"], frame["card_token_tx"])


def test_labels_come_after_their_transactions_in_order_of_arrival(handbook_run: SimulatedData) -> None:
    frame = joined(handbook_run)
    assert (frame["delay"] > pd.Timedelta(0)).all()
    assert handbook_run.labels["reported_at"].is_monotonic_increasing


def test_genuine_labels_arrive_at_maturity_frauds_before(handbook_run: SimulatedData) -> None:
    maturity = pd.Timedelta(days=handbook_run.config.label_maturity_days)
    frame = joined(handbook_run)
    assert (frame.loc[~frame["is_fraud"], "delay"] == maturity).all()
    fraud_delay = frame.loc[frame["is_fraud"], "delay"]
    assert (fraud_delay <= maturity).all()
    assert (fraud_delay >= pd.Timedelta(hours=1)).all()


def test_fraud_delays_are_realistic(handbook_run: SimulatedData) -> None:
    delay = joined(handbook_run).query("is_fraud")["delay"]
    assert len(delay) > 2_000
    # Expected: 30 % within 3 days (cardholder reports), the rest log-normal around 10 days; about 96 % fall
    # between 2 hours and 30 days, the median near a week.
    within = ((delay >= pd.Timedelta(hours=2)) & (delay <= 30 * DAY)).mean()
    assert within > 0.9
    median = pd.Timedelta(delay.median())
    assert 4 * DAY < median < 10 * DAY
    assert (delay <= 3 * DAY).mean() > 0.25


@pytest.mark.parametrize("preset", ["handbook", "realistic"])
def test_without_genuine_labels_only_frauds_are_reported(preset: str) -> None:
    config = SimulatorConfig.preset(preset, days=5, n_customers=500, n_terminals=1_000, genuine_labels=False)
    data = simulate(config)
    frauds = data.transactions.loc[data.transactions["is_fraud"], "transaction_id"]
    assert data.labels["is_fraud"].all()
    assert set(data.labels["transaction_id"]) == set(frauds)

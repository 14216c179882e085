"""No leakage: whatever happens after time t (new or changed transactions, labels reported after t) changes
no feature value of a transaction at or before t. Property-style: random streams, random cut times, random
changes to the future, for both label rules."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from features import OfflineFeatureEngine, default_feature_set
from tests.features.synthetic import random_labels, random_transactions

DELAY = timedelta(days=7)


def _rewrite_future(tx: pd.DataFrame, cut: pd.Timestamp, rng: np.random.Generator) -> pd.DataFrame:
    """Change every transaction after ``cut`` and append more, keeping the past rows as they were."""
    changed = tx.copy()
    future = (changed["timestamp"] > cut).to_numpy()
    count = int(future.sum())
    changed.loc[future, "amount"] = np.round(rng.uniform(0, 2_000, count), 2)
    changed.loc[future, "terminal_id"] = [f"term{k}" for k in rng.integers(0, 3, count)]
    changed.loc[future, "card_token"] = [f"card{k}" for k in rng.integers(0, 3, count)]
    changed.loc[future, "country"] = rng.choice(["BE", "DE"], count)
    extra = changed.sample(n=40, random_state=int(rng.integers(1 << 30)), replace=True).copy()
    extra["transaction_id"] = [f"late{k}" for k in range(len(extra))]
    extra["timestamp"] = cut + pd.to_timedelta(rng.integers(1, 5 * 86_400, len(extra)), unit="s")
    extra["is_fraud"] = True
    merged = pd.concat([changed, extra], ignore_index=True)
    return merged.sort_values("timestamp", kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("seed", range(6))
def test_the_future_does_not_change_the_past_under_the_handbook_label_rule(seed: int) -> None:
    rng = np.random.default_rng(seed)
    tx = random_transactions(seed, n=400, days=60)
    cut = tx["timestamp"].iloc[int(rng.integers(50, 350))]
    changed = _rewrite_future(tx, cut, rng)
    # A label reported after the cut: a fraud flag of any transaction less than the delay before it.
    reported_later = (changed["timestamp"] + DELAY > cut).to_numpy()
    changed.loc[reported_later, "is_fraud"] = rng.random(int(reported_later.sum())) < 0.5
    engine = OfflineFeatureEngine(default_feature_set(), label_delay=DELAY)
    before = engine.compute(tx).set_index(tx["transaction_id"])
    after = engine.compute(changed).set_index(changed["transaction_id"])
    past = tx.loc[tx["timestamp"] <= cut, "transaction_id"]
    assert len(past) > 0
    pd.testing.assert_frame_equal(before.loc[past], after.loc[past], check_exact=True)


@pytest.mark.parametrize("seed", range(6))
def test_the_future_does_not_change_the_past_with_a_label_file(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    tx = random_transactions(seed, n=400, days=60)
    labels = random_labels(tx, seed)
    cut = tx["timestamp"].iloc[int(rng.integers(50, 350))]
    changed = _rewrite_future(tx, cut, rng)
    later_labels = labels["reported_at"] > cut
    changed_labels = labels.copy()
    changed_labels.loc[later_labels, "is_fraud"] = ~changed_labels.loc[later_labels, "is_fraud"]
    changed_labels.loc[later_labels, "reported_at"] = cut + pd.Timedelta(seconds=1)
    engine = OfflineFeatureEngine(default_feature_set())
    before = engine.compute(tx, labels).set_index(tx["transaction_id"])
    after = engine.compute(changed, changed_labels).set_index(changed["transaction_id"])
    past = tx.loc[tx["timestamp"] <= cut, "transaction_id"]
    pd.testing.assert_frame_equal(before.loc[past], after.loc[past], check_exact=True)


def test_the_check_can_fail_a_label_known_too_early_changes_the_past() -> None:
    # The same comparison does see a change when a label is reported before the cut: the test can fail.
    tx = random_transactions(5, n=400, days=60)
    cut = tx["timestamp"].iloc[300]
    flipped = tx.copy()
    early = (flipped["timestamp"] + DELAY <= cut - pd.Timedelta(days=1)).to_numpy()
    flipped.loc[early, "is_fraud"] = ~flipped.loc[early, "is_fraud"]
    engine = OfflineFeatureEngine(default_feature_set())
    past = (tx["timestamp"] <= cut).to_numpy()
    assert not np.array_equal(engine.compute_array(tx)[past], engine.compute_array(flipped)[past])

"""The time split never lets a test-period transaction or an immature label into training."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from lifecycle.training.errors import SplitError
from lifecycle.training.split import TimeSplit, drop_known_compromised_cards, labels_known_at, training_rows

START = datetime(2024, 1, 1, tzinfo=UTC)


def _stream(days: int = 40, per_day: int = 50, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = days * per_day
    stamps = START + pd.to_timedelta(np.sort(rng.uniform(0, days, n)), unit="D")
    return pd.DataFrame(
        {
            "transaction_id": [f"t{i}" for i in range(n)],
            "timestamp": stamps,
            "card_token": rng.integers(0, 60, n).astype(str),
            "is_fraud": rng.random(n) < 0.1,
        }
    )


def test_no_test_period_or_gap_transaction_enters_training() -> None:
    frame = _stream()
    split = TimeSplit(START + timedelta(days=3), train_days=14, gap_days=7, test_days=7)
    rows, _ = training_rows(frame, split, label_delay_days=7)
    train_times = frame.loc[rows, "timestamp"]
    assert train_times.min() >= split.train_start
    assert train_times.max() < split.train_end
    test = split.test_mask(frame["timestamp"])
    assert not (rows & test).any()
    # Every training label had matured at the cutoff (the start of the test period).
    assert (train_times + pd.Timedelta(days=7) <= split.test_start).all()


def test_gap_shorter_than_label_delay_is_refused() -> None:
    split = TimeSplit(START, train_days=14, gap_days=3, test_days=7)
    with pytest.raises(SplitError, match="shorter than the label delay"):
        training_rows(_stream(), split, label_delay_days=7)


def test_fraud_reported_after_the_cutoff_is_not_a_training_label() -> None:
    frame = _stream()
    split = TimeSplit(START, train_days=14, gap_days=7, test_days=7)
    frauds = frame[frame["is_fraud"]]
    # Half of the frauds are reported before the cutoff, half long after it.
    late = np.arange(len(frauds)) % 2 == 1
    reported = frauds["timestamp"] + pd.Timedelta(days=2)
    reported[late] = pd.Timestamp(split.test_start) + pd.Timedelta(days=30)
    labels = pd.DataFrame({"transaction_id": frauds["transaction_id"], "is_fraud": True, "reported_at": reported})
    rows, known = training_rows(frame, split, label_delay_days=7, labels=labels)
    late_ids = set(frauds.loc[late, "transaction_id"])
    in_training = frame.loc[rows]
    late_rows = in_training["transaction_id"].isin(late_ids).to_numpy()
    assert late_rows.any()
    assert (known[rows][late_rows] == 0).all()
    assert (known[rows][~late_rows] == in_training.loc[~late_rows, "is_fraud"].to_numpy()).all()


def test_labels_younger_than_the_delay_are_immature() -> None:
    frame = _stream()
    cutoff = START + timedelta(days=20)
    _, mature = labels_known_at(frame, cutoff, label_delay_days=7)
    young = (frame["timestamp"] > cutoff - pd.Timedelta(days=7)).to_numpy()
    assert not mature[young].any()
    assert mature[~young].all()


def test_known_compromised_cards_are_dropped_per_test_day() -> None:
    day = pd.Timedelta(days=1)
    t0 = pd.Timestamp("2024-02-10 12:00", tz="UTC")
    frame = pd.DataFrame(
        {
            "timestamp": [t0 - 8 * day, t0 - 7 * day, t0, t0, t0 + day, t0],
            "card_token": ["a", "b", "a", "b", "b", "c"],
            "is_fraud": [True, True, False, False, False, True],
        }
    )
    test = (frame["timestamp"] >= t0.floor("D")).to_numpy()
    kept = drop_known_compromised_cards(frame, test, label_delay_days=7)
    # Card a's fraud (T - 8) is known on T: dropped. Card b's fraud (T - 7) is not yet known on T but is on
    # T + 1. Card c's own test-day fraud stays.
    assert kept.tolist() == [False, False, False, True, False, True]


def test_the_calibration_slice_is_the_end_of_the_training_period() -> None:
    frame = _stream()
    split = TimeSplit(START, train_days=21, gap_days=7, test_days=7, calibration_days=7)
    stamps = frame["timestamp"]
    fit, calibration = split.fit_mask(stamps), split.calibration_mask(stamps)
    assert not (fit & calibration).any()
    assert ((fit | calibration) == split.train_mask(stamps)).all()
    assert frame.loc[fit, "timestamp"].max() < split.fit_end <= frame.loc[calibration, "timestamp"].min()
    assert split.fit_end == START + timedelta(days=14)
    with pytest.raises(SplitError, match="calibration_days"):
        TimeSplit(START, train_days=7, gap_days=7, test_days=7, calibration_days=7)

"""Performance as labels mature: provisional while labels are missing, equal to the offline metrics once all
have arrived; and the label-free estimate within a stated tolerance of what the labels later show."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lifecycle.evaluation import average_precision, card_precision_at_k, roc_auc
from lifecycle.reference import build_reference_profile
from monitoring.errors import MonitorInputError
from monitoring.performance import PerformanceMonitor
from tests.monitoring.streams import ScoredPool

#: Stated tolerances of the estimate, per day of 40,000 transactions (about 780 frauds, 100 cards reviewed):
#: about three standard errors of each realised metric on such a day; and of the mean over six days.
TOLERANCE = {"auc_roc": 0.025, "average_precision": 0.035, "card_precision_at_100": 0.15}
MEAN_TOLERANCE = {"auc_roc": 0.01, "average_precision": 0.015, "card_precision_at_100": 0.06}


def _labels(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Fraud labels reported 1 to 20 days after the payment, genuine ones at a 30-day maturity."""
    rng = np.random.default_rng(seed)
    delay = np.where(frame["is_fraud"], rng.uniform(1, 20, len(frame)), 30.0)
    out = pd.DataFrame(
        {
            "transaction_id": frame["transaction_id"],
            "is_fraud": frame["is_fraud"].astype(bool),
            "reported_at": frame["timestamp"] + pd.to_timedelta(delay, unit="D"),
        }
    )
    return out.sort_values("reported_at", kind="mergesort").reset_index(drop=True)


def test_realised_metrics_equal_offline_ones_once_every_label_arrived(pool: ScoredPool) -> None:
    stream = pool.stream.iloc[:12_000]
    monitor = PerformanceMonitor(pool.profile, maturity_days=30)
    for start in range(0, len(stream), 700):
        monitor.update(stream.iloc[start : start + 700])
    labels = _labels(stream, seed=5)
    frauds_only = labels[labels["is_fraud"]]
    monitor.deliver_labels(frauds_only.iloc[: len(frauds_only) // 2])
    early = monitor.days()
    assert not any(day.mature for day in early), "no day is final while genuine labels are still to come"
    assert sum(day.frauds for day in early) == len(frauds_only) // 2
    monitor.deliver_labels(labels)
    final = {day.day: day for day in monitor.finalise_mature_days()}
    days = stream["timestamp"].dt.date.astype(str)
    # The stream's last day may still take transactions: it stays open, its figures computed on demand.
    assert sorted(final) == sorted(days.unique())[:-1]
    assert monitor.open_days == (days.iloc[-1],)
    for figures in monitor.days():
        rows = stream[days == figures.day]
        y = rows["is_fraud"].to_numpy(dtype=np.float64)
        assert figures.labelled == len(rows) == figures.transactions
        assert figures.mature == (figures.day in final)
        assert figures.frauds == int(y.sum())
        if 0 < y.sum() < len(y):
            assert figures.realised["auc_roc"] == pytest.approx(roc_auc(rows["score"], y), abs=1e-12)
            offline_ap = average_precision(rows["score"], y)
            assert figures.realised["average_precision"] == pytest.approx(offline_ap, abs=1e-12)
        offline_cp = card_precision_at_k(rows["score"], y, rows["card_token"], np.zeros(len(rows)), k=100).mean
        assert figures.realised["card_precision_at_100"] == pytest.approx(offline_cp, abs=1e-12)
    assert monitor.unmatched_labels == 0


def test_a_day_is_final_at_maturity_even_when_genuine_labels_never_come(pool: ScoredPool) -> None:
    stream = pool.stream.iloc[:3_000]
    monitor = PerformanceMonitor(pool.profile, maturity_days=30).update(stream)
    labels = _labels(stream, seed=1)
    monitor.deliver_labels(labels[labels["is_fraud"]])
    assert monitor.finalise_mature_days() == []
    last_report = labels["reported_at"].max()
    late = pd.DataFrame({"transaction_id": ["elsewhere"], "is_fraud": [False], "reported_at": [last_report]})
    done = monitor.update(stream.iloc[-1:]).deliver_labels(late).finalise_mature_days()
    assert done
    assert all(day.mature for day in done)
    assert monitor.unmatched_labels == 1


def _synthetic(seed: int, days: int, per_day: int) -> pd.DataFrame:
    """Transactions whose fraud probability is known: p ~ Beta(0.3, 15) (mean 2 %), fraud ~ Bernoulli(p), and a
    score that ranks by p without being calibrated (sqrt p)."""
    rng = np.random.default_rng(seed)
    n = days * per_day
    p = rng.beta(0.3, 15.0, n)
    start = pd.Timestamp("2024-03-01", tz="UTC")
    return pd.DataFrame(
        {
            "transaction_id": [f"{seed}-{i}" for i in range(n)],
            "card_token": rng.integers(0, 20_000, n).astype(str),
            "timestamp": start + pd.to_timedelta(np.sort(rng.random(n)) * days, unit="D"),
            "score": np.sqrt(p),
            "is_fraud": rng.random(n) < p,
            "amount": rng.gamma(2.0, 30.0, n),
        }
    )


def test_label_free_estimate_is_within_tolerance_of_the_realised_metrics() -> None:
    reference = _synthetic(0, days=5, per_day=40_000)
    profile = build_reference_profile(
        reference, scores=reference["score"], inputs=("amount",), fields=("amount",), labels=reference["is_fraud"]
    )
    stream = _synthetic(1, days=6, per_day=40_000)
    monitor = PerformanceMonitor(profile, maturity_days=30).update(stream)
    before = monitor.days()
    assert all(day.labelled == 0 and day.estimated["auc_roc"] is not None for day in before)
    monitor.deliver_labels(_labels(stream, seed=2))
    days = monitor.days()
    for metric, tolerance in TOLERANCE.items():
        estimated = np.array([day.estimated[metric] for day in days], dtype=np.float64)
        realised = np.array([day.realised[metric] for day in days], dtype=np.float64)
        assert all(day.labelled == day.transactions for day in days)
        assert np.all(np.abs(estimated - realised) <= tolerance), (metric, estimated, realised)
        assert abs(estimated.mean() - realised.mean()) <= MEAN_TOLERANCE[metric], (metric, estimated, realised)


def test_frames_without_the_needed_columns_are_refused(pool: ScoredPool) -> None:
    monitor = PerformanceMonitor(pool.profile)
    with pytest.raises(MonitorInputError, match="card_token"):
        monitor.update(pool.stream.drop(columns=["card_token"]).iloc[:10])
    with pytest.raises(MonitorInputError, match="reported_at"):
        monitor.deliver_labels(pd.DataFrame({"transaction_id": ["a"], "is_fraud": [True]}))

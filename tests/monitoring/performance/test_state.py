"""The performance monitor's memory and its life across restarts: days closed when labels stop coming, the
state saved and resumed with the same figures, no identifier in clear on disk."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from monitoring.errors import MonitorSnapshotError
from monitoring.performance import PerformanceMonitor
from tests.monitoring.streams import ScoredPool


def _fraud_labels(frame: pd.DataFrame, days: float) -> pd.DataFrame:
    frauds = frame[frame["is_fraud"]]
    return pd.DataFrame(
        {
            "transaction_id": frauds["transaction_id"],
            "is_fraud": True,
            "reported_at": frauds["timestamp"] + pd.Timedelta(days=days),
        }
    ).sort_values("reported_at", kind="mergesort")


def _fed(monitor: PerformanceMonitor, frame: pd.DataFrame, batch: int = 500) -> PerformanceMonitor:
    for start in range(0, len(frame), batch):
        monitor.update(frame.iloc[start : start + batch])
    return monitor


def test_a_resumed_monitor_gives_the_figures_the_running_one_gives(pool: ScoredPool, tmp_path: Path) -> None:
    stream = pool.stream.iloc[:12_000]
    first, second = stream.iloc[:7_000], stream.iloc[7_000:]
    labels = _fraud_labels(stream, days=2.5)
    running = _fed(PerformanceMonitor(pool.profile, maturity_days=3), first)
    running.deliver_labels(labels[labels["reported_at"] < first["timestamp"].max()])
    running.finalise_mature_days()
    assert running.open_days, "the snapshot is taken with days still open"
    path = running.save(tmp_path / "state" / "performance.npz")
    resumed = PerformanceMonitor.load(path, pool.profile, maturity_days=3)
    assert resumed.days() == running.days()
    assert (resumed.stream_clock, resumed.label_clock) == (running.stream_clock, running.label_clock)
    for monitor in (running, resumed):
        _fed(monitor, second).deliver_labels(labels[labels["reported_at"] >= first["timestamp"].max()])
    assert resumed.finalise_mature_days() == running.finalise_mature_days()
    assert resumed.days() == running.days()
    assert resumed.unmatched_labels == running.unmatched_labels == 0


def test_a_snapshot_holds_no_id_or_card_in_clear(pool: ScoredPool, tmp_path: Path) -> None:
    stream = pool.stream.iloc[:2_000].assign(
        transaction_id=lambda f: "transaction-" + f["transaction_id"].astype(str),
        card_token=lambda f: "card-token-" + f["card_token"].astype(str),
    )
    path = _fed(PerformanceMonitor(pool.profile), stream).save(tmp_path / "performance.npz")
    stored = path.read_bytes()
    for marker in ("transaction-", "card-token-"):
        assert marker.encode() not in stored
        assert marker.encode("utf-32-le") not in stored


def test_a_snapshot_is_refused_for_another_model_or_when_damaged(pool: ScoredPool, tmp_path: Path) -> None:
    path = _fed(PerformanceMonitor(pool.profile), pool.stream.iloc[:1_000]).save(tmp_path / "performance.npz")
    other = pool.profile.__class__(**{**pool.profile.__dict__, "metrics": {"auc_roc": 0.5}})
    with pytest.raises(MonitorSnapshotError, match="another model"):
        PerformanceMonitor.load(path, other)
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(path.read_bytes()[:200])
    with pytest.raises(MonitorSnapshotError, match="move it aside"):
        PerformanceMonitor.load(damaged, pool.profile)


def test_days_the_labels_never_reach_are_closed_and_memory_stays_bounded(pool: ScoredPool) -> None:
    stream = pool.stream
    days = stream["timestamp"].dt.floor("D")
    monitor = PerformanceMonitor(pool.profile, maturity_days=2, label_grace_days=1)
    per_day = days.value_counts().max()
    closed = []
    for day in days.unique():
        monitor.update(stream[days == day])
        closed += monitor.finalise_mature_days()
        # The open days: today, and those within maturity + grace of it (no label ever came).
        assert len(monitor.open_days) <= 2 + 1 + 2
        assert monitor.held_rows <= 5 * per_day
        assert monitor.nbytes <= monitor.held_rows * 25
    assert len(closed) == days.nunique() - len(monitor.open_days)
    assert all(not day.mature and day.labelled == 0 for day in closed), "closed without labels: not mature"


def test_a_fraud_label_stands_whatever_else_the_same_batch_says(pool: ScoredPool) -> None:
    stream = pool.stream.iloc[:500]
    monitor = PerformanceMonitor(pool.profile).update(stream)
    transaction = stream["transaction_id"].iloc[0]
    at = stream["timestamp"].iloc[-1]
    both = pd.DataFrame({"transaction_id": [transaction] * 2, "is_fraud": [True, False], "reported_at": [at] * 2})
    monitor.deliver_labels(both)
    day = monitor.days()[0]
    assert (day.frauds, day.labelled) == (1, 1)
    monitor.deliver_labels(both.iloc[::-1])
    assert monitor.days()[0].frauds == 1

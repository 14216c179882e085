"""Online equals offline: streaming the handbook's months through the online engine in time order, labels
delivered after their delay, gives the offline values of every feature to 1e-9 (in practice bit for bit:
both engines run the same kernels on the same event order).

Embedded store: all four months (1.17 million transactions), with a snapshot and restore half-way.
Redis store: the first 10 days of April (about 96,000 transactions), computed by two workers that take
turns over micro-batches, sharing the state through Redis.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.typing import NDArray

from features import (
    InMemoryStateStore,
    OfflineFeatureEngine,
    OnlineFeatureEngine,
    RedisStateStore,
    default_feature_set,
)
from ingest.contract import Transaction
from tests.features.replay import delayed_labels, replay

pytestmark = [pytest.mark.handbook, pytest.mark.slow]
TOLERANCE = 1e-9


def assert_parity(online: NDArray[np.float64], offline: NDArray[np.float64]) -> None:
    names = default_feature_set().names
    worst = np.abs(online - offline).max(axis=0)
    bad = {name: float(w) for name, w in zip(names, worst, strict=True) if not w <= TOLERANCE}
    assert not bad, f"online differs from offline: {bad}"


def test_embedded_store_replay_of_four_months_with_a_snapshot_half_way(
    handbook_transactions: pd.DataFrame, handbook_offline: NDArray[np.float64], tmp_path: Path
) -> None:
    feature_set = default_feature_set()
    snapshot = tmp_path / "state.npz"

    def snapshot_and_restore(engine: OnlineFeatureEngine) -> OnlineFeatureEngine:
        assert isinstance(engine.store, InMemoryStateStore)
        engine.store.snapshot(snapshot, feature_set.version)
        return OnlineFeatureEngine(feature_set, InMemoryStateStore.restore(snapshot, feature_set.version))

    batches = -(-len(handbook_transactions) // 500)
    online = replay(
        [OnlineFeatureEngine(feature_set)],
        handbook_transactions,
        delayed_labels(handbook_transactions),
        restart_after=batches // 2,
        restart=snapshot_and_restore,
    )
    assert_parity(online, handbook_offline)


def test_redis_store_shared_by_two_workers(handbook_transactions: pd.DataFrame, redis_url: str) -> None:
    feature_set = default_feature_set()
    stamps = handbook_transactions["timestamp"]
    head = handbook_transactions[stamps < stamps.iloc[0] + pd.Timedelta(days=10)]
    offline = OfflineFeatureEngine(feature_set).compute_array(head)
    store = RedisStateStore.from_url(redis_url, prefix="test-parity")
    store.clear()
    workers = [OnlineFeatureEngine(feature_set, store), OnlineFeatureEngine(feature_set, store)]
    online = replay(workers, head, delayed_labels(head))
    assert_parity(online, offline)
    assert store.entity_count("card") == head["card_token"].nunique()
    store.clear()


def test_single_transaction_path_equals_offline(handbook_transactions: pd.DataFrame) -> None:
    feature_set = default_feature_set()
    head = handbook_transactions.iloc[:4_000]
    offline = OfflineFeatureEngine(feature_set).compute_array(head)
    engine = OnlineFeatureEngine(feature_set)
    rows = []
    for record in head.drop(columns=["is_fraud", "fraud_scenario"]).to_dict("records"):
        fields = {str(name): value for name, value in record.items()}
        fields["timestamp"] = datetime.fromisoformat(fields["timestamp"].isoformat())
        rows.append(engine.update_and_read(Transaction(**fields)))
    assert_parity(np.vstack(rows), offline)

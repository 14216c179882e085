"""The online engine's own behaviour: the single and batch paths agree, labels count from their report time
on, odd labels are ignored, state stays bounded, bad input is refused clearly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from features import (
    CARD,
    TERMINAL,
    Aggregate,
    FeatureInputError,
    FeatureSet,
    InMemoryStateStore,
    OnlineFeatureEngine,
    WindowAggregate,
    default_feature_set,
)
from ingest.contract import Label, Transaction
from tests.features.replay import delayed_labels, replay
from tests.features.synthetic import random_transactions

SHARE = FeatureSet(
    (
        WindowAggregate(TERMINAL, Aggregate.COUNT, timedelta(days=1), lag=timedelta(days=1)),
        WindowAggregate(TERMINAL, Aggregate.FRAUD_SHARE, timedelta(days=1), lag=timedelta(days=1)),
    )
)
T0 = datetime(2018, 4, 2, 12, tzinfo=UTC)


def _tx(tx_id: str, at: datetime, card: str = "c1", terminal: str = "m1", amount: float = 10.0) -> Transaction:
    return Transaction(
        transaction_id=tx_id, timestamp=at, card_token=card, customer_id=card, terminal_id=terminal, amount=amount
    )


def test_single_and_batch_paths_agree() -> None:
    tx = random_transactions(9, n=200)
    batch = OnlineFeatureEngine(default_feature_set()).update_and_read_batch(tx)
    single = OnlineFeatureEngine(default_feature_set())
    rows = []
    for record in tx.drop(columns=["is_fraud"]).to_dict("records"):
        fields = {str(name): value for name, value in record.items()}
        fields["timestamp"] = datetime.fromisoformat(fields["timestamp"].isoformat())
        rows.append(single.update_and_read(Transaction(**fields)))
    np.testing.assert_array_equal(np.vstack(rows), batch)
    assert single.as_dict(rows[0]).keys() == set(default_feature_set().names)


def test_a_label_counts_from_its_report_time_on() -> None:
    engine = OnlineFeatureEngine(SHARE)
    engine.update_and_read(_tx("a", T0))
    reported = T0 + timedelta(days=1, hours=6)
    assert engine.apply_label(Label(transaction_id="a", card_token="c1", is_fraud=True, reported_at=reported))
    before = engine.as_dict(engine.update_and_read(_tx("b", T0 + timedelta(days=1, hours=5))))
    after = engine.as_dict(engine.update_and_read(_tx("c", T0 + timedelta(days=1, hours=7))))
    assert before == {"terminal_count_1d_lag1d": 1.0, "terminal_fraud_share_1d_lag1d": 0.0}
    assert after == {"terminal_count_1d_lag1d": 1.0, "terminal_fraud_share_1d_lag1d": 1.0}


def test_unknown_and_genuine_labels_are_ignored() -> None:
    engine = OnlineFeatureEngine(SHARE)
    engine.update_and_read(_tx("a", T0))
    assert not engine.apply_label(Label(transaction_id="zz", card_token="c1", is_fraud=True, reported_at=T0))
    assert not engine.apply_label(Label(transaction_id="a", card_token="c1", is_fraud=False, reported_at=T0))
    assert (engine.labels_applied, engine.labels_ignored) == (0, 2)
    row = engine.as_dict(engine.update_and_read(_tx("b", T0 + timedelta(days=1, hours=1))))
    assert row["terminal_fraud_share_1d_lag1d"] == 0.0


def test_state_holds_only_the_horizon_of_each_entity() -> None:
    tx = random_transactions(2, n=600, days=120, cards=4)
    engine = OnlineFeatureEngine(default_feature_set())
    replay([engine], tx, delayed_labels(tx), batch_size=64)
    store = engine.store
    assert isinstance(store, InMemoryStateStore)
    stamps = tx["timestamp"]
    for card, group in tx.groupby("card_token"):
        newest = group["timestamp"].max()
        live = int((group["timestamp"] > newest - pd.Timedelta(days=30)).sum())
        arena = store.arena("card")
        assert arena.count[store.slot_of("card", str(card))] == live
    pair = store.arena("card_terminal")
    assert pair.count.max() <= 1  # first-use features keep one event per pair
    assert stamps.is_monotonic_increasing


def test_an_entity_busier_than_the_arena_widens_it() -> None:
    feature_set = FeatureSet((WindowAggregate(CARD, Aggregate.COUNT, timedelta(days=1)),))
    engine = OnlineFeatureEngine(feature_set)
    rows = [engine.update_and_read(_tx(f"t{i}", T0 + timedelta(seconds=i))) for i in range(100)]
    assert [r[0] for r in rows] == list(range(1, 101))


def test_bad_input_is_refused_with_a_clear_message() -> None:
    engine = OnlineFeatureEngine(default_feature_set())
    tx = random_transactions(1, n=5)
    with pytest.raises(FeatureInputError, match="terminal_id"):
        engine.update_and_read_batch(tx.drop(columns=["terminal_id"]))
    naive = tx.assign(timestamp=tx["timestamp"].dt.tz_localize(None))
    with pytest.raises(FeatureInputError, match="time zone"):
        engine.update_and_read_batch(naive)
    with pytest.raises(FeatureInputError, match="non-finite"):
        engine.update_and_read_batch(tx.assign(amount=np.nan))


def test_missing_keys_and_fraud_flags_are_refused() -> None:
    engine = OnlineFeatureEngine(default_feature_set())
    tx = random_transactions(1, n=5)
    with pytest.raises(FeatureInputError, match="'card_token' has missing values"):
        engine.update_and_read_batch(tx.assign(card_token=tx["card_token"].where(tx.index != 0, None)))
    labels = delayed_labels(random_transactions(2, n=60))
    with pytest.raises(FeatureInputError, match="missing fraud flags"):
        engine.apply_labels(labels.assign(is_fraud=np.nan))


def _one_by_one(engine: OnlineFeatureEngine, tx: pd.DataFrame, labels: pd.DataFrame) -> np.ndarray:
    """The reference: before each transaction, every label reported at or before its time is applied."""
    reported = labels["reported_at"].to_numpy()
    stamps = tx["timestamp"].to_numpy()
    out, applied = [], 0
    for row in range(len(tx)):
        due = int(np.searchsorted(reported, stamps[row], side="right"))
        if due > applied:
            engine.apply_labels(labels.iloc[applied:due])
            applied = due
        out.append(engine.update_and_read_batch(tx.iloc[row : row + 1]))
    return np.vstack(out)


@pytest.mark.parametrize("batch_size", [1, 37, 400])
def test_scheduled_labels_apply_where_the_stream_reaches_them(batch_size: int) -> None:
    tx = random_transactions(13, n=400, days=30)
    labels = delayed_labels(tx, delay=timedelta(days=1))  # many fall due inside a batch
    expected = _one_by_one(OnlineFeatureEngine(default_feature_set()), tx, labels)
    engine = OnlineFeatureEngine(default_feature_set())
    reported = labels["reported_at"].to_numpy()
    stamps = tx["timestamp"].to_numpy()
    scheduled, out = 0, []
    for start in range(0, len(tx), batch_size):
        batch = tx.iloc[start : start + batch_size]
        due = int(np.searchsorted(reported, stamps[min(start + batch_size, len(tx)) - 1], side="right"))
        engine.schedule_labels(labels.iloc[scheduled:due])
        scheduled = due
        out.append(engine.update_and_read_batch(batch))
        assert engine.scheduled_labels == 0, "every label due inside the batch was applied inside it"
    np.testing.assert_array_equal(np.vstack(out), expected)
    assert engine.labels_applied > 0


def test_scheduled_labels_the_stream_does_not_reach_wait_or_apply_on_request() -> None:
    engine = OnlineFeatureEngine(SHARE)
    engine.update_and_read(_tx("a", T0))
    later = pd.DataFrame(
        {"transaction_id": ["a", "zz"], "is_fraud": [True, False], "reported_at": [T0 + timedelta(days=3)] * 2}
    ).astype({"reported_at": "datetime64[us, UTC]"})
    engine.schedule_labels(later)
    assert engine.scheduled_labels == 1  # the genuine label changes nothing and is not held
    batch = pd.DataFrame(
        {"transaction_id": ["b"], "timestamp": [T0 + timedelta(days=1, hours=1)], "card_token": ["c1"],
         "customer_id": ["c1"], "terminal_id": ["m1"], "amount": [5.0]}
    ).astype({"timestamp": "datetime64[us, UTC]"})  # fmt: skip
    engine.update_and_read_batch(batch)
    assert engine.scheduled_labels == 1
    assert engine.apply_scheduled_labels() == 1
    assert engine.scheduled_labels == 0

"""Contract tests every state store passes (embedded and Redis), then what is particular to each."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from features import (
    CARD,
    TERMINAL,
    Aggregate,
    FeatureSet,
    FeaturesSettings,
    InMemoryStateStore,
    OfflineFeatureEngine,
    OnlineFeatureEngine,
    RedisStateStore,
    SnapshotMismatchError,
    StateConflictError,
    StateStoreError,
    TimeFlag,
    WindowAggregate,
    default_feature_set,
    state_store_from_settings,
)
from features.state import RouteBatch, StateBatch, StateStore
from ingest.contract import Label, Transaction
from tests.features.replay import delayed_labels, replay
from tests.features.synthetic import random_transactions


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[StateStore]:
    if request.param == "memory":
        yield InMemoryStateStore()
        return
    url = request.getfixturevalue("redis_url")
    redis_store = RedisStateStore.from_url(url, prefix=f"test-store-{request.node.name}")
    redis_store.clear()
    yield redis_store
    redis_store.clear()


def _write(store: StateStore, kind: str, key: str, ts: list[int], amounts: list[float]) -> None:
    batch = store.begin({kind: [key]})
    arena, slot = batch.arenas[kind], int(batch.slots[kind][0])
    while arena.capacity < len(ts):
        arena.widen()
    arena.ts[slot, : len(ts)] = ts
    arena.amount[slot, : len(ts)] = amounts
    arena.event_id[slot, : len(ts)] = np.arange(len(ts)) + 100
    arena.count[slot] = len(ts)
    store.commit(batch)


def test_unknown_keys_start_empty_and_repeated_keys_share_a_slot(store: StateStore) -> None:
    batch = store.begin({"card": ["a", "b", "a"], "terminal": ["a"]})
    slots = batch.slots["card"].tolist()
    assert slots[0] == slots[2] != slots[1]
    assert all(batch.arenas["card"].count[s] == 0 for s in slots)
    assert batch.arenas["terminal"].count[int(batch.slots["terminal"][0])] == 0
    store.abort(batch)


def test_committed_events_come_back(store: StateStore) -> None:
    _write(store, "card", "c1", [10, 20, 30], [1.5, 2.5, 3.5])
    _write(store, "terminal", "c1", [40] * 40, [9.0] * 40)  # wider than the initial capacity
    batch = store.begin({"card": ["c1", "zz"], "terminal": ["c1"]})
    arena, slot = batch.arenas["card"], int(batch.slots["card"][0])
    assert arena.count[slot] == 3
    assert arena.ts[slot, :3].tolist() == [10, 20, 30]
    assert arena.amount[slot, :3].tolist() == [1.5, 2.5, 3.5]
    assert arena.event_id[slot, :3].tolist() == [100, 101, 102]
    assert batch.arenas["terminal"].count[int(batch.slots["terminal"][0])] == 40
    store.abort(batch)
    assert store.entity_count("card") >= 1
    assert store.entity_count("terminal") == 1


def test_routes_round_trip(store: StateStore) -> None:
    batch = store.begin({"terminal": ["t1", "t2"]})
    batch.routes = RouteBatch(["x1", "x2"], [7, 8], [1_000, 2_000], {"terminal": ["t1", "t2"]})
    store.commit(batch)
    first, second, missing = store.routes(["x1", "x2", "nope"])
    assert missing is None
    assert first is not None
    assert second is not None
    assert (first.event_id, first.ts_us, first.keys) == (7, 1_000, (("terminal", "t1"),))
    assert (second.event_id, second.keys) == (8, (("terminal", "t2"),))


def test_an_engine_on_the_store_gives_the_offline_values(store: StateStore) -> None:
    feature_set = default_feature_set()
    tx = random_transactions(21, n=300)
    offline = OfflineFeatureEngine(feature_set).compute_array(tx)
    online = replay([OnlineFeatureEngine(feature_set, store)], tx, delayed_labels(tx), batch_size=50)
    np.testing.assert_allclose(online, offline, rtol=1e-9, atol=1e-9)


def test_an_engine_of_time_flags_only_needs_no_entity_state(store: StateStore) -> None:
    feature_set = FeatureSet((TimeFlag("weekend"), TimeFlag("night")))
    tx = random_transactions(5, n=30)
    online = OnlineFeatureEngine(feature_set, store).update_and_read_batch(tx)
    np.testing.assert_array_equal(online, OfflineFeatureEngine(feature_set).compute_array(tx))


def test_a_unit_commits_its_positions_with_its_state(store: StateStore) -> None:
    assert store.positions() == {}
    store.begin_unit()
    _write(store, "card", "c1", [10, 20], [1.0, 2.0])
    _write(store, "card", "c1", [10, 20, 30], [1.0, 2.0, 3.0])  # a later batch of the unit reads the first one's
    store.commit_unit({"transactions/0": 120, "labels/0": 7})
    assert store.positions() == {"transactions/0": 120, "labels/0": 7}
    batch = store.begin({"card": ["c1"]})
    assert batch.arenas["card"].count[int(batch.slots["card"][0])] == 3
    store.abort(batch)
    store.begin_unit()
    store.commit_unit({"transactions/0": 250})
    assert store.positions() == {"transactions/0": 250, "labels/0": 7}


def test_routes_of_a_unit_are_found_before_it_commits(store: StateStore) -> None:
    store.begin_unit()
    batch = store.begin({"terminal": ["t1"]})
    batch.routes = RouteBatch(["x1"], [7], [1_000], {"terminal": ["t1"]})
    store.commit(batch)
    (route,) = store.routes(["x1"])
    assert route is not None
    assert route.event_id == 7
    store.commit_unit({})
    assert store.routes(["x1"])[0] is not None


# Embedded store


def test_the_embedded_store_cannot_undo_a_unit_and_snapshots_its_positions(tmp_path: Path) -> None:
    store = InMemoryStateStore()
    store.begin_unit()
    _write(store, "card", "c1", [1], [1.0])
    assert store.abort_unit() is False, "the batch changed the arenas in place: the caller must rebuild"
    store.begin_unit()
    store.commit_unit({"transactions/3": 42})
    store.snapshot(tmp_path / "s.npz", "v")
    assert InMemoryStateStore.restore(tmp_path / "s.npz", "v").positions() == {"transactions/3": 42}


def test_snapshot_restores_the_same_state(tmp_path: Path) -> None:
    feature_set = default_feature_set()
    tx = random_transactions(4, n=300)
    labels = delayed_labels(tx)
    engine = OnlineFeatureEngine(feature_set)
    replay([engine], tx.iloc[:150], labels)
    assert isinstance(engine.store, InMemoryStateStore)
    engine.store.snapshot(tmp_path / "s.npz", feature_set.version)
    restored = OnlineFeatureEngine(feature_set, InMemoryStateStore.restore(tmp_path / "s.npz", feature_set.version))
    rest = tx.iloc[150:]
    pending = labels[labels["reported_at"] > tx["timestamp"].iloc[149]]
    np.testing.assert_array_equal(replay([engine], rest, pending), replay([restored], rest, pending))


def test_a_snapshot_of_another_feature_set_is_refused(tmp_path: Path) -> None:
    store = InMemoryStateStore()
    store.snapshot(tmp_path / "s.npz", "version-a")
    with pytest.raises(SnapshotMismatchError, match="version-a"):
        InMemoryStateStore.restore(tmp_path / "s.npz", "version-b")
    (tmp_path / "bad.npz").write_bytes(b"not a snapshot")
    with pytest.raises(StateStoreError, match="cannot read"):
        InMemoryStateStore.restore(tmp_path / "bad.npz", "version-a")
    saved = InMemoryStateStore()
    _write(saved, "card", "c1", [1, 2], [3.0, 4.0])
    saved.snapshot(tmp_path / "full.npz", "version-a")
    with np.load(tmp_path / "full.npz") as full:
        arrays = {name: full[name] for name in full.files if name != "card.amount"}
    np.savez(tmp_path / "partial.npz", **arrays)
    with pytest.raises(StateStoreError, match=r"card\.amount"):
        InMemoryStateStore.restore(tmp_path / "partial.npz", "version-a")


def test_idle_entities_are_forgotten_and_their_slots_reused() -> None:
    store = InMemoryStateStore()
    _write(store, "card", "old", [10], [1.0])
    _write(store, "card", "new", [500], [1.0])
    assert store.evict_idle("card", before_us=100) == 1
    assert store.entity_count("card") == 1
    assert store.slot_of("card", "newer") == 0  # the freed slot


@pytest.mark.parametrize(
    "batches",
    [
        pytest.param([["a", "b", "a", "c"]], id="new keys, one repeated"),
        pytest.param([["a", "b"], ["b", "c", "d", "c", "a"]], id="known and new keys mixed"),
        pytest.param([[f"k{i % 1500}" for i in range(5000)]], id="more new keys than the arena holds"),
    ],
)
def test_a_batch_gives_new_keys_the_slots_one_by_one_lookups_give(batches: list[list[str]]) -> None:
    together, one_by_one = InMemoryStateStore(), InMemoryStateStore()
    for store in (together, one_by_one):  # freed slots are reused first, the latest freed first
        for key, ts in (("x", 10), ("y", 20), ("z", 30), ("w", 500)):
            _write(store, "card", key, [ts], [1.0])
        assert store.evict_idle("card", before_us=100) == 3
    for keys in batches:
        slots = together.begin({"card": keys}).slots["card"].tolist()
        assert slots == [one_by_one.slot_of("card", key) for key in keys]
        assert together.arena("card").slots >= max(slots) + 1
    assert together.entity_count("card") == one_by_one.entity_count("card")


# Redis store


def test_a_concurrent_write_makes_the_commit_ask_for_a_retry(redis_url: str) -> None:
    first = RedisStateStore.from_url(redis_url, prefix="test-conflict")
    second = RedisStateStore.from_url(redis_url, prefix="test-conflict")
    first.clear()
    batch = first.begin({"terminal": ["t1"]})
    _write(second, "terminal", "t1", [5], [1.0])
    with pytest.raises(StateConflictError):
        first.commit(batch)
    first.clear()


def test_a_unit_holds_its_writes_until_it_commits_and_drops_them_on_abort(redis_url: str) -> None:
    store = RedisStateStore.from_url(redis_url, prefix="test-unit-held")
    other = RedisStateStore.from_url(redis_url, prefix="test-unit-held")
    store.clear()
    store.begin_unit()
    _write(store, "card", "c1", [5], [1.0])
    assert other.entity_count("card") == 0, "nothing is written before commit_unit"
    assert store.abort_unit() is True
    assert other.entity_count("card") == 0
    store.begin_unit()
    _write(store, "card", "c1", [5], [1.0])
    store.commit_unit({"transactions/1": 9})
    assert other.entity_count("card") == 1
    assert other.positions() == {"transactions/1": 9}
    store.clear()


def test_a_unit_that_read_what_another_worker_changed_asks_for_a_retry(redis_url: str) -> None:
    store = RedisStateStore.from_url(redis_url, prefix="test-unit-conflict")
    other = RedisStateStore.from_url(redis_url, prefix="test-unit-conflict")
    store.clear()
    store.begin_unit()
    _write(store, "terminal", "t1", [5], [1.0])
    _write(other, "terminal", "t1", [6], [2.0])
    with pytest.raises(StateConflictError):
        store.commit_unit({"transactions/0": 1})
    assert other.positions() == {}
    # Watched positions: a replay that another worker finished meanwhile is refused the same way.
    store.begin_unit(watch_positions=["transactions/0"])
    other.begin_unit()
    other.commit_unit({"transactions/0": 5})
    with pytest.raises(StateConflictError):
        store.commit_unit({"transactions/0": 5})
    store.clear()


def test_a_corrupt_value_is_reported(redis_url: str) -> None:
    store = RedisStateStore.from_url(redis_url, prefix="test-corrupt")
    store.client.set("test-corrupt:card:c1", b"\x05\x00\x00\x00\x00\x00\x00\x00abc")
    with pytest.raises(StateStoreError, match="corrupt state"):
        store.begin({"card": ["c1"]})
    store.clear()


def test_settings_choose_the_store(tmp_path: Path, redis_url: str) -> None:
    version = default_feature_set().version
    embedded = FeaturesSettings(redis_url="", state_snapshot_path="")
    assert isinstance(state_store_from_settings(embedded, version), InMemoryStateStore)
    chosen = state_store_from_settings(
        FeaturesSettings(redis_url=redis_url, redis_prefix="p1", entity_ttl_s=99, route_ttl_s=77), version
    )
    assert isinstance(chosen, RedisStateStore)
    assert chosen.prefix == "p1"
    assert (chosen.entity_ttl_s, chosen.route_ttl_s) == (99, 77)
    snapshot = tmp_path / "state.npz"
    saved = InMemoryStateStore()
    _write(saved, "card", "c1", [1, 2], [3.0, 4.0])
    saved.snapshot(snapshot, version)
    restored = state_store_from_settings(FeaturesSettings(redis_url="", state_snapshot_path=str(snapshot)), version)
    assert isinstance(restored, InMemoryStateStore)
    assert restored.entity_count("card") == 1


COUNT_1D = FeatureSet((WindowAggregate(CARD, Aggregate.COUNT, timedelta(days=1)),))
T0 = datetime(2018, 4, 2, 12, tzinfo=UTC)


def _card_tx(tx_id: str, at: datetime) -> Transaction:
    return Transaction(
        transaction_id=tx_id, timestamp=at, card_token="c1", customer_id="c1", terminal_id="m1", amount=1.0
    )


class _InterferedStore(RedisStateStore):
    """A Redis store where, right after each of the first ``times`` reads, another worker scores a transaction
    of the same card: the write this store then attempts must be refused and recomputed, not lost."""

    def __init__(self, url: str, prefix: str, times: int) -> None:
        other = RedisStateStore.from_url(url, prefix=prefix)
        super().__init__(other.client, prefix=prefix)
        self.other = OnlineFeatureEngine(COUNT_1D, other)
        self.times = times

    def begin(self, requests: Mapping[str, Sequence[str]]) -> StateBatch:
        batch = super().begin(requests)
        if self.times > 0:
            self.times -= 1
            self.other.update_and_read(_card_tx(f"other{self.times}", T0 - timedelta(hours=1 + self.times)))
        return batch


def test_an_engine_recomputes_a_batch_that_another_worker_changed(redis_url: str) -> None:
    store = _InterferedStore(redis_url, "test-retry", times=3)
    store.clear()
    row = OnlineFeatureEngine(COUNT_1D, store).update_and_read(_card_tx("mine", T0))
    assert row.tolist() == [4.0]  # the three events of the other worker, then its own: none lost
    assert store.times == 0
    again = OnlineFeatureEngine(COUNT_1D, RedisStateStore.from_url(redis_url, prefix="test-retry"))
    assert again.update_and_read(_card_tx("later", T0 + timedelta(minutes=1))).tolist() == [5.0]
    store.clear()


def test_an_engine_gives_up_when_other_workers_never_stop_changing_its_entities(redis_url: str) -> None:
    store = _InterferedStore(redis_url, "test-retry-forever", times=1_000)
    store.clear()
    with pytest.raises(StateConflictError, match="partition transactions by card"):
        OnlineFeatureEngine(COUNT_1D, store).update_and_read(_card_tx("mine", T0))
    store.clear()


def test_entity_values_expire_and_forgotten_entities_are_not_recreated(redis_url: str) -> None:
    share = FeatureSet((WindowAggregate(TERMINAL, Aggregate.FRAUD_SHARE, timedelta(days=1), lag=timedelta(days=1)),))
    store = RedisStateStore.from_url(redis_url, prefix="test-expiry", entity_ttl_s=3_600)
    store.clear()
    engine = OnlineFeatureEngine(share, store)
    engine.update_and_read(_card_tx("a", T0))
    assert 0 < store.client.ttl("test-expiry:terminal:m1") <= 3_600
    store.client.delete("test-expiry:terminal:m1")  # as when the terminal's value expired
    label = Label(transaction_id="a", card_token="c1", is_fraud=True, reported_at=T0 + timedelta(days=1))
    assert not engine.apply_label(label)
    assert store.entity_count("terminal") == 0
    with pytest.raises(StateStoreError, match="positive"):
        RedisStateStore.from_url(redis_url, entity_ttl_s=0)
    store.clear()

"""The embedded state store: arenas in this process, with snapshot to disk and restore.

>>> store = InMemoryStateStore()
>>> batch = store.begin({"card": ["c1", "c2", "c1"]})
>>> batch.slots["card"].tolist()
[0, 1, 0]
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from features.errors import SnapshotMismatchError, StateStoreError
from features.state.arena import Arena
from features.state.base import Route, RouteBatch, StateBatch, StateStore
from features.state.routes import RouteLog

SNAPSHOT_FORMAT = 1
#: Events per entity at first; arenas widen (doubling) when an entity holds more live events.
_INITIAL_CAPACITY = 2


class InMemoryStateStore(StateStore):
    """Arenas and key-to-slot maps held in memory; the fastest store, for one process."""

    def __init__(self) -> None:
        self._arenas: dict[str, Arena] = {}
        self._slots: dict[str, dict[str, int]] = {}
        self._free: dict[str, list[int]] = {}
        self._routes = RouteLog()
        self._positions: dict[str, int] = {}
        self.route_horizon_us: int | None = None

    def _kind(self, kind: str) -> tuple[Arena, dict[str, int]]:
        if kind not in self._arenas:
            self._arenas[kind] = Arena.empty(1024, _INITIAL_CAPACITY)
            self._slots[kind] = {}
            self._free[kind] = []
        return self._arenas[kind], self._slots[kind]

    def slot_of(self, kind: str, key: str) -> int:
        """The slot of ``key``, allocated when the key is new."""
        arena, slots = self._kind(kind)
        slot = slots.get(key)
        if slot is None:
            free = self._free[kind]
            slot = free.pop() if free else len(slots)
            slots[key] = slot
            arena.ensure_slots(slot + 1)
        return slot

    def _allocate(self, kind: str, new: Sequence[str]) -> None:
        """Slots for the keys ``new`` (a key may repeat), in order of first appearance: the ones
        :meth:`slot_of` would give them one by one (freed slots first, the latest freed first), with the arena
        grown once."""
        arena, slots = self._kind(kind)
        free = self._free[kind]
        for key in dict.fromkeys(new):
            slots[key] = free.pop() if free else len(slots)
        arena.ensure_slots(len(slots) + len(free))

    def arena(self, kind: str) -> Arena:
        """The arena of ``kind`` (created empty when the kind is new)."""
        return self._kind(kind)[0]

    def begin(self, requests: Mapping[str, Sequence[str]]) -> StateBatch:
        arenas: dict[str, Arena] = {}
        slots: dict[str, np.ndarray] = {}
        for kind, keys in requests.items():
            arena, known = self._kind(kind)
            found = list(map(known.get, keys))
            if None in found:  # new entities: give them slots, then read the batch's slots again
                self._allocate(kind, [k for s, k in zip(found, keys, strict=True) if s is None])
                found = list(map(known.get, keys))
            slots[kind] = np.array(found, dtype=np.int64)
            arenas[kind] = arena
        return StateBatch(arenas=arenas, slots=slots)

    def commit(self, batch: StateBatch) -> None:
        if batch.routes is None or not len(batch.routes):
            return
        self._routes.add(batch.routes)
        if self.route_horizon_us is not None:
            self._routes.evict(max(batch.routes.ts_us) - self.route_horizon_us)

    def add_route(self, transaction_id: str, event_id: int, ts_us: int, keys: dict[str, str]) -> None:
        """Remember one transaction's route (the engine's single-transaction path)."""
        self._routes.add_one(transaction_id, event_id, ts_us, keys)
        if self.route_horizon_us is not None:
            self._routes.evict(ts_us - self.route_horizon_us)

    def routes(self, transaction_ids: Sequence[str]) -> list[Route | None]:
        return self._routes.get(transaction_ids)

    def entity_count(self, kind: str) -> int:
        return len(self._slots.get(kind, {}))

    # Units: the arenas change in place, so a unit commits by recording its positions and cannot be undone.
    def begin_unit(self, watch_positions: Sequence[str] = ()) -> None:
        """Nothing to hold back: one process owns this state, and batches change it in place."""

    def commit_unit(self, positions: Mapping[str, int]) -> None:
        self._positions.update(positions)

    def abort_unit(self) -> bool:
        return False

    def positions(self) -> dict[str, int]:
        return dict(self._positions)

    def evict_idle(self, kind: str, before_us: int) -> int:
        """Forget the entities of ``kind`` whose newest event is at or before ``before_us``; returns how many."""
        arena, slots = self._kind(kind)
        idle = [
            key
            for key, slot in slots.items()
            if arena.count[slot] == 0 or arena.ts[slot, arena.count[slot] - 1] <= before_us
        ]
        for key in idle:
            slot = slots.pop(key)
            arena.clear_slot(slot)
            self._free[kind].append(slot)
        return len(idle)

    def snapshot(self, path: Path, tag: str) -> None:
        """Write the whole state and its positions to ``path`` (atomically: a crash leaves the previous snapshot
        intact)."""
        arrays: dict[str, np.ndarray] = {}
        meta: dict[str, object] = {"format": SNAPSHOT_FORMAT, "tag": tag, "kinds": {}}
        for kind, arena in self._arenas.items():
            keys = self._slots[kind]
            order = sorted(keys.items(), key=lambda item: item[1])
            used = np.array([slot for _, slot in order], dtype=np.int64)
            width = max(1, int(arena.count[used].max()) if len(used) else 1)
            for name in ("ts", "amount", "label_time", "event_id"):
                arrays[f"{kind}.{name}"] = getattr(arena, name)[used, :width]
            arrays[f"{kind}.count"] = arena.count[used]
            meta["kinds"][kind] = {"keys": [key for key, _ in order], "capacity": arena.capacity}  # type: ignore[index]
        live = self._routes.live()
        meta["routes"] = {"transaction_ids": live.transaction_ids, "keys": live.keys}
        arrays["routes.event_ids"] = np.array(live.event_ids, dtype=np.int64)
        arrays["routes.ts_us"] = np.array(live.ts_us, dtype=np.int64)
        meta["route_horizon_us"] = self.route_horizon_us
        meta["positions"] = self._positions
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, **arrays)  # type: ignore[arg-type]
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def restore(cls, path: Path, tag: str) -> InMemoryStateStore:
        """A store holding the state written by :meth:`snapshot` (refused if written under another tag)."""
        try:
            with np.load(Path(path), allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta"]).decode())
                cls._check_meta(path, meta, tag)
                return cls._from_arrays(meta, data)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            # A truncated or foreign file, or one missing an array its metadata names: never half a state.
            raise StateStoreError(f"cannot read state snapshot {path}: {error!r}; take a new snapshot") from error

    @staticmethod
    def _check_meta(path: Path, meta: dict[str, Any], tag: str) -> None:
        if meta.get("format") != SNAPSHOT_FORMAT:
            raise StateStoreError(f"snapshot {path} has format {meta.get('format')}, expected {SNAPSHOT_FORMAT}")
        if meta["tag"] != tag:
            raise SnapshotMismatchError(
                f"snapshot {path} was written for feature set {meta['tag']}, not {tag}; "
                "restore it with that feature set or rebuild the state by replaying transactions"
            )

    @classmethod
    def _from_arrays(cls, meta: dict[str, Any], data: Mapping[str, NDArray[Any]]) -> InMemoryStateStore:
        store = cls()
        for kind, info in meta["kinds"].items():
            keys: list[str] = info["keys"]
            width = data[f"{kind}.ts"].shape[1]
            arena = Arena.empty(max(1024, len(keys)), max(int(info["capacity"]), width))
            n = len(keys)
            arena.ts[:n, :width] = data[f"{kind}.ts"]
            arena.amount[:n, :width] = data[f"{kind}.amount"]
            arena.label_time[:n, :width] = data[f"{kind}.label_time"]
            arena.event_id[:n, :width] = data[f"{kind}.event_id"]
            arena.count[:n] = data[f"{kind}.count"]
            store._arenas[kind] = arena
            store._slots[kind] = {key: slot for slot, key in enumerate(keys)}
            store._free[kind] = []
        store._routes.add(
            RouteBatch(
                transaction_ids=meta["routes"]["transaction_ids"],
                event_ids=data["routes.event_ids"].tolist(),
                ts_us=data["routes.ts_us"].tolist(),
                keys=meta["routes"]["keys"],
            )
        )
        store.route_horizon_us = meta["route_horizon_us"]
        store._positions = {str(name): int(value) for name, value in meta.get("positions", {}).items()}
        return store

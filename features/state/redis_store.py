"""The shared state store: entity state in Redis, so that several API replicas or stream workers share it.

Each entity's events are one compact binary value (:meth:`Arena.pack`: 32 bytes per event plus an 8-byte
count) under ``{prefix}:{kind}:{key}``. A batch costs three round trips whatever its size: WATCH the batch's
keys, MGET them, then one MULTI/EXEC that writes the changed values and the batch's label routes. When another
worker changed one of the keys in between (two workers scoring transactions at the same terminal), EXEC fails
and the engine recomputes the batch from fresh state: optimistic concurrency, no lost update.

A stream worker groups the batches of one micro-batch in a *unit* (:meth:`RedisStateStore.begin_unit`): their
reads WATCH the keys as usual and their writes are held in the unit, so that later batches of the unit read them,
until :meth:`RedisStateStore.commit_unit` writes them with the stream positions they reached in one MULTI/EXEC,
after the worker's Kafka transaction committed. Positions live under ``{prefix}:position:{name}``.

Entity values expire ``entity_ttl_s`` after their last write, so that the cards and terminals that stopped
transacting leave the server (each live entity's value holds only its horizon of events; an emptied one is
deleted). Label routes live under ``{prefix}:route:{transaction_id}`` with an expiry (``route_ttl_s``), since Redis
can only expire by wall-clock time; set it to at least the label delay plus the longest labelled window.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import redis
from numpy.typing import NDArray

from features.errors import StateConflictError, StateStoreError
from features.state.arena import Arena
from features.state.base import Route, StateBatch, StateStore

_ROUTE_HEAD: Final = struct.Struct("<qq")
_PAIR_SEPARATOR: Final = "\x1e"
_KIND_SEPARATOR: Final = "\x1d"
#: Default expiry of label routes: 60 days (the handbook's 7-day delay plus a 30-day window, with margin).
DEFAULT_ROUTE_TTL_S: Final = 60 * 86_400
#: Default expiry of an entity idle since its last write: 60 days, well past the 37-day horizon of the
#: default feature set, after which its events could no longer change any feature.
DEFAULT_ENTITY_TTL_S: Final = 60 * 86_400


@dataclass
class _Unit:
    """The batches of one unit: one WATCHing pipeline, the values read or written so far, the held writes."""

    pipe: Any
    values: dict[str, bytes | None] = field(default_factory=dict)
    dirty: set[str] = field(default_factory=set)
    routes: dict[str, bytes] = field(default_factory=dict)


class RedisStateStore(StateStore):
    """Entity state in a Redis server (``redis.Redis`` client, binary responses)."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str = "fraud:features",
        route_ttl_s: int = DEFAULT_ROUTE_TTL_S,
        initial_capacity: int = 2,
        entity_ttl_s: int = DEFAULT_ENTITY_TTL_S,
    ) -> None:
        if route_ttl_s <= 0 or entity_ttl_s <= 0:
            raise StateStoreError(f"expiries must be positive seconds, got {route_ttl_s=} and {entity_ttl_s=}")
        self.client = client
        self.prefix = prefix
        self.route_ttl_s = route_ttl_s
        self.entity_ttl_s = entity_ttl_s
        self.initial_capacity = initial_capacity
        self._unit: _Unit | None = None

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisStateStore:
        """Connect to ``url`` (``redis://host:port/db``)."""
        return cls(redis.Redis.from_url(url, decode_responses=False), **kwargs)

    def _key(self, kind: str, key: str) -> str:
        return f"{self.prefix}:{kind}:{key}"

    def _route_key(self, transaction_id: str) -> str:
        return f"{self.prefix}:route:{transaction_id}"

    def _position_key(self, name: str) -> str:
        return f"{self.prefix}:position:{name}"

    def begin(self, requests: Mapping[str, Sequence[str]]) -> StateBatch:
        uniques: dict[str, dict[str, int]] = {}
        slots: dict[str, NDArray[np.int64]] = {}
        for kind, keys in requests.items():
            index: dict[str, int] = {}
            slots[kind] = np.array([index.setdefault(k, len(index)) for k in keys], dtype=np.int64)
            uniques[kind] = index
        names = [self._key(kind, key) for kind, index in uniques.items() for key in index]
        if not names:  # a feature set of time flags only: no entity state to watch or read
            return StateBatch(arenas={}, slots=slots, handle=None)
        if self._unit is not None:
            blobs = self._unit_read(self._unit, names)
            pipe = None
        else:
            pipe = self.client.pipeline(transaction=True)
            try:
                pipe.watch(*names)  # type: ignore[no-untyped-call]
                blobs = pipe.mget(names)
            except redis.RedisError as error:
                pipe.reset()
                raise StateStoreError(f"cannot read entity state from Redis: {error}; check FRAUD_REDIS_URL") from error
        arenas: dict[str, Arena] = {}
        position = 0
        for kind, index in uniques.items():
            arena = Arena.empty(len(index), self.initial_capacity)
            for slot in range(len(index)):
                blob = blobs[position + slot]
                if blob is not None:
                    try:
                        arena.unpack(slot, blob)
                    except ValueError as error:
                        if pipe is not None:
                            pipe.reset()
                        raise StateStoreError(f"corrupt state under {names[position + slot]!r}: {error}") from error
            position += len(index)
            arenas[kind] = arena
        counts = [len(index) for index in uniques.values()]
        return StateBatch(arenas=arenas, slots=slots, handle=(pipe, names, counts))

    def commit(self, batch: StateBatch) -> None:
        if batch.handle is None:
            if batch.routes is not None and len(batch.routes):
                raise StateStoreError("routes need the entities that hold their events; open them with begin()")
            return
        pipe: Any
        names: list[str]
        counts: list[int]
        pipe, names, counts = batch.handle  # type: ignore[misc]
        values = self._packed(batch, names, counts)
        routes = self._packed_routes(batch)
        if pipe is None:  # inside a unit: held until commit_unit, and read back by the unit's next batches
            assert self._unit is not None, "a batch begun inside a unit is committed inside it"
            self._unit.values.update(values)
            self._unit.dirty.update(values)
            self._unit.routes.update(routes)
            return
        try:
            pipe.multi()
            self._queue_writes(pipe, values, routes)
            pipe.execute()
        except redis.WatchError:
            raise StateConflictError("entity state changed under this batch; recompute it") from None
        except redis.RedisError as error:
            raise StateStoreError(f"cannot write entity state to Redis: {error}; check FRAUD_REDIS_URL") from error
        finally:
            pipe.reset()

    def abort(self, batch: StateBatch) -> None:
        if batch.handle is not None:
            pipe: Any = batch.handle[0]  # type: ignore[index]
            if pipe is not None:  # a batch of a unit holds nothing of its own
                pipe.reset()

    @staticmethod
    def _packed(batch: StateBatch, names: list[str], counts: list[int]) -> dict[str, bytes | None]:
        """Each entity's new value; None for an entity left without events (a key to delete)."""
        out: dict[str, bytes | None] = {}
        position = 0
        for arena, n in zip(batch.arenas.values(), counts, strict=True):
            for slot in range(n):
                out[names[position + slot]] = arena.pack(slot) if arena.count[slot] else None
            position += n
        return out

    def _packed_routes(self, batch: StateBatch) -> dict[str, bytes]:
        if batch.routes is None:
            return {}
        routes = batch.routes
        kinds = list(routes.keys)
        out: dict[str, bytes] = {}
        for row, tx_id in enumerate(routes.transaction_ids):
            keys = _KIND_SEPARATOR.join(f"{kind}{_PAIR_SEPARATOR}{routes.keys[kind][row]}" for kind in kinds)
            out[self._route_key(tx_id)] = _ROUTE_HEAD.pack(routes.event_ids[row], routes.ts_us[row]) + keys.encode()
        return out

    def _queue_writes(self, pipe: Any, values: Mapping[str, bytes | None], routes: Mapping[str, bytes]) -> None:
        for name, value in values.items():
            if value is not None:
                pipe.set(name, value, ex=self.entity_ttl_s)
            else:  # nothing held (a label for an entity already forgotten): no key, rather than an empty one
                pipe.delete(name)
        for name, route in routes.items():
            pipe.set(name, route, ex=self.route_ttl_s)

    # -- units -----------------------------------------------------------------------------------------------------
    def begin_unit(self, watch_positions: Sequence[str] = ()) -> None:
        if self._unit is not None:
            raise StateStoreError("a unit is already open on this store; commit or abort it first")
        pipe = self.client.pipeline(transaction=True)
        if watch_positions:
            try:
                pipe.watch(*[self._position_key(name) for name in watch_positions])  # type: ignore[no-untyped-call]
            except redis.RedisError as error:
                pipe.reset()
                raise StateStoreError(f"cannot reach Redis: {error}; check FRAUD_REDIS_URL") from error
        self._unit = _Unit(pipe)

    def _unit_read(self, unit: _Unit, names: list[str]) -> list[Any]:
        """Values of ``names`` as the unit sees them: its own writes first, else Redis (read once and WATCHed)."""
        missing = [name for name in dict.fromkeys(names) if name not in unit.values]
        if missing:
            try:
                unit.pipe.watch(*missing)
                blobs: list[Any] = unit.pipe.mget(missing)
            except redis.RedisError as error:
                raise StateStoreError(f"cannot read entity state from Redis: {error}; check FRAUD_REDIS_URL") from error
            unit.values.update(zip(missing, blobs, strict=True))
        return [unit.values[name] for name in names]

    def commit_unit(self, positions: Mapping[str, int]) -> None:
        unit = self._unit
        if unit is None:
            raise StateStoreError("no unit is open on this store; call begin_unit() first")
        self._unit = None
        try:
            unit.pipe.multi()
            self._queue_writes(unit.pipe, {name: unit.values[name] for name in unit.dirty}, unit.routes)
            for name, value in positions.items():
                unit.pipe.set(self._position_key(name), int(value))
            unit.pipe.execute()
        except redis.WatchError:
            raise StateConflictError("entity state or positions changed under this unit; recompute it") from None
        except redis.RedisError as error:
            raise StateStoreError(f"cannot write entity state to Redis: {error}; check FRAUD_REDIS_URL") from error
        finally:
            unit.pipe.reset()

    def abort_unit(self) -> bool:
        if self._unit is not None:
            self._unit.pipe.reset()
            self._unit = None
        return True

    def positions(self) -> dict[str, int]:
        prefix = self._position_key("")
        try:
            names = list(self.client.scan_iter(match=self._pattern("position"), count=10_000))
            values: list[Any] = self.client.mget(names) if names else []
        except redis.RedisError as error:
            raise StateStoreError(f"cannot read positions from Redis: {error}; check FRAUD_REDIS_URL") from error
        return {
            name.decode()[len(prefix) :]: int(value)
            for name, value in zip(names, values, strict=True)
            if value is not None
        }

    def routes(self, transaction_ids: Sequence[str]) -> list[Route | None]:
        if not transaction_ids:
            return []
        names = [self._route_key(t) for t in transaction_ids]
        try:
            values: list[Any] = self.client.mget(names)
        except redis.RedisError as error:
            raise StateStoreError(f"cannot read label routes from Redis: {error}; check FRAUD_REDIS_URL") from error
        if self._unit is not None and self._unit.routes:  # routes of the unit's batches, not yet written
            held = self._unit.routes
            values = [held.get(name, value) for name, value in zip(names, values, strict=True)]
        out: list[Route | None] = []
        for value in values:
            if value is None:
                out.append(None)
                continue
            event_id, ts_us = _ROUTE_HEAD.unpack_from(value)
            pairs = value[_ROUTE_HEAD.size :].decode().split(_KIND_SEPARATOR)
            keys = tuple(tuple(p.split(_PAIR_SEPARATOR, 1)) for p in pairs)
            out.append(Route(event_id, ts_us, keys))
        return out

    def _pattern(self, *parts: str) -> str:
        # SCAN patterns are globs: a literal prefix must escape the glob characters it may contain.
        literal = ":".join((self.prefix, *parts))
        return "".join("\\" + c if c in "*?[]\\" else c for c in literal) + ":*"

    def entity_count(self, kind: str) -> int:
        return sum(1 for _ in self.client.scan_iter(match=self._pattern(kind), count=10_000))

    def clear(self) -> None:
        """Delete every key under this store's prefix (tests, or a rebuild from a replay)."""
        batch = []
        for name in self.client.scan_iter(match=self._pattern(), count=10_000):
            batch.append(name)
            if len(batch) >= 10_000:
                self.client.delete(*batch)
                batch = []
        if batch:
            self.client.delete(*batch)

"""The shared state store: entity state in Redis, so that several API replicas or stream workers share it.

Each entity's events are one compact binary value (:meth:`Arena.pack`: 32 bytes per event plus an 8-byte
count) under ``{prefix}:{kind}:{key}``. A batch costs three round trips whatever its size: WATCH the batch's
keys, MGET them, then one MULTI/EXEC that writes the changed values and the batch's label routes. When another
worker changed one of the keys in between (two workers scoring transactions at the same terminal), EXEC fails
and the engine recomputes the batch from fresh state: optimistic concurrency, no lost update.

Entity values expire ``entity_ttl_s`` after their last write, so that the cards and terminals that stopped
transacting leave the server (each live entity's value holds only its horizon of events; an emptied one is
deleted). Label routes live under ``{prefix}:route:{transaction_id}`` with an expiry (``route_ttl_s``), since Redis
can only expire by wall-clock time; set it to at least the label delay plus the longest labelled window.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
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

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisStateStore:
        """Connect to ``url`` (``redis://host:port/db``)."""
        return cls(redis.Redis.from_url(url, decode_responses=False), **kwargs)

    def _key(self, kind: str, key: str) -> str:
        return f"{self.prefix}:{kind}:{key}"

    def _route_key(self, transaction_id: str) -> str:
        return f"{self.prefix}:route:{transaction_id}"

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
        pipe = self.client.pipeline(transaction=True)
        try:
            pipe.watch(*names)  # type: ignore[no-untyped-call]
            blobs: list[Any] = pipe.mget(names)
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
        try:
            pipe.multi()
            position = 0
            for arena, n in zip(batch.arenas.values(), counts, strict=True):
                for slot in range(n):
                    if arena.count[slot]:
                        pipe.set(names[position + slot], arena.pack(slot), ex=self.entity_ttl_s)
                    else:  # nothing held (a label for an entity already forgotten): no key, rather than an empty one
                        pipe.delete(names[position + slot])
                position += n
            if batch.routes is not None:
                routes = batch.routes
                kinds = list(routes.keys)
                for row, tx_id in enumerate(routes.transaction_ids):
                    keys = _KIND_SEPARATOR.join(f"{kind}{_PAIR_SEPARATOR}{routes.keys[kind][row]}" for kind in kinds)
                    value = _ROUTE_HEAD.pack(routes.event_ids[row], routes.ts_us[row]) + keys.encode()
                    pipe.set(self._route_key(tx_id), value, ex=self.route_ttl_s)
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
            pipe.reset()

    def routes(self, transaction_ids: Sequence[str]) -> list[Route | None]:
        if not transaction_ids:
            return []
        try:
            values: list[Any] = self.client.mget([self._route_key(t) for t in transaction_ids])
        except redis.RedisError as error:
            raise StateStoreError(f"cannot read label routes from Redis: {error}; check FRAUD_REDIS_URL") from error
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

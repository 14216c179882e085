"""State stores of the online engine: embedded (default, with snapshots) and Redis (shared by workers)."""

from __future__ import annotations

from features.state.arena import EVENT_BYTES, Arena
from features.state.base import Route, RouteBatch, StateBatch, StateStore
from features.state.factory import state_store_from_settings
from features.state.memory import InMemoryStateStore
from features.state.redis_store import RedisStateStore

__all__ = [
    "EVENT_BYTES",
    "Arena",
    "InMemoryStateStore",
    "RedisStateStore",
    "Route",
    "RouteBatch",
    "StateBatch",
    "StateStore",
    "state_store_from_settings",
]

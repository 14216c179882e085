"""The state store the settings ask for: Redis when a URL is set, else the embedded store."""

from __future__ import annotations

from pathlib import Path

from features.settings import FeaturesSettings
from features.state.base import StateStore
from features.state.memory import InMemoryStateStore
from features.state.redis_store import RedisStateStore


def state_store_from_settings(settings: FeaturesSettings, feature_set_version: str) -> StateStore:
    """A Redis store for ``FRAUD_REDIS_URL``; otherwise the embedded store, restored from
    ``FRAUD_STATE_SNAPSHOT_PATH`` when that snapshot exists (it must be of the same feature set version)."""
    if settings.redis_url:
        return RedisStateStore.from_url(
            settings.redis_url,
            prefix=settings.redis_prefix,
            route_ttl_s=settings.route_ttl_s,
            entity_ttl_s=settings.entity_ttl_s,
        )
    if settings.state_snapshot_path and Path(settings.state_snapshot_path).exists():
        return InMemoryStateStore.restore(Path(settings.state_snapshot_path), feature_set_version)
    return InMemoryStateStore()

"""Features: declared once, computed offline (pandas, point in time) and online (incremental state)."""

from __future__ import annotations

from features.catalogue import HANDBOOK_NAMES, LABEL_DELAY, baseline_feature_set, default_feature_set
from features.errors import (
    FeatureInputError,
    FeaturesError,
    FeatureSpecError,
    SnapshotMismatchError,
    StateConflictError,
    StateStoreError,
)
from features.model_input import RAW_INPUTS, ModelInput, model_input, model_input_descriptions, model_input_names
from features.offline import OfflineFeatureEngine
from features.online import OnlineFeatureEngine
from features.settings import FeaturesSettings
from features.spec import (
    CARD,
    CARD_COUNTRY,
    CARD_TERMINAL,
    TERMINAL,
    Aggregate,
    Entity,
    FeatureSet,
    Flag,
    TimeFlag,
    WindowAggregate,
)
from features.state import InMemoryStateStore, RedisStateStore, StateStore, state_store_from_settings

__all__ = [
    "CARD",
    "CARD_COUNTRY",
    "CARD_TERMINAL",
    "HANDBOOK_NAMES",
    "LABEL_DELAY",
    "RAW_INPUTS",
    "TERMINAL",
    "Aggregate",
    "Entity",
    "FeatureInputError",
    "FeatureSet",
    "FeatureSpecError",
    "FeaturesError",
    "FeaturesSettings",
    "Flag",
    "InMemoryStateStore",
    "ModelInput",
    "OfflineFeatureEngine",
    "OnlineFeatureEngine",
    "RedisStateStore",
    "SnapshotMismatchError",
    "StateConflictError",
    "StateStore",
    "StateStoreError",
    "TimeFlag",
    "WindowAggregate",
    "baseline_feature_set",
    "default_feature_set",
    "model_input",
    "model_input_descriptions",
    "model_input_names",
    "state_store_from_settings",
]

"""Settings of the features package (environment variables prefixed ``FRAUD_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class FeaturesSettings(BaseSettings):
    """Which state store the online engine uses and how labels mature."""

    model_config = SettingsConfigDict(env_prefix="FRAUD_", env_file=None, extra="ignore", hide_input_in_errors=True)

    #: Empty: the embedded in-process store. ``redis://host:port/db``: the shared Redis store.
    redis_url: str = ""
    redis_prefix: str = "fraud:features"
    #: Expiry of label routes in Redis (seconds of wall-clock time): label delay + longest labelled window + margin.
    route_ttl_s: int = Field(default=60 * 86_400, gt=0)
    #: Expiry of an entity's state in Redis after its last write (seconds of wall-clock time): past the longest horizon.
    entity_ttl_s: int = Field(default=60 * 86_400, gt=0)
    #: Days after which a transaction's label is known when no label file is given (the handbook's rule).
    label_delay_days: float = Field(default=7.0, ge=0)
    #: Where the embedded store writes its snapshots (empty: no snapshot).
    state_snapshot_path: str = ""

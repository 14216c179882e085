"""Settings of monitoring: where its history and alerts are stored, the drift windows and level, the label
maturity, and the paging webhook.

Only settings modules read the environment (variables prefixed ``FRAUD_``); everything else receives a
settings object as an argument.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.settings import Environment


class MonitoringSettings(BaseSettings):
    """``monitoring_url``: a SQLite file by default, or a ``postgresql://`` DSN (shared by several workers)."""

    model_config = SettingsConfigDict(env_prefix="FRAUD_", env_file=None, extra="ignore", hide_input_in_errors=True)

    environment: Environment = Environment.DEVELOPMENT
    monitoring_url: SecretStr = SecretStr("sqlite:///fraud-monitoring/monitoring.sqlite")
    #: Drift windows, comma separated: ``tumbling-5000,sliding-20000/5000``.
    drift_windows: str = "tumbling-5000,sliding-20000/5000"
    #: False discovery rate allowed per window (Benjamini-Hochberg across the watched columns).
    drift_level: float = Field(default=0.01, gt=0.0, lt=1.0)
    #: The population stability index a significant change must reach to count as drift (0: the test alone
    #: decides). See docs/monitoring.md, "When a column drifts".
    drift_min_psi: float = Field(default=0.05, ge=0.0)
    #: How long after a transaction its label may still arrive (the chargeback window), in days.
    label_maturity_days: float = Field(default=45.0, gt=0.0)
    #: How much longer, in days, the stream may run ahead of the labels before a day is closed without them
    #: (bounds the performance monitor's memory when the label feed stops).
    label_grace_days: float = Field(default=7.0, ge=0.0)
    #: Rows gathered before the monitors run (1: every update at once). Amortises the monitors' work per run
    #: over small API requests and micro-batches.
    monitor_buffer_rows: int = Field(default=1_000, ge=1, le=1_000_000)
    #: ... or seconds the first gathered row may wait before they run anyway.
    monitor_buffer_seconds: float = Field(default=5.0, ge=0.0, le=3_600.0)
    #: Each monitored model's performance state (its open days: what a restart would lose) is saved here, one
    #: ``<monitor name>.npz`` a model, when its process stops and every ``monitor_state_every_s`` seconds, and
    #: restored when its monitor is built; a worker slot keeps its own ``worker-<slot>`` folder. Empty: not kept.
    monitor_state_dir: Path | None = Path("fraud-monitoring/state")
    #: Seconds between two saves of a monitor's state while it changes (what a crash loses at most).
    monitor_state_every_s: float = Field(default=300.0, gt=0.0, le=86_400.0)
    alert_webhook_url: SecretStr | None = None
    alert_webhook_min_severity: str = "warning"
    alert_webhook_timeout_s: float = Field(default=5.0, gt=0.0, le=60.0)

    @field_validator("monitor_state_dir", mode="before")
    @classmethod
    def _empty_keeps_no_state(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("alert_webhook_min_severity")
    @classmethod
    def _known_severity(cls, value: str) -> str:
        if value not in ("info", "warning", "critical"):
            raise ValueError("FRAUD_ALERT_WEBHOOK_MIN_SEVERITY must be info, warning or critical")
        return value

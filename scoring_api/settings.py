"""Settings of the scoring service: what it serves, where its state lives, its limits and guardrails.

Only settings modules read the environment (variables prefixed ``FRAUD_SCORING_``, and ``FRAUD_ENVIRONMENT``);
everything else receives a settings object as an argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.settings import Environment

#: The engine backends a service may score on: the numba-compiled CPU path (default), the NumPy reference,
#: or Triton kernels on an NVIDIA GPU (small batches stay on the CPU below the calibrated threshold).
Backend = Literal["numba", "numpy", "triton"]


class ScoringSettings(BaseSettings):
    """``FRAUD_SCORING_MODEL_BACKEND=triton`` moves scoring onto the GPU; ``FRAUD_SCORING_WORKERS=2`` runs two
    processes (which needs the shared Redis feature state, ``FRAUD_REDIS_URL``)."""

    model_config = SettingsConfigDict(
        env_prefix="FRAUD_SCORING_", env_file=None, extra="ignore", hide_input_in_errors=True
    )

    environment: Environment = Field(
        default=Environment.DEVELOPMENT, validation_alias=AliasChoices("FRAUD_ENVIRONMENT", "environment")
    )
    model_backend: Backend = "numba"
    warmup_rows: int = Field(default=64, ge=1, le=65_536)

    # -- the HTTP service --------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65_535)
    #: Processes serving requests. More than one needs shared feature state (Redis): the service refuses
    #: several processes over the embedded store, where each would hold part of every card's history.
    workers: int = Field(default=1, ge=1, le=64)
    #: Keys, decision configurations and deployment state: SQLite by default, or a ``postgresql://`` DSN.
    database_url: str = "sqlite:///fraud-service/service.sqlite"
    max_batch_items: int = Field(default=1_000, ge=1, le=100_000)
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1_024)
    #: Where the compiled validation suite comes from (a file saved by ``fraud validate``); empty: the contract's.
    suite_path: Path | None = None
    #: Decisions kept for idempotent replays in the embedded log (Redis keeps them ``decision_ttl_s``).
    decision_log_capacity: int = Field(default=1_000_000, ge=1)
    decision_ttl_s: int = Field(default=7 * 86_400, ge=1)
    #: How often each process follows the registry, the deployment state, the decision configuration and
    #: the API keys (a revoked key stops working within this time).
    watch_interval_s: float = Field(default=2.0, gt=0)
    #: How often idle entities are forgotten from the embedded feature state, and how late a transaction may
    #: arrive and still see the state it should.
    evict_interval_s: float = Field(default=300.0, gt=0)
    evict_lateness_s: float = Field(default=86_400.0, ge=0)
    #: Serve ``POST /v1/noop`` (authenticated, does nothing): the framework's ceiling for the benchmark.
    expose_noop: bool = False
    #: Reason codes for approvals too (every decision not approved is always explained; explaining costs about
    #: a millisecond of CPU per row for a forest).
    explain_approved: bool = False
    #: Record every decision, access and change in the audit trail (``FRAUD_AUDIT_*``), answering only once
    #: recorded. Off only to measure what it costs (refused in production).
    audit: bool = True
    #: Watch the served models (drift, performance as labels arrive, alerts) into ``FRAUD_MONITORING_URL``, and
    #: serve the analysts' dashboard under ``/v1/monitoring``.
    monitoring: bool = True
    #: Names this process's monitors (``<model content id>#<tag>``) when several processes or replicas monitor
    #: into one database, each its own share of the traffic; with several workers and no tag, host and pid.
    monitor_tag: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9._-]*$")

    # -- canary guardrails: the canary is rolled back automatically when one breaks ------------------------
    canary_min_rows: int = Field(default=200, ge=1)
    canary_max_error_rate: float = Field(default=0.01, ge=0, le=1)
    canary_max_p99_ms: float = Field(default=50.0, gt=0)
    #: Largest Kolmogorov-Smirnov distance between the canary's and the champion's scores of the same
    #: transactions (0: identical distributions, 1: disjoint).
    canary_max_score_shift: float = Field(default=0.3, gt=0, le=1)
    canary_window_rows: int = Field(default=5_000, ge=10)

    @model_validator(mode="after")
    def _audited_in_production(self) -> ScoringSettings:
        if not self.audit and self.environment is Environment.PRODUCTION:
            raise ValueError("FRAUD_SCORING_AUDIT=false leaves decisions unrecorded; production records every decision")
        return self


#: The variable prometheus-client reads for its multiprocess mode (several worker processes, one /metrics).
PROMETHEUS_MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def metrics_directory() -> str | None:
    """Where the worker processes of one service write their metrics (set by ``fraud serve`` with workers)."""
    import os

    return os.environ.get(PROMETHEUS_MULTIPROC_VARIABLE) or None


def export_to_workers(settings: ScoringSettings, metrics_dir: str | None) -> None:
    """Hand the settings ``fraud serve`` resolved (command-line options included) to the worker processes that
    uvicorn starts, through their environment, and point prometheus-client at a shared metrics folder."""
    import os

    for name, value in settings.model_dump(mode="json", exclude={"environment"}).items():
        if value is not None:
            os.environ[f"FRAUD_SCORING_{name.upper()}"] = str(value)
    os.environ["FRAUD_ENVIRONMENT"] = settings.environment.value
    if metrics_dir is not None:
        os.environ[PROMETHEUS_MULTIPROC_VARIABLE] = metrics_dir


def child_environment(changes: Mapping[str, str]) -> dict[str, str]:
    """This process's environment with ``changes`` applied: for the ``fraud`` commands a process starts (the
    demo's service and commands), which read their settings from it."""
    import os

    return {**os.environ, **changes}

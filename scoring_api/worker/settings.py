"""Settings of the stream worker (environment variables prefixed ``FRAUD_WORKER_``).

Only settings modules read the environment; the worker receives this object (and the ingest, features, scoring
and lifecycle settings) as arguments. Topic names and the broker come from :class:`ingest.settings.IngestSettings`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkerSettings(BaseSettings):
    """How a ``fraud worker`` process consumes, commits, snapshots and reports."""

    model_config = SettingsConfigDict(
        env_prefix="FRAUD_WORKER_", env_file=None, extra="ignore", hide_input_in_errors=True
    )

    #: The consumer group of every worker: partitions of ``transactions`` are shared among its members.
    group_id: str = "scorers"
    #: Each worker slot's transactional id is ``{prefix}-{slot}``: a worker restarted in its slot fences the old one.
    transactional_id_prefix: str = "fraud-scorer"
    #: The journal topic: one record per committed micro-batch (its input ranges and the labels it applied).
    topic_journal: str = "scorers.journal"
    #: How long the journal keeps records (it must outlive the gap between two state snapshots, and outages).
    journal_retention_days: float = Field(default=7.0, gt=0)
    #: Most transactions one poll hands the worker (one micro-batch, one Kafka transaction).
    max_batch: int = Field(default=2_000, ge=1, le=100_000)
    poll_timeout_s: float = Field(default=0.5, gt=0, le=30)
    #: Batches follow the order records were produced across partitions; a partition whose records are late is
    #: waited for at most this long (ingest.kafka.alignment).
    align_wait_s: float = Field(default=0.5, ge=0, le=30)
    #: A member silent this long is dropped from the group and its partitions move (the broker's minimum is 6 s).
    session_timeout_s: float = Field(default=10.0, ge=6, le=300)
    #: The embedded feature state is written here (``state-{slot}.npz``) every ``snapshot_every`` batches and at
    #: shutdown; a restarted worker restores it and replays the journal from there.
    state_dir: Path = Path("var/worker")
    snapshot_every: int = Field(default=200, ge=1)
    #: Every this many batches the embedded state forgets the entities too old to count in any feature (by the
    #: newest transaction time seen, less ``evict_lateness_s`` for late transactions); Redis expires them itself.
    evict_every: int = Field(default=500, ge=1)
    evict_lateness_s: float = Field(default=86_400.0, ge=0)
    #: Prometheus metrics on http://127.0.0.1:{metrics_port + slot}/metrics; 0 turns the endpoint off.
    metrics_port: int = Field(default=9464, ge=0, le=65_535)
    #: Longest time a worker waits for the journal records it must replay before it reports them missing.
    recovery_timeout_s: float = Field(default=60.0, gt=0)
    #: Longest dead-letter value kept whole; longer ones keep their beginning and say how long they were.
    dlq_max_value_bytes: int = Field(default=256 * 1024, ge=1_024, le=900 * 1024)
    #: Committed batches go to the models' drift and performance monitors (monitoring's settings say where
    #: their history and alerts are kept), and the labels applied to realised performance.
    monitor: bool = True
    #: A validation suite saved by ``fraud validate`` (JSON); empty: the contract's suite.
    suite_path: Path | None = None
    #: Seconds ``fraud worker --workers N`` gives its workers to finish their batch after SIGTERM before SIGKILL.
    shutdown_timeout_s: float = Field(default=60.0, gt=0)

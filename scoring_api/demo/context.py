"""What the demo's steps share: the options, each step's result, and the context they hand each other."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.settings import IngestSettings
from scoring_api.demo.figures import ApiFigures, AuditFigures, DriftFigures, RolloutFigures, TrainedModel
from scoring_api.demo.workspace import DemoWorkspace
from scoring_api.settings import Backend

if TYPE_CHECKING:
    import pandas as pd

    from ingest.kafka import LocalKafkaBroker
    from lifecycle.registry import ModelRegistry
    from lifecycle.training import TrainingResult
    from scoring_api.demo.service import ServiceProcess


@dataclass(frozen=True)
class StepResult:
    """What one step did: how many items, in how long, and a short note."""

    name: str
    count: int
    seconds: float
    note: str = ""
    #: What ``count`` counts; only steps that move transactions report a rate.
    unit: str = ""

    @property
    def rate(self) -> float | None:
        return self.count / self.seconds if self.unit == "transactions" and self.seconds > 0 else None


@dataclass
class DemoOptions:
    """``days`` of history to train on; the day after is streamed through Kafka and scored through the API, and a
    later one carries the injected drift."""

    days: int = 60
    #: The simulator's and the models' seed: one whose simulated history trains models the gate blesses (with
    #: another, the gate may refuse one, and the demo says so and stops).
    seed: int = 4
    customers: int = 2_000
    terminals: int = 4_000
    #: Stream worker threads (one per slot, each with a copy of the warm state). One worker gives every
    #: transaction exactly the features of the offline engine; several split the partitions, and a terminal's
    #: most recent window then sees only its own worker's cards (the shared Redis store removes that).
    workers: int = 1
    #: Most transactions one poll hands a worker (one micro-batch, one Kafka transaction).
    batch_size: int = 500
    #: Malformed messages mixed into the streamed day, to show them rejected and sent to the dead-letter topic.
    malformed: int = 6
    backend: Backend = "numba"
    run_dir: Path = Path("var/demo")
    keep_broker: bool = False
    timeout_s: float = 300.0
    #: A gate thresholds file instead of the shipped one (the gate's verdict decides whether anything is served).
    gate_thresholds: Path | None = None
    #: Share of the streamed day's transactions sent to review (the highest scores).
    review_rate: float = 0.005
    #: The champion trains on the history's first ``champion_days``; the challenger on all ``days``.
    champion_days: int = 45
    #: Candidate families each training run tries (fast search).
    families: tuple[str, ...] = ("logistic_regression",)
    #: Share of the next day's cards a bank's online channel sends to the API (the rest stream through Kafka).
    api_share: float = 0.25
    #: Transactions a second the next day is replayed into Kafka at, while the stream scores it.
    replay_rate: float = 1_000.0
    #: Transactions per API call (1: single scoring calls).
    api_batch: int = 50
    #: Share of cards the challenger answers for as canary.
    canary_share: float = 0.5
    #: The drift windows of the demo's monitor, as a share of a day's transactions (a window closes, and is
    #: tested, every so many rows).
    drift_window_share: float = 0.9
    #: Where to write the summary as JSON (``--json FILE``).
    json_path: Path | None = None
    #: The short run (``--quick``), for CI and a first look.
    quick: bool = False

    @classmethod
    def quick_run(cls) -> DemoOptions:
        """The short run: 45 days of history instead of 60 (the champion on 38), the next day replayed twice as
        fast; the same steps and seed."""
        return cls(days=45, champion_days=38, replay_rate=2_000.0, quick=True)

    def with_changes(self, **changes: Any) -> DemoOptions:
        """These options with the given fields changed (``None`` leaves a field as it is)."""
        return replace(self, **{name: value for name, value in changes.items() if value is not None})


@dataclass
class StreamFigures:
    """What the stream step measured, for the final summary."""

    consumed: int = 0
    validated: int = 0
    rejected: int = 0
    #: Messages the workers committed to the dead-letter topic (every rejected one, undecodable or refused).
    dead_lettered: int = 0
    scored: int = 0
    batches: int = 0
    seconds: float = 0.0
    median_batch_latency_ms: float = 0.0
    auc_roc: float = 0.0
    average_precision: float = 0.0
    frauds: int = 0
    review_threshold: float = 0.0
    over_threshold: int = 0
    frauds_over_threshold: int = 0
    duplicates: int = 0
    #: Fraud labels that reached the online features: before the day (warm-up) and as the stream passed them.
    labels_before: int = 0
    labels_during: int = 0
    #: Streamed transactions neither decided nor rejected (0 when every one was processed exactly once).
    unaccounted: int = 0


@dataclass
class DemoContext:
    """What the steps hand each other."""

    settings: IngestSettings
    options: DemoOptions
    bootstrap_servers: str = ""
    group_id: str = ""
    started_broker: LocalKafkaBroker | None = None
    broker_state: str = ""
    history: pd.DataFrame | None = None
    history_labels: pd.DataFrame | None = None
    stream_day: pd.DataFrame | None = None
    #: Every simulated label (history and streamed day), in order of report: the stream applies them as it goes.
    labels: pd.DataFrame | None = None
    #: Messages sent to the transactions topic: the streamed day plus the malformed ones.
    produced: int = 0
    #: Labels sent to the labels topic: those reported during the streamed day.
    labels_produced: int = 0
    registry: ModelRegistry | None = None
    training: TrainingResult | None = None
    content_id: str = ""
    stream: StreamFigures = field(default_factory=StreamFigures)
    results: list[StepResult] = field(default_factory=list)
    workspace: DemoWorkspace = field(default_factory=lambda: DemoWorkspace(Path("var/demo")))
    #: The next day's transactions of the cards the API scores (the stream day holds the others).
    api_day: pd.DataFrame | None = None
    #: A later day, changed by the drift step (a new fraud pattern and a broken feature).
    drift_day: pd.DataFrame | None = None
    validation: dict[str, object] = field(default_factory=dict)
    champion: TrainedModel | None = None
    challenger: TrainedModel | None = None
    service: ServiceProcess | None = None
    service_state: str = "not started"
    #: The API key of each role (scorer, analyst, compliance, admin).
    api_keys: dict[str, str] = field(default_factory=dict)
    api: ApiFigures = field(default_factory=ApiFigures)
    rollout: RolloutFigures = field(default_factory=RolloutFigures)
    drift: DriftFigures = field(default_factory=DriftFigures)
    audit: AuditFigures = field(default_factory=AuditFigures)

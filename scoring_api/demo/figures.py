"""What the demo's later steps measured, for the summary (the stream step's figures are in ``context``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TrainedModel:
    """A trained and gated model, as the summary shows it."""

    content_id: str
    family: str
    days: int
    auc_roc: float
    average_precision: float
    blessed: bool
    failed_checks: tuple[str, ...]
    report: str


@dataclass
class ApiFigures:
    """Calls to the scoring API through the typed client."""

    sent: int = 0
    decided: int = 0
    rejected: int = 0
    calls: int = 0
    seconds: float = 0.0
    #: Latency of each call as the client saw it, in milliseconds.
    median_call_ms: float = 0.0
    p99_call_ms: float = 0.0
    #: Decisions by outcome (approve, review, decline) and by answering role (champion, canary).
    outcomes: dict[str, int] = field(default_factory=dict)
    roles: dict[str, int] = field(default_factory=dict)
    #: Decisions read back by id (``GET /v1/decisions/{id}``, analyst key) that matched what was answered.
    read_back: int = 0
    transaction_ids: list[str] = field(default_factory=list)

    def add(self, other: ApiFigures) -> None:
        self.sent += other.sent
        self.decided += other.decided
        self.rejected += other.rejected
        self.calls += other.calls
        self.seconds += other.seconds
        for name, count in other.outcomes.items():
            self.outcomes[name] = self.outcomes.get(name, 0) + count
        for name, count in other.roles.items():
            self.roles[name] = self.roles.get(name, 0) + count
        self.transaction_ids += other.transaction_ids


@dataclass
class RolloutFigures:
    """The challenger's way to champion through the deployments API."""

    shadow_scored: int = 0
    canary_answered: int = 0
    champion_answered_during_canary: int = 0
    promoted: bool = False
    champion_after: str = ""
    deployment_events: list[str] = field(default_factory=list)


@dataclass
class DriftFigures:
    """The injected drift and the alerts it raised."""

    baseline_rows: int = 0
    drifted_rows: int = 0
    injected_frauds: int = 0
    broken_feature: str = ""
    #: Alerts raised on the baseline (a day as it was: what monitoring finds on ordinary traffic), and those raised
    #: or raised again on the drifted traffic: id, kind, severity, title each.
    baseline_alerts: list[dict[str, str]] = field(default_factory=list)
    alerts: list[dict[str, str]] = field(default_factory=list)
    drifted_columns: list[str] = field(default_factory=list)


@dataclass
class AuditFigures:
    """The audit trail and evidence bundles, exported and checked."""

    records: int = 0
    chain_ok: bool = False
    chain_summary: str = ""
    bundle: str = ""
    bundle_ok: bool = False
    bundle_records: int = 0
    evidence: str = ""
    evidence_ok: bool = False
    kinds: dict[str, int] = field(default_factory=dict)
    #: Decisions recorded in the trail that answered (shadow scores are recorded apart), by source.
    decisions: dict[str, int] = field(default_factory=dict)
    #: The replayed transactions (streamed and sent to the API) with exactly one answering decision recorded,
    #: and those with none or several.
    decided_once: int = 0
    not_decided_once: list[str] = field(default_factory=list)
    #: A recorded decision re-scored by ``fraud audit replay``: its id and whether it came out identical.
    replayed_decision: str = ""
    replay_identical: bool = False

"""Assembling a worker from the settings: topics, the feature state, the served model, the scorer; and running
one worker process with its signals."""

from __future__ import annotations

import gc
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING

from features import FeaturesSettings, OnlineFeatureEngine, StateStore, default_feature_set
from ingest.settings import IngestSettings
from lifecycle.settings import LifecycleSettings
from scoring_api.settings import ScoringSettings
from scoring_api.sinks import Sinks
from scoring_api.worker.loop import BatchObserver, DecisionRecorder, StreamWorker, WorkerReport, WorkerTopics
from scoring_api.worker.scoring import RowScorer, stream_scorer
from scoring_api.worker.settings import WorkerSettings

if TYPE_CHECKING:
    from lifecycle.registry import ModelRegistry
    from monitoring.alerts import AlertActionSink, AlertEvent
    from monitoring.audit import AuditLog, AuditSettings
    from scoring_api.recording import AuditRecording
    from scoring_api.worker.monitoring import MonitorObserver

log = logging.getLogger("fraud.worker")


@dataclass(frozen=True)
class WorkerConfig:
    """Every settings object a worker reads."""

    ingest: IngestSettings
    worker: WorkerSettings
    features: FeaturesSettings
    scoring: ScoringSettings
    lifecycle: LifecycleSettings
    #: The audit trail (``FRAUD_AUDIT_*``); None: read from the environment when the trail is opened.
    audit: AuditSettings | None = None

    @classmethod
    def from_environment(cls) -> WorkerConfig:
        return cls(IngestSettings(), WorkerSettings(), FeaturesSettings(), ScoringSettings(), LifecycleSettings())


def worker_topics(ingest: IngestSettings, worker: WorkerSettings) -> WorkerTopics:
    return WorkerTopics(
        transactions=ingest.topic_transactions,
        labels=ingest.topic_labels,
        scores=ingest.topic_scores,
        dead_letters=ingest.topic_dead_letters,
        journal=worker.topic_journal,
    )


def shared_store(settings: FeaturesSettings) -> StateStore | None:
    """The Redis store when ``FRAUD_REDIS_URL`` is set (several workers share it); None for the embedded one."""
    if not settings.redis_url:
        return None
    from features import RedisStateStore

    return RedisStateStore.from_url(
        settings.redis_url,
        prefix=settings.redis_prefix,
        route_ttl_s=settings.route_ttl_s,
        entity_ttl_s=settings.entity_ttl_s,
    )


def pipeline_scorer_factory(
    config: WorkerConfig, registry: ModelRegistry
) -> Callable[[OnlineFeatureEngine], RowScorer]:
    """Scorers over the registry's deployed models and the validation suite the settings name (loaded once):
    the scoring service's pipeline, with its decision configuration fixed at the default."""
    from scoring_api.deployments import DeploymentManager
    from scoring_api.pipeline import FixedPolicy
    from scoring_api.pipeline.checks import load_checker

    checker = load_checker(config.worker.suite_path)
    deployments = DeploymentManager(
        registry,
        feature_set=default_feature_set(),
        backend=config.scoring.model_backend,
        warmup_rows=config.scoring.warmup_rows,
        sink=Sinks([]),
        actor="stream-worker",
    )
    deployments.refresh()
    champion = deployments.current.champion
    log.info("model loaded", extra={"model_version": champion.content_id, "backend": deployments.backend})
    policy = FixedPolicy()

    def make(engine: OnlineFeatureEngine) -> RowScorer:
        return stream_scorer(engine, checker, deployments, policy)

    return make


class TrailOnFirstAlert:
    """The audit trail the settings name, for the alert actions of a worker that records no decisions: opened at
    the first action and kept open until the worker stops (opening it for each action cost some 40 ms an action,
    profiled), where a trail opened for each action would be reopened window after window of a drifting stream."""

    def __init__(self, settings: AuditSettings | None = None) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._log: AuditLog | None = None

    def record_alert_action(self, event: AlertEvent) -> None:
        from monitoring.audit import AuditLog, AuditSettings, AuditSink

        with self._lock:
            if self._log is None:
                self._log = AuditLog.from_settings(self.settings or AuditSettings())
            AuditSink(self._log).record_alert_action(event)

    def close(self) -> None:
        with self._lock:
            if self._log is not None:
                self._log.close()
                self._log = None


def monitor_observer(
    registry: ModelRegistry, alert_sink: AlertActionSink | None = None, *, slot: int = 0
) -> MonitorObserver:
    """Monitoring as monitoring's settings describe it (the scoring service's feed, the champion's monitor built
    at once, restored from the state the worker of ``slot`` saved), its alert actions recorded in the audit trail
    (``alert_sink``, else the configured trail opened for each action)."""
    from monitoring import MonitoringSettings
    from monitoring.audit.cli import alert_action_sink
    from scoring_api.recording import open_monitoring
    from scoring_api.worker.monitoring import MonitorObserver as Observer

    feed = open_monitoring(
        MonitoringSettings(),
        lineage_of=lambda content_id: registry.get(content_id).lineage,
        alert_sink=alert_sink or alert_action_sink(),
        state_scope=f"worker-{slot}",
    )
    champion = registry.find_alias("champion")
    if champion is not None:  # its monitor is built before the first batch, as its model is loaded
        feed.prepare([champion.content_id])
    return Observer(feed)


def open_audit_trail(config: WorkerConfig) -> AuditRecording:
    """The audit trail the settings name (``FRAUD_AUDIT_*``), recording decisions scored on the configured
    backend: the scoring service's recorder, so that API and stream decisions land in one trail alike."""
    from monitoring.audit import AuditSettings
    from scoring_api.recording import open_audit

    return open_audit(config.audit or AuditSettings(), backend=config.scoring.model_backend)


def build_worker(
    config: WorkerConfig,
    slot: int,
    make_scorer: Callable[[OnlineFeatureEngine], RowScorer] | None = None,
    observers: list[BatchObserver] | None = None,
    recorder: DecisionRecorder | None = None,
    consumer_overrides: dict[str, object] | None = None,
) -> StreamWorker:
    """The worker of ``slot`` as the settings describe it: every decision recorded in the audit trail before it
    is published (unless ``FRAUD_SCORING_AUDIT=false``, refused in production), committed batches to the
    models' monitors (``FRAUD_WORKER_MONITOR``). ``make_scorer``, ``observers`` and ``recorder`` replace the
    settings' scorer, monitoring and audit trail."""
    feature_set = default_feature_set()
    closing: list[Callable[[], None]] = []
    alert_sink: AlertActionSink | None = None
    if recorder is None and config.scoring.audit:
        audit = open_audit_trail(config)
        recorder, alert_sink = audit.recorder, audit.sink
        closing.append(audit.close)
    try:
        if make_scorer is None or (observers is None and config.worker.monitor):
            from lifecycle.registry import ModelRegistry

            registry = ModelRegistry.from_settings(config.lifecycle)
            make_scorer = make_scorer or pipeline_scorer_factory(config, registry)
            if observers is None and config.worker.monitor:
                if alert_sink is None:
                    trail = TrailOnFirstAlert(config.audit)
                    closing.append(trail.close)
                    alert_sink = trail
                monitors = monitor_observer(registry, alert_sink, slot=slot)
                observers = [monitors]
                closing.insert(0, monitors.close)  # before the trail its alerts record into
    except BaseException:
        for close in closing:  # what was opened before the failure (the trail's writer thread) is closed
            close()
        raise
    worker = StreamWorker(
        bootstrap_servers=config.ingest.kafka_bootstrap_servers,
        topics=worker_topics(config.ingest, config.worker),
        settings=config.worker,
        slot=slot,
        make_engine=lambda store: OnlineFeatureEngine(feature_set, store),
        make_scorer=make_scorer,
        store=shared_store(config.features),
        observers=observers or [],
        recorder=recorder,
        consumer_overrides=dict(consumer_overrides or {}),
    )
    worker.closing.extend(closing)
    return worker


def run_worker(worker: StreamWorker) -> WorkerReport:
    """Run ``worker`` in this process until SIGTERM or SIGINT, which finish the batch in hand and leave."""

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("stop requested", extra={"signal": signal.Signals(signum).name})
        worker.request_stop()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    # What the process holds once its worker is built (modules, the model, the settings) lives as long as it does:
    # frozen out of the collector's sight, the full collections the batches' short-lived objects trigger skip it.
    gc.freeze()
    try:
        return worker.run()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

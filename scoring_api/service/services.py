"""Everything one service process holds: the stores, the deployments, the scorer, the tokenizer, the metrics, the
audit trail and the monitors it records to, and the maintenance thread that follows the shared state and keeps
the feature state bounded.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from features import OnlineFeatureEngine, default_feature_set, state_store_from_settings
from features.settings import FeaturesSettings
from ingest.pan import CardTokenizer
from ingest.settings import IngestSettings
from lifecycle.registry.database import Database
from lifecycle.registry.registry import ModelRegistry
from lifecycle.settings import LifecycleSettings
from monitoring.alerts import AlertActionSink
from monitoring.audit.settings import AuditSettings
from monitoring.settings import MonitoringSettings
from scoring_api.access.keys import KeyStore
from scoring_api.decisions.store import DecisionConfigStore
from scoring_api.deployments.guardrails import Guardrails
from scoring_api.deployments.manager import DeploymentManager
from scoring_api.deployments.state import DeploymentStore
from scoring_api.errors import ServiceConfigError
from scoring_api.pipeline.checks import load_checker
from scoring_api.pipeline.idempotency import DecisionLog, InMemoryDecisionLog
from scoring_api.pipeline.scorer import Scorer
from scoring_api.recording import AuditRecording, MonitorFeed, Replayer, open_audit, open_monitoring, recorded_config
from scoring_api.service.metrics import MetricsSink, ServiceMetrics
from scoring_api.settings import ScoringSettings
from scoring_api.sinks import DecisionSink, LogSink, Sinks

logger = logging.getLogger(__name__)


def check_deployment_settings(scoring: ScoringSettings, features: FeaturesSettings) -> None:
    """Refuse what would serve wrong answers: several processes over the embedded (per-process) feature state."""
    if scoring.workers > 1 and not features.redis_url:
        raise ServiceConfigError(
            f"{scoring.workers} worker processes over the embedded feature state would each hold a different part "
            "of every card's history (wrong features); run one worker, or share the state in Redis "
            "(FRAUD_REDIS_URL=redis://host:6379/0)"
        )


@dataclass
class Services:
    """The parts of one service process."""

    settings: ScoringSettings
    database: Database
    registry: ModelRegistry
    keys: KeyStore
    configs: DecisionConfigStore
    deployments: DeploymentManager
    scorer: Scorer
    tokenizer: CardTokenizer
    sink: DecisionSink
    metrics: ServiceMetrics
    #: The audit trail every decision, access and change is recorded in (None only when switched off).
    audit: AuditRecording | None = None
    #: The served models' monitors (None when monitoring is switched off).
    monitors: MonitorFeed | None = None
    replayer: Replayer | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    #: Why the champion is not served, while it is not.
    load_error: str | None = None

    def state_store_problem(self) -> str | None:
        """None when the online feature state answers, else what is wrong (a shared store must be reachable)."""
        from features.state.redis_store import RedisStateStore

        store = self.scorer.feature_engine.store
        if not isinstance(store, RedisStateStore):
            return None
        try:
            store.client.ping()
        except Exception as error:  # any failure to reach it makes the service unready, with the reason
            return f"Redis feature state unreachable: {type(error).__name__}: {error}"
        return None

    def start_maintenance(self) -> None:
        """Follow the registry, deployments, decision configuration and keys; evict idle feature state."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._maintain, name="fraud-maintenance", daemon=True)
        self._thread.start()

    def stop_maintenance(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def audit_problem(self) -> str | None:
        """None while every event reached the audit trail, else what waits to be recorded and why."""
        return None if self.audit is None else self.audit.recorder.problem()

    def follow(self) -> None:
        """One round of following the shared state (what the maintenance thread does every interval)."""
        if self.audit is not None and self.audit.recorder.problem() is not None:
            self.audit.recorder.retry()
        self.keys.refresh()
        self.configs.refresh()
        try:
            self.deployments.refresh()
        except Exception as error:
            self.load_error = f"{type(error).__name__}: {error}"
            raise
        self.load_error = None
        self.metrics.deployment_revision.set(self.deployments.current.revision)

    def _maintain(self) -> None:
        interval = self.settings.watch_interval_s
        evict_every = max(1, round(self.settings.evict_interval_s / interval))
        lateness = timedelta(seconds=self.settings.evict_lateness_s)
        rounds = 0
        while not self._stop.wait(interval):
            rounds += 1
            try:
                self.follow()
                if rounds % evict_every == 0:
                    evicted = self.scorer.evict_idle(lateness)
                    if any(evicted.values()):
                        logger.info("evicted idle feature state: %s", evicted)
            except Exception:  # the next round retries; the failure is counted and logged, never hidden
                self.metrics.errors.labels("maintenance").inc()
                logger.exception("following the shared state failed; retrying in %.1f s", interval)

    def close(self) -> None:
        self.stop_maintenance()
        try:
            if self.monitors is not None:
                self.monitors.close()
        finally:
            if self.audit is not None:
                self.audit.close()
            self.registry.close()
            self.database.close()


def _decision_log(scoring: ScoringSettings, features: FeaturesSettings) -> DecisionLog:
    if features.redis_url:
        from scoring_api.pipeline.redis_log import RedisDecisionLog

        return RedisDecisionLog.from_url(features.redis_url, prefix=f"{features.redis_prefix}:decisions",
                                         ttl_s=scoring.decision_ttl_s)  # fmt: skip
    return InMemoryDecisionLog(scoring.decision_log_capacity)


def build_services(
    scoring: ScoringSettings,
    *,
    ingest: IngestSettings,
    lifecycle: LifecycleSettings,
    features: FeaturesSettings,
    audit: AuditSettings | None = None,
    monitoring: MonitoringSettings | None = None,
    sink: DecisionSink | None = None,
    multiprocess_dir: str | None = None,
) -> Services:
    """Every part of a service process, from its settings; the champion is loaded when the registry has one.

    With ``scoring.audit`` (the default) every decision, access, deployment and configuration change is recorded
    in the audit trail ``audit`` names, and the registry records its own changes there; with
    ``scoring.monitoring`` the served models are watched into the database ``monitoring`` names. ``sink``
    receives every event too (tests; the structured log when the audit trail is off)."""
    check_deployment_settings(scoring, features)
    if scoring.audit and audit is None:
        raise ServiceConfigError("the service records its decisions: give it the audit trail's settings")
    if scoring.monitoring and monitoring is None:
        raise ServiceConfigError("the service monitors its models: give it the monitoring settings")
    metrics = ServiceMetrics(multiprocess_dir)
    recording = open_audit(audit, backend=scoring.model_backend) if scoring.audit and audit is not None else None
    try:
        return _build(scoring, ingest, lifecycle, features, monitoring, sink, metrics, recording)
    except BaseException:
        if recording is not None:
            recording.close()
        raise


def _build(
    scoring: ScoringSettings,
    ingest: IngestSettings,
    lifecycle: LifecycleSettings,
    features: FeaturesSettings,
    monitoring: MonitoringSettings | None,
    sink: DecisionSink | None,
    metrics: ServiceMetrics,
    recording: AuditRecording | None,
) -> Services:
    registry = ModelRegistry.from_settings(lifecycle, events=None if recording is None else recording.sink)
    monitors = None
    if scoring.monitoring and monitoring is not None:
        tag = scoring.monitor_tag or (f"{socket.gethostname()}-{os.getpid()}" if scoring.workers > 1 else "")
        lasting = bool(scoring.monitor_tag) or scoring.workers == 1
        if not lasting and monitoring.monitor_state_dir is not None:
            logger.warning(
                "the monitors' state is not kept across restarts: %d workers and no FRAUD_SCORING_MONITOR_TAG "
                "name each process's monitors by its pid, which a restart changes",
                scoring.workers,
            )
        monitors = open_monitoring(
            monitoring,
            lineage_of=lambda content_id: registry.get(content_id).lineage,
            alert_sink=recording.sink if recording is not None else _logged_alert_actions(),
            process_tag=tag,
            state_scope="" if lasting else None,
            on_error=lambda error: metrics.errors.labels("monitoring").inc(),
        )
    sinks: list[DecisionSink] = [MetricsSink(metrics)]
    if recording is not None:
        sinks.append(recording.recorder)
    if monitors is not None:
        sinks.append(monitors)
    if sink is not None:
        sinks.append(sink)
    elif recording is None:
        sinks.append(LogSink())
    combined = Sinks(sinks)
    database = Database(scoring.database_url)
    feature_set = default_feature_set()
    deployments = DeploymentManager(
        registry,
        feature_set=feature_set,
        backend=scoring.model_backend,
        warmup_rows=scoring.warmup_rows,
        sink=combined,
        store=DeploymentStore(database),
        guardrails=Guardrails(
            min_rows=scoring.canary_min_rows,
            max_error_rate=scoring.canary_max_error_rate,
            max_p99_ms=scoring.canary_max_p99_ms,
            max_score_shift=scoring.canary_max_score_shift,
            window_rows=scoring.canary_window_rows,
        ),
    )
    configs = DecisionConfigStore(database, combined)
    engine = OnlineFeatureEngine(feature_set, state_store_from_settings(features, feature_set.version))
    scorer = Scorer(
        feature_engine=engine,
        checker=load_checker(scoring.suite_path),
        models=deployments,
        policies=configs,
        log=_decision_log(scoring, features),
        sink=combined,
        source="api",
        explain_approved=scoring.explain_approved,
    )
    replayer = None
    if recording is not None:
        log = recording.log
        replayer = Replayer(
            registry,
            config_of=lambda version: recorded_config(log, version),
            stored_config_of=configs.document,
            feature_set=feature_set,
        )
    services = Services(
        settings=scoring,
        database=database,
        registry=registry,
        keys=KeyStore(database),
        configs=configs,
        deployments=deployments,
        scorer=scorer,
        tokenizer=CardTokenizer.from_settings(ingest),
        sink=combined,
        metrics=metrics,
        audit=recording,
        monitors=monitors,
        replayer=replayer,
    )
    try:
        deployments.refresh()
    except Exception as error:  # no champion yet, or one that cannot load: the service starts unready and says why
        services.metrics.errors.labels("champion_load").inc()
        services.load_error = f"{type(error).__name__}: {error}"
        logger.warning("no champion is served yet: %s", services.load_error)
    return services


def _logged_alert_actions() -> AlertActionSink:
    """Where alert actions go when the audit trail is off: the log."""
    from monitoring.alerts import LoggingSink

    return LoggingSink()

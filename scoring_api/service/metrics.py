"""The service's Prometheus metrics: requests and latency by route and model version, decisions by outcome,
rejections, rollbacks and errors.

Each application gets its own registry, so several applications in one process (tests) keep their counts apart.
With several worker processes, prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set by
``fraud serve``) adds up every process's figures in ``/metrics``.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Sequence
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess

from scoring_api.records import Decision, Rejection, Result
from scoring_api.sinks import AccessEvent, BatchScored, DecisionConfigChanged, DeploymentAction, DeploymentChanged

#: Latency buckets (seconds): sub-millisecond resolution where single-transaction scoring lives.
LATENCY_BUCKETS: Final = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ServiceMetrics:
    """The metrics of one application."""

    def __init__(self, multiprocess_dir: str | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._multiprocess_dir = multiprocess_dir
        self.requests = Counter(
            "fraud_http_requests", "HTTP requests by route, method and status", ["route", "method", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "fraud_http_request_seconds",
            "HTTP request latency by route and champion model version",
            ["route", "model_version"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.decisions = Counter(
            "fraud_decisions", "Decisions by outcome and answering model role", ["outcome", "model_role"],
            registry=self.registry,
        )  # fmt: skip
        self.rejections = Counter("fraud_rejections", "Transactions refused unscored", registry=self.registry)
        self.rollbacks = Counter("fraud_rollbacks", "Deployment rollbacks by kind", ["kind"], registry=self.registry)
        self.errors = Counter("fraud_errors", "Errors by kind", ["kind"], registry=self.registry)
        self.deployment_revision = Gauge(
            "fraud_deployment_revision", "Revision of the deployment in use", registry=self.registry,
            multiprocess_mode="max",
        )  # fmt: skip
        # Each request counts into a few labelled children: looked up once (prometheus-client's ``labels`` takes
        # a lock and validates the labels on every call).
        self.request_count = _children(self.requests)
        self.latency_of = _children(self.latency)
        self._decision_count = _children(self.decisions)

    def count_results(self, results: Sequence[Result]) -> None:
        """Decisions by outcome and role, and rejections, of one scored batch."""
        tally: Tally[tuple[str, str]] = Tally()
        rejected = 0
        for result in results:
            if isinstance(result, Decision):
                tally[(result.outcome.value, result.model_role.value)] += 1
            elif isinstance(result, Rejection):
                rejected += 1
        for labels, count in tally.items():
            self._decision_count(*labels).inc(count)
        if rejected:
            self.rejections.inc(rejected)

    def exposition(self) -> bytes:
        """The text exposition format of every metric (summed over processes in multiprocess mode)."""
        if self._multiprocess_dir is None:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(merged, path=self._multiprocess_dir)  # type: ignore[no-untyped-call]
        return generate_latest(merged)


def _children(metric: Any) -> Callable[..., Any]:
    """``metric.labels(*values)``, each child looked up once (the label values of this service are few: routes,
    methods, statuses, model versions, outcomes and roles)."""
    children: dict[tuple[str, ...], Any] = {}

    def child(*values: str) -> Any:
        found = children.get(values)
        if found is None:
            found = children[values] = metric.labels(*values)
        return found

    return child


class MetricsSink:
    """The sink that counts: decisions and rejections of every scored batch, and rollbacks."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self.metrics = metrics

    def batch_scored(self, event: BatchScored) -> None:
        self.metrics.count_results(event.batch.results)

    def deployment_changed(self, event: DeploymentChanged) -> None:
        if event.action in (DeploymentAction.ROLLED_BACK, DeploymentAction.CANARY_ROLLED_BACK):
            kind = f"{event.action.value}_{'automatic' if event.automatic else 'manual'}"
            self.metrics.rollbacks.labels(kind).inc()

    def decision_config_changed(self, event: DecisionConfigChanged) -> None:
        """Configuration changes are not counted (the sinks of record keep them)."""

    def access(self, event: AccessEvent) -> None:
        """Requests are counted by the middleware, with their status."""

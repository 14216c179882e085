"""The worker's Prometheus metrics, served on 127.0.0.1 (``/metrics``) when a port is configured.

Throughput: transactions consumed, decided and dead-lettered, batches and their duration, labels applied.
Lag: per partition, the end of the partition minus the worker's position, sampled after each batch (and in
the idle loop), plus the age of the newest event decided. Recovery: records and rows replayed. Each worker
process has its own registry and port (``metrics_port + slot``).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

#: Batch durations from 1 ms to about 30 s.
_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class WorkerMetrics:
    """The metric families of one worker process."""

    def __init__(self, worker: str) -> None:
        self.registry = CollectorRegistry()
        labels = {"worker": worker}
        r = self.registry
        self.consumed = Counter("fraud_worker_transactions_consumed", "Messages consumed from transactions.",
                                ["worker"], registry=r).labels(**labels)  # fmt: skip
        self.decided = Counter("fraud_worker_decisions", "Decisions committed to scores, by outcome.",
                               ["worker", "decision"], registry=r)  # fmt: skip
        self.dead_lettered = Counter("fraud_worker_dead_letters", "Messages committed to the dead-letter topic.",
                                     ["worker", "source"], registry=r)  # fmt: skip
        self.batches = Counter("fraud_worker_batches", "Micro-batches committed.", ["worker"], registry=r).labels(
            **labels
        )
        self.aborted = Counter("fraud_worker_batches_aborted", "Micro-batches whose transaction aborted.",
                               ["worker"], registry=r).labels(**labels)  # fmt: skip
        self.batch_seconds = Histogram("fraud_worker_batch_seconds", "Poll-to-commit time of a micro-batch.",
                                       ["worker"], buckets=_SECONDS, registry=r).labels(**labels)  # fmt: skip
        self.batch_rows = Histogram("fraud_worker_batch_rows", "Messages per micro-batch.", ["worker"],
                                    buckets=(1, 10, 100, 500, 1000, 2000, 5000, 10000, 50000),
                                    registry=r).labels(**labels)  # fmt: skip
        self.labels_applied = Counter("fraud_worker_labels_applied", "Labels applied to the feature state.",
                                      ["worker"], registry=r).labels(**labels)  # fmt: skip
        self.labels_late = Counter("fraud_worker_labels_late",
                                   "Labels that arrived after the stream passed their report time.",
                                   ["worker"], registry=r).labels(**labels)  # fmt: skip
        self.lag = Gauge("fraud_worker_lag", "Messages of the partition not yet consumed by this worker.",
                         ["worker", "topic", "partition"], registry=r)  # fmt: skip
        self.event_age = Gauge("fraud_worker_event_age_seconds",
                               "Wall time minus the time of the newest transaction decided.",
                               ["worker"], registry=r).labels(**labels)  # fmt: skip
        self.replayed_rows = Counter("fraud_worker_replayed_rows", "Rows replayed from the journal.", ["worker"],
                                     registry=r).labels(**labels)  # fmt: skip
        self.state_gaps = Counter("fraud_worker_state_gaps",
                                  "Partitions taken over whose committed batches the journal no longer held.",
                                  ["worker"], registry=r).labels(**labels)  # fmt: skip
        self.unrecorded = Counter("fraud_worker_batches_unrecorded",
                                  "Micro-batches processed again because the recorder (audit trail) refused them.",
                                  ["worker"], registry=r).labels(**labels)  # fmt: skip
        self.assigned = Gauge("fraud_worker_assigned_partitions", "Partitions of transactions this worker owns.",
                              ["worker"], registry=r).labels(**labels)  # fmt: skip
        self._worker = worker
        self._server: Any = None

    def decision(self, outcome: str, count: int) -> None:
        self.decided.labels(worker=self._worker, decision=outcome).inc(count)

    def dead_letters(self, source: str, count: int) -> None:
        self.dead_lettered.labels(worker=self._worker, source=source).inc(count)

    def set_lag(self, lags: dict[tuple[str, int], int]) -> None:
        self.lag.clear()
        for (topic, partition), lag in lags.items():
            self.lag.labels(worker=self._worker, topic=topic, partition=str(partition)).set(lag)

    def serve(self, port: int) -> None:
        """Serve ``/metrics`` on 127.0.0.1:port (loopback only)."""
        self._server, _ = start_http_server(port, addr="127.0.0.1", registry=self.registry)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

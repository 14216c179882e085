"""Committed batches to monitoring: the service's :class:`~scoring_api.recording.MonitorFeed` behind the worker's
:class:`~scoring_api.worker.loop.BatchObserver` seam.

The feed is the one home of monitoring's per-batch work for the API and the stream alike: the rows a batch
scored go to the monitor of the model that answered them (champion or canary, each built on first use from the
model's reference profile in its registry lineage; a model without one is not monitored, and the log says so
once), and the labels the batch applied to every live monitor, in order with the rows. The feed runs the
monitors on its own thread, so the worker hands a batch over and goes on with the next one.

A batch reaches the feed after its decisions and state are committed (at most once: a crash between the commit
and the call loses the call, never doubles it).

>>> # feed = open_monitoring(MonitoringSettings(), lineage_of=..., alert_sink=alert_action_sink())
>>> # worker = build_worker(config, slot, observers=[MonitorObserver(feed)])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.contract import LABEL_SCHEMA
from scoring_api.sinks import BatchScored, utc_now
from scoring_api.worker.loop import CommittedBatch

if TYPE_CHECKING:
    from monitoring import ModelMonitor
    from scoring_api.recording import MonitorFeed

_LABEL_COLUMNS = list(LABEL_SCHEMA.names)


class MonitorObserver:
    """Each committed batch to the monitors of the models that answered it, and its labels to all of them."""

    def __init__(self, feed: MonitorFeed) -> None:
        self.feed = feed

    def observe(self, batch: CommittedBatch) -> None:
        if len(batch.scored.scored_positions):
            self.feed.batch_scored(BatchScored(utc_now(), "stream", batch.scored))
        if len(batch.labels):
            self.feed.deliver_labels(batch.labels[_LABEL_COLUMNS])

    def flush(self) -> None:
        """Run the monitors on every batch handed over so far (at shutdown); returns when done."""
        self.feed.flush()

    def monitor(self, content_id: str) -> ModelMonitor | None:
        """The live monitor of a model (None before its first rows, or when it has no reference profile)."""
        return self.feed.monitors.get(content_id)

    def close(self) -> None:
        """Flush, stop the feed's thread and close monitoring's storage."""
        self.feed.close()

"""Committed batches to monitoring: the scored rows to each model's drift and performance monitor, the labels
the batch applied to realised performance.

A batch reaches the monitors after its decisions and state are committed (at most once: a crash between the
commit and the call loses the call, never doubles it). Rows are grouped by the model that answered them
(champion or canary), each with its own monitor, built on first use from the model's registry lineage; a model
whose lineage holds no reference profile (trained before profiles were recorded) is not monitored, and the log
says so once.

>>> # observer = MonitorObserver(registry, open_services(MonitoringSettings(), alert_action_sink()))
>>> # worker = build_worker(config, slot, observers=[observer])
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ingest.contract import LABEL_SCHEMA, TRANSACTION_COLUMNS
from scoring_api.records import Decision
from scoring_api.worker.loop import CommittedBatch

if TYPE_CHECKING:
    from lifecycle.registry import ModelRegistry
    from monitoring import ModelMonitor, MonitorConfig, MonitoringServices

log = logging.getLogger("fraud.worker.monitoring")

#: The column a scored frame carries the model's score in (monitoring's name for it).
SCORE_COLUMN = "score"


def scored_frame(batch: CommittedBatch) -> pd.DataFrame:
    """The rows the batch scored, as monitoring reads them: the contract's fields, the model input by name, the
    score, and ``model_version`` (who answered)."""
    scored = batch.scored
    positions = scored.scored_positions
    rows = batch.rows.iloc[positions][list(TRANSACTION_COLUMNS)].reset_index(drop=True)
    inputs = pd.DataFrame(scored.model_input.values, columns=list(scored.model_input.names))
    decisions: list[Decision] = list(scored.new_decisions)
    extra = inputs[[c for c in inputs.columns if c not in rows.columns]]
    frame = pd.concat([rows, extra], axis=1)
    frame[SCORE_COLUMN] = np.array([d.score for d in decisions], dtype=np.float64)
    frame["model_version"] = [d.model_version for d in decisions]
    return frame


class MonitorObserver:
    """Each committed batch to the monitors of the models that answered it, and its labels to all of them."""

    def __init__(self, registry: ModelRegistry, services: MonitoringServices, config: MonitorConfig | None = None):
        self.registry = registry
        self.services = services
        self.config = config
        self._monitors: dict[str, ModelMonitor | None] = {}

    def monitor(self, content_id: str) -> ModelMonitor | None:
        """The monitor of a model (None when its lineage holds no reference profile)."""
        if content_id not in self._monitors:
            from lifecycle.reference import ReferenceProfileError
            from monitoring import ModelMonitor

            version = self.registry.get(content_id)
            try:
                self._monitors[content_id] = ModelMonitor.for_model(
                    version.content_id, version.lineage, self.services, self.config
                )
            except ReferenceProfileError as exc:
                log.warning("model not monitored", extra={"model_version": content_id, "reason": str(exc)})
                self._monitors[content_id] = None
        return self._monitors[content_id]

    def observe(self, batch: CommittedBatch) -> None:
        if len(batch.scored.scored_positions):
            frame = scored_frame(batch)
            for content_id, rows in frame.groupby("model_version", sort=False):
                monitor = self.monitor(str(content_id))
                if monitor is not None:
                    monitor.update(rows.drop(columns="model_version").reset_index(drop=True))
        if len(batch.labels):
            labels = batch.labels[list(LABEL_SCHEMA.names)]
            for monitor in self._active():
                monitor.deliver_labels(labels)

    def flush(self) -> None:
        """Run the monitors on the rows they still gather (at shutdown)."""
        for monitor in self._active():
            monitor.flush()

    def _active(self) -> list[Any]:
        return [m for m in self._monitors.values() if m is not None]

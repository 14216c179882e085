"""Monitoring of the served models, fed by every scored batch: a :class:`~scoring_api.sinks.DecisionSink`.

:class:`MonitorFeed` keeps one :class:`~monitoring.model_monitor.ModelMonitor` per model version that answers
(the champion, and the canary for its cards), built from the version's reference profile in its lineage. Each
scored batch hands the feed the newly decided rows (contract fields, the model input by name, the answering
score) and returns at once: a background thread gathers rows (a single-transaction request adds one row; the
monitors run on at least ``min_rows`` rows, or what ``max_delay_s`` gathered) and updates the monitors, so the
drift tests never run on a request's time. A model that stops answering (a new champion, a canary rolled back)
has its monitor flushed and retired. Labels (:meth:`MonitorFeed.deliver_labels`) go through the same thread, in
order with the rows.

Monitoring observes; it never refuses an answer. A failure is logged with its traceback and counted
(``failures``, and the service's error metric through ``on_error``); rows that arrive while the thread is
more than ``max_queue`` items behind are dropped and counted (``dropped_rows``) rather than slowing scoring.

With a ``state_dir``, each model's performance state (the open days a restart would lose, see
:mod:`monitoring.performance.snapshot`) is kept there as ``<monitor name>.npz``: restored when the model's monitor
is built, saved on the feed's thread every ``state_every_s`` seconds while it changes, when the model is retired
and when the feed closes. A snapshot the monitor refuses (unreadable, or saved for another reference profile) is
logged, counted (``refused_states``, and ``on_error``) and moved aside as ``<monitor name>.refused-<UTC time>.npz``;
the model's open days then start afresh.

The stream worker uses the same feed, behind its observer seam (:class:`scoring_api.worker.monitoring.MonitorObserver`):
each committed batch is handed over as a ``BatchScored`` from source ``stream``, and the labels it applied through
:meth:`MonitorFeed.deliver_labels`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ingest.contract import Transaction
from lifecycle.errors import LifecycleError
from lifecycle.reference import SCORE, ReferenceProfile
from lifecycle.reference import ReferenceProfileError as _NoProfile
from monitoring.errors import MonitorSnapshotError
from monitoring.model_monitor import ModelMonitor, MonitorConfig
from monitoring.services import MonitoringServices
from scoring_api.pipeline.frames import transactions_frame
from scoring_api.sinks import (
    AccessEvent,
    BatchScored,
    DecisionConfigChanged,
    DeploymentAction,
    DeploymentChanged,
)

logger = logging.getLogger(__name__)

#: Separates a model's content id from the process tag in a monitor's name (several processes, one database).
PROCESS_SEPARATOR: Final = "#"
_RETIRING: Final = {
    DeploymentAction.CHAMPION_LOADED,
    DeploymentAction.PROMOTED,
    DeploymentAction.ROLLED_BACK,
    DeploymentAction.CANARY_ROLLED_BACK,
    DeploymentAction.CANARY_STOPPED,
}
_SERVING: Final = {
    DeploymentAction.CHAMPION_LOADED,
    DeploymentAction.PROMOTED,
    DeploymentAction.ROLLED_BACK,
    DeploymentAction.CANARY_STARTED,
}


@dataclass(frozen=True, eq=False)
class _Rows:
    """Rows one model answered: their contract fields, model input (by the feed's names) and scores."""

    content_id: str
    fields: pd.DataFrame | list[Transaction]
    inputs: NDArray[np.float32]
    names: tuple[str, ...]
    scores: NDArray[np.float32]


@dataclass(frozen=True, eq=False)
class _Labels:
    frame: pd.DataFrame


@dataclass(frozen=True, eq=False)
class _Retire:
    content_id: str


@dataclass(frozen=True, eq=False)
class _Flush:
    done: Future[None]


@dataclass(frozen=True, eq=False)
class _Prepare:
    content_ids: tuple[str, ...]
    done: Future[None]


_Item = _Rows | _Labels | _Retire | _Flush | _Prepare
_STOP: Final = object()


def content_id_of(monitor_name: str) -> str:
    """The model content id a monitor's name stands for (names may carry a process tag)."""
    return monitor_name.split(PROCESS_SEPARATOR, 1)[0]


class MonitorFeed:
    """Scored rows to the monitor of the model that answered them (see the module docstring).

    ``lineage_of`` gives a content id's lineage (``registry.get(id).lineage``); ``process_tag`` names this
    process when several processes monitor into one database (each watches its own share of the traffic);
    ``state_dir`` keeps the monitors' performance state across restarts (None: not kept).
    """

    def __init__(
        self,
        services: MonitoringServices,
        lineage_of: Callable[[str], Any],
        *,
        config: MonitorConfig | None = None,
        process_tag: str = "",
        min_rows: int = 512,
        max_delay_s: float = 1.0,
        max_queue: int = 100_000,
        state_dir: Path | None = None,
        state_every_s: float = 300.0,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.services = services
        self.lineage_of = lineage_of
        self.config = config or MonitorConfig()
        self.process_tag = process_tag
        self.min_rows = min_rows
        self.max_delay_s = max_delay_s
        self.state_dir = None if state_dir is None else Path(state_dir)
        self.state_every_s = state_every_s
        self.on_error = on_error
        self.failures = 0
        self.dropped_rows = 0
        self.refused_states = 0
        self._changed: set[str] = set()
        self._saved_at = time.monotonic()
        self._monitors: dict[str, ModelMonitor] = {}
        self._profiles: dict[str, ReferenceProfile | None] = {}
        self._profiles_lock = threading.Lock()
        self._queue: queue.Queue[_Item | object] = queue.Queue(maxsize=max_queue)
        self._pending: dict[str, list[_Rows]] = {}
        self._pending_rows = 0
        self._thread = threading.Thread(target=self._run, name="fraud-monitoring", daemon=True)
        self._thread.start()

    # -- naming and references -----------------------------------------------------------------------------

    def name_of(self, content_id: str) -> str:
        """The monitor's name of a model in this process (its content id, with the process tag if any)."""
        return f"{content_id}{PROCESS_SEPARATOR}{self.process_tag}" if self.process_tag else content_id

    def state_path(self, content_id: str) -> Path | None:
        """Where the performance state of a model's monitor in this process is kept (None: not kept)."""
        return None if self.state_dir is None else self.state_dir / f"{self.name_of(content_id)}.npz"

    def reference(self, monitor_name: str) -> ReferenceProfile | None:
        """The reference profile behind a monitor's name, or None when the model has none (or is unknown)."""
        content_id = content_id_of(monitor_name)
        with self._profiles_lock:
            if content_id in self._profiles:
                return self._profiles[content_id]
        try:
            lineage = self.lineage_of(content_id)
        except LifecycleError:  # not a registered model (a name asked for on the dashboard): nothing to show
            return None
        try:
            profile: ReferenceProfile | None = ReferenceProfile.from_lineage(lineage)
        except _NoProfile as error:
            logger.warning("model %s is not monitored: %s", content_id, error)
            profile = None
        with self._profiles_lock:
            self._profiles[content_id] = profile
        return profile

    @property
    def monitors(self) -> dict[str, ModelMonitor]:
        """The live monitors by model content id (read by tests and the dashboard's sources)."""
        return dict(self._monitors)

    # -- the sink --------------------------------------------------------------------------------------------

    def batch_scored(self, event: BatchScored) -> None:
        batch = event.batch
        decisions = batch.new_decisions
        if not decisions or batch.scored is None:
            return
        models = [d.model_version for d in decisions]
        scores = np.fromiter((d.score for d in decisions), dtype=np.float32, count=len(decisions))
        names, values = batch.model_input.names, batch.model_input.values
        fields = batch.scored
        for content_id in dict.fromkeys(models):
            if len(set(models)) == 1:
                rows = _Rows(content_id, _fields(fields, None), values, names, scores)
            else:
                mask = np.fromiter((m == content_id for m in models), dtype=np.bool_, count=len(models))
                rows = _Rows(content_id, _fields(fields, mask), values[mask], names, scores[mask])
            self._put(rows, len(rows.scores))

    def deployment_changed(self, event: DeploymentChanged) -> None:
        if event.action in _RETIRING and event.previous_content_id:
            self._put(_Retire(event.previous_content_id), 0)
        if event.action in _SERVING and event.content_id:
            # Built (and its state restored) before its first rows, so that labels find it after a restart.
            self._put(_Prepare((event.content_id,), Future()), 0)

    def decision_config_changed(self, event: DecisionConfigChanged) -> None:
        """Configuration changes change no model's inputs or scores: nothing to watch."""

    def access(self, event: AccessEvent) -> None:
        """Accesses are the audit trail's."""

    # -- labels, flushing, closing ---------------------------------------------------------------------------

    def deliver_labels(self, labels: pd.DataFrame) -> None:
        """Late labels (``transaction_id``, ``is_fraud``, ``reported_at``) for every live monitor."""
        self._queue.put(_Labels(labels))

    def prepare(self, content_ids: Sequence[str], timeout_s: float = 60.0) -> None:
        """Build the monitors of these models now (their reference profiles read, what their first figures need
        loaded), so that a process about to serve them pays it at start rather than on its first rows."""
        done: Future[None] = Future()
        self._queue.put(_Prepare(tuple(content_ids), done))
        done.result(timeout=timeout_s)

    def flush(self, timeout_s: float = 60.0) -> None:
        """Run the monitors on every row handed over so far and write what they hold; returns when done."""
        done: Future[None] = Future()
        self._queue.put(_Flush(done))
        done.result(timeout=timeout_s)

    def close(self, timeout_s: float = 60.0) -> None:
        """Flush, save the monitors' state (with a ``state_dir``), stop the thread and close the monitoring
        database."""
        if self._thread.is_alive():
            try:
                self.flush(timeout_s)
            finally:
                self._queue.put(_STOP)
                self._thread.join(timeout_s)
        self.services.close()

    # -- the thread ------------------------------------------------------------------------------------------

    def _put(self, item: _Item, rows: int) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped_rows += rows
            if self.dropped_rows == rows or self.dropped_rows % 100_000 < rows:
                logger.error("monitoring is behind: %d scored rows dropped so far", self.dropped_rows)

    def _run(self) -> None:
        started: float | None = None
        while True:
            try:
                item = self._queue.get(timeout=self._wait(started))
            except queue.Empty:
                item = None
            if item is _STOP:
                self._save(self._changed)
                return
            try:
                if isinstance(item, _Rows):
                    self._pending.setdefault(item.content_id, []).append(item)
                    self._pending_rows += len(item.scores)
                    started = started if started is not None else time.monotonic()
                    if self._pending_rows < self.min_rows and time.monotonic() - started < self.max_delay_s:
                        continue
                    self._update()
                elif isinstance(item, _Labels):
                    self._update()
                    for content_id, monitor in self._monitors.items():
                        monitor.deliver_labels(item.frame)
                        self._changed.add(content_id)
                elif isinstance(item, _Retire):
                    self._update()
                    retired = self._monitors.pop(item.content_id, None)
                    if retired is not None:
                        self._changed.discard(item.content_id)
                        retired.flush()
                        self._save_state(item.content_id, retired)
                elif isinstance(item, _Prepare):
                    try:
                        for content_id in item.content_ids:
                            self._monitor(content_id)
                    finally:
                        item.done.set_result(None)
                elif isinstance(item, _Flush):
                    try:
                        self._update()
                        for monitor in self._monitors.values():
                            monitor.flush()
                    finally:
                        item.done.set_result(None)
                else:  # the gathering delay passed
                    self._update()
            except Exception as error:  # logged and counted; the feed goes on with the next rows
                self._failed(error)
            if not self._pending_rows:
                started = None
            if self._changed and time.monotonic() - self._saved_at >= self.state_every_s:
                self._save(self._changed)

    def _wait(self, started: float | None) -> float | None:
        """How long the thread may wait for the next item: until the gathered rows are due, or the state."""
        due = [] if started is None else [started + self.max_delay_s]
        if self._changed and self.state_dir is not None:
            due.append(self._saved_at + self.state_every_s)
        return max(0.0, min(due) - time.monotonic()) if due else None

    def _save(self, content_ids: set[str]) -> None:
        """Save the state of these models' live monitors (each failure logged and counted, the others saved)."""
        self._saved_at = time.monotonic()
        for content_id in sorted(content_ids):
            monitor = self._monitors.get(content_id)
            if monitor is None or self._save_state(content_id, monitor):
                self._changed.discard(content_id)

    def _save_state(self, content_id: str, monitor: ModelMonitor) -> bool:
        """Save one monitor's state (with a ``state_dir``); False when it failed (logged and counted)."""
        path = self.state_path(content_id)
        if path is None:
            return True
        try:
            monitor.save_state(path)
        except Exception as error:
            self._failed(error)
            return False
        return True

    def _restore(self, content_id: str, monitor: ModelMonitor) -> None:
        """Resume a new monitor from its saved state; a refused snapshot is reported and moved aside."""
        path = self.state_path(content_id)
        if path is None or not path.exists():
            return
        try:
            monitor.restore_state(path)
        except MonitorSnapshotError as error:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            aside = path.with_name(f"{path.stem}.refused-{stamp}{path.suffix}")
            path.replace(aside)
            self.refused_states += 1
            logger.error(
                "the monitor state of model %s was refused and moved aside to %s; its open days start afresh "
                "(labels of transactions scored before the restart count as unmatched): %s",
                content_id,
                aside,
                error,
            )
            if self.on_error is not None:
                self.on_error(error)
        else:
            logger.info("model %s's monitor resumed from %s", content_id, path)

    def _update(self) -> None:
        pending, self._pending, self._pending_rows = self._pending, {}, 0
        for content_id, chunks in pending.items():
            monitor = self._monitor(content_id)
            if monitor is not None:
                self._changed.add(content_id)
                try:
                    monitor.update(_frame(chunks))
                except Exception as error:
                    self._failed(error)

    def _monitor(self, content_id: str) -> ModelMonitor | None:
        monitor = self._monitors.get(content_id)
        if monitor is None:
            profile = self.reference(content_id)
            if profile is None:
                return None
            monitor = ModelMonitor(profile, self.services, model=self.name_of(content_id), config=self.config)
            self._restore(content_id, monitor)
            self._monitors[content_id] = monitor
        return monitor

    def _failed(self, error: BaseException) -> None:
        self.failures += 1
        logger.error("monitoring failed: %s: %s", type(error).__name__, error, exc_info=error)
        if self.on_error is not None:
            self.on_error(error)


def _fields(fields: pd.DataFrame | Transaction, mask: NDArray[np.bool_] | None) -> pd.DataFrame | list[Transaction]:
    if isinstance(fields, Transaction):
        return [fields]
    frame = fields.reset_index(drop=True)
    return frame if mask is None else frame.loc[mask].reset_index(drop=True)


def _frame(chunks: list[_Rows]) -> pd.DataFrame:
    """The scored frame a monitor reads, in stream order: contract fields, the model inputs they lack by name,
    and the score (single transactions in a row are gathered into one frame, built once)."""
    parts: list[pd.DataFrame] = []
    run: list[Transaction] = []
    for chunk in chunks:
        if isinstance(chunk.fields, list):
            run += chunk.fields
            continue
        if run:
            parts.append(transactions_frame(run))
            run = []
        parts.append(chunk.fields)
    if run:
        parts.append(transactions_frame(run))
    fields = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    inputs = np.concatenate([c.inputs for c in chunks]) if len(chunks) > 1 else chunks[0].inputs
    scores = np.concatenate([c.scores for c in chunks]) if len(chunks) > 1 else chunks[0].scores
    # The model inputs the fields lack join as one block (one column at a time copies the frame each time).
    wanted = [j for j, name in enumerate(chunks[0].names) if name not in fields.columns]
    extra = pd.DataFrame(inputs[:, wanted], columns=[chunks[0].names[j] for j in wanted])
    extra[SCORE] = scores.astype(np.float64)
    return pd.concat([fields.reset_index(drop=True), extra], axis=1)

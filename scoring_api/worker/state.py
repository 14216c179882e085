"""The worker's feature state and the stream positions it has reached, committed after each Kafka transaction.

Positions are named ``{topic}/{partition}``: for a partition of ``transactions`` the next offset whose
transaction the state holds, for a partition of ``labels`` the next label to apply, and
``journal@{topic}/{partition}`` the journal offset of the record that brought a transactions partition there
(where a replay of that partition starts reading). They are written with the state in one step
(:meth:`~features.state.StateStore.commit_unit`): in Redis in the MULTI/EXEC that writes the batch's entities;
in the embedded store in memory, made durable with the arenas by an atomic snapshot every few batches and at
shutdown. After a crash the embedded state is the last snapshot, positions included, and the journal replay
brings it to the committed batches.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from features import InMemoryStateStore, OnlineFeatureEngine, StateStore
from ingest.kafka import Partition

log = logging.getLogger("fraud.worker.state")


def snapshot_path(state_dir: Path, slot: int) -> Path:
    """Where the worker of ``slot`` keeps its embedded state."""
    return state_dir / f"state-{slot}.npz"


def position_name(partition: Partition) -> str:
    topic, number = partition
    return f"{topic}/{number}"


def journal_name(partition: Partition) -> str:
    return f"journal@{position_name(partition)}"


class WorkerState:
    """The online engine's store with its positions; snapshots and rebuilds the embedded store."""

    def __init__(
        self,
        make_engine: Callable[[StateStore | None], OnlineFeatureEngine],
        store: StateStore | None,
        snapshot_path: Path | None,
        snapshot_every: int,
    ) -> None:
        self._make_engine = make_engine
        self.snapshot_path = snapshot_path
        self.snapshot_every = snapshot_every
        self._batches_since_snapshot = 0
        # True from begin() to commit() or abort(): the embedded arenas may then hold changes beyond the positions.
        self._open = False
        self.engine = make_engine(store if store is not None else self._restored())

    @property
    def store(self) -> StateStore:
        return self.engine.store

    @property
    def embedded(self) -> bool:
        return isinstance(self.store, InMemoryStateStore)

    def _restored(self) -> StateStore | None:
        """The embedded store of the last snapshot, or None (a fresh store) when there is none."""
        path = self.snapshot_path
        if path is None or not path.exists():
            return None
        tag = self._make_engine(None).feature_set.version
        store = InMemoryStateStore.restore(path, tag)
        log.info("state restored", extra={"snapshot": str(path), "positions": len(store.positions())})
        return store

    def positions(self) -> dict[str, int]:
        return self.store.positions()

    def begin(self, watch: list[str] | None = None) -> None:
        self.store.begin_unit(watch or ())
        self._open = True

    def commit(self, positions: Mapping[str, int]) -> None:
        """Make the unit's state durable with ``positions``; snapshot the embedded store when it is due."""
        self.store.commit_unit(positions)
        self._open = False
        self._batches_since_snapshot += 1
        if self.embedded and self._batches_since_snapshot >= self.snapshot_every:
            self.snapshot()

    def release(self) -> None:
        """Close a unit in which nothing was computed (a replay found already done)."""
        if not self.embedded:
            self.store.abort_unit()
        self._open = False

    def abort(self) -> None:
        """Drop the unit; an embedded store changed in place is rebuilt from its last snapshot (the caller
        replays the journal from the positions it then has)."""
        self._open = False
        if not self.store.abort_unit():
            log.warning("state rebuilt from the last snapshot after an aborted batch")
            self.engine = self._make_engine(self._restored())
            self._batches_since_snapshot = 0

    def snapshot(self) -> None:
        """Write the embedded store and its positions, unless a batch is half applied (then the last snapshot
        and the journal are the durable state: a snapshot now would record changes its positions do not name)."""
        store = self.store
        if self._open:
            log.warning("no snapshot: a batch is half applied; the next start replays it from the journal")
            return
        if isinstance(store, InMemoryStateStore) and self.snapshot_path is not None:
            store.snapshot(self.snapshot_path, self.engine.feature_set.version)
            self._batches_since_snapshot = 0

"""The online engine: features from incremental per-entity state, one transaction or a micro-batch at a time.

Each transaction is read and applied in one step: its event joins its entities' buffers and its features
are computed from them, by the same kernel as offline, so the values equal the offline engine's (to
floating-point summation order, identical in practice). Fraud labels arrive later (:meth:`apply_label`) and
count in a terminal's fraud share from their report time on.

>>> from datetime import datetime, timezone
>>> from ingest.contract import Transaction
>>> from features.catalogue import baseline_feature_set
>>> engine = OnlineFeatureEngine(baseline_feature_set())
>>> tx = Transaction(transaction_id="t1", timestamp=datetime(2018, 4, 7, 10, tzinfo=timezone.utc),
...                  card_token="c1", customer_id="c1", terminal_id="m1", amount=12.5)
>>> row = engine.update_and_read(tx)
>>> engine.as_dict(row)["card_mean_amount_1d"]
12.5
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from enum import Enum
from operator import attrgetter
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from features.errors import FeatureInputError, StateConflictError
from features.frames import amounts, entity_keys, fraud_flags, require_columns, timestamps_us
from features.kernels import online_entity_batch, online_entity_one, set_label, time_flags, time_flags_batch
from features.plan import KEY_SEPARATOR, FeaturePlan, compile_plan
from features.spec import FeatureSet
from features.state.base import RouteBatch, StateBatch, StateStore
from features.state.memory import InMemoryStateStore
from ingest.contract import Label, Transaction

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_US: Final = timedelta(microseconds=1)
#: Attempts at a batch when another worker keeps changing the same entities (shared stores only).
MAX_ATTEMPTS: Final = 20


def _key_getter(columns: tuple[str, ...]) -> Callable[[Transaction], str]:
    """How to read an entity's key from a single transaction (the same string as :func:`entity_keys`)."""
    unknown = [c for c in columns if c not in Transaction.model_fields]
    if unknown:
        raise FeatureInputError(f"entity columns {unknown} are not fields of a transaction; use contract columns")

    def text(tx: Transaction, column: str) -> str:
        value = getattr(tx, column)
        return value.value if isinstance(value, Enum) else str(value)

    if len(columns) == 1:
        column = columns[0]
        if column in ("channel", "entry_mode"):
            return lambda tx: text(tx, column)
        return attrgetter(column)
    return lambda tx: KEY_SEPARATOR.join(text(tx, c) for c in columns)


class OnlineFeatureEngine:
    """Read-and-update feature computation over a state store (embedded by default, or shared Redis)."""

    def __init__(self, feature_set: FeatureSet, store: StateStore | None = None) -> None:
        self.feature_set = feature_set
        self.store: StateStore = store if store is not None else InMemoryStateStore()
        self._plan: FeaturePlan = compile_plan(feature_set)
        self._label_kinds = tuple(p.entity.name for p in self._plan.label_entities)
        if self._plan.label_entities:
            self.store.route_horizon_us = max(p.horizon_us for p in self._plan.label_entities)
        # Event ids only need to be unique within one entity's buffer; a random base per engine keeps the
        # ids of several workers sharing a store apart, and a counter makes them cheap.
        self._next_event_id = secrets.randbits(62)
        self._key_getters = [_key_getter(plan.entity.columns) for plan in self._plan.entities]
        self.labels_applied = 0
        self.labels_ignored = 0
        # Fraud labels held until the stream reaches their report time (schedule_labels), sorted by that time.
        self._held_at: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._held_ids: list[str] = []

    @property
    def names(self) -> tuple[str, ...]:
        """The feature names, in the order of every row this engine returns."""
        return self.feature_set.names

    def as_dict(self, row: NDArray[np.float64]) -> dict[str, float]:
        """A feature row as {name: value}."""
        return dict(zip(self.feature_set.names, row.tolist(), strict=True))

    def update_and_read(self, tx: Transaction) -> NDArray[np.float64]:
        """Apply one transaction to the state and return its features (1-D, ``feature_set.names`` order)."""
        keys = [getter(tx) for getter in self._key_getters]
        t = (tx.timestamp - _EPOCH) // _US
        if isinstance(self.store, InMemoryStateStore):
            return self._update_and_read_embedded(self.store, tx.transaction_id, t, tx.amount, keys)
        ts = np.array([t], dtype=np.int64)
        amount = np.array([tx.amount], dtype=np.float64)
        by_kind = {plan.entity.name: [key] for plan, key in zip(self._plan.entities, keys, strict=True)}
        row: NDArray[np.float64] = self._run(by_kind, ts, amount, [tx.transaction_id])[0]
        return row

    def _update_and_read_embedded(
        self, store: InMemoryStateStore, tx_id: str, t: int, amount: float, keys: list[str]
    ) -> NDArray[np.float64]:
        # The latency path: scalars straight into the kernel, no batch objects.
        out = np.zeros(self._plan.n_features, dtype=np.float64)
        time_flags(t, self._plan.time_params, out)
        eid = self._next_event_id
        self._next_event_id += 1
        routes: dict[str, str] = {}
        for plan, key in zip(self._plan.entities, keys, strict=True):
            kind = plan.entity.name
            slot = store.slot_of(kind, key)
            arena = store.arena(kind)
            while not online_entity_one(
                arena.ts, arena.amount, arena.label_time, arena.event_id, arena.count, slot,
                t, amount, eid, plan.params, plan.horizon_us, plan.latest_only, out,
            ):  # fmt: skip
                arena.widen()
            if plan.needs_labels:
                routes[kind] = key
        if routes:
            store.add_route(tx_id, eid, t, routes)
        return out

    def update_and_read_batch(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        """Apply a micro-batch in row order (each row sees the rows before it) and return [rows, features]."""
        needed = {"transaction_id", "timestamp", "amount"} | {c for p in self._plan.entities for c in p.entity.columns}
        require_columns(frame, needed, "transactions")
        if len(frame) == 0:
            return np.zeros((0, self._plan.n_features), dtype=np.float64)
        strings: dict[str, list[str]] = {}
        keys = {plan.entity.name: entity_keys(frame, plan.entity, strings) for plan in self._plan.entities}
        tx_ids = frame["transaction_id"].astype(str).tolist()
        ts, amount = timestamps_us(frame["timestamp"]), amounts(frame["amount"])
        if not len(self._held_at):
            return self._run(keys, ts, amount, tx_ids)
        # Held labels split the batch: each is applied right before the first row at or after its report time.
        reach = np.maximum.accumulate(ts)
        due = int(np.searchsorted(self._held_at, reach[-1], side="right"))
        points = np.searchsorted(reach, self._held_at[:due], side="left")
        out = np.empty((len(ts), self._plan.n_features), dtype=np.float64)
        start = 0
        for point in [*np.unique(points).tolist(), len(ts)]:
            if point > start:
                part = {kind: values[start:point] for kind, values in keys.items()}
                out[start:point] = self._run(part, ts[start:point], amount[start:point], tx_ids[start:point])
                start = point
            if point < len(ts):
                at = np.flatnonzero(points == point)
                self._apply([self._held_ids[i] for i in at.tolist()], [True] * len(at), self._held_at[at].tolist())
        self._held_at, self._held_ids = self._held_at[due:], self._held_ids[due:]
        return out

    def schedule_labels(self, labels: pd.DataFrame) -> None:
        """Hold fraud labels (transaction_id, is_fraud, reported_at) until the stream reaches them: each is applied
        inside :meth:`update_and_read_batch`, right before the first transaction at or after its report time,
        which is where a run that applied labels transaction by transaction would have applied it. A stream
        worker schedules the labels due in a micro-batch and the batch is processed in one call. Genuine labels
        change no feature and are not held."""
        require_columns(labels, ["transaction_id", "is_fraud", "reported_at"], "labels")
        frauds = labels[fraud_flags(labels["is_fraud"])]
        self.labels_ignored += len(labels) - len(frauds)
        if frauds.empty:
            return
        at = np.concatenate([self._held_at, timestamps_us(frauds["reported_at"])])
        ids = [*self._held_ids, *frauds["transaction_id"].astype(str).tolist()]
        order = np.argsort(at, kind="stable")
        self._held_at, self._held_ids = at[order], [ids[i] for i in order.tolist()]

    @property
    def scheduled_labels(self) -> int:
        """How many scheduled labels the stream has not reached yet."""
        return len(self._held_ids)

    def apply_scheduled_labels(self) -> int:
        """Apply every scheduled label now (the stream will not reach them in this batch); returns how many
        reached the state."""
        ids, at = self._held_ids, self._held_at.tolist()
        self._held_at, self._held_ids = np.zeros(0, dtype=np.int64), []
        return self._apply(ids, [True] * len(ids), at) if ids else 0

    def _run(
        self, keys: dict[str, list[str]], ts: NDArray[np.int64], amount: NDArray[np.float64], tx_ids: list[str]
    ) -> NDArray[np.float64]:
        eids = np.arange(self._next_event_id, self._next_event_id + len(tx_ids), dtype=np.int64)
        self._next_event_id += len(tx_ids)
        for _ in range(MAX_ATTEMPTS):
            batch = self.store.begin(keys)
            try:
                out = self._compute(batch, ts, amount, eids)
                self._add_routes(batch, keys, ts, eids, tx_ids)
                self.store.commit(batch)
            except StateConflictError:
                continue
            except BaseException:
                self.store.abort(batch)
                raise
            return out
        raise StateConflictError(
            f"the batch kept conflicting with other workers {MAX_ATTEMPTS} times; partition transactions by card "
            "so that one worker owns each card"
        )

    def _compute(
        self, batch: StateBatch, ts: NDArray[np.int64], amount: NDArray[np.float64], eids: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        n = ts.shape[0]
        out = np.zeros((n, self._plan.n_features), dtype=np.float64)
        time_flags_batch(ts, self._plan.time_params, out)
        for plan in self._plan.entities:
            arena = batch.arenas[plan.entity.name]
            slots = batch.slots[plan.entity.name]
            done = 0
            while True:
                done = online_entity_batch(
                    arena.ts, arena.amount, arena.label_time, arena.event_id, arena.count, slots,
                    ts, amount, eids, plan.params, plan.horizon_us, plan.latest_only, out, done,
                )  # fmt: skip
                if done == n:
                    break
                arena.widen()
        return out

    def _add_routes(
        self,
        batch: StateBatch,
        keys: dict[str, list[str]],
        ts: NDArray[np.int64],
        eids: NDArray[np.int64],
        tx_ids: list[str],
    ) -> None:
        if self._label_kinds:
            batch.routes = RouteBatch(
                transaction_ids=tx_ids,
                event_ids=eids.tolist(),
                ts_us=ts.tolist(),
                keys={kind: keys[kind] for kind in self._label_kinds},
            )

    def evict_idle(self, now: datetime, lateness: timedelta = timedelta(0)) -> dict[str, int]:
        """Forget the entities whose newest event is too old to count in any feature of a transaction at
        ``now`` or up to ``lateness`` before it; returns how many were forgotten per entity kind.

        Their features read the same afterwards (an empty window), so memory stays bounded by the active
        entities. Only the embedded store holds state here; a Redis store expires entities on its own
        (``entity_ttl_s``), and nothing is evicted from it.
        """
        if not isinstance(self.store, InMemoryStateStore):
            return {}
        now_us = (now - _EPOCH) // _US - (lateness // _US)
        return {
            plan.entity.name: self.store.evict_idle(plan.entity.name, now_us - plan.horizon_us)
            for plan in self._plan.entities
        }

    def apply_label(self, label: Label) -> bool:
        """Record a fraud label; True when it reached the state (a fraud whose transaction is still held)."""
        reported = (label.reported_at - _EPOCH) // _US
        return self._apply([label.transaction_id], [label.is_fraud], [reported]) == 1

    def apply_labels(self, labels: pd.DataFrame) -> int:
        """Record a batch of labels (transaction_id, is_fraud, reported_at); returns how many reached the state."""
        require_columns(labels, ["transaction_id", "is_fraud", "reported_at"], "labels")
        return self._apply(
            labels["transaction_id"].astype(str).tolist(),
            fraud_flags(labels["is_fraud"]).tolist(),
            timestamps_us(labels["reported_at"]).tolist(),
        )

    def _apply(self, tx_ids: Sequence[str], is_fraud: Sequence[bool], reported: Sequence[int]) -> int:
        # Only frauds change the fraud share: a "genuine" report leaves an event as it is.
        wanted = [(t, r) for t, f, r in zip(tx_ids, is_fraud, reported, strict=True) if f]
        self.labels_ignored += len(tx_ids) - len(wanted)
        if not wanted or not self._label_kinds:
            self.labels_ignored += len(wanted)
            return 0
        routes = self.store.routes([t for t, _ in wanted])
        targets: list[tuple[str, str, int, int]] = []
        for (_, when), route in zip(wanted, routes, strict=True):
            if route is None:
                self.labels_ignored += 1
                continue
            targets += [(kind, key, route.event_id, when) for kind, key in route.keys]
        if not targets:
            return 0
        requests: dict[str, list[str]] = {}
        for kind, key, _, _ in targets:
            requests.setdefault(kind, []).append(key)
        for _ in range(MAX_ATTEMPTS):
            batch = self.store.begin(requests)
            try:
                reached = self._set_labels(batch, requests, targets)
                self.store.commit(batch)
            except StateConflictError:
                continue
            except BaseException:
                self.store.abort(batch)  # a shared store must not keep watching keys for a batch given up
                raise
            self.labels_applied += len(reached)
            return len(reached)
        raise StateConflictError(f"labels kept conflicting with other workers {MAX_ATTEMPTS} times; retry later")

    @staticmethod
    def _set_labels(
        batch: StateBatch, requests: dict[str, list[str]], targets: list[tuple[str, str, int, int]]
    ) -> set[int]:
        """Mark the targeted events of an opened batch as known frauds; returns the event ids reached."""
        position = dict.fromkeys(requests, 0)
        reached: set[int] = set()
        for kind, _, eid, when in targets:
            arena = batch.arenas[kind]
            slot = int(batch.slots[kind][position[kind]])
            position[kind] += 1
            if set_label(arena.label_time, arena.event_id, arena.count, slot, eid, when):
                reached.add(eid)
        return reached

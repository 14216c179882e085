"""The audit trail as the scoring service's and the stream worker's :class:`~scoring_api.sinks.DecisionSink`.

:class:`AuditRecorder` turns each event into the audit trail's own records and hands them to an
:class:`~monitoring.audit.writer.EventWriter` (the process's recording process, or a thread of it), which commits
what many request threads and handlers submitted in one transaction:

* a scored batch: one :class:`~monitoring.audit.DecisionBatch` (:func:`decision_batch`, built a column at a
  time from the batch's own columns; a few decisions, a single transaction's, as events: :func:`scored_items`),
  which is recorded as one :class:`~monitoring.audit.DecisionEvent` per newly
  taken decision (a replayed answer was recorded when it was taken), with the raw contract fields as scored, the
  model input by name (the exact float32 values), the answering model, backend and role, the decision
  configuration's version, the score, outcome, rules and reason codes, and the card as BIN and last four when it
  came as a number;
* an access, granted or denied: an :class:`~monitoring.audit.AccessEvent` with the PCI DSS 10.2.2 fields;
* a deployment change: a :class:`~monitoring.audit.DeploymentEvent` (moves of the champion alias, promotion and
  rollback, are recorded by the registry itself through its audit sink, with the same actor, reason and ticket,
  so they are not recorded twice);
* a decision-configuration change: a :class:`~monitoring.audit.DecisionConfigEvent` with the whole document.

Fail closed: inside a request's :mod:`recording scope <scoring_api.recording.scope>` the events are staged
there, submitted together when the answer is about to go out, and awaited before it does; elsewhere
:meth:`AuditRecorder.batch_scored` and the others return only once the records are committed, and raise when
they cannot be (:meth:`AuditRecorder.submit_scored` returns the commit's future instead, which the stream worker
waits for before it publishes the batch). Events whose commit failed for a reason that may pass
(the database unreachable, a lock timeout) are kept and submitted again ahead of the next ones (and by
:meth:`AuditRecorder.retry`), so a decision that was refused an answer still reaches the trail, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import operator
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa

from ingest.contract import TRANSACTION_COLUMNS, Transaction
from monitoring.audit.decision_batch import FIXED_FIELDS, REASON_TYPE, TIME_TYPE, DecisionBatch, json_column
from monitoring.audit.encoding import AuditItem
from monitoring.audit.errors import AuditError, AuditStoreError
from monitoring.audit.events import AccessEvent, DecisionConfigEvent, DecisionEvent, DeploymentEvent
from monitoring.audit.log import AppendResult
from monitoring.audit.writer import EventWriter
from scoring_api.decisions.reasons import audit_reasons
from scoring_api.recording.scope import current_scope
from scoring_api.records import ModelRole, Outcome, ReasonCode
from scoring_api.sinks import (
    AccessEvent as ServiceAccess,
)
from scoring_api.sinks import (
    BatchScored,
    DecisionConfigAction,
    DecisionConfigChanged,
    DeploymentAction,
    DeploymentChanged,
)

logger = logging.getLogger(__name__)

#: Alias moves the registry records itself (through its audit sink), so the service does not record them again.
REGISTRY_RECORDED: Final = frozenset({DeploymentAction.PROMOTED, DeploymentAction.ROLLED_BACK})
_ALIAS: Final = {
    DeploymentAction.CHAMPION_LOADED: "champion",
    DeploymentAction.PROMOTED: "champion",
    DeploymentAction.ROLLED_BACK: "champion",
    DeploymentAction.CANARY_STARTED: "canary",
    DeploymentAction.CANARY_STOPPED: "canary",
    DeploymentAction.CANARY_ROLLED_BACK: "canary",
    DeploymentAction.SHADOW_STARTED: "shadow",
    DeploymentAction.SHADOW_STOPPED: "shadow",
}
_CONFIG_ACTION: Final = {DecisionConfigAction.DRAFTED: "created", DecisionConfigAction.ACTIVATED: "activated"}
#: Events kept for a second try at most (beyond, the oldest are reported lost in the log, loudly).
MAX_UNRECORDED: Final = 1_000_000


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


#: Values recorded as they are (by exact type: a string enumeration is recorded by its value).
_PLAIN: Final = frozenset({str, int, float, bool, type(None)})


def _scalar(value: Any) -> str | int | float | bool | None:
    if type(value) in _PLAIN:
        return value  # type: ignore[no-any-return]
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return _iso(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _iso_column(series: pd.Series) -> list[str]:
    """:func:`_iso` of each time of a column, formatted by NumPy at once when the column is in UTC (the
    contract's times are): the same text, microseconds left out when there are none."""
    if str(series.dt.tz) != "UTC":
        return [_iso(t.to_pydatetime()) for t in series]
    microseconds = series.dt.tz_localize(None).to_numpy().astype("datetime64[us]")
    texts: list[str] = np.datetime_as_string(microseconds, unit="us").tolist()
    return [text[:-7] + "+00:00" if text.endswith(".000000") else text + "+00:00" for text in texts]


def contract_columns(scored: pd.DataFrame | Transaction | None) -> dict[str, list[str | int | float | bool | None]]:
    """The contract fields of the newly scored transactions as JSON values (times in ISO 8601, UTC), column by
    column, the same for the single-transaction path and the batch path."""
    if scored is None:
        return {column: [] for column in TRANSACTION_COLUMNS}
    if isinstance(scored, Transaction):
        fields = vars(scored)  # the model's field values, without pydantic's per-attribute access
        return {column: [_scalar(fields[column])] for column in TRANSACTION_COLUMNS}
    return {column: _column_values(scored[column], column) for column in TRANSACTION_COLUMNS}


def _column_values(series: pd.Series, column: str) -> list[Any]:
    if column == "timestamp":
        return _iso_column(series)
    if column == "amount":
        return list(series.to_numpy(dtype="float64").tolist())
    values = series.tolist()
    # A column of plain values (the common case: strings) is taken as it is, checked at C speed.
    return values if set(map(type, values)) <= _PLAIN else [_scalar(v) for v in values]


def contract_struct(scored: pd.DataFrame | Transaction | None) -> pa.StructArray:
    """:func:`contract_columns` as the struct a :class:`~monitoring.audit.DecisionBatch` records them in. A
    frame's text columns are taken by Arrow at C speed when they hold only text (and missing values: null, as
    ``None`` is); any other goes through :func:`contract_columns`' conversion."""
    if not isinstance(scored, pd.DataFrame):
        columns = contract_columns(scored)
        return pa.StructArray.from_arrays(
            [json_column(name, values) for name, values in columns.items()], names=list(columns)
        )
    return pa.StructArray.from_arrays(
        [_frame_array(scored[column], column) for column in TRANSACTION_COLUMNS], names=list(TRANSACTION_COLUMNS)
    )


def _frame_array(series: pd.Series, column: str) -> pa.Array:
    if column == "amount":
        return pa.array(series.to_numpy(dtype="float64"), pa.float64())
    if column != "timestamp" and isinstance(series.dtype, pd.StringDtype) and not series.hasnans:
        return pa.array(series.array).cast(pa.string())  # pandas' text column, handed over as it is
    if column != "timestamp" and series.dtype == object:
        with contextlib.suppress(pa.ArrowInvalid, pa.ArrowTypeError):
            # A string enumeration's member is text holding its value; a NaN is refused (it is not a JSON value).
            return pa.array(series.to_numpy(), pa.string(), from_pandas=False)
    return json_column(column, _column_values(series, column))


def contract_rows(scored: pd.DataFrame | Transaction | None) -> list[dict[str, str | int | float | bool | None]]:
    """:func:`contract_columns` row by row."""
    columns = contract_columns(scored)
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


#: Each enumeration member's recorded value, looked up rather than read through the member's property.
_VALUES: Final[dict[Enum, str]] = {member: str(member.value) for kind in (Outcome, ModelRole) for member in kind}


def decision_batch(
    event: BatchScored, *, backend: str, card_displays: Mapping[str, str] | None = None
) -> DecisionBatch | None:
    """The decisions the batch took, one row each (replayed answers were recorded when first taken; None when
    there are none): the raw contract fields as scored, the model input by name (the exact float32 values), the
    answering model, backend and role, the decision configuration's version, the score, outcome, rules and reason
    codes, and the card as BIN and last four when it came as a number. Built a column at a time from the batch's
    own columns (it runs on the scoring path)."""
    batch = event.batch
    decisions = batch.new_decisions
    if not decisions:
        return None
    count = len(decisions)
    # Every field the batch records, read from each decision's attribute dictionary at C speed, then transposed.
    (decided_at, decision_ids, transaction_ids, tokens, models, versions, scores, outcomes, reasons, rules, roles) = (
        zip(*map(_DECISION_FIELDS, map(vars, decisions)), strict=True)
    )
    inputs = contract_struct(batch.scored)
    names = list(batch.model_input.names)
    by_feature = np.ascontiguousarray(batch.model_input.values.T, dtype=np.float64)  # float32 -> float64: exact
    features = pa.StructArray.from_arrays([pa.array(column) for column in by_feature], names=names)
    displays = card_displays or {}
    arrays = [
        pa.array(decided_at, TIME_TYPE),
        pa.array(decision_ids, pa.string()),
        pa.array(transaction_ids, pa.string()),
        pa.array(tokens, pa.string()),
        inputs,
        features,
        pa.array(models, pa.string()),
        pa.array(list(map(str, versions)), pa.string()),
        pa.array(scores, pa.float64()),
        pa.array(list(map(_VALUES.__getitem__, outcomes)), pa.string()),
        _reasons(reasons),
        pa.array(rules, FIXED_FIELDS["rules"].type) if any(rules) else _no_rules(count),
        pa.repeat(pa.scalar(backend, pa.string()), count),
        pa.array(list(map(_VALUES.__getitem__, roles)), pa.string()),
        pa.repeat(pa.scalar(event.source, pa.string()), count),
        pa.array([displays.get(token) for token in tokens] if displays else [None] * count, pa.string()),
    ]
    return DecisionBatch.from_arrays(arrays)


def decision_events(
    event: BatchScored, *, backend: str, card_displays: Mapping[str, str] | None = None
) -> list[DecisionEvent]:
    """The same records as :func:`decision_batch`, one event per decision: cheaper for a few decisions (a
    single transaction's), where building an Arrow table's dozens of arrays costs far more than the events."""
    batch = event.batch
    rows, values = contract_rows(batch.scored), batch.model_input.values.tolist()  # float32 -> float: exact
    names, displays = batch.model_input.names, card_displays or {}
    return [
        DecisionEvent(
            occurred_at=decision.decided_at,
            decision_id=decision.decision_id,
            transaction_id=decision.transaction_id,
            card_token=decision.card_token,
            input=rows[k],
            features=dict(zip(names, values[k], strict=True)),
            model_content_id=decision.model_version,
            decision_config_version=str(decision.decision_config_version),
            score=decision.score,
            decision=_VALUES[decision.outcome],
            reasons=audit_reasons(decision.reasons),
            rules=decision.rules_fired,
            backend=backend,
            deployment=_VALUES[decision.model_role],
            source=event.source,
            card_display=displays.get(decision.card_token),
        )
        for k, decision in enumerate(batch.new_decisions)
    ]


def scored_items(
    event: BatchScored, *, backend: str, card_displays: Mapping[str, str] | None = None
) -> list[AuditItem]:
    """What recording a scored batch submits: its decisions as one :class:`~monitoring.audit.DecisionBatch`, or,
    below :data:`COLUMNAR_FROM` decisions, as events (the records are the same, byte for byte)."""
    if len(event.batch.scored_positions) < COLUMNAR_FROM:
        return list(decision_events(event, backend=backend, card_displays=card_displays))
    batch = decision_batch(event, backend=backend, card_displays=card_displays)
    return [] if batch is None else [batch]


#: From how many decisions a batch is recorded as a table: a table costs about 0.65 ms to build whatever its
#: size, then some 4 us a decision; an event some 18 us (bench/audit.py, 2026-12-05).
COLUMNAR_FROM: Final = 48

_DECISION_FIELDS: Final = operator.itemgetter(
    "decided_at",
    "decision_id",
    "transaction_id",
    "card_token",
    "model_version",
    "decision_config_version",
    "score",
    "outcome",
    "reasons",
    "rules_fired",
    "model_role",
)


def _no_rules(count: int) -> pa.ListArray:
    return pa.ListArray.from_arrays(
        pa.array(np.zeros(count + 1, dtype=np.int32)), pa.array([], pa.string()), type=FIXED_FIELDS["rules"].type
    )


def _reasons(rows: Sequence[tuple[ReasonCode, ...]]) -> pa.ListArray:
    """Each decision's reason codes as the audit trail records them (:func:`audit_reasons`: the code is the model
    input's name)."""
    codes = list(itertools.chain.from_iterable(rows))
    names = pa.array([code.feature for code in codes], pa.string())
    contributions = pa.array([code.contribution for code in codes], pa.float64())
    items = pa.StructArray.from_arrays(
        [names, names, contributions, pa.array([code.text for code in codes], pa.string())],
        fields=list(REASON_TYPE),
    )
    offsets = np.zeros(len(rows) + 1, dtype=np.int32)
    np.cumsum(list(map(len, rows)), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), items, type=FIXED_FIELDS["reasons"].type)


def access_event(event: ServiceAccess) -> AccessEvent:
    """The PCI DSS 10.2.2 record of one access: who (the key's id, never the key), what kind of event, when,
    whether it succeeded, from where, and the resource."""
    if event.granted:
        kind = "read" if event.method in ("GET", "HEAD") else "write"
    else:
        kind = {401: "authentication_failure", 403: "authorization_failure"}.get(event.status, "refused")
    return AccessEvent(
        occurred_at=event.at,
        key_id=event.key_id,
        event_type=kind,
        success=event.granted,
        origin=event.origin or "unknown",
        resource=f"{event.method} {event.resource or event.path}",
        role=event.role,
        status=event.status,
        detail=event.reason or None,
    )


def deployment_event(event: DeploymentChanged) -> DeploymentEvent:
    """The audit record of a deployment change (the model it concerns: the new one, or the one that left)."""
    content_id = event.content_id or event.previous_content_id or ""
    return DeploymentEvent(
        occurred_at=event.at,
        actor=event.actor,
        reason=event.reason or None,
        ticket=event.ticket,
        action=event.action.value,
        alias=_ALIAS[event.action],
        content_id=content_id,
        previous_content_id=event.previous_content_id if event.content_id else None,
        automatic=event.automatic,
        details=dict(event.details),
    )


def decision_config_event(event: DecisionConfigChanged) -> DecisionConfigEvent:
    """The audit record of a drafted or activated configuration, with its whole document (what a replay of a
    decision taken under that version applies)."""
    previous = event.previous_active_version
    return DecisionConfigEvent(
        occurred_at=event.at,
        actor=event.actor,
        reason=event.reason or None,
        ticket=event.ticket,
        config_version=str(event.version),
        action=_CONFIG_ACTION[event.action],
        configuration=dict(event.document),
        previous_version=None if previous is None else str(previous),
    )


def _records(items: Sequence[AuditItem]) -> int:
    """How many records ``items`` make (a decision batch one per decision)."""
    return sum(len(item) if isinstance(item, DecisionBatch) else 1 for item in items)


def _may_pass(error: BaseException) -> bool:
    """Whether a failed commit may succeed later (the store), rather than never (an event it cannot record)."""
    return isinstance(error, AuditStoreError) or not isinstance(error, AuditError)


class AuditRecorder:
    """A :class:`~scoring_api.sinks.DecisionSink` that records every event in the audit trail (see the module
    docstring). ``backend`` is the engine backend the service scores on (a replay uses the same)."""

    def __init__(self, writer: EventWriter, *, backend: str, timeout_s: float = 30.0) -> None:
        self.writer = writer
        self.backend = backend
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._unrecorded: list[AuditItem] = []
        self._last_error: str | None = None

    # -- the sink --------------------------------------------------------------------------------------------

    def batch_scored(self, event: BatchScored) -> None:
        self.record(self._scored_items(event))

    def submit_scored(self, event: BatchScored) -> Future[AppendResult]:
        """:meth:`batch_scored` without waiting: the batch's decisions are submitted (after the events waiting for
        a second try) and the commit's future returned, so that the stream worker prepares the batch's outputs
        while they are committed, and waits for them only before it publishes."""
        return self.submit(self._scored_items(event))

    def _scored_items(self, event: BatchScored) -> list[AuditItem]:
        """The batch's decisions as recorded, with the cards the request's scope presented by number."""
        scope = current_scope()
        displays = None if scope is None else scope.card_displays
        return scored_items(event, backend=self.backend, card_displays=displays)

    def deployment_changed(self, event: DeploymentChanged) -> None:
        if event.action not in REGISTRY_RECORDED:
            self.record([deployment_event(event)])

    def decision_config_changed(self, event: DecisionConfigChanged) -> None:
        self.record([decision_config_event(event)])

    def access(self, event: ServiceAccess) -> None:
        self.record([access_event(event)])

    # -- recording -------------------------------------------------------------------------------------------

    def record(self, events: Sequence[AuditItem]) -> None:
        """Record ``events``: inside a request's scope they are staged there (the answer waits for them),
        elsewhere this call waits until they are committed."""
        if not events:
            return
        scope = current_scope()
        if scope is None:
            self.submit(events).result(timeout=self.timeout_s)
        else:
            scope.stage(self, events)

    def submit(self, events: Sequence[AuditItem]) -> Future[AppendResult]:
        """Submit ``events`` (after those waiting for a second try) from any thread, without waiting."""
        batch = self._with_unrecorded(events)
        future = self.writer.submit(batch)
        future.add_done_callback(lambda done: self._settled(done, batch))
        return future

    def submit_async(self, events: Sequence[AuditItem]) -> asyncio.Future[AppendResult]:
        """:meth:`submit` from the running event loop (a request's scope), with a future of that loop."""
        batch = self._with_unrecorded(events)
        return self.writer.submit_async(batch, on_error=lambda error: self._failed(error, batch))

    def retry(self) -> int:
        """Submit the events whose commit failed again (the maintenance round calls it); how many were waiting.
        Raises when they still cannot be recorded."""
        with self._lock:
            waiting = _records(self._unrecorded)
        if waiting:
            self.submit([]).result(timeout=self.timeout_s)
        return waiting

    def problem(self) -> str | None:
        """None while every event reached the trail, else how many wait for a second try, and why."""
        with self._lock:
            if not self._unrecorded:
                return None
            return f"{_records(self._unrecorded)} audit events wait to be recorded: {self._last_error}"

    def close(self) -> None:
        """Record what waits (one last try), then stop the writer."""
        try:
            self.retry()
        except Exception:  # reported, with how many events are lost, and the writer is stopped anyway
            logger.exception("%s audit events could not be recorded before shutdown", _records(self._unrecorded))
        self.writer.close(self.timeout_s)

    def _with_unrecorded(self, events: Sequence[AuditItem]) -> list[AuditItem]:
        with self._lock:
            batch, self._unrecorded = [*self._unrecorded, *events], []
        return batch

    def _settled(self, future: Future[AppendResult], batch: list[AuditItem]) -> None:
        error = future.exception()
        if error is not None:
            self._failed(error, batch)

    def _failed(self, error: BaseException, batch: list[AuditItem]) -> None:
        """Keep the events of a failed commit for a second try, unless the failure will never pass."""
        if not _may_pass(error):
            logger.error("audit events could not be recorded and will not be retried: %s", error)
            return
        with self._lock:
            self._last_error = f"{type(error).__name__}: {error}"
            self._unrecorded[:0] = batch
            overflow, excess, dropped = 0, _records(self._unrecorded) - MAX_UNRECORDED, 0
            while overflow < excess:  # the oldest go first, a batch whole
                overflow += _records(self._unrecorded[dropped : dropped + 1])
                dropped += 1
            del self._unrecorded[:dropped]
        logger.error("recording %d audit events failed (%s); they will be submitted again", _records(batch), error)
        if overflow > 0:
            logger.critical("%d audit events were lost: the audit store has been failing for too long", overflow)

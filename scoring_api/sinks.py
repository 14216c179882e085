"""Where the scoring service reports what it does: every scored batch, every deployment and decision
configuration change, and every access, granted or denied.

A :class:`DecisionSink` receives typed events; the packages below the service (the audit trail, the drift
monitors) implement sinks of their own that convert these events into their records. Until they exist,
:class:`LogSink` writes each event as one structured JSON log line. Sinks are called synchronously, on the path
that produced the event: an exception in a sink propagates (a decision that cannot be recorded is not answered
as if it had been).

>>> import logging
>>> sink = LogSink(logging.getLogger("doctest.events"))
>>> sink.access(AccessEvent(at=utc_now(), granted=False, status=401, method="POST", path="/v1/score",
...                         reason="missing API key"))
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

import orjson

from ingest.validation.masking import mask_value
from scoring_api.records import Decision, Rejection, ScoredBatch


def utc_now() -> datetime:
    """The current time in UTC (the clock every event carries)."""
    return datetime.now(UTC)


@dataclass(frozen=True, eq=False)
class BatchScored:
    """A batch went through the scorer: its decisions (new and replayed), rejections, and model input."""

    at: datetime
    #: Where the batch came from: ``api``, ``stream``, ``demo``...
    source: str
    batch: ScoredBatch


class DeploymentAction(StrEnum):
    CHAMPION_LOADED = "champion_loaded"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"
    CANARY_STARTED = "canary_started"
    CANARY_STOPPED = "canary_stopped"
    CANARY_ROLLED_BACK = "canary_rolled_back"
    SHADOW_STARTED = "shadow_started"
    SHADOW_STOPPED = "shadow_stopped"


@dataclass(frozen=True)
class DeploymentChanged:
    """A model started or stopped serving in some role."""

    at: datetime
    action: DeploymentAction
    content_id: str | None
    previous_content_id: str | None
    actor: str
    reason: str = ""
    automatic: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    #: The change ticket the admin gave, if any.
    ticket: str | None = None


class DecisionConfigAction(StrEnum):
    DRAFTED = "drafted"
    ACTIVATED = "activated"


@dataclass(frozen=True)
class DecisionConfigChanged:
    """A decision configuration version was drafted or activated."""

    at: datetime
    action: DecisionConfigAction
    version: int
    previous_active_version: int | None
    actor: str
    document: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    ticket: str | None = None


@dataclass(frozen=True)
class AccessEvent:
    """One request's access decision: who (key id and role, when known), what, and whether it was granted."""

    at: datetime
    granted: bool
    status: int
    method: str
    path: str
    key_id: str | None = None
    role: str | None = None
    origin: str | None = None
    reason: str = ""
    #: The path as requested (``path`` is the route's template): the affected resource, e.g. which decision.
    resource: str | None = None


class DecisionSink(Protocol):
    """What the scorer and the service report to (the audit trail and the monitors implement it)."""

    def batch_scored(self, event: BatchScored) -> None: ...

    def deployment_changed(self, event: DeploymentChanged) -> None: ...

    def decision_config_changed(self, event: DecisionConfigChanged) -> None: ...

    def access(self, event: AccessEvent) -> None: ...


class Sinks:
    """Several sinks as one: each event goes to every sink, in order."""

    def __init__(self, sinks: Sequence[DecisionSink]) -> None:
        self.sinks = tuple(sinks)

    def batch_scored(self, event: BatchScored) -> None:
        for sink in self.sinks:
            sink.batch_scored(event)

    def deployment_changed(self, event: DeploymentChanged) -> None:
        for sink in self.sinks:
            sink.deployment_changed(event)

    def decision_config_changed(self, event: DecisionConfigChanged) -> None:
        for sink in self.sinks:
            sink.decision_config_changed(event)

    def access(self, event: AccessEvent) -> None:
        for sink in self.sinks:
            sink.access(event)


def _decision_fields(decision: Decision) -> dict[str, Any]:
    return {
        "decision_id": decision.decision_id,
        "transaction_id": decision.transaction_id,
        "card_token": decision.card_token,
        "score": round(decision.score, 6),
        "outcome": decision.outcome.value,
        "decided_by": decision.decided_by,
        "rules_fired": list(decision.rules_fired),
        "reasons": [r.feature for r in decision.reasons],
        "model_version": decision.model_version,
        "model_role": decision.model_role.value,
        "decision_config_version": decision.decision_config_version,
        "replayed": decision.replayed,
    }


def _rejection_fields(rejection: Rejection) -> dict[str, Any]:
    return {"transaction_id": rejection.transaction_id, "reasons": list(rejection.reasons)}


class LogSink:
    """Each event as one JSON line on a logger (``scoring_api.events`` by default), card numbers masked.

    Decisions and denied accesses log at INFO and WARNING; granted accesses at DEBUG (one per request).
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger("scoring_api.events")

    def _emit(self, level: int, event: str, at: datetime, fields: dict[str, Any]) -> None:
        if self.logger.isEnabledFor(level):
            line = {"event": event, "at": at.isoformat(), **fields}
            self.logger.log(level, orjson.dumps(mask_value(line)).decode())

    def batch_scored(self, event: BatchScored) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        batch = event.batch
        self._emit(
            logging.INFO,
            "batch_scored",
            event.at,
            {
                "source": event.source,
                "decisions": [_decision_fields(d) for d in batch.decisions],
                "rejections": [_rejection_fields(r) for r in batch.rejections],
                "shadow": None
                if batch.shadow is None
                else {
                    "model_version": batch.shadow.model_version,
                    "error": batch.shadow.error,
                    "scores": [round(float(s), 6) for s in batch.shadow.scores],
                },
            },
        )

    def deployment_changed(self, event: DeploymentChanged) -> None:
        fields = {
            "action": event.action.value,
            "content_id": event.content_id,
            "previous_content_id": event.previous_content_id,
            "actor": event.actor,
            "reason": event.reason,
            "ticket": event.ticket,
            "automatic": event.automatic,
            "details": event.details,
        }
        self._emit(logging.INFO, "deployment_changed", event.at, fields)

    def decision_config_changed(self, event: DecisionConfigChanged) -> None:
        fields = {
            "action": event.action.value,
            "version": event.version,
            "previous_active_version": event.previous_active_version,
            "actor": event.actor,
            "reason": event.reason,
            "ticket": event.ticket,
            "document": event.document,
        }
        self._emit(logging.INFO, "decision_config_changed", event.at, fields)

    def access(self, event: AccessEvent) -> None:
        fields = {
            "granted": event.granted,
            "status": event.status,
            "method": event.method,
            "path": event.path,
            "resource": event.resource,
            "key_id": event.key_id,
            "role": event.role,
            "origin": event.origin,
            "reason": event.reason,
        }
        self._emit(logging.DEBUG if event.granted else logging.WARNING, "access", event.at, fields)

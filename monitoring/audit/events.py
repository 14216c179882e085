"""The events the audit trail records: one typed, frozen record per kind.

The scoring service, the stream worker, the registry, the decision configuration and the alert workflow turn
their own records into these; :meth:`AuditLog.append <monitoring.audit.log.AuditLog.append>` takes any mix of
them. Each event names the columns it is filed under (``actor``, ``subject``, ``card_token``), which exports
filter on. Card numbers never appear in an event: cards are named by their token (and may be shown as BIN and
last four, ``card_display``); any value shaped like a card number is masked when the event is recorded.

A decision keeps everything a replay needs: the raw input fields as received (tokenised), the model input by
name exactly as scored, the model's content id and engine backend, and the decision configuration's version
(whose document a :class:`DecisionConfigEvent` records).

>>> event = AccessEvent(key_id="key_01", role="scorer", event_type="score", success=True,
...                     origin="10.0.0.7", resource="POST /v1/score")
>>> event.kind, filed_under(event)
('access', ('key_01', 'POST /v1/score', None))
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Final, Literal, Union, get_args, get_origin

from monitoring.audit.errors import AuditError

#: A raw input field's value: what a JSON transaction may carry.
JsonScalar = str | int | float | bool | None


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEvent:
    """What every event carries: when it happened. Subclasses set ``kind`` and the fields they are filed under."""

    kind: ClassVar[str] = ""
    #: The field naming who acted (a person, a service account, an API key id), if any.
    actor_field: ClassVar[str | None] = None
    #: The field naming what the event is about (decision id, model content id, alert id...).
    subject_field: ClassVar[str] = ""
    #: The field holding the card's token, for events about one card.
    card_field: ClassVar[str | None] = None
    occurred_at: datetime = field(default_factory=utc_now)


def filed_under(event: AuditEvent) -> tuple[str | None, str, str | None]:
    """The columns an event is filed under: who acted, what it is about, and the card (when about one)."""
    actor = None if event.actor_field is None else getattr(event, event.actor_field)
    card = None if event.card_field is None else getattr(event, event.card_field)
    return actor, str(getattr(event, event.subject_field)), card


@dataclass(frozen=True, slots=True, kw_only=True)
class ActorEvent(AuditEvent):
    """A change someone made on purpose: who, why, and under which change ticket."""

    actor_field: ClassVar[str | None] = "actor"
    actor: str
    reason: str | None = None
    ticket: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Reason:
    """One reason code of a decision: the feature that pushed the score, by how much, in words."""

    code: str
    feature: str
    contribution: float
    text: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DecisionEvent(AuditEvent):
    """A scored transaction and what was decided, with everything needed to replay it."""

    kind: ClassVar[str] = "decision"
    subject_field: ClassVar[str] = "decision_id"
    card_field: ClassVar[str | None] = "card_token"
    decision_id: str
    transaction_id: str
    card_token: str
    #: The raw contract fields as received (the card number already replaced by its token).
    input: Mapping[str, JsonScalar]
    #: The model input by name, exactly the values scored (replay feeds them back to the same model).
    features: Mapping[str, float]
    model_content_id: str
    decision_config_version: str
    score: float
    decision: str
    reasons: tuple[Reason, ...] = ()
    #: The decision rules that fired, in the order they were evaluated.
    rules: tuple[str, ...] = ()
    #: The engine backend that scored: a replay on the same backend reproduces the score bit for bit.
    backend: str = "numpy"
    #: Which deployment answered: champion, canary, or shadow (scored and recorded, never used).
    deployment: str = "champion"
    #: Where the transaction came from: the scoring API or the stream worker.
    source: str = "api"
    #: The card as it may be shown: BIN and last four digits (``411111******1111``), never the number.
    card_display: str | None = None

    def __post_init__(self) -> None:
        # JSON has no NaN or infinity (they would be stored as null): a replay needs the exact numbers scored.
        numbers = [self.score, *(r.contribution for r in self.reasons)]
        numbers += [v for v in self.input.values() if isinstance(v, float)]
        if not all(map(math.isfinite, numbers)):
            raise AuditError(f"decision {self.decision_id}: the score, reasons and input must be finite numbers")
        if not all(map(math.isfinite, self.features.values())):
            bad = sorted(name for name, value in self.features.items() if not math.isfinite(value))
            raise AuditError(f"decision {self.decision_id}: model inputs {bad} are not finite numbers")


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessEvent(AuditEvent):
    """One access to the service, with the fields PCI DSS requirement 10.2.2 asks for: user identification
    (the API key's id, never the key), type of event, date and time (``occurred_at``), success or failure,
    origination, and the affected resource."""

    kind: ClassVar[str] = "access"
    actor_field: ClassVar[str | None] = "key_id"
    subject_field: ClassVar[str] = "resource"
    key_id: str | None
    event_type: str
    success: bool
    origin: str
    resource: str
    role: str | None = None
    status: int | None = None
    #: Why it failed (``missing key``, ``wrong role``...), when it did.
    detail: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistrationEvent(ActorEvent):
    """A model version (its content id names the exact artifact files) entered the registry."""

    kind: ClassVar[str] = "registration"
    subject_field: ClassVar[str] = "content_id"
    content_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GateVerdictEvent(ActorEvent):
    """The gate judged a model version: blessed or refused."""

    kind: ClassVar[str] = "gate_verdict"
    subject_field: ClassVar[str] = "content_id"
    content_id: str
    blessed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentEvent(ActorEvent):
    """An alias or deployment moved (deploy, promote, rollback, shadow, canary), or a move was refused."""

    kind: ClassVar[str] = "deployment"
    subject_field: ClassVar[str] = "content_id"
    action: str
    alias: str
    content_id: str
    previous_content_id: str | None = None
    refused: bool = False
    #: Why the move was refused (the registry's message), when it was.
    refusal: str | None = None
    #: Whether a guardrail moved it (an automatic rollback) rather than a person.
    automatic: bool = False
    #: What else the change carried: a canary's share of cards, the guardrail figures that rolled it back, the
    #: process and backend that loaded a champion.
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceEvent(ActorEvent):
    """Evidence files were kept with a model version: relative name -> SHA-256."""

    kind: ClassVar[str] = "evidence"
    subject_field: ClassVar[str] = "content_id"
    content_id: str
    files: Mapping[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class DecisionConfigEvent(ActorEvent):
    """A decision configuration was created, activated or retired; the whole document is kept for replay."""

    kind: ClassVar[str] = "decision_config"
    subject_field: ClassVar[str] = "config_version"
    config_version: str
    action: str
    configuration: Mapping[str, Any]
    previous_version: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertActionEvent(ActorEvent):
    """An analyst (or the system) acted on a monitoring alert."""

    kind: ClassVar[str] = "alert_action"
    subject_field: ClassVar[str] = "alert_id"
    alert_id: str
    action: str
    state: str
    previous_state: str | None = None
    severity: str | None = None
    #: What the alert is about (its deduplication key), so repeated alerts on one condition can be found.
    fingerprint: str | None = None
    assignee: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionEvent(ActorEvent):
    """A month of records was moved to a compressed archive segment, or deleted past retention."""

    kind: ClassVar[str] = "retention"
    subject_field: ClassVar[str] = "month"
    action: Literal["archived", "deleted"]
    month: str
    first_seq: int
    last_seq: int
    records: int
    #: The hash of the month's last record: the chain goes on from it after the month is gone.
    last_hash: str
    segment: str | None = None
    segment_sha256: str | None = None


EVENT_TYPES: Final[dict[str, type[AuditEvent]]] = {
    cls.kind: cls
    for cls in (
        DecisionEvent,
        AccessEvent,
        RegistrationEvent,
        GateVerdictEvent,
        DeploymentEvent,
        EvidenceEvent,
        DecisionConfigEvent,
        AlertActionEvent,
        RetentionEvent,
    )
}
KINDS: Final = tuple(EVENT_TYPES)


def decode_event(kind: str, payload: Mapping[str, Any]) -> AuditEvent:
    """The typed event back from a record's kind and decoded payload."""
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        raise AuditError(f"unknown event kind {kind!r}; the kinds are {list(KINDS)}")
    return typing.cast(AuditEvent, _decode_dataclass(cls, payload))


def _decode_dataclass(cls: type[Any], values: Mapping[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    arguments = {f.name: _decode(hints[f.name], values[f.name]) for f in dataclasses.fields(cls) if f.name in values}
    return cls(**arguments)


def _decode(hint: Any, value: Any) -> Any:
    """``value`` (as JSON gave it back) in the type ``hint`` names: datetimes, tuples and nested records."""
    origin = get_origin(hint)
    if value is None:
        return None
    if hint is datetime:
        return datetime.fromisoformat(value)
    if dataclasses.is_dataclass(hint):
        return _decode_dataclass(typing.cast(type[Any], hint), value)
    if origin is tuple:
        item = get_args(hint)[0]
        return tuple(_decode(item, v) for v in value)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(hint) if a is not type(None)]
        return _decode(options[0], value) if len(options) == 1 else value
    return value

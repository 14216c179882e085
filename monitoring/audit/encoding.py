"""An event as it is stored: its JSON, screened for card numbers, and the columns it is filed under.

Encoding runs once per recorded event, on the scoring path: one ``orjson`` call, the card-number screen
(:func:`~monitoring.audit.card_numbers.screen`, a few microseconds for a decision), and the columns. Only the
text is kept: holding each batch's JSON bytes as well (for the hash) measured slower, the memory it holds
costing more than the encoding it saves.

>>> from monitoring.audit.events import AccessEvent
>>> [encoded] = encode_many([AccessEvent(key_id="key_1", event_type="read", success=True, origin="10.0.0.7",
...                                      resource="GET /v1/models")])
>>> encoded.kind, encoded.actor, encoded.subject, encoded.masked
('access', 'key_1', 'GET /v1/models', False)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import orjson

from monitoring.audit.card_numbers import mask_text, screen
from monitoring.audit.errors import AuditError
from monitoring.audit.events import AuditEvent, filed_under

if TYPE_CHECKING:
    from monitoring.audit.decision_batch import DecisionBatch

logger = logging.getLogger(__name__)

#: What may be recorded: one event, or a scored batch's decisions in columnar form (one record per decision).
AuditItem: TypeAlias = "AuditEvent | DecisionBatch"

_JSON_OPTIONS: Final = orjson.OPT_NAIVE_UTC


@dataclass(frozen=True, slots=True)
class EncodedEvent:
    """An event as it will be stored: its kind, the columns it is filed under and its screened JSON."""

    kind: str
    actor: str | None
    subject: str
    card_token: str | None
    payload: str
    masked: bool


def _json_default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} cannot be recorded; use str, numbers, booleans, lists and mappings")


def serialise(event: AuditEvent) -> bytes:
    """The event's JSON as it comes, before screening; :class:`AuditError` for what cannot be recorded."""
    if not isinstance(event, AuditEvent) or not event.kind:
        raise AuditError(f"append takes audit events (DecisionEvent, AccessEvent...), not {type(event).__name__}")
    try:
        return orjson.dumps(event, default=_json_default, option=_JSON_OPTIONS)
    except TypeError as error:
        raise AuditError(f"a {event.kind} event cannot be recorded: {error}") from None


def encode(event: AuditEvent) -> EncodedEvent:
    """One event as it is stored: its JSON (card numbers masked) and the columns it is filed under."""
    data = serialise(event)  # first: it refuses what is not an audit event
    actor, subject, card_token = filed_under(event)
    return encode_serialised(event.kind, actor, subject, card_token, data)


def encode_serialised(kind: str, actor: str | None, subject: str, card_token: str | None, data: bytes) -> EncodedEvent:
    """:func:`encode` of an event already serialised (:func:`serialise`) and filed (:func:`filed_under`): what a
    recording process does with what the scoring process sent it."""
    data, masked = screen(data)
    if masked:  # by the payload's own rule, so that a digest-like id (a decision id) stays findable
        actor = None if actor is None else mask_text(actor)
        subject = mask_text(subject)
        card_token = None if card_token is None else mask_text(card_token)
        logger.warning("a %s event (%s) held values shaped like card numbers; they were masked", kind, subject)
    return EncodedEvent(kind, actor, subject, card_token, data.decode(), bool(masked))


def encode_many(events: Iterable[AuditEvent]) -> list[EncodedEvent]:
    """Each event as it is stored."""
    return [encode(event) for event in events]


def encode_items(items: Iterable[AuditItem]) -> list[EncodedEvent]:
    """Each item as it is stored, in order: an event as one record, a decision batch as one record per row
    (:func:`~monitoring.audit.decision_batch.encode_decision_batch`)."""
    out: list[EncodedEvent] = []
    for item in items:
        if isinstance(item, AuditEvent):
            out.append(encode(item))
            continue
        from monitoring.audit.decision_batch import DecisionBatch, encode_decision_batch

        if not isinstance(item, DecisionBatch):
            raise AuditError(
                f"append takes audit events (DecisionEvent, AccessEvent...) and decision batches, "
                f"not {type(item).__name__}"
            )
        out += encode_decision_batch(item)
    return out

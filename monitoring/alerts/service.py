"""The alert workflow: raise (deduplicated), acknowledge, assign, note, resolve; page; record for audit.

>>> # service = AlertService(AlertStore(database), sink=audit_log, pager=WebhookPager(url))
>>> # alert = service.raise_alert(candidate); service.acknowledge(alert.id, actor="ana", note="looking")
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Final

from ingest.validation import mask_card_numbers
from monitoring.alerts.model import (
    Alert,
    AlertAction,
    AlertActionSink,
    AlertCandidate,
    AlertEvent,
    AlertKind,
    AlertState,
)
from monitoring.alerts.store import AlertStore
from monitoring.alerts.webhook import PagingError, WebhookPager
from monitoring.errors import MonitorInputError

#: The actor of the events monitoring itself causes (raising, paging).
SYSTEM_ACTOR: Final = "monitoring"
MAX_NOTE_LENGTH: Final = 4_000

logger = logging.getLogger(__name__)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class AlertService:
    """Alerts and what analysts do with them. Every action is stored in the alert's history and handed to
    ``sink`` (the audit trail) in the same transaction; ``pager`` is called for new and escalated alerts."""

    def __init__(
        self,
        store: AlertStore,
        sink: AlertActionSink,
        *,
        pager: WebhookPager | None = None,
        clock: Callable[[], str] = utc_now,
    ) -> None:
        self.store = store
        self._sink = sink
        self._pager = pager
        self._clock = clock

    def raise_alert(self, candidate: AlertCandidate) -> Alert:
        """Open an alert, or fold ``candidate`` into the unresolved one with its fingerprint."""
        event = self.store.raise_candidate(candidate, actor=SYSTEM_ACTOR, at=self._clock(), emit=self._emit)
        alert = self.store.get(event.alert_id)
        if event.action in (AlertAction.OPENED, AlertAction.ESCALATED):
            self._page(alert)
        return alert

    def acknowledge(self, alert_id: int, *, actor: str, note: str | None = None, assignee: str | None = None) -> Alert:
        return self._apply(alert_id, AlertAction.ACKNOWLEDGED, actor, note=note, assignee=assignee)

    def assign(self, alert_id: int, *, actor: str, assignee: str, note: str | None = None) -> Alert:
        return self._apply(alert_id, AlertAction.ASSIGNED, actor, note=note, assignee=_text(assignee, "assignee"))

    def add_note(self, alert_id: int, *, actor: str, note: str) -> Alert:
        return self._apply(alert_id, AlertAction.NOTED, actor, note=_text(note, "note"))

    def resolve(self, alert_id: int, *, actor: str, note: str) -> Alert:
        """Resolve an alert; the note (what was found, what was done) is required."""
        return self._apply(alert_id, AlertAction.RESOLVED, actor, note=_text(note, "resolution note"))

    def get(self, alert_id: int) -> Alert:
        return self.store.get(alert_id)

    def list_alerts(
        self, states: Sequence[AlertState] = (), *, kind: AlertKind | None = None, limit: int = 100, offset: int = 0
    ) -> list[Alert]:
        return self.store.list_alerts(states, kind=kind, limit=limit, offset=offset)

    def history(self, alert_id: int) -> list[AlertEvent]:
        return self.store.events(alert_id)

    def _apply(
        self, alert_id: int, action: AlertAction, actor: str, *, note: str | None = None, assignee: str | None = None
    ) -> Alert:
        actor = _text(actor, "actor")
        if note is not None:
            note = _text(note, "note")
        if assignee is not None:
            assignee = _text(assignee, "assignee")
        self.store.apply(alert_id, action, actor=actor, at=self._clock(), emit=self._emit, note=note, assignee=assignee)
        return self.store.get(alert_id)

    def _emit(self, event: AlertEvent) -> None:
        self._sink.record_alert_action(event)

    def _page(self, alert: Alert) -> None:
        if self._pager is None or not self._pager.wants(alert):
            return
        try:
            self._pager.page(alert)
        except PagingError as error:
            logger.warning("alert %s was not paged: %s", alert.id, error)
            self.store.apply(
                alert.id,
                AlertAction.PAGE_FAILED,
                actor=SYSTEM_ACTOR,
                at=self._clock(),
                emit=self._emit,
                note=str(error),
            )
            return
        self.store.apply(alert.id, AlertAction.PAGED, actor=SYSTEM_ACTOR, at=self._clock(), emit=self._emit)


def _text(value: str, what: str) -> str:
    value = value.strip() if isinstance(value, str) else ""
    if not value:
        raise MonitorInputError(f"the {what} must not be empty")
    if len(value) > MAX_NOTE_LENGTH:
        raise MonitorInputError(f"the {what} is {len(value)} characters; keep it under {MAX_NOTE_LENGTH}")
    # An analyst may paste a card number into a note: it is stored and audited masked, never in clear.
    return mask_card_numbers(value)

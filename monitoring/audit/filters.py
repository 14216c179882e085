"""Which records an export or a listing wants: a time range (recorded time, UTC) and optional filters.

The same filter runs as SQL on the main store and as a test on the records of archive segments, so an export
of a range that reaches into archived months gives what the same range gave before they were archived.

>>> from datetime import datetime, UTC
>>> only = AuditFilter(since=datetime(2026, 1, 1, tzinfo=UTC), kinds=("decision",))
>>> only.where()
('recorded_at >= ? AND kind IN (?)', ['2026-01-01T00:00:00.000000+00:00', 'decision'])
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitoring.audit.errors import ExportError
from monitoring.audit.events import KINDS
from monitoring.audit.records import AuditRecord, format_time


@dataclass(frozen=True)
class AuditFilter:
    """Records recorded in ``[since, until)`` of the given kinds, actor, subject and card token (None: any)."""

    since: datetime | None = None
    until: datetime | None = None
    kinds: tuple[str, ...] = ()
    actor: str | None = None
    subject: str | None = None
    card_token: str | None = None

    def __post_init__(self) -> None:
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown:
            raise ExportError(f"unknown event kinds {unknown}; the kinds are {list(KINDS)}")
        for name, moment in (("since", self.since), ("until", self.until)):
            if moment is not None and moment.tzinfo is None:
                raise ExportError(f"{name} must carry a time zone (e.g. 2026-01-01T00:00:00+00:00)")
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ExportError(f"the range is empty: until ({self.until}) is not after since ({self.since})")

    @property
    def since_text(self) -> str | None:
        return None if self.since is None else format_time(self.since)

    @property
    def until_text(self) -> str | None:
        return None if self.until is None else format_time(self.until)

    def where(self) -> tuple[str, list[Any]]:
        """The SQL condition (``?`` placeholders) and its parameters; ``1 = 1`` when nothing is filtered."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.since is not None:
            clauses.append("recorded_at >= ?")
            params.append(self.since_text)
        if self.until is not None:
            clauses.append("recorded_at < ?")
            params.append(self.until_text)
        if self.kinds:
            clauses.append(f"kind IN ({', '.join('?' * len(self.kinds))})")
            params.extend(self.kinds)
        for column in ("actor", "subject", "card_token"):
            value = getattr(self, column)
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        return (" AND ".join(clauses) or "1 = 1"), params

    def matches(self, record: AuditRecord) -> bool:
        since, until = self.since_text, self.until_text
        return (
            (since is None or record.recorded_at >= since)
            and (until is None or record.recorded_at < until)
            and (not self.kinds or record.kind in self.kinds)
            and (self.actor is None or record.actor == self.actor)
            and (self.subject is None or record.subject == self.subject)
            and (self.card_token is None or record.card_token == self.card_token)
        )

    def covers_month(self, month: str) -> bool:
        """Whether records recorded in ``month`` (``YYYY-MM``) may fall in the range."""
        since, until = self.since_text, self.until_text
        return (since is None or month >= since[:7]) and (until is None or month <= until[:7])

    def describe(self) -> dict[str, Any]:
        """The filter as plain values (for manifests)."""
        return {
            "since": self.since_text,
            "until": self.until_text,
            "kinds": list(self.kinds),
            "actor": self.actor,
            "subject": self.subject,
            "card_token": self.card_token,
        }

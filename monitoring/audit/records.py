"""One stored audit record, and the hash that chains it to the one before.

A record is an event as stored: its sequence number, when it was recorded, its kind, the columns it is filed
under (actor, subject, card token), the event as JSON (``payload``, the exact text that was hashed), the
previous record's hash and its own. Its hash is SHA-256 over the previous hash and every other column, so
changing any of them, moving a record to another position, or dropping one breaks the chain at that point.
The same records, and so the same hashes, are what the database, the archive segments and every export hold.

>>> first = AuditRecord.chained(GENESIS_HASH, 1, "2026-01-01T00:00:00.000000+00:00", "access", "key_1",
...                             "GET /v1/models", None, '{"success":true}')
>>> from dataclasses import replace
>>> first.intact(), replace(first, payload='{"success":false}').intact()
(True, False)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from monitoring.audit.events import AuditEvent, decode_event

#: The "previous hash" of the very first record of a log.
GENESIS_HASH: Final = "0" * 64
#: The stored columns, in order (the database's, and every export format's).
COLUMNS: Final = ("seq", "recorded_at", "kind", "actor", "subject", "card_token", "payload", "prev_hash", "hash")


def record_hash(
    prev_hash: str,
    seq: int,
    recorded_at: str,
    kind: str,
    actor: str | None,
    subject: str,
    card_token: str | None,
    payload: str | bytes,
) -> str:
    """SHA-256 (hex) over the previous record's hash and this record's columns: a JSON array of the short
    columns (so no value can be shifted into its neighbour), a newline (which that JSON never holds), then the
    payload's bytes as they are (UTF-8; appends pass the bytes they hold). Hashed in one pass."""
    columns = orjson.dumps([prev_hash, seq, recorded_at, kind, actor, subject, card_token])
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    return hashlib.sha256(b"".join((columns, b"\n", data))).hexdigest()


def format_time(moment: datetime) -> str:
    """The one text form of a recorded time: UTC, microseconds, ``+00:00`` (it sorts as it reads)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One record of the chain, as stored and exported."""

    seq: int
    recorded_at: str
    kind: str
    actor: str | None
    subject: str
    card_token: str | None
    payload: str
    prev_hash: str
    hash: str

    @classmethod
    def chained(
        cls,
        prev_hash: str,
        seq: int,
        recorded_at: str,
        kind: str,
        actor: str | None,
        subject: str,
        card_token: str | None,
        payload: str,
    ) -> AuditRecord:
        digest = record_hash(prev_hash, seq, recorded_at, kind, actor, subject, card_token, payload)
        return cls(seq, recorded_at, kind, actor, subject, card_token, payload, prev_hash, digest)

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> AuditRecord:
        seq, recorded_at, kind, actor, subject, card_token, payload, prev_hash, digest = row
        return cls(int(seq), recorded_at, kind, actor, subject, card_token, payload, prev_hash, digest)

    def expected_hash(self) -> str:
        """The hash this record's columns give (equal to ``hash`` unless something was altered)."""
        return record_hash(
            self.prev_hash,
            self.seq,
            self.recorded_at,
            self.kind,
            self.actor,
            self.subject,
            self.card_token,
            self.payload,
        )

    def intact(self) -> bool:
        return self.expected_hash() == self.hash

    def row(self) -> tuple[Any, ...]:
        return (
            self.seq,
            self.recorded_at,
            self.kind,
            self.actor,
            self.subject,
            self.card_token,
            self.payload,
            self.prev_hash,
            self.hash,
        )

    def as_dict(self) -> dict[str, Any]:
        return dict(zip(COLUMNS, self.row(), strict=True))

    def event(self) -> AuditEvent:
        """The typed event this record holds."""
        return decode_event(self.kind, orjson.loads(self.payload))

"""The audit log: append-only, hash-chained, with a signed head.

:meth:`AuditLog.append` takes a batch of events and, in one transaction holding the chain's lock, numbers them,
chains each to the one before (:func:`~monitoring.audit.records.record_hash`), inserts them and moves the
signed head (the last sequence number and hash, signed with the audit key). The head is what finds a log cut
short at its end, or rewritten from some point on with fresh hashes. Serialising and screening the events
for card numbers happens before the lock is taken, so concurrent writers wait only for the inserts.

Readers use a :class:`~monitoring.audit.view.LogView`: one consistent snapshot of the head, the archive
segments and the main store.

>>> import tempfile, pathlib
>>> from monitoring.audit.events import AccessEvent
>>> from monitoring.audit.signing import Signer
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> log = AuditLog(f"sqlite:///{folder}/audit.sqlite", Signer.from_hex("11" * 32), archive_dir=folder / "archive")
>>> result = log.append([AccessEvent(key_id="key_1", event_type="score", success=True, origin="10.0.0.7",
...                                  resource="POST /v1/score")])
>>> result.first_seq, result.last_seq, log.verify().ok
(1, 1, True)
>>> log.close()
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from monitoring.audit.encoding import AuditItem, EncodedEvent, encode_items
from monitoring.audit.errors import AuditStoreError, UnknownRecordError
from monitoring.audit.events import DecisionEvent, utc_now
from monitoring.audit.filters import AuditFilter
from monitoring.audit.head import SignedHead, sign_head
from monitoring.audit.records import GENESIS_HASH, AuditRecord, format_time, record_hash
from monitoring.audit.settings import AuditSettings
from monitoring.audit.signing import Signer
from monitoring.audit.storage import Storage
from monitoring.audit.verify import VerificationReport, verify_view
from monitoring.audit.view import LogView

logger = logging.getLogger(__name__)

#: The time of the empty log's head: before any record.
_EPOCH: Final = "1970-01-01T00:00:00.000000+00:00"


@dataclass(frozen=True)
class AppendResult:
    """What one append recorded: the sequence range, the new head hash, and how many events had a value
    shaped like a card number masked."""

    first_seq: int
    last_seq: int
    head_hash: str
    masked_events: int = 0

    @property
    def count(self) -> int:
        return self.last_seq - self.first_seq + 1 if self.last_seq >= self.first_seq else 0


class AuditLog:
    """The audit trail in SQLite or PostgreSQL, its archive folder, and the key that signs its head.

    Safe to share between threads (appends are serialised); several processes may append to one database
    (the database's lock serialises them)."""

    def __init__(self, url: str, signer: Signer, *, archive_dir: Path, clock: Callable[[], datetime] = utc_now) -> None:
        self._storage = Storage(url)
        self._signer = signer
        self.archive_dir = archive_dir
        self._clock = clock
        self._lock = threading.Lock()
        self._closed = False
        self._create_head()

    @classmethod
    def from_settings(cls, settings: AuditSettings) -> AuditLog:
        signer = Signer.from_secret(settings.audit_signing_key)
        return cls(settings.audit_url, signer, archive_dir=settings.audit_archive_dir)

    @property
    def public_key_hex(self) -> str:
        return self._signer.public_key_hex

    @property
    def signer(self) -> Signer:
        return self._signer

    def close(self) -> None:
        self._closed = True
        self._storage.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------------------------

    def append(self, events: Iterable[AuditItem]) -> AppendResult:
        """Record a batch of events at the end of the chain, all or none; returns what was recorded."""
        return self.append_with(events, ())

    def append_with(self, events: Iterable[AuditItem], statements: Sequence[tuple[str, Sequence[Any]]]) -> AppendResult:
        """:meth:`append`, with more SQL statements run in the same transaction (retention moves records to an
        archive segment and records that it did, atomically)."""
        return self.append_encoded(encode_items(events), statements)

    def append_encoded(
        self, encoded: Sequence[EncodedEvent], statements: Sequence[tuple[str, Sequence[Any]]] = ()
    ) -> AppendResult:
        """:meth:`append` of events already passed through :func:`~monitoring.audit.encoding.encode_items` (which
        a batching writer does before it appends, so that only the inserts wait for the chain's lock)."""
        if self._closed:
            raise AuditStoreError("the audit log is closed; open it again to record events")
        with self._lock, self._storage.write() as cursor:
            head = self._locked_head(cursor)
            # Recorded times never go backwards, even if the clock does: months stay contiguous ranges of records.
            now = max(format_time(self._clock()), head.recorded_at)
            rows: list[tuple[Any, ...]] = []
            prev, seq = head.hash, head.seq
            for item in encoded:
                seq += 1
                digest = record_hash(prev, seq, now, item.kind, item.actor, item.subject, item.card_token, item.payload)
                rows.append(
                    (seq, now, item.kind, item.actor, item.subject, item.card_token, item.payload, prev, digest)
                )
                prev = digest
            for statement, params in statements:
                cursor.execute(self._storage.sql(statement), tuple(params))
            if rows:
                self._storage.insert_records(cursor, rows)
                new_head = sign_head(self._signer, seq, prev, now)
                cursor.execute(
                    self._storage.sql(
                        "UPDATE audit_head SET seq = ?, hash = ?, recorded_at = ?, public_key = ?, "
                        "signature = ? WHERE id = 1"
                    ),
                    (new_head.seq, new_head.hash, new_head.recorded_at, new_head.public_key, new_head.signature),
                )
        return AppendResult(head.seq + 1, seq, prev, sum(item.masked for item in encoded))

    def _locked_head(self, cursor: Any) -> SignedHead:
        cursor.execute("SELECT seq, hash, recorded_at, public_key, signature FROM audit_head WHERE id = 1")
        row = cursor.fetchone()
        if row is None:
            raise AuditStoreError(
                f"the audit log at {self._storage.url} has records but no signed head: it was tampered with. "
                "Run `fraud audit verify` and restore the database from a backup"
            )
        return SignedHead(int(row[0]), row[1], row[2], row[3], row[4])

    def _create_head(self) -> None:
        """Sign the empty log's head when the log is new (never over a log whose head was removed)."""
        with self._lock, self._storage.write() as cursor:
            cursor.execute("SELECT COUNT(*) FROM audit_head")
            if cursor.fetchone()[0]:
                return
            cursor.execute("SELECT (SELECT COUNT(*) FROM audit_records) + (SELECT COUNT(*) FROM audit_segments)")
            if cursor.fetchone()[0]:
                return  # records without a head: appends refuse, verification reports it
            head = sign_head(self._signer, 0, GENESIS_HASH, _EPOCH)
            cursor.execute(
                self._storage.sql(
                    "INSERT INTO audit_head (id, seq, hash, recorded_at, public_key, signature) "
                    "VALUES (1, ?, ?, ?, ?, ?)"
                ),
                (head.seq, head.hash, head.recorded_at, head.public_key, head.signature),
            )

    # -- reading ---------------------------------------------------------------------------------------------

    @contextmanager
    def view(self) -> Iterator[LogView]:
        """One consistent snapshot of the log (head, segments, main store) for reading."""
        with self._storage.snapshot() as snapshot:
            yield LogView(snapshot, self.archive_dir)

    def records(self, where: AuditFilter | None = None) -> Iterator[AuditRecord]:
        """Every record matching ``where`` in sequence order, archive segments included, streamed."""
        with self.view() as view:
            yield from view.records(where or AuditFilter())

    def head(self) -> SignedHead:
        with self.view() as view:
            head = view.head()
        if head is None:
            raise AuditStoreError("the audit log has no signed head; run `fraud audit verify`")
        return head

    def find(self, subject: str, kind: str | None = None) -> list[AuditRecord]:
        """The records filed under ``subject`` (a decision id, a model content id...), oldest first."""
        with self.view() as view:
            return list(view.records(AuditFilter(subject=subject, kinds=(kind,) if kind else ())))

    def decision(self, decision_id: str) -> DecisionEvent:
        """The recorded decision with this id (what a replay re-scores)."""
        found = self.find(decision_id, "decision")
        if not found:
            raise UnknownRecordError(f"no decision {decision_id!r} in the audit log")
        event = found[-1].event()
        assert isinstance(event, DecisionEvent)
        return event

    def verify(self) -> VerificationReport:
        """Check the whole chain (archive segments, main store, signed head); see :mod:`monitoring.audit.verify`."""
        with self.view() as view:
            return verify_view(view, self.public_key_hex)

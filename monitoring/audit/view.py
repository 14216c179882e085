"""A read-only view of the log in one snapshot: the signed head, the archive segments and the main store.

Records come back in sequence order, from the archive segments (oldest months) and then the main store, so
that verification and exports see the log as one chain whatever retention has moved.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from monitoring.audit.filters import AuditFilter
from monitoring.audit.head import SignedHead
from monitoring.audit.records import COLUMNS, AuditRecord
from monitoring.audit.segments import SEGMENT_COLUMNS, Segment, read_segment
from monitoring.audit.storage import Snapshot

_SELECT: Final = f"SELECT {', '.join(COLUMNS)} FROM audit_records"


@dataclass(frozen=True)
class MonthRange:
    """The records of one month (by recorded time) in the main store."""

    month: str
    first_seq: int
    last_seq: int
    records: int


class LogView:
    """Reads one consistent state of the log."""

    def __init__(self, snapshot: Snapshot, archive_dir: Path) -> None:
        self._snapshot = snapshot
        self.archive_dir = archive_dir

    def head(self) -> SignedHead | None:
        rows = self._snapshot.query("SELECT seq, hash, recorded_at, public_key, signature FROM audit_head WHERE id = 1")
        if not rows:
            return None
        seq, digest, recorded_at, public_key, signature = rows[0]
        return SignedHead(int(seq), digest, recorded_at, public_key, signature)

    def segments(self) -> list[Segment]:
        """Every archived month, deleted ones included (their index row stays), oldest first."""
        rows = self._snapshot.query(f"SELECT {', '.join(SEGMENT_COLUMNS)} FROM audit_segments ORDER BY first_seq")
        return [Segment.from_row(row) for row in rows]

    def segment_path(self, segment: Segment) -> Path:
        if segment.file is None:
            raise ValueError(f"segment {segment.month} was deleted past retention")
        return self.archive_dir / segment.file

    def months(self) -> list[MonthRange]:
        """The months in the main store, oldest first."""
        rows = self._snapshot.query(
            "SELECT substr(recorded_at, 1, 7), MIN(seq), MAX(seq), COUNT(*) FROM audit_records "
            "GROUP BY substr(recorded_at, 1, 7) ORDER BY MIN(seq)"
        )
        return [MonthRange(str(m), int(a), int(b), int(n)) for m, a, b, n in rows]

    def main_records(
        self, where: AuditFilter | None = None, *, first_seq: int = 0, last_seq: int | None = None
    ) -> Iterator[AuditRecord]:
        """Records of the main store matching ``where`` (and a sequence range), streamed in sequence order."""
        condition, params = (where or AuditFilter()).where()
        condition += " AND seq >= ?"
        params.append(first_seq)
        if last_seq is not None:
            condition += " AND seq <= ?"
            params.append(last_seq)
        for row in self._snapshot.stream(f"{_SELECT} WHERE {condition} ORDER BY seq", params):
            yield AuditRecord.from_row(row)

    def records(self, where: AuditFilter | None = None) -> Iterator[AuditRecord]:
        """Records matching ``where`` in sequence order: archive segments first, then the main store."""
        where = where or AuditFilter()
        for segment in self.segments():
            if segment.deleted or not where.covers_month(segment.month):
                continue
            for record in read_segment(self.segment_path(segment)):
                if where.matches(record):
                    yield record
        yield from self.main_records(where)

    def main_count(self) -> int:
        return int(self._snapshot.query("SELECT COUNT(*) FROM audit_records")[0][0])

"""Archive segments: one month of records, moved out of the main store into a compressed file.

A segment is gzip-compressed JSON lines, one record per line with every column (the same records and hashes
as in the database), so it verifies on its own and exports like the main store. The database keeps an index
row per segment (its sequence range, first previous-hash and last hash, file name relative to the archive
folder, SHA-256) and the chain keeps a :class:`~monitoring.audit.events.RetentionEvent` saying the same, so a
segment that is edited, swapped or lost is found by verification.
"""

from __future__ import annotations

import gzip
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson

from monitoring.audit.errors import AuditError, RetentionError
from monitoring.audit.records import COLUMNS, AuditRecord


@dataclass(frozen=True)
class Segment:
    """The index row of one archived month (``file`` is None once the month is deleted past retention)."""

    month: str
    first_seq: int
    last_seq: int
    records: int
    first_prev_hash: str
    last_hash: str
    file: str | None
    sha256: str | None
    archived_at: str
    deleted_at: str | None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Segment:
        month, first, last, records, first_prev, last_hash, file, sha, archived_at, deleted_at = row
        return cls(
            month, int(first), int(last), int(records), first_prev, last_hash, file, sha, archived_at, deleted_at
        )

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


SEGMENT_COLUMNS: Final = (
    "month",
    "first_seq",
    "last_seq",
    "records",
    "first_prev_hash",
    "last_hash",
    "file",
    "sha256",
    "archived_at",
    "deleted_at",
)


def segment_name(month: str) -> str:
    return f"audit-{month}.jsonl.gz"


def write_segment(path: Path, records: Iterable[AuditRecord]) -> tuple[int, str]:
    """Write records to ``path`` (through a temporary file, synced, then renamed): their count and the file's
    SHA-256. An existing file is never overwritten."""
    from lifecycle.registry.signing import file_sha256  # lazily: the registry package's imports are heavy

    if path.exists():
        raise RetentionError(
            f"archive segment {path} already exists (an archiving run stopped half-way?); check it with "
            "`fraud audit verify` and move it aside"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    count = 0
    try:
        with partial.open("wb") as raw:
            # mtime=0: the same records always give the same bytes, so the file's hash depends on them alone.
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as stream:
                for record in records:
                    stream.write(orjson.dumps(record.as_dict()) + b"\n")
                    count += 1
            raw.flush()
            os.fsync(raw.fileno())
        partial.rename(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return count, file_sha256(path)


def read_segment(path: Path) -> Iterator[AuditRecord]:
    """The records of a segment, one at a time."""
    try:
        with gzip.open(path, "rb") as stream:
            for number, line in enumerate(stream, start=1):
                yield record_from_json(line, f"{path.name} line {number}")
    except (OSError, EOFError) as error:
        raise RetentionError(f"archive segment {path} cannot be read: {error}") from None


def record_from_json(line: bytes, where: str) -> AuditRecord:
    """A record from its JSON-lines form (segments and JSONL exports); a malformed line names where it is."""
    try:
        document = orjson.loads(line)
        return AuditRecord.from_row(tuple(document[c] for c in COLUMNS))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise AuditError(f"{where} is not an audit record: {error}") from None

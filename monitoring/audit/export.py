"""Exports of the audit trail: a time range and filters, to JSON lines, CSV and Parquet, as a signed bundle.

Records stream from one snapshot of the log (archive segments and main store) into every requested format at
once, so an export of millions of records holds a Parquet row group in memory, never the export. The bundle's
manifest states the filter, the counts by kind, the sequence and time range, the first and last record's
hashes, a digest of every record hash in order, and the log's signed head at the time, and lists each file's
SHA-256; it is signed with the audit key (:mod:`monitoring.audit.bundle`).

:func:`export_stream` serves the same records as JSON lines or CSV chunks, for a streamed HTTP response.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from monitoring.audit.bundle import EXPORT_FORMAT, RecordsDigest, new_bundle_folder, sign_bundle
from monitoring.audit.card_numbers import mask_text
from monitoring.audit.errors import ExportError
from monitoring.audit.events import utc_now
from monitoring.audit.filters import AuditFilter
from monitoring.audit.formats import Format, file_name, open_writer
from monitoring.audit.log import AuditLog
from monitoring.audit.records import COLUMNS, format_time

#: Records per chunk of a streamed export.
_STREAM_RECORDS = 1_000


@dataclass(frozen=True)
class ExportResult:
    folder: Path
    records: int
    manifest: dict[str, Any]


def export_bundle(
    log: AuditLog,
    out: Path,
    *,
    where: AuditFilter | None = None,
    formats: tuple[Format, ...] = ("jsonl", "csv", "parquet"),
    actor: str,
) -> ExportResult:
    """Write the records matching ``where`` to a new bundle folder ``out`` in each format, with a signed
    manifest. ``out`` must not exist (or be empty)."""
    where = where or AuditFilter()
    if not formats:
        raise ExportError("choose at least one export format: jsonl, csv or parquet")
    kinds: Counter[str] = Counter()
    digest = RecordsDigest()
    first = last = None
    with new_bundle_folder(out) as folder, log.view() as view:
        head = view.head()
        writers = [open_writer(fmt, folder / file_name(fmt)) for fmt in formats]
        try:
            for record in view.records(where):
                for writer in writers:
                    writer.write(record)
                kinds[record.kind] += 1
                digest.add(record.hash)
                first = first or record
                last = record
        finally:
            for writer in writers:
                writer.close()
        manifest = {
            "format": EXPORT_FORMAT,
            "created_at": format_time(utc_now()),
            # Who exported and what they filtered on are typed by a person: a pasted card number is masked.
            "created_by": mask_text(actor),
            "filter": {k: mask_text(v) if isinstance(v, str) else v for k, v in where.describe().items()},
            "records": sum(kinds.values()),
            "kinds": dict(sorted(kinds.items())),
            "range": {
                "first_seq": None if first is None else first.seq,
                "last_seq": None if last is None else last.seq,
                "first_recorded_at": None if first is None else first.recorded_at,
                "last_recorded_at": None if last is None else last.recorded_at,
            },
            "chain": {
                "first_prev_hash": None if first is None else first.prev_hash,
                "first_record_hash": None if first is None else first.hash,
                "last_record_hash": None if last is None else last.hash,
                "records_digest": digest.hexdigest(),
                "log_head": None
                if head is None
                else {"seq": head.seq, "hash": head.hash, "recorded_at": head.recorded_at, "signature": head.signature},
            },
            "record_files": {file_name(fmt): fmt for fmt in formats},
        }
        signed = sign_bundle(folder, manifest, log.signer)
    return ExportResult(out, signed["records"], signed)


def export_stream(log: AuditLog, where: AuditFilter | None = None, fmt: Format = "jsonl") -> Iterator[bytes]:
    """The records matching ``where`` as JSON lines or CSV (with a header), in chunks of about a thousand
    records, for a streamed response; for Parquet and a signed manifest, write a bundle with
    :func:`export_bundle`."""
    if fmt not in ("jsonl", "csv"):
        raise ExportError(f"a streamed export is JSON lines or CSV, not {fmt}; export a bundle for Parquet")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if fmt == "csv":
        writer.writerow(COLUMNS)
    for count, record in enumerate(log.records(where), start=1):
        if fmt == "jsonl":
            buffer.write(orjson.dumps(record.as_dict()).decode("utf-8") + "\n")
        else:
            writer.writerow(record.row())
        if count % _STREAM_RECORDS == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data

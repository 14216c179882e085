"""Retention: the latest months in the main store, older ones in compressed archive segments, the oldest deleted.

With the defaults, records stay 12 months (the current month included): the latest 3 months in the main store,
where they are immediately queryable, the 9 before them in one archive segment per month, which verification
and exports read as if the records were still in place. Moving a month out and deleting one past retention
are each recorded in the chain (a :class:`~monitoring.audit.events.RetentionEvent` with the month's sequence
range, last hash and segment hash), in the same transaction as the change, so the chain stays verifiable
across them: it goes on from the deleted month's last hash.

Archiving a month writes its segment, reads it back and checks it record by record against the main store,
and only then removes the month from the main store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from monitoring.audit.chain import ChainCheck
from monitoring.audit.errors import RetentionError
from monitoring.audit.events import RetentionEvent
from monitoring.audit.log import AuditLog
from monitoring.audit.records import format_time
from monitoring.audit.segments import read_segment, segment_name, write_segment
from monitoring.audit.view import MonthRange


@dataclass(frozen=True)
class RetentionResult:
    archived: tuple[str, ...] = field(default_factory=tuple)
    deleted: tuple[str, ...] = field(default_factory=tuple)


def month_of(moment: datetime) -> str:
    return format_time(moment)[:7]


def months_before(month: str, count: int) -> str:
    """The month ``count`` months before ``month`` (``YYYY-MM``)."""
    year, number = int(month[:4]), int(month[5:7])
    index = year * 12 + (number - 1) - count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def apply_retention(
    log: AuditLog,
    *,
    now: datetime,
    hot_months: int,
    retention_months: int,
    actor: str,
    reason: str | None = None,
) -> RetentionResult:
    """Archive the main store's months older than the latest ``hot_months`` and delete the archived months
    older than the latest ``retention_months`` (both counted with the month of ``now``)."""
    if not 1 <= hot_months <= retention_months:
        raise RetentionError(f"need 1 <= hot months ({hot_months}) <= retention months ({retention_months})")
    current = month_of(now)
    oldest_hot = months_before(current, hot_months - 1)
    oldest_kept = months_before(current, retention_months - 1)
    with log.view() as view:
        to_archive = [m for m in view.months() if m.month < oldest_hot]
    archived = [_archive_month(log, month, now, actor, reason) for month in to_archive]
    with log.view() as view:
        to_delete = [s for s in view.segments() if not s.deleted and s.month < oldest_kept]
    deleted = []
    for segment in to_delete:
        event = RetentionEvent(
            actor=actor,
            reason=reason or f"past the retention of {retention_months} months",
            action="deleted",
            month=segment.month,
            first_seq=segment.first_seq,
            last_seq=segment.last_seq,
            records=segment.records,
            last_hash=segment.last_hash,
            segment=segment.file,
            segment_sha256=segment.sha256,
        )
        log.append_with(
            [event],
            [
                (
                    "UPDATE audit_segments SET file = NULL, deleted_at = ? WHERE month = ?",
                    [format_time(now), segment.month],
                )
            ],
        )
        if segment.file is not None:
            (log.archive_dir / segment.file).unlink(missing_ok=True)
        deleted.append(segment.month)
    return RetentionResult(tuple(archived), tuple(deleted))


def _archive_month(log: AuditLog, month: MonthRange, now: datetime, actor: str, reason: str | None) -> str:
    name = segment_name(month.month)
    path = log.archive_dir / name
    with log.view() as view:
        previous_last = max((s.last_seq for s in view.segments()), default=0)
        count, sha256 = write_segment(path, view.main_records(first_seq=month.first_seq, last_seq=month.last_seq))
        first = next(view.main_records(first_seq=month.first_seq, last_seq=month.first_seq))
        last = next(view.main_records(first_seq=month.last_seq, last_seq=month.last_seq))
    try:
        if month.first_seq != previous_last + 1:
            raise RetentionError(
                f"month {month.month} starts at record {month.first_seq}, not right after the archive's last record "
                f"{previous_last}; run `fraud audit verify`"
            )
        _check_segment(path, month, first.prev_hash, last.hash, count)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    event = RetentionEvent(
        actor=actor,
        reason=reason or "older than the months kept in the main store",
        action="archived",
        month=month.month,
        first_seq=month.first_seq,
        last_seq=month.last_seq,
        records=count,
        last_hash=last.hash,
        segment=name,
        segment_sha256=sha256,
    )
    log.append_with(
        [event],
        [
            (
                "INSERT INTO audit_segments (month, first_seq, last_seq, records, first_prev_hash, last_hash, file, "
                "sha256, archived_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    month.month,
                    month.first_seq,
                    month.last_seq,
                    count,
                    first.prev_hash,
                    last.hash,
                    name,
                    sha256,
                    format_time(now),
                ],
            ),
            ("DELETE FROM audit_records WHERE seq >= ? AND seq <= ?", [month.first_seq, month.last_seq]),
        ],
    )
    return month.month


def _check_segment(path: Path, month: MonthRange, first_prev_hash: str, last_hash: str, count: int) -> None:
    """The segment just written must read back as exactly the month's records, intact and chained."""
    check = ChainCheck(first_prev_hash, month.first_seq)
    for record in read_segment(path):
        check.feed(record, f"archive segment {month.month}")
    if check.findings or count != month.records or check.prev_hash != last_hash or check.next_seq != month.last_seq + 1:
        problems = "; ".join(str(f) for f in check.findings) or "its records differ from the main store's"
        raise RetentionError(f"archive segment {path} did not read back as month {month.month}: {problems}")

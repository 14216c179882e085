"""``verify``: is the log exactly what was appended, and if not, where does it differ?

The whole chain is checked in one snapshot: archive segments (each file against its SHA-256 in the index and
in the chained retention event, then record by record), the main store record by record, and the last record
against the signed head. Findings name the sequence numbers and the place (main store, archive segment).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from monitoring.audit.chain import ChainCheck, Finding
from monitoring.audit.errors import AuditError
from monitoring.audit.head import SignedHead
from monitoring.audit.records import AuditRecord
from monitoring.audit.segments import Segment, read_segment
from monitoring.audit.view import LogView

_MAIN = "main store"


@dataclass(frozen=True)
class VerificationReport:
    """What verification found: how much it checked, the signed head, and every finding (none: intact)."""

    records: int
    archived_records: int
    segments: int
    deleted_segments: int
    head: SignedHead | None
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        head = "no head" if self.head is None else f"head {self.head.seq} {self.head.hash[:16]}"
        checked = (
            f"{self.records} records ({self.archived_records} in {self.segments} archive segments, "
            f"{self.deleted_segments} months deleted past retention), {head}"
        )
        if self.ok:
            return f"intact: {checked}"
        return f"ALTERED: {len(self.findings)} findings over {checked}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "archived_records": self.archived_records,
            "segments": self.segments,
            "deleted_segments": self.deleted_segments,
            "head": None if self.head is None else {"seq": self.head.seq, "hash": self.head.hash},
            "findings": [{"seq": f.seq, "where": f.where, "problem": f.problem} for f in self.findings],
        }


def verify_view(view: LogView, public_key_hex: str) -> VerificationReport:
    """Check everything ``view`` holds against the chain's rules and the head signed by ``public_key_hex``."""
    check = ChainCheck()
    retention: dict[tuple[str, str], dict[str, Any]] = {}
    segments = view.segments()
    archived = _check_segments(view, segments, check, retention)
    for record in view.main_records():
        _feed(check, record, _MAIN, retention)
    head = view.head()
    _check_head(check, head, public_key_hex)
    _check_retention_records(check, segments, retention)
    return VerificationReport(
        records=check.records,
        archived_records=archived,
        segments=sum(not s.deleted for s in segments),
        deleted_segments=sum(s.deleted for s in segments),
        head=head,
        findings=tuple(check.findings),
    )


def _feed(check: ChainCheck, record: AuditRecord, where: str, retention: dict[tuple[str, str], dict[str, Any]]) -> None:
    check.feed(record, where)
    if record.kind == "retention" and record.intact():
        event = orjson.loads(record.payload)
        retention[(event["month"], event["action"])] = {**event, "seq": record.seq}


def _check_segments(
    view: LogView, segments: list[Segment], check: ChainCheck, retention: dict[tuple[str, str], dict[str, Any]]
) -> int:
    archived = 0
    for segment in segments:
        where = f"archive segment {segment.month}"
        if segment.first_seq != check.next_seq or segment.first_prev_hash != check.prev_hash:
            check.report(
                segment.first_seq,
                where,
                f"archive segment {segment.month} (records {segment.first_seq}..{segment.last_seq}) does not follow "
                f"record {check.next_seq - 1}: a segment is missing or its index was altered",
            )
        if segment.deleted:
            check.restart(segment.last_hash, segment.last_seq + 1)
            continue
        count = 0
        for record in _segment_records(view, segment, check, where):
            _feed(check, record, where, retention)
            count += 1
        archived += count
        if count and (check.next_seq - 1, check.prev_hash) != (segment.last_seq, segment.last_hash):
            check.report(
                segment.last_seq,
                where,
                f"archive segment {segment.month} ends at record {check.next_seq - 1}, not at record "
                f"{segment.last_seq} as its index says: the file or the index was altered",
            )
        if count == 0:
            check.restart(segment.last_hash, segment.last_seq + 1)
    return archived


def _segment_records(view: LogView, segment: Segment, check: ChainCheck, where: str) -> Iterator[AuditRecord]:
    """The segment's records, streamed; a missing, swapped or unreadable file becomes a finding."""
    from lifecycle.registry.signing import file_sha256  # lazily: the registry package's imports are heavy

    path = view.segment_path(segment)
    if not path.exists():
        check.report(segment.first_seq, where, f"archive segment file {path} is missing ({where})")
        return
    if file_sha256(path) != segment.sha256:
        check.report(
            segment.first_seq, where, f"archive segment file {path} is not the file archived: its SHA-256 differs"
        )
    try:
        yield from read_segment(path)
    except AuditError as error:
        check.report(segment.first_seq, where, f"archive segment file {path} cannot be read to its end: {error}")


def _check_head(check: ChainCheck, head: SignedHead | None, public_key_hex: str) -> None:
    last_seq, last_hash = check.next_seq - 1, check.prev_hash
    if head is None:
        if last_seq > 0:
            check.report(
                None, _MAIN, "the log's signed head is missing: it was removed, so truncation cannot be ruled out"
            )
        return
    if not head.signed_by(public_key_hex):
        check.report(
            head.seq,
            _MAIN,
            f"the signed head (record {head.seq}) does not verify with the audit key: it was altered, or signed by "
            f"another key ({head.public_key[:16]}...)",
        )
    if head.seq > last_seq:
        check.report(
            last_seq + 1,
            _MAIN,
            f"records {last_seq + 1}..{head.seq} are missing at the end: the log was cut short after record {last_seq}",
        )
    elif head.seq < last_seq:
        check.report(
            head.seq + 1,
            _MAIN,
            f"records {head.seq + 1}..{last_seq} come after the signed head (record {head.seq}): they were added "
            "outside the log",
        )
    elif head.hash != last_hash:
        check.report(
            head.seq,
            _MAIN,
            f"record {head.seq}'s hash differs from the signed head's: the chain was rewritten, with fresh hashes, "
            "at or before it",
        )


def _check_retention_records(
    check: ChainCheck, segments: list[Segment], retention: dict[tuple[str, str], dict[str, Any]]
) -> None:
    """Each segment's index row must agree with the retention events the chain recorded for its month."""
    indexed = {segment.month for segment in segments}
    for segment in segments:
        where = f"archive segment {segment.month}"
        event = retention.get((segment.month, "archived"))
        indexed_as = (segment.first_seq, segment.last_seq, segment.last_hash, segment.sha256)
        if event is None or indexed_as != (
            event["first_seq"],
            event["last_seq"],
            event["last_hash"],
            event["segment_sha256"],
        ):
            check.report(
                segment.first_seq,
                where,
                f"archive segment {segment.month}'s index does not match the archiving recorded in the chain"
                + ("" if event is None else f" (record {event['seq']})"),
            )
        if segment.deleted and (segment.month, "deleted") not in retention:
            check.report(
                segment.first_seq, where, f"month {segment.month} is marked deleted, but no deletion was recorded"
            )
    for (month, action), event in retention.items():
        if action == "archived" and month not in indexed:
            check.report(
                event["first_seq"],
                f"archive segment {month}",
                f"month {month} was archived (record {event['seq']}) but its segment is missing from the index",
            )

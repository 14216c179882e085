"""Checking a chain: records fed in sequence order, findings that say what broke and where.

One checker serves the database, the archive segments and exported files. Each record must recompute to its
own hash (else it was edited, or moved: the hash covers its sequence number), carry the previous record's hash
(else a record before it was removed, inserted or rewritten), and follow it in sequence (a gap is a deletion).
After a break the check goes on from the record found, so one alteration gives one or two findings, not a
cascade down the rest of the log.

>>> from monitoring.audit.records import GENESIS_HASH, AuditRecord
>>> one = AuditRecord.chained(GENESIS_HASH, 1, "t", "access", None, "a", None, "{}")
>>> three = AuditRecord.chained(one.hash, 3, "t", "access", None, "c", None, "{}")
>>> check = ChainCheck()
>>> for record in (one, three):
...     check.feed(record, "main store")
>>> [str(finding) for finding in check.findings]
['records 2..2 are missing (main store, before record 3)']
"""

from __future__ import annotations

from dataclasses import dataclass

from monitoring.audit.records import GENESIS_HASH, AuditRecord


@dataclass(frozen=True)
class Finding:
    """One thing wrong with the log, located by sequence number and place (main store, a segment, a file)."""

    seq: int | None
    where: str
    problem: str

    def __str__(self) -> str:
        return self.problem


class ChainCheck:
    """Feed records in sequence order; :attr:`findings` lists what is wrong, :attr:`last` the last record fed."""

    def __init__(self, prev_hash: str = GENESIS_HASH, next_seq: int = 1) -> None:
        self.findings: list[Finding] = []
        self.records = 0
        self.last: AuditRecord | None = None
        self._prev_hash = prev_hash
        self._next_seq = next_seq
        self._altered_from = self._altered_to = -1

    def restart(self, prev_hash: str, next_seq: int) -> None:
        """Expect the chain to go on from ``prev_hash`` at ``next_seq`` (after a range deleted by retention)."""
        self._prev_hash, self._next_seq = prev_hash, next_seq

    def report(self, seq: int | None, where: str, problem: str) -> None:
        self.findings.append(Finding(seq, where, problem))

    def feed(self, record: AuditRecord, where: str) -> None:
        self.records += 1
        seq = record.seq
        if seq > self._next_seq:
            self.report(
                self._next_seq, where, f"records {self._next_seq}..{seq - 1} are missing ({where}, before record {seq})"
            )
        elif seq < self._next_seq:
            self.report(
                seq,
                where,
                f"record {seq} ({record.kind}) is out of order: it comes after record {self._next_seq - 1} ({where})",
            )
        if not record.intact():
            self._report_altered(record, where)
        elif record.prev_hash != self._prev_hash and seq == self._next_seq:
            before = "the start of the log" if seq == 1 else f"record {seq - 1}"
            self.report(
                seq,
                where,
                f"record {seq} ({record.kind}) does not follow {before}: its previous-record hash differs, so a "
                f"record before it was rewritten, inserted or removed ({where})",
            )
        self._prev_hash = record.hash
        self._next_seq = seq + 1
        self.last = record

    def _report_altered(self, record: AuditRecord, where: str) -> None:
        # Consecutive altered records (a block renumbered by an insertion, say) make one finding with their range.
        if self.findings and self._altered_to == record.seq - 1 and self.findings[-1].seq == self._altered_from:
            first = self._altered_from
            self.findings[-1] = Finding(
                first,
                where,
                f"records {first}..{record.seq} do not match their hashes: they were edited, or moved from other "
                f"positions (renumbered by an insertion or a reordering) ({where})",
            )
        else:
            self._altered_from = record.seq
            self.report(
                record.seq,
                where,
                f"record {record.seq} ({record.kind}, {record.subject}) does not match its hash: it was edited or "
                f"moved from another position ({where})",
            )
        self._altered_to = record.seq

    @property
    def next_seq(self) -> int:
        return self._next_seq

    @property
    def prev_hash(self) -> str:
        return self._prev_hash

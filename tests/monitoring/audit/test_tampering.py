"""Verification finds every kind of tampering with the stored log, in SQLite and in PostgreSQL, and says where:
an edited record (with or without a fresh hash), a deleted one, an inserted one (at the end, or in the middle
with the rest renumbered), two records swapped, the end cut off, the tail rewritten with fresh hashes, and a
forged head."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from monitoring.audit import AuditLog, VerificationReport
from monitoring.audit.records import AuditRecord, record_hash
from tests.monitoring.audit import support

RECORDS = 50


def run_sql(url: str, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
    """Change the database behind the log's back, as someone with write access to it could."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            for sql, params in statements:
                connection.execute(sql, params)
        return
    import psycopg

    with psycopg.connect(url) as connection:
        for sql, params in statements:
            connection.execute(sql.replace("?", "%s"), params)


def rows(log: AuditLog) -> dict[int, AuditRecord]:
    return {r.seq: r for r in log.records()}


def rehashed(record: AuditRecord, prev_hash: str, **changes: Any) -> tuple[Any, ...]:
    """A record altered as a careful forger would: new values and a hash that matches them."""
    values = {**record.as_dict(), **changes, "prev_hash": prev_hash}
    values["hash"] = record_hash(
        *(values[k] for k in ("prev_hash", "seq", "recorded_at", "kind", "actor", "subject", "card_token", "payload"))
    )
    return tuple(values.values())


def insert(values: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    columns = "seq, recorded_at, kind, actor, subject, card_token, payload, prev_hash, hash"
    return f"INSERT INTO audit_records ({columns}) VALUES ({', '.join('?' * 9)})", values


def edit(records: dict[int, AuditRecord]) -> list[tuple[str, Sequence[Any]]]:
    payload = records[20].payload.replace('"score":', '"score":0.01,"was":')
    return [("UPDATE audit_records SET payload = ? WHERE seq = 20", [payload])]


def edit_with_fresh_hash(records: dict[int, AuditRecord]) -> list[tuple[str, Sequence[Any]]]:
    payload = records[20].payload.replace('"decision":"review"', '"decision":"approve"')
    assert payload != records[20].payload
    forged = rehashed(records[20], records[19].hash, payload=payload)
    return [("DELETE FROM audit_records WHERE seq = 20", []), insert(forged)]


def delete(records: dict[int, AuditRecord]) -> list[tuple[str, Sequence[Any]]]:
    return [("DELETE FROM audit_records WHERE seq = 30", [])]


def insert_at_end(records: dict[int, AuditRecord]) -> list[tuple[str, Sequence[Any]]]:
    return [insert(rehashed(records[RECORDS], records[RECORDS].hash, seq=RECORDS + 1))]


def insert_in_middle(records: dict[int, AuditRecord]) -> list[tuple[str, Sequence[Any]]]:
    # Everything from 25 on moves up one place (through a free range: the sequence is a primary key).
    return [
        ("UPDATE audit_records SET seq = seq + 1000000 WHERE seq >= 25", []),
        ("UPDATE audit_records SET seq = seq - 999999 WHERE seq >= 1000000", []),
        insert(rehashed(records[25], records[24].hash, subject="dec-inserted")),
    ]


def swap(records: dict[int, AuditRecord]) -> list[tuple[str, Sequence[Any]]]:
    return [
        ("UPDATE audit_records SET seq = -1 WHERE seq = 10", []),
        ("UPDATE audit_records SET seq = 10 WHERE seq = 11", []),
        ("UPDATE audit_records SET seq = 11 WHERE seq = -1", []),
    ]


def truncate(records: dict[int, AuditRecord]) -> list[tuple[str, Sequence[Any]]]:
    return [("DELETE FROM audit_records WHERE seq > 40", [])]


def rewrite_tail(records: dict[int, AuditRecord]) -> list[tuple[str, Sequence[Any]]]:
    # From record 45 on, every record rewritten and re-chained: each record and link is consistent again.
    statements: list[tuple[str, Sequence[Any]]] = [("DELETE FROM audit_records WHERE seq >= 45", [])]
    prev = records[44].hash
    for seq in range(45, RECORDS + 1):
        values = rehashed(records[seq], prev, subject=f"rewritten-{seq}")
        statements.append(insert(values))
        prev = values[-1]
    return statements


def forge_head(records: dict[int, AuditRecord]) -> list[tuple[str, Sequence[Any]]]:
    # Truncate, then move the head back to hide it (without the key, the old signature stays).
    return [*truncate(records), ("UPDATE audit_head SET seq = 40, hash = ? WHERE id = 1", [records[40].hash])]


TAMPERING: dict[str, tuple[Callable[[dict[int, AuditRecord]], list[tuple[str, Sequence[Any]]]], int, str]] = {
    "edit": (edit, 20, r"record 20 \(decision, dec-00000019\) does not match its hash"),
    "edit with a fresh hash": (edit_with_fresh_hash, 21, r"record 21 \(decision\) does not follow record 20"),
    "delete": (delete, 30, r"records 30\.\.30 are missing"),
    "insert at the end": (insert_at_end, RECORDS + 1, r"records 51\.\.51 come after the signed head"),
    "insert in the middle": (insert_in_middle, 26, r"records 26\.\.51 do not match their hashes"),
    "swap": (swap, 10, r"records 10\.\.11 do not match their hashes"),
    "truncate": (truncate, 41, r"records 41\.\.50 are missing at the end"),
    "rewrite the tail": (rewrite_tail, RECORDS, r"record 50's hash differs from the signed head's"),
    "forge the head": (forge_head, 40, r"signed head \(record 40\) does not verify"),
}


@pytest.mark.parametrize("name", list(TAMPERING))
def test_tampering_is_found_and_located(name: str, audit_url: str, tmp_path: Path) -> None:
    change, seq, message = TAMPERING[name]
    with support.open_log(audit_url, tmp_path / "archive") as log:
        for start in range(0, RECORDS, 10):
            log.append(support.decisions(10, start))
        assert log.verify().ok
        run_sql(audit_url, change(rows(log)))
        report: VerificationReport = log.verify()
    assert not report.ok
    located = [f for f in report.findings if f.seq == seq]
    assert located, [str(f) for f in report.findings]
    assert any(__import__("re").search(message, str(f)) for f in located), [str(f) for f in report.findings]
    # One alteration, one or two findings: the check goes on from the record found, no cascade.
    assert len(report.findings) <= 2, [str(f) for f in report.findings]

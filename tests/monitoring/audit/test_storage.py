"""The stored chain: the hash's definition is fixed (logs and bundles written before verify as they did), a new
SQLite database keys its records by the rowid, and a database created with the earlier declaration appends,
verifies, exports and archives as before."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import orjson

from monitoring.audit import apply_retention, export_bundle, verify_bundle
from monitoring.audit.records import GENESIS_HASH, AuditRecord, record_hash
from tests.monitoring.audit import support

#: The records table as audit databases were first created on SQLite (``seq`` not the rowid).
_EARLIER_RECORDS_TABLE = """CREATE TABLE audit_records (
    seq BIGINT PRIMARY KEY,
    recorded_at TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT,
    subject TEXT NOT NULL,
    card_token TEXT,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
)"""


def _indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'audit_records' AND type = 'index'")
        return {name for (name,) in rows}


def test_the_hash_is_the_one_logs_were_written_with() -> None:
    # Digests computed when the definition was set: any change to it would fail every existing log and bundle.
    moment = "2026-01-01T00:00:00.000000+00:00"
    payload = '{"success":true,"note":"café"}'
    first = record_hash(GENESIS_HASH, 1, moment, "access", "key_1", "GET /v1/models", None, payload)
    assert first == "74c21e62ff93899e1d8ed84fcf74b11eac14d15a1d882e995a97fbca67e51bd4"
    second = record_hash("ab" * 32, 7, moment, "decision", None, "dec-1", "tok_1", b'{"score":0.5}')
    assert second == "eeb42657168045c0ba60f02d40d75c517fc38b5c2e90a0252171072c87754478"
    # ... which is SHA-256 over the JSON array of the short columns, a newline, and the payload's UTF-8 bytes.
    columns = orjson.dumps([GENESIS_HASH, 1, moment, "access", "key_1", "GET /v1/models", None])
    assert first == hashlib.sha256(columns + b"\n" + payload.encode()).hexdigest()
    record = AuditRecord(1, moment, "access", "key_1", "GET /v1/models", None, payload, GENESIS_HASH, first)
    assert record.intact()


def test_a_new_sqlite_log_keys_its_records_by_the_rowid(tmp_path: Path) -> None:
    with support.open_log(f"sqlite:///{tmp_path}/audit.sqlite", tmp_path / "archive") as log:
        log.append(support.decisions(3))
        assert log.verify().ok
    # No unique index beside the table: seq is the rowid itself.
    assert _indexes(tmp_path / "audit.sqlite") == {"audit_records_recorded_at", "audit_records_subject"}


def test_a_log_created_with_the_earlier_declaration_keeps_working(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute(_EARLIER_RECORDS_TABLE)
    clock = support.Clock(datetime(2025, 1, 15, tzinfo=UTC))
    with support.open_log(f"sqlite:///{path}", tmp_path / "archive", clock) as log:
        for month in range(6):
            clock.now = datetime(2025, month + 1, 15, tzinfo=UTC)
            log.append([*support.decisions(5, month * 5), support.access(month)])
        report = log.verify()
        assert report.ok, report.findings
        assert report.records == 36
        clock.now = datetime(2025, 6, 20, tzinfo=UTC)
        result = apply_retention(log, now=clock.now, hot_months=2, retention_months=4, actor="ops")
        assert result.archived == ("2025-01", "2025-02", "2025-03", "2025-04")
        assert result.deleted == ("2025-01", "2025-02")
        report = log.verify()
        assert report.ok, report.findings
        assert [r.seq for r in log.records()][-1] == 36 + 4 + 2, "archiving and deleting are recorded in the chain"
        export_bundle(log, tmp_path / "bundle", formats=("jsonl", "csv"), actor="compliance")
    bundle = verify_bundle(tmp_path / "bundle", support.SIGNER.public_key_hex)
    assert bundle.ok, bundle.findings
    assert "sqlite_autoindex_audit_records_1" in _indexes(path), "the earlier declaration was kept"

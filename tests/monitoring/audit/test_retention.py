"""Retention keeps the latest months in the main store, moves older ones to compressed segments that verify
and export as before, deletes months past retention with a record of it, and finds a segment that was
altered, swapped or lost."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitoring.audit import AuditLog, RetentionError, RetentionEvent, apply_retention, export_bundle, verify_bundle
from monitoring.audit.formats import read_records
from monitoring.audit.retention import months_before
from tests.monitoring.audit import support


def year_of_records(url: str, archive: Path) -> tuple[AuditLog, support.Clock]:
    """Ten records on the 15th of every month from January 2025 to March 2026."""
    clock = support.Clock(datetime(2025, 1, 15, tzinfo=UTC))
    log = support.open_log(url, archive, clock)
    for month in range(15):
        clock.now = datetime(2025 + month // 12, month % 12 + 1, 15, tzinfo=UTC)
        log.append([*support.decisions(8, month * 8), support.access(month), support.every_kind(month)[4]])
    return log, clock


def test_month_arithmetic() -> None:
    assert months_before("2026-03", 2) == "2026-01"
    assert months_before("2026-03", 3) == "2025-12"
    assert months_before("2026-01", 12) == "2025-01"


def test_old_months_move_to_segments_and_stay_verifiable_and_exportable(audit_url: str, tmp_path: Path) -> None:
    log, clock = year_of_records(audit_url, tmp_path / "archive")
    with log:
        before = list(log.records())
        export_bundle(log, tmp_path / "before", formats=("jsonl",), actor="c")
        clock.now = datetime(2026, 3, 20, tzinfo=UTC)
        result = apply_retention(log, now=clock.now, hot_months=3, retention_months=24, actor="ops")
        assert result.archived == tuple(f"2025-{m:02d}" for m in range(1, 13))
        assert result.deleted == ()
        with log.view() as view:
            assert [m.month for m in view.months()] == ["2026-01", "2026-02", "2026-03"]
            assert len(view.segments()) == 12
        segment = tmp_path / "archive" / "audit-2025-01.jsonl.gz"
        assert segment.exists()
        with gzip.open(segment) as stream:
            assert stream.read().count(b"\n") == 10
        report = log.verify()
        assert report.ok, report.findings
        assert report.archived_records == 120
        # The records read back across the archive exactly as before, followed by the retention records.
        after = list(log.records())
        assert after[: len(before)] == before
        assert [type(r.event()) for r in after[len(before) :]] == [RetentionEvent] * 12
        export_bundle(log, tmp_path / "after", formats=("jsonl", "parquet"), actor="c")
    bundle = verify_bundle(tmp_path / "after", support.SIGNER.public_key_hex)
    assert bundle.ok, bundle.findings
    assert list(read_records(tmp_path / "after" / "records.parquet", "parquet"))[: len(before)] == before


def test_months_past_retention_are_deleted_and_the_deletion_recorded(audit_url: str, tmp_path: Path) -> None:
    log, clock = year_of_records(audit_url, tmp_path / "archive")
    with log:
        clock.now = datetime(2026, 3, 20, tzinfo=UTC)
        result = apply_retention(log, now=clock.now, hot_months=3, retention_months=12, actor="ops")
        assert result.deleted == ("2025-01", "2025-02", "2025-03")
        assert not (tmp_path / "archive" / "audit-2025-02.jsonl.gz").exists()
        assert (tmp_path / "archive" / "audit-2025-04.jsonl.gz").exists()
        report = log.verify()
        assert report.ok, report.findings
        assert report.deleted_segments == 3
        deletions = [r.event() for r in log.records() if r.kind == "retention" and '"deleted"' in r.payload]
        assert [(e.month, e.actor) for e in deletions if isinstance(e, RetentionEvent)] == [
            ("2025-01", "ops"),
            ("2025-02", "ops"),
            ("2025-03", "ops"),
        ]
        # A second run changes nothing.
        assert apply_retention(log, now=clock.now, hot_months=3, retention_months=12, actor="ops").archived == ()


def _altered_segment(path: Path) -> None:
    with gzip.open(path) as stream:
        lines = stream.read().splitlines(keepends=True)
    edited = lines[2].replace(b'\\"decision\\":\\"review\\"', b'\\"decision\\":\\"approve\\"')
    assert edited != lines[2]
    lines[2] = edited
    with gzip.open(path, "wb") as stream:
        stream.write(b"".join(lines))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_altered_segment, r"audit-2025-02.jsonl.gz is not the file archived"),
        (_altered_segment, r"record 13 \(decision, dec-00000010\) does not match its hash"),
        (lambda path: path.unlink(), r"audit-2025-02.jsonl.gz is missing"),
        (lambda path: path.write_bytes(b"garbage"), r"cannot be read to its end"),
    ],
)
def test_an_altered_or_lost_segment_is_found(change: object, message: str, tmp_path: Path) -> None:
    import re

    log, _clock = year_of_records(f"sqlite:///{tmp_path}/a.sqlite", tmp_path / "archive")
    with log:
        apply_retention(log, now=datetime(2026, 3, 20, tzinfo=UTC), hot_months=3, retention_months=24, actor="ops")
        change(tmp_path / "archive" / "audit-2025-02.jsonl.gz")  # type: ignore[operator]
        report = log.verify()
    assert not report.ok
    assert any(re.search(message, str(f)) for f in report.findings), [str(f) for f in report.findings]


def test_retention_refuses_impossible_periods_and_existing_segments(tmp_path: Path) -> None:
    log, _ = year_of_records(f"sqlite:///{tmp_path}/a.sqlite", tmp_path / "archive")
    with log:
        with pytest.raises(RetentionError, match="hot months"):
            apply_retention(log, now=datetime(2026, 3, 20, tzinfo=UTC), hot_months=4, retention_months=3, actor="o")
        (tmp_path / "archive").mkdir()
        (tmp_path / "archive" / "audit-2025-01.jsonl.gz").write_bytes(b"left over")
        with pytest.raises(RetentionError, match="already exists"):
            apply_retention(log, now=datetime(2026, 3, 20, tzinfo=UTC), hot_months=3, retention_months=12, actor="o")
        assert log.verify().ok  # nothing moved

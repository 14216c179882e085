"""Exports give back exactly the records of the log in each format, in a bundle whose signed manifest verifies
on its own; any change to a bundle (a record, a line, a file, the manifest, the signer) fails verification."""

from __future__ import annotations

import json
import shutil
import tracemalloc
from pathlib import Path

import pytest

from monitoring.audit import (
    FORMATS,
    AuditFilter,
    AuditLog,
    BundleError,
    ExportError,
    Signer,
    export_bundle,
    export_stream,
    verify_bundle,
)
from monitoring.audit.formats import read_records
from tests.monitoring.audit import support


def filled_log(url: str, archive: Path, clock: support.Clock | None = None) -> AuditLog:
    log = support.open_log(url, archive, clock)
    for i in range(4):
        log.append([*support.decisions(50, i * 50), *support.every_kind(i)])
        if clock is not None:
            clock.advance(days=1)
    return log


def test_every_format_round_trips_and_the_bundle_verifies(audit_url: str, tmp_path: Path) -> None:
    with filled_log(audit_url, tmp_path / "archive") as log:
        expected = list(log.records())
        result = export_bundle(log, tmp_path / "bundle", actor="compliance-1")
    assert result.records == len(expected) == 228
    for fmt in FORMATS:
        assert list(read_records(tmp_path / "bundle" / f"records.{fmt}", fmt)) == expected, fmt
    manifest = result.manifest
    assert manifest["kinds"]["decision"] == 4 * 51
    assert manifest["chain"]["first_record_hash"] == expected[0].hash
    assert manifest["chain"]["last_record_hash"] == expected[-1].hash == manifest["chain"]["log_head"]["hash"]
    assert set(manifest["files"]) == {"records.jsonl", "records.csv", "records.parquet"}
    report = verify_bundle(tmp_path / "bundle", support.SIGNER.public_key_hex)
    assert report.ok, report.findings
    assert report.records == 228


def test_a_filtered_range_exports_only_its_records_and_verifies(audit_url: str, tmp_path: Path) -> None:
    clock = support.Clock(support.march(1))
    with filled_log(audit_url, tmp_path / "archive", clock) as log:
        where = AuditFilter(since=support.march(2), until=support.march(4), kinds=("decision", "access"))
        expected = list(log.records(where))
        result = export_bundle(log, tmp_path / "bundle", where=where, formats=("csv", "parquet"), actor="c")
    assert {r.kind for r in expected} == {"decision", "access"}
    assert len(expected) == 2 * 52
    assert list(read_records(tmp_path / "bundle" / "records.csv", "csv")) == expected
    assert result.manifest["filter"]["kinds"] == ["decision", "access"]
    assert result.manifest["range"]["first_recorded_at"] >= "2026-03-02"
    assert verify_bundle(tmp_path / "bundle", support.SIGNER.public_key_hex).ok


def _edit_jsonl_record(bundle: Path) -> None:
    lines = (bundle / "records.jsonl").read_text().splitlines(keepends=True)
    record = json.loads(lines[7])
    record["payload"] = record["payload"].replace('"decision":"review"', '"decision":"approve"')
    lines[7] = json.dumps(record) + "\n"
    (bundle / "records.jsonl").write_text("".join(lines))


def _drop_csv_line(bundle: Path) -> None:
    lines = (bundle / "records.csv").read_text().splitlines(keepends=True)
    (bundle / "records.csv").write_text("".join(lines[:5] + lines[6:]))


def _swap_jsonl_lines(bundle: Path) -> None:
    lines = (bundle / "records.jsonl").read_text().splitlines(keepends=True)
    lines[3], lines[4] = lines[4], lines[3]
    (bundle / "records.jsonl").write_text("".join(lines))


def _truncate_parquet(bundle: Path) -> None:
    data = (bundle / "records.parquet").read_bytes()
    (bundle / "records.parquet").write_bytes(data[: len(data) // 2])


def _edit_manifest(bundle: Path) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["records"] -= 1
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def _add_file(bundle: Path) -> None:
    (bundle / "notes.txt").write_text("added later")


def _remove_file(bundle: Path) -> None:
    (bundle / "records.csv").unlink()


MODIFICATIONS = {
    "an edited record": (_edit_jsonl_record, [r"records.jsonl differs", r"record 8 .* does not match its hash"]),
    "a dropped line": (_drop_csv_line, [r"records.csv differs", r"records 5\.\.5 are missing"]),
    "swapped lines": (_swap_jsonl_lines, [r"records.jsonl differs", r"record 4 .* out of order"]),
    "a truncated file": (_truncate_parquet, [r"records.parquet differs", r"records.parquet cannot be read"]),
    "an edited manifest": (_edit_manifest, [r"signature does not verify"]),
    "an added file": (_add_file, [r"notes.txt is not listed"]),
    "a removed file": (_remove_file, [r"records.csv is listed in the manifest but missing"]),
}


@pytest.mark.parametrize("name", list(MODIFICATIONS))
def test_a_modified_bundle_fails_verification(name: str, tmp_path: Path) -> None:
    modify, messages = MODIFICATIONS[name]
    with filled_log(f"sqlite:///{tmp_path}/a.sqlite", tmp_path / "archive") as log:
        export_bundle(log, tmp_path / "bundle", actor="c")
    modify(tmp_path / "bundle")
    report = verify_bundle(tmp_path / "bundle", support.SIGNER.public_key_hex)
    assert not report.ok
    import re

    for message in messages:
        assert any(re.search(message, f) for f in report.findings), (message, report.findings)


def test_a_bundle_signed_by_another_key_fails(tmp_path: Path) -> None:
    with filled_log(f"sqlite:///{tmp_path}/a.sqlite", tmp_path / "archive") as log:
        export_bundle(log, tmp_path / "bundle", actor="c")
    other = Signer.from_hex("77" * 32)
    report = verify_bundle(tmp_path / "bundle", other.public_key_hex)
    assert not report.ok
    assert "signature does not verify" in report.findings[0]


def test_exports_never_overwrite_and_say_what_is_wrong(tmp_path: Path) -> None:
    with filled_log(f"sqlite:///{tmp_path}/a.sqlite", tmp_path / "archive") as log:
        (tmp_path / "taken").mkdir()
        (tmp_path / "taken" / "keep.txt").write_text("mine")
        with pytest.raises(ExportError, match="already exists"):
            export_bundle(log, tmp_path / "taken", actor="c")
        assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"
        with pytest.raises(ExportError, match="empty"):
            AuditFilter(since=support.march(2), until=support.march(1))
    with pytest.raises(BundleError, match="not a bundle"):
        verify_bundle(tmp_path / "taken", support.SIGNER.public_key_hex)
    assert not list(tmp_path.glob(".*partial"))


def test_streamed_exports_match_the_bundle_files(tmp_path: Path) -> None:
    with filled_log(f"sqlite:///{tmp_path}/a.sqlite", tmp_path / "archive") as log:
        export_bundle(log, tmp_path / "bundle", formats=("jsonl", "csv"), actor="c")
        for fmt in ("jsonl", "csv"):
            streamed = b"".join(export_stream(log, fmt=fmt))  # type: ignore[arg-type]
            assert streamed == (tmp_path / "bundle" / f"records.{fmt}").read_bytes()
        with pytest.raises(ExportError, match="bundle for Parquet"):
            next(export_stream(log, fmt="parquet"))


@pytest.mark.slow
def test_a_large_export_streams_without_holding_the_records(tmp_path: Path) -> None:
    count = 60_000  # about 120 MB of records if they were held in memory
    with support.open_log(f"sqlite:///{tmp_path}/a.sqlite", tmp_path / "archive") as log:
        for start in range(0, count, 5_000):
            log.append(support.decisions(5_000, start))
        tracemalloc.start()
        try:
            result = export_bundle(log, tmp_path / "bundle", actor="c")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.records == count
    assert peak < 60 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    shutil.rmtree(tmp_path / "bundle")

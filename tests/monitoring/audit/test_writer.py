"""The batching writer gathers events from many threads and event loops into few appends, tells each submitter
the sequence range its events got once committed, and hands the append's error to every submitter of a failed
batch."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from monitoring.audit import AppendResult, AuditError, AuditStoreError
from monitoring.audit.writer import AuditWriter
from tests.monitoring.audit import support


def test_many_threads_one_exact_chain(audit_url: str, tmp_path: Path) -> None:
    with support.open_log(audit_url, tmp_path / "archive") as log:
        writer = AuditWriter(log, max_batch=500, max_delay_s=0.005)

        def request(i: int) -> tuple[int, int]:
            result = writer.record([support.decision(i), support.access(i)])
            return result.first_seq, result.last_seq

        with ThreadPoolExecutor(max_workers=8) as pool:
            ranges = list(pool.map(request, range(400)))
        writer.close()
        assert sorted(s for r in ranges for s in range(r[0], r[1] + 1)) == list(range(1, 801))
        assert all(last == first + 1 for first, last in ranges)
        records = {r.seq: r for r in log.records()}
        # Each submitter's two events are adjacent and its own.
        for i, (first, last) in enumerate(ranges):
            assert (records[first].subject, records[last].kind) == (f"dec-{i:08d}", "access")
        assert log.verify().ok


def test_a_failed_append_fails_its_submitters(tmp_path: Path) -> None:
    log = support.open_log(f"sqlite:///{tmp_path}/a.sqlite", tmp_path / "archive")
    writer = AuditWriter(log)
    assert writer.record([support.access(1)]).first_seq == 1
    log.close()
    with pytest.raises(AuditStoreError, match="closed"):
        writer.record([support.access(2)])
    bad = writer.submit([support.decision(1, input={"x": object()})])
    with pytest.raises(AuditError, match="cannot be recorded"):
        bad.result(timeout=5)
    writer.close()
    with pytest.raises(AuditError, match="closed"):
        writer.submit([support.access(3)])


def test_an_event_loops_submitters_are_resolved_on_their_loop(audit_url: str, tmp_path: Path) -> None:
    with support.open_log(audit_url, tmp_path / "archive") as log:
        writer = AuditWriter(log, max_batch=500, max_delay_s=0.005)

        async def requests() -> list[AppendResult]:
            futures = [writer.submit_async([support.decision(i), support.access(i)]) for i in range(50)]
            assert all(isinstance(future, asyncio.Future) for future in futures)
            return list(await asyncio.gather(*futures))

        results = asyncio.run(requests())
        writer.close()
        assert sorted(s for r in results for s in (r.first_seq, r.last_seq)) == list(range(1, 101))
        records = {r.seq: r for r in log.records()}
        for i, result in enumerate(results):
            assert (records[result.first_seq].subject, records[result.last_seq].kind) == (f"dec-{i:08d}", "access")
        assert log.verify().ok


def test_a_failed_append_is_reported_before_an_event_loops_submitter_sees_it(tmp_path: Path) -> None:
    log = support.open_log(f"sqlite:///{tmp_path}/a.sqlite", tmp_path / "archive")
    writer = AuditWriter(log)
    log.close()
    reported: list[BaseException] = []

    async def request() -> None:
        future = writer.submit_async([support.access(1)], on_error=reported.append)
        with pytest.raises(AuditStoreError, match="closed"):
            await future
        assert len(reported) == 1
        assert isinstance(reported[0], AuditStoreError)
        bad = writer.submit_async([support.decision(1, input={"x": object()})], on_error=reported.append)
        with pytest.raises(AuditError, match="cannot be recorded"):
            await bad

    asyncio.run(request())
    assert len(reported) == 2
    writer.close()

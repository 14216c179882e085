"""The recording process writes the chain for a scoring process: every submission answered once committed (or with
why not), card numbers screened there, nothing lost when the writer closes, a dead recording process reported and
replaced, and a chain that verifies throughout."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from monitoring.audit import AccessEvent, AuditError, AuditLog, AuditSettings, AuditStoreError, DeploymentEvent
from monitoring.audit.decision_batch import decision_batch_of
from monitoring.audit.encoding import encode
from monitoring.audit.process_writer import ProcessWriter
from tests.monitoring.audit import support

PAN = "4111111111111111"


def _access(n: int, detail: str | None = None) -> AccessEvent:
    return AccessEvent(
        key_id=f"key_{n}", event_type="read", success=True, origin="10.0.0.7", resource=f"GET /v1/x/{n}", detail=detail
    )


@pytest.fixture
def settings(audit_url: str, tmp_path: Path) -> AuditSettings:
    return AuditSettings(audit_url=audit_url, audit_archive_dir=tmp_path / "archive")


@pytest.fixture
def writer(settings: AuditSettings) -> Iterator[ProcessWriter]:
    writer = ProcessWriter(settings, restart_pause_s=0.0)
    try:
        yield writer
    finally:
        writer.close()


def _log(settings: AuditSettings) -> AuditLog:
    return AuditLog.from_settings(settings)


def test_submissions_are_answered_with_their_committed_range(writer: ProcessWriter, settings: AuditSettings) -> None:
    futures = [writer.submit([_access(2 * k), _access(2 * k + 1)]) for k in range(200)]
    results = [future.result(timeout=30) for future in futures]
    assert [(r.first_seq, r.last_seq) for r in results] == [(2 * k + 1, 2 * k + 2) for k in range(200)]
    with _log(settings) as log:
        assert log.verify().ok
        assert log.head().seq == 400
        assert log.head().hash == results[-1].head_hash
        assert [record.subject for record in log.records()] == [f"GET /v1/x/{n}" for n in range(400)]
    assert writer.pid is not None
    assert writer.pid != os.getpid()


def test_an_event_loop_awaits_its_commit(writer: ProcessWriter, settings: AuditSettings) -> None:
    async def submit() -> list[int]:
        results = await asyncio.gather(*(writer.submit_async([_access(n)]) for n in range(50)))
        return sorted(r.first_seq for r in results)

    assert asyncio.run(submit()) == list(range(1, 51))


def test_card_numbers_are_screened_in_the_recording_process(writer: ProcessWriter, settings: AuditSettings) -> None:
    result = writer.record([_access(1, detail=f"card {PAN} refused"), _access(2)])
    assert result.masked_events == 1
    with _log(settings) as log:
        payloads = [record.payload for record in log.records()]
    assert all(PAN not in payload for payload in payloads)
    assert "411111******1111" in payloads[0]


def test_an_event_that_cannot_be_recorded_fails_alone_in_the_submitter(writer: ProcessWriter) -> None:
    bad = DeploymentEvent(actor="ops", action="promoted", alias="champion", content_id="m", details={"x": object()})
    failed = writer.submit([bad])
    with pytest.raises(AuditError, match="cannot be recorded"):
        failed.result(timeout=5)
    assert not isinstance(failed.exception(), AuditStoreError), "not worth a second try"
    assert writer.record([_access(1)]).first_seq == 1


def test_close_commits_what_was_submitted_and_stops_the_process(settings: AuditSettings) -> None:
    writer = ProcessWriter(settings)
    pid = writer.pid
    assert pid is not None
    futures = [writer.submit([_access(n)]) for n in range(2_000)]
    writer.close()
    assert all(future.done() and future.exception() is None for future in futures)
    with _log(settings) as log:
        assert log.head().seq == 2_000
        assert log.verify().ok
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(AuditError, match="closed"):
        writer.submit([_access(1)])


def test_a_terminal_interrupt_does_not_stop_recording(writer: ProcessWriter) -> None:
    assert writer.pid is not None
    os.kill(writer.pid, signal.SIGINT)
    os.kill(writer.pid, signal.SIGTERM)
    assert writer.record([_access(1)]).first_seq == 1, "the scoring process alone decides when recording ends"


def test_a_dead_recording_process_is_reported_and_replaced(writer: ProcessWriter, settings: AuditSettings) -> None:
    writer.record([_access(0)])
    first = writer.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while writer.pid is not None and time.monotonic() < deadline:  # the reply thread sees the socket close
        time.sleep(0.01)
    assert writer.pid is None
    result = writer.record([_access(1)])  # the next submission starts a new one
    assert writer.pid not in (None, first)
    assert result.first_seq == 2
    with _log(settings) as log:
        assert log.verify().ok


def test_a_recording_process_that_cannot_open_the_log_refuses_to_start(tmp_path: Path) -> None:
    not_a_database = tmp_path / "audit.sqlite"
    not_a_database.write_bytes(b"this is not a database" * 100)
    settings = AuditSettings(audit_url=f"sqlite:///{not_a_database}", audit_archive_dir=tmp_path / "archive")
    with pytest.raises(AuditStoreError, match="could not open the log"):
        ProcessWriter(settings, start_timeout_s=30)


def test_a_batch_of_decisions_is_recorded_as_its_events_would_be(
    writer: ProcessWriter, settings: AuditSettings
) -> None:
    events = list(support.decisions(300))
    plain = support.decision(300)
    card = replace(plain, input={**plain.input, "device_id": f"dev {PAN}"})  # a card number where none belongs
    first, last = _access(0), _access(1)
    result = writer.record([first, decision_batch_of([*events, card]), last])
    assert (result.first_seq, result.last_seq, result.masked_events) == (1, 303, 1)
    with _log(settings) as log:
        records = list(log.records())
        assert log.verify().ok
    expected = [encode(e) for e in [first, *events, card, last]]
    assert [(r.kind, r.actor, r.subject, r.card_token, r.payload) for r in records] == [
        (e.kind, e.actor, e.subject, e.card_token, e.payload) for e in expected
    ], "byte for byte what encoding each event gives"
    assert all(PAN not in r.payload for r in records)


def test_large_submissions_keep_their_order(writer: ProcessWriter, settings: AuditSettings) -> None:
    batches = [decision_batch_of(list(support.decisions(200, start=200 * k))) for k in range(12)]
    futures = [writer.submit([batch]) for batch in batches]  # megabytes: more than the socket takes at once
    results = [future.result(timeout=60) for future in futures]
    assert [(r.first_seq, r.last_seq) for r in results] == [(200 * k + 1, 200 * k + 200) for k in range(12)]
    with _log(settings) as log:
        assert [r.subject for r in log.records()] == [f"dec-{i:08d}" for i in range(2_400)]

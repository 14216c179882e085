"""Inside a request's recording scope the recorder stages the request's events, submits them as one group when
the answer is about to go out and lets the answer wait for their commit; events a request staged but never
awaited are recorded when its scope closes; a failed commit keeps the events for a second try. A decision's raw
fields are recorded alike whichever path scored it."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.model_input import ModelInput
from ingest.contract import Channel, Transaction
from monitoring.audit import AuditLog, AuditStoreError, AuditWriter, DecisionEvent
from scoring_api.recording import AuditRecorder, recording_scope
from scoring_api.recording.audit import contract_rows
from scoring_api.records import Decision, ModelRole, Outcome, RiskBand, ScoredBatch
from scoring_api.sinks import AccessEvent, BatchScored, utc_now
from tests.monitoring.audit import support


def _access(i: int) -> AccessEvent:
    return AccessEvent(
        at=utc_now(), granted=True, status=200, method="POST", path="/v1/score", key_id=f"key_{i}", role="scorer",
        origin="10.0.0.7", resource="/v1/score",
    )  # fmt: skip


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    return support.open_log(f"sqlite:///{tmp_path}/audit.sqlite", tmp_path / "archive")


def test_a_requests_events_are_committed_together_before_its_answer(log: AuditLog) -> None:
    recorder = AuditRecorder(AuditWriter(log), backend="numpy")

    async def request(i: int) -> set[str | None]:
        with recording_scope() as scope:
            recorder.access(_access(i))
            recorder.access(_access(i + 100))
            staged = scope.pending
            await asyncio.sleep(0)
            await scope.committed(timeout_s=10.0)
            assert (staged, scope.pending) == (True, False)
            return {record.actor for record in log.records()}  # what is on record when it "answers"

    async def requests() -> list[set[str | None]]:
        return list(await asyncio.gather(*(request(i) for i in range(20))))

    recorded = asyncio.run(requests())
    recorder.close()
    assert all({f"key_{i}", f"key_{i + 100}"} <= on_record for i, on_record in enumerate(recorded))
    records = list(log.records())
    assert len(records) == 40
    by_seq = {record.seq: record.actor for record in records}
    # Each request's two events are one submission: adjacent in the chain.
    for seq in range(1, 41, 2):
        first, second = by_seq[seq], by_seq[seq + 1]
        assert first is not None
        assert second == f"key_{int(first.removeprefix('key_')) + 100}"
    assert log.verify().ok
    log.close()


def test_events_a_request_never_awaited_are_recorded_when_its_scope_closes(log: AuditLog) -> None:
    recorder = AuditRecorder(AuditWriter(log), backend="numpy")
    with recording_scope():
        recorder.access(_access(1))
    recorder.close()
    assert [record.actor for record in log.records()] == ["key_1"]
    log.close()


def test_a_failed_commit_fails_the_answer_and_keeps_the_events(log: AuditLog) -> None:
    recorder = AuditRecorder(AuditWriter(log), backend="numpy")
    log.close()

    async def request() -> None:
        with recording_scope() as scope:
            recorder.access(_access(1))
            with pytest.raises(AuditStoreError, match="closed"):
                await scope.committed(timeout_s=10.0)

    asyncio.run(request())
    assert recorder.problem() == (
        "1 audit events wait to be recorded: AuditStoreError: the audit log is closed; open it again to record events"
    )
    recorder.writer.close()


def test_the_batch_path_records_the_contract_fields_as_the_single_transaction_path() -> None:
    times = [datetime(2026, 3, 1, 10, 0, tzinfo=UTC), datetime(2026, 3, 1, 10, 0, 1, 250, tzinfo=UTC)]
    transactions = [
        Transaction(
            transaction_id=f"t{k}",
            timestamp=at,
            card_token="tok_" + "ab" * 16,
            customer_id="C-1",
            terminal_id="T-1",
            amount=12.5 + k,
            channel=Channel.ECOM,
        )
        for k, at in enumerate(times)
    ]
    frame = pd.DataFrame([transaction.model_dump() for transaction in transactions])
    assert str(frame["timestamp"].dt.tz) == "UTC"
    singles = [row for transaction in transactions for row in contract_rows(transaction)]
    assert contract_rows(frame) == singles
    assert [row["timestamp"] for row in singles] == ["2026-03-01T10:00:00+00:00", "2026-03-01T10:00:01.000250+00:00"]
    assert singles[0]["channel"] == "ecom"


def _scored(count: int) -> BatchScored:
    """A stream batch of ``count`` approved decisions."""
    at = utc_now()
    transactions = [
        Transaction(transaction_id=f"t{k}", timestamp=at, card_token="tok_" + "cd" * 16, customer_id="C-1",
                    terminal_id="T-1", amount=10.0 + k)
        for k in range(count)
    ]  # fmt: skip
    decisions = tuple(
        Decision(
            decision_id=f"dec-{k}", transaction_id=f"t{k}", card_token="tok_" + "cd" * 16, score=0.01 * k,
            risk_band=RiskBand.LOW, outcome=Outcome.APPROVE, decided_by="model", rules_fired=(), reasons=(),
            review_threshold=0.5, decline_threshold=0.9, model_version="sha256:" + "ab" * 32,
            model_role=ModelRole.CHAMPION, decision_config_version=3, decided_at=at,
        )
        for k in range(count)
    )  # fmt: skip
    frame = pd.DataFrame([transaction.model_dump() for transaction in transactions])
    values = np.arange(count * 2, dtype=np.float32).reshape(count, 2)
    batch = ScoredBatch(decisions, ModelInput(("amount", "is_night"), values), np.arange(count), scored=frame)
    return BatchScored(at=at, source="stream", batch=batch)


def test_a_scored_batch_is_submitted_and_its_commit_awaited_by_the_caller(log: AuditLog) -> None:
    recorder = AuditRecorder(AuditWriter(log), backend="numpy")
    result = recorder.submit_scored(_scored(3)).result(timeout=10.0)
    assert (result.first_seq, result.last_seq) == (1, 3)
    events = [record.event() for record in log.records()]
    assert [(e.decision_id, e.source) for e in events if isinstance(e, DecisionEvent)] == [
        ("dec-0", "stream"),
        ("dec-1", "stream"),
        ("dec-2", "stream"),
    ]
    recorder.close()
    log.close()


def test_a_scored_batch_whose_commit_fails_fails_its_future_and_waits_for_a_second_try(log: AuditLog) -> None:
    recorder = AuditRecorder(AuditWriter(log), backend="numpy")
    log.close()
    with pytest.raises(AuditStoreError, match="closed"):
        recorder.submit_scored(_scored(2)).result(timeout=10.0)
    # The future's waiters wake as its done callbacks (which keep the events) start: wait for them, boundedly.
    problem = None
    for _ in range(500):
        if (problem := recorder.problem()) is not None:
            break
        time.sleep(0.01)
    assert problem is not None
    assert problem.startswith("2 audit events wait to be recorded")
    recorder.writer.close()

"""The recorder's columnar batch of a scored batch means, row for row, the decision events the per-row path
recorded (built here as that path built them), on the batch path and the single-transaction path alike, and
those records are what the log then holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.model_input import ModelInput
from ingest.contract import Channel, Transaction
from monitoring.audit import AuditWriter, DecisionBatch, DecisionEvent, decision_batch_events, encode_decision_batch
from monitoring.audit.encoding import encode, encode_items
from scoring_api.recording import AuditRecorder
from scoring_api.recording.audit import (
    COLUMNAR_FROM,
    contract_rows,
    contract_struct,
    decision_batch,
    decision_events,
    scored_items,
)
from scoring_api.records import Decision, ModelRole, Outcome, ReasonCode, RiskBand, ScoredBatch
from scoring_api.sinks import BatchScored
from tests.monitoring.audit import support

NAMES = ("amount", "card_count_1d", "card_mean_amount_1d")
START = datetime(2026, 3, 1, 10, tzinfo=UTC)


def transactions(count: int) -> list[Transaction]:
    return [
        Transaction(
            transaction_id=f"t{k}",
            timestamp=START + timedelta(seconds=k, microseconds=250 * (k % 2)),
            card_token=support.token(k % 3),
            customer_id=f"C-{k}",
            terminal_id="T-1",
            amount=12.5 + k,
            channel=Channel.ECOM if k % 2 else Channel.POS,
            device_id='dev "1" \u00e9' if k == 1 else "",
        )
        for k in range(count)
    ]


def decision(k: int, transaction: Transaction) -> Decision:
    reasons = tuple(
        ReasonCode(feature=NAMES[j], value=1.0, contribution=(-0.0, 5e-324, 0.1 / (j + 1))[j], text=f"why {j}")
        for j in range(k % 4)
    )
    return Decision(
        decision_id=f"dec-{k}",
        transaction_id=transaction.transaction_id,
        card_token=transaction.card_token,
        score=(k + 1) / 7,
        risk_band=RiskBand.MEDIUM,
        outcome=(Outcome.APPROVE, Outcome.REVIEW, Outcome.DECLINE)[k % 3],
        decided_by="model",
        rules_fired=("velocity", "country")[: k % 3],
        reasons=reasons,
        review_threshold=0.5,
        decline_threshold=0.9,
        model_version=support.MODEL,
        model_role=ModelRole.CANARY if k % 2 else ModelRole.CHAMPION,
        decision_config_version=3,
        decided_at=START + timedelta(microseconds=k * 1001),
    )


def scored(count: int, *, frame: bool) -> BatchScored:
    rows = transactions(count)
    decisions = tuple(decision(k, t) for k, t in enumerate(rows))
    values = (np.arange(count * len(NAMES)).reshape(count, -1) / 3).astype(np.float32)
    values[0, 0] = -0.0
    table = pd.DataFrame([t.model_dump() for t in rows]) if frame else rows[0]
    batch = ScoredBatch(decisions, ModelInput(NAMES, values), np.arange(count), scored=table)
    return BatchScored(at=START, source="stream" if frame else "api", batch=batch)


@pytest.mark.parametrize(("frame", "count"), [(True, 7), (False, 1)])
@pytest.mark.parametrize("displays", [{}, {support.token(1): "411111******1111"}])
def test_the_batch_means_the_per_row_events(frame: bool, count: int, displays: dict[str, str]) -> None:
    event = scored(count, frame=frame)
    batch = decision_batch(event, backend="numba", card_displays=displays)
    assert batch is not None
    expected = decision_events(event, backend="numba", card_displays=displays)
    assert decision_batch_events(batch) == expected
    assert encode_decision_batch(batch) == [encode(e) for e in expected]


def test_a_batch_of_replayed_answers_only_records_nothing() -> None:
    event = scored(2, frame=True)
    empty = ScoredBatch(event.batch.results, event.batch.model_input.take(slice(0, 0)), np.arange(0), scored=None)
    assert decision_batch(BatchScored(at=START, source="api", batch=empty), backend="numpy") is None


def test_the_recorder_records_one_record_per_decision(tmp_path: Path) -> None:
    log = support.open_log(f"sqlite:///{tmp_path}/audit.sqlite", tmp_path / "archive")
    recorder = AuditRecorder(AuditWriter(log), backend="numpy")
    event = scored(COLUMNAR_FROM + 2, frame=True)  # recorded as a table
    recorder.batch_scored(event)
    recorder.close()
    assert [record.event() for record in log.records()] == decision_events(event, backend="numpy")
    assert log.verify().ok
    log.close()


@pytest.mark.parametrize("text", ["object", "str"])
def test_a_frames_columns_are_taken_as_the_contract_records_them(text: str) -> None:
    frame = pd.DataFrame([t.model_dump() for t in transactions(4)])
    for column in ("transaction_id", "channel", "device_id"):
        frame[column] = frame[column].astype(text)
    assert contract_struct(frame).to_pylist() == contract_rows(frame)
    assert contract_struct(transactions(1)[0]).to_pylist() == contract_rows(transactions(1)[0])


@pytest.mark.parametrize("count", [1, COLUMNAR_FROM - 1, COLUMNAR_FROM, 120])
def test_small_batches_are_recorded_as_events_and_give_the_same_records(count: int) -> None:
    event = scored(count, frame=count > 1)
    items = scored_items(event, backend="numba")
    columnar = decision_batch(event, backend="numba")
    assert columnar is not None
    if count < COLUMNAR_FROM:
        assert all(isinstance(item, DecisionEvent) for item in items)
    else:
        assert [type(item) for item in items] == [DecisionBatch]
    assert encode_items(items) == encode_items([columnar]), "the same records either way, byte for byte"

"""The decisions' wire format on ``scores``: every field of the pipeline's decision, as plain JSON."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from scoring_api.records import Decision, ModelRole, Outcome, ReasonCode, RiskBand
from scoring_api.worker.decisions import MESSAGE_FIELDS, StreamDecision, decode_decision, encode_decisions
from scoring_api.worker.errors import WorkerError

_AT = datetime(2026, 1, 1, 12, 0, 0, 1234, tzinfo=UTC)
_PLAIN = Decision("d1", "t1", "c1", 0.12, RiskBand.LOW, Outcome.APPROVE, "model", (), (), 0.5, None, "sha256:ab",
                  ModelRole.CHAMPION, 3, _AT)  # fmt: skip
_RULED = Decision(
    "d2", "t2", "c2", 0.97, RiskBand.HIGH, Outcome.DECLINE, "rule", ("blocked_country", "velocity"),
    (ReasonCode("amount", 950.0, 1.2, "a large amount"), ReasonCode("card_count_1d", 9.0, 0.4, "many today")),
    0.5, 0.9, "sha256:cd", ModelRole.CANARY, 7, datetime(2026, 1, 1, 13, tzinfo=timezone(timedelta(hours=1))),
)  # fmt: skip


def _expected(d: Decision, event_time: int, source: str) -> dict[str, object]:
    return {
        "decision_id": d.decision_id,
        "transaction_id": d.transaction_id,
        "card_token": d.card_token,
        "score": d.score,
        "risk_band": d.risk_band.value,
        "outcome": d.outcome.value,
        "decided_by": d.decided_by,
        "rules_fired": list(d.rules_fired),
        "reasons": [r.feature for r in d.reasons],
        "review_threshold": d.review_threshold,
        "decline_threshold": d.decline_threshold,
        "model_version": d.model_version,
        "model_role": d.model_role.value,
        "decision_config_version": d.decision_config_version,
        "decided_at": d.decided_at.isoformat(),
        "event_time": event_time,
        "source": source,
    }


@pytest.mark.parametrize("decisions", [[_PLAIN], [_RULED], [_PLAIN, _RULED, _PLAIN]], ids=["plain", "ruled", "mixed"])
def test_each_decision_is_its_fields_as_json_keyed_by_transaction_id(decisions: list[Decision]) -> None:
    times = [1_522_576_800_000_000 + k for k in range(len(decisions))]
    sources = [f"transactions/{k}/{k * 10}" for k in range(len(decisions))]
    encoded = encode_decisions(decisions, times, sources)
    assert [key for key, _ in encoded] == [d.transaction_id.encode() for d in decisions]
    for (_, value), d, t, source in zip(encoded, decisions, times, sources, strict=True):
        assert orjson.loads(value) == _expected(d, t, source)
        back = decode_decision(value)
        assert (back.outcome, back.rules_fired, back.decided_at) == (
            d.outcome.value,
            d.rules_fired,
            d.decided_at.isoformat(),
        )


def test_anything_else_is_refused_by_name() -> None:
    with pytest.raises(WorkerError, match="not a decision message"):
        decode_decision(b'{"decision_id": "d1"}')


def test_the_message_and_its_reader_carry_the_pipeline_decision_fields_in_order() -> None:
    """The decision's fields have one home (the pipeline's Decision): a field added there reaches the message, the
    reader and this test's expectation, or is named as staying in the service (decisions.SERVICE_ONLY)."""
    decision_fields = [f.name for f in fields(Decision)]
    assert list(MESSAGE_FIELDS[:-2]) == [n for n in decision_fields if n not in ("replayed", "explanation")]
    assert [f.name for f in fields(StreamDecision)] == list(MESSAGE_FIELDS)
    ((_, value),) = encode_decisions([_RULED], [1], ["transactions/0/1"])
    assert list(orjson.loads(value)) == list(MESSAGE_FIELDS) == list(_expected(_RULED, 1, "transactions/0/1"))

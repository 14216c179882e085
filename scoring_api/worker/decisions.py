"""The wire format of decisions on topic ``scores``: one message per decided transaction.

* **key**: the transaction id, UTF-8 (readers look a decision up by it; a compacted copy of the topic keeps the
  latest per transaction).
* **value**: a JSON object with the fields of the scoring pipeline's :class:`~scoring_api.records.Decision`
  (``decision_id``, ``transaction_id``, ``card_token``, ``score``, ``risk_band``, ``outcome``, ``decided_by``,
  ``rules_fired``, ``reasons`` (the features behind the score, most important first), ``review_threshold``,
  ``decline_threshold``, ``model_version`` (the content id of the model that scored), ``model_role``,
  ``decision_config_version``, ``decided_at`` (ISO 8601)), plus ``event_time`` (the transaction's time,
  epoch microseconds) and ``source`` (its message, ``topic/partition/offset``).

>>> from datetime import datetime, timezone
>>> from scoring_api.records import ModelRole, Outcome, RiskBand
>>> decision = Decision("d1", "t1", "c1", 0.93, RiskBand.HIGH, Outcome.REVIEW, "model", (), (), 0.5, None,
...                     "sha256:ab", ModelRole.CHAMPION, 3, datetime(2026, 1, 1, tzinfo=timezone.utc))
>>> key, value = encode_decisions([decision], [1522576800000000], ["transactions/0/17"])[0]
>>> key, decode_decision(value).outcome, decode_decision(value).decision_config_version
(b't1', 'review', 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Final

import orjson

from scoring_api.records import Decision
from scoring_api.worker.errors import WorkerError

#: What of the pipeline's :class:`~scoring_api.records.Decision` stays in the service: whether the answer was a
#: replay, and the additive explanation (an audit record). A message carries every other field of the decision,
#: in its order (the reasons by feature name), then the transaction's ``event_time`` and ``source``.
SERVICE_ONLY: Final = frozenset({"replayed", "explanation"})
MESSAGE_FIELDS: Final = (*(f.name for f in fields(Decision) if f.name not in SERVICE_ONLY), "event_time", "source")


@dataclass(frozen=True)
class StreamDecision:
    """A decision as read back from ``scores``: the fields of :data:`MESSAGE_FIELDS` (a test holds the two, and
    the encoder, in step), enumerations and times as their text."""

    decision_id: str
    transaction_id: str
    card_token: str
    score: float
    risk_band: str
    outcome: str
    decided_by: str
    rules_fired: tuple[str, ...]
    reasons: tuple[str, ...]
    review_threshold: float
    decline_threshold: float | None
    model_version: str
    model_role: str
    decision_config_version: int
    decided_at: str
    event_time: int
    source: str


def encode_decisions(
    decisions: Sequence[Decision], event_times: Sequence[int], sources: Sequence[str]
) -> list[tuple[bytes, bytes]]:
    """(key, value) of each decision, with its transaction's time and source message.

    orjson writes the enums (their values) and tuples (arrays) itself; ``decided_at`` is formatted once per
    distinct time (a batch's decisions share one)."""
    dumps = orjson.dumps
    formatted: dict[datetime, str] = {}
    out = []
    for d, event_time, source in zip(decisions, event_times, sources, strict=True):
        decided_at = formatted.get(d.decided_at)
        if decided_at is None:
            decided_at = formatted[d.decided_at] = d.decided_at.isoformat()
        value = {
            "decision_id": d.decision_id,
            "transaction_id": d.transaction_id,
            "card_token": d.card_token,
            "score": d.score,
            "risk_band": d.risk_band,
            "outcome": d.outcome,
            "decided_by": d.decided_by,
            "rules_fired": d.rules_fired,
            "reasons": [r.feature for r in d.reasons],
            "review_threshold": d.review_threshold,
            "decline_threshold": d.decline_threshold,
            "model_version": d.model_version,
            "model_role": d.model_role,
            "decision_config_version": d.decision_config_version,
            "decided_at": decided_at,
            "event_time": event_time,
            "source": source,
        }
        out.append((d.transaction_id.encode(), dumps(value)))
    return out


def decode_decision(value: bytes) -> StreamDecision:
    """A decision from its message value; :class:`WorkerError` for anything else."""
    try:
        record: dict[str, Any] = orjson.loads(value)
        decline = record["decline_threshold"]
        return StreamDecision(
            decision_id=str(record["decision_id"]),
            transaction_id=str(record["transaction_id"]),
            card_token=str(record["card_token"]),
            score=float(record["score"]),
            risk_band=str(record["risk_band"]),
            outcome=str(record["outcome"]),
            decided_by=str(record["decided_by"]),
            rules_fired=tuple(str(r) for r in record["rules_fired"]),
            reasons=tuple(str(r) for r in record["reasons"]),
            review_threshold=float(record["review_threshold"]),
            decline_threshold=None if decline is None else float(decline),
            model_version=str(record["model_version"]),
            model_role=str(record["model_role"]),
            decision_config_version=int(record["decision_config_version"]),
            decided_at=str(record["decided_at"]),
            event_time=int(record["event_time"]),
            source=str(record["source"]),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise WorkerError(f"not a decision message: {exc!r}") from exc

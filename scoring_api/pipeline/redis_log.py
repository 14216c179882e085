"""The decision log shared by several service processes or stream workers: Redis.

Keys are ``{prefix}:{hash of the transaction id}`` (ids never appear in key names); a claim is one ``SET NX``
of a pending marker with a short expiry (a worker that dies while scoring does not block the id for long), and
a recorded decision replaces it, expiring after ``ttl_s``. The stored decision's transaction id has card numbers
masked (an id should never hold one, but storage must not keep one if it does); a replay answers with the id of
the request that asked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any, Final

import orjson
import redis

from ingest.validation.masking import mask_card_numbers
from scoring_api.pipeline.idempotency import Claim, content_differs, in_progress
from scoring_api.records import Decision, Explanation, ModelRole, Outcome, ReasonCode, RiskBand

_PENDING: Final = b"P"
_DONE: Final = b"D"
#: How long a claim stays pending without a recorded decision before another worker may score the id.
PENDING_TTL_S: Final = 30

# Deletes a key only while it still holds a pending claim (a recorded decision is never released).
_RELEASE: Final = """
local value = redis.call('GET', KEYS[1])
if value and string.sub(value, 1, 1) == 'P' then return redis.call('DEL', KEYS[1]) end
return 0
"""


def decision_to_document(decision: Decision) -> dict[str, Any]:
    """A decision as plain JSON data (its stored form)."""
    doc = asdict(decision)
    doc["transaction_id"] = mask_card_numbers(decision.transaction_id)
    doc["decided_at"] = decision.decided_at.isoformat()
    return doc


def decision_from_document(doc: dict[str, Any], transaction_id: str) -> Decision:
    """The decision stored by :func:`decision_to_document`, answering for ``transaction_id``."""
    return Decision(
        **{
            **doc,
            "transaction_id": transaction_id,
            "risk_band": RiskBand(doc["risk_band"]),
            "outcome": Outcome(doc["outcome"]),
            "rules_fired": tuple(doc["rules_fired"]),
            "reasons": tuple(ReasonCode(**r) for r in doc["reasons"]),
            "model_role": ModelRole(doc["model_role"]),
            "decided_at": datetime.fromisoformat(doc["decided_at"]),
            "explanation": None if doc.get("explanation") is None else Explanation(**doc["explanation"]),
        }
    )


class RedisDecisionLog:
    """Decisions by transaction id in Redis, claimed atomically so that each id is scored once across workers."""

    def __init__(self, client: redis.Redis, prefix: str = "fraud:decisions", ttl_s: int = 7 * 86_400) -> None:
        self.client = client
        self.prefix = prefix
        self.ttl_s = ttl_s
        self._release = client.register_script(_RELEASE)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisDecisionLog:
        return cls(redis.Redis.from_url(url, decode_responses=False), **kwargs)

    def _key(self, transaction_id: str) -> str:
        return f"{self.prefix}:{hashlib.blake2b(transaction_id.encode(), digest_size=16).hexdigest()}"

    def claim(self, transaction_ids: Sequence[str], fingerprints: Sequence[str]) -> list[Claim]:
        pipe = self.client.pipeline(transaction=False)
        for tid, fp in zip(transaction_ids, fingerprints, strict=True):
            pipe.set(self._key(tid), _PENDING + fp.encode(), nx=True, ex=PENDING_TTL_S)
        claimed = pipe.execute()
        taken = [i for i, ok in enumerate(claimed) if not ok]
        out: list[Claim] = [None] * len(transaction_ids)
        if not taken:
            return out
        values = self.client.mget([self._key(transaction_ids[i]) for i in taken])
        for i, value in zip(taken, values, strict=True):
            out[i] = self._read(transaction_ids[i], fingerprints[i], value if isinstance(value, bytes) else None)
        return out

    @staticmethod
    def _read(transaction_id: str, fp: str, value: bytes | None) -> Claim:
        if value is None:  # expired between the two calls: a retry claims it
            return in_progress(transaction_id)
        if value[:1] == _PENDING:
            return in_progress(transaction_id) if value[1:].decode() == fp else content_differs(transaction_id)
        doc = orjson.loads(value[1:])
        if doc["fingerprint"] != fp:
            return content_differs(transaction_id)
        return decision_from_document(doc["decision"], transaction_id)

    def record(self, decisions: Sequence[Decision], fingerprints: Sequence[str]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for decision, fp in zip(decisions, fingerprints, strict=True):
            value = _DONE + orjson.dumps({"fingerprint": fp, "decision": decision_to_document(decision)})
            pipe.set(self._key(decision.transaction_id), value, ex=self.ttl_s)
        pipe.execute()

    def release(self, transaction_ids: Sequence[str]) -> None:
        for tid in transaction_ids:
            self._release(keys=[self._key(tid)])

    def get(self, transaction_id: str) -> Decision | None:
        value = self.client.get(self._key(transaction_id))
        if not isinstance(value, bytes) or value[:1] == _PENDING:
            return None
        return decision_from_document(orjson.loads(value[1:])["decision"], transaction_id)

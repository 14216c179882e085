"""Fast JSON bodies of the scoring routes (the shapes of :mod:`scoring_api.service.schemas`).

The scoring routes return these dicts through orjson directly instead of validating response models on every
request; the OpenAPI document still declares the models, and the schema tests check that what is sent matches.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
from starlette.responses import JSONResponse

from ingest.validation.checker import CompiledChecker
from scoring_api.records import Decision, Rejection


class OrjsonResponse(JSONResponse):
    """A JSON response serialised by orjson (numbers, datetimes and enums natively, several times faster than
    the standard library)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def decision_body(decision: Decision) -> dict[str, Any]:
    """The :class:`~scoring_api.service.schemas.DecisionOut` document of a decision, for orjson: the reason codes
    go as the records themselves (dataclasses with the fields of ``ReasonCodeOut``, which orjson writes as
    objects), enums as themselves (orjson writes their values; reading ``.value`` costs 0.25 us an enum)."""
    explanation = decision.explanation
    return {
        "decision_id": decision.decision_id,
        "transaction_id": decision.transaction_id,
        "score": decision.score,
        "risk_band": decision.risk_band,
        "decision": decision.outcome,
        "decided_by": decision.decided_by,
        "reason_codes": decision.reasons,
        "rules_fired": decision.rules_fired,
        "thresholds": {"review": decision.review_threshold, "decline": decision.decline_threshold},
        "model_version": decision.model_version,
        "model_role": decision.model_role,
        "decision_config_version": decision.decision_config_version,
        "decided_at": utc_text(decision.decided_at),
        "replayed": decision.replayed,
        "explanation": None
        if explanation is None
        else {
            "method": explanation.method,
            "base_value": explanation.base_value,
            "margin": explanation.margin,
            "quantity": explanation.quantity,
        },
    }


@lru_cache(maxsize=64)
def utc_text(moment: datetime) -> str:
    """An aware time as ISO 8601 with ``Z`` for UTC (a batch's decisions share theirs: it is written once)."""
    return moment.isoformat().replace("+00:00", "Z")


def rejection_errors(rejection: Rejection, checker: CompiledChecker) -> list[dict[str, Any]]:
    """A rejection's reasons as item errors: a failed check names its column; anything else is about the id."""
    columns = {rule.name: rule.column for rule in checker.rules}
    out = []
    for reason in rejection.reasons:
        column = columns.get(reason)
        if column is not None:
            out.append({"loc": [column], "msg": f"failed the check {reason}", "type": reason})
        else:
            out.append({"loc": ["transaction_id"], "msg": reason, "type": "transaction_id.conflict"})
    return out


def validation_errors(errors: list[Any]) -> list[dict[str, Any]]:
    """pydantic's errors without their input (a card number must never be echoed) nor their context."""
    return [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))} for e in errors
    ]

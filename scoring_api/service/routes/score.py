"""``POST /v1/score`` and ``POST /v1/score/batch``: transactions in, decisions out (the scorer role).

Both routes parse their body themselves and answer through orjson; the OpenAPI document declares the same models.
One transaction is read by pydantic from the JSON bytes directly; a batch is read as columns and checked by the
validation suite all at once, with the answers validating each item on its own would give
(:mod:`scoring_api.service.batch_body`): a bad item is reported in its slot and the others are scored.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import ValidationError

from scoring_api.recording.scope import current_scope
from scoring_api.records import Decision, Rejection
from scoring_api.service.batch_body import check_items
from scoring_api.service.deps import ScorerKey, ServicesDep
from scoring_api.service.responses import OrjsonResponse, decision_body, rejection_errors, validation_errors
from scoring_api.service.schemas import (
    BatchScoreRequest,
    BatchScoreResponse,
    DecisionOut,
    Problem,
    Responses,
    ScoreRequest,
    ValidationProblem,
)

router = APIRouter(prefix="/v1/score", tags=["scoring"])

_REFUSALS: Responses = {
    401: {"model": Problem, "description": "missing or invalid API key"},
    403: {"model": Problem, "description": "the key's role may not score"},
    413: {"model": Problem, "description": "the body is too large"},
    503: {"model": Problem, "description": "no model is loaded yet"},
}


def _body(model: type[Any]) -> dict[str, Any]:
    """The request body a route parses itself, for the OpenAPI document (the schema is added to its components)."""
    schema: dict[str, Any] = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


@router.post(
    "",
    response_model=DecisionOut,
    responses={
        **_REFUSALS,
        409: {"model": ValidationProblem, "description": "the transaction id was scored with other content"},
        422: {"model": ValidationProblem, "description": "the transaction breaks the contract"},
    },
    openapi_extra=_body(ScoreRequest),
    summary="Score one transaction",
)
async def score_transaction(request: Request, services: ServicesDep, key: ScorerKey) -> OrjsonResponse:
    """Validate, compute the online features, score and decide one transaction. A transaction id scored
    before returns its recorded decision (``replayed: true``) and is not counted again."""
    try:
        parsed = ScoreRequest.model_validate_json(await request.body())
    except ValidationError as error:
        return OrjsonResponse({"detail": validation_errors(error.errors())}, status_code=422)
    batch = services.scorer.score_transactions([parsed.to_transaction(services.tokenizer, _displays())])
    result = batch.results[0]
    if isinstance(result, Decision):
        return OrjsonResponse(decision_body(result))
    errors = rejection_errors(result, services.scorer.checker)
    conflict = any(e["type"] == "transaction_id.conflict" for e in errors)
    return OrjsonResponse({"detail": errors}, status_code=409 if conflict else 422)


@router.post(
    "/batch",
    response_model=BatchScoreResponse,
    responses={**_REFUSALS, 422: {"model": ValidationProblem, "description": "the body is not a batch"}},
    openapi_extra=_body(BatchScoreRequest),
    summary="Score a batch of transactions",
)
async def score_batch(request: Request, services: ServicesDep, key: ScorerKey) -> OrjsonResponse:
    """Score up to the configured number of transactions; each item answers in its request position with its
    decision, or with the reasons it was not scored."""
    try:
        document = orjson.loads(await request.body())
    except orjson.JSONDecodeError as error:
        return _problem(["body"], f"the body is not JSON: {error.msg}", "json_invalid")
    if (
        not isinstance(document, dict)
        or set(document) != {"transactions"}
        or not isinstance(document["transactions"], list)
    ):
        return _problem(["body"], 'the body must be {"transactions": [...]} and nothing else', "batch_shape")
    items: list[Any] = document["transactions"]
    limit = services.settings.max_batch_items
    if not 1 <= len(items) <= limit:
        return _problem(["body", "transactions"], f"send 1 to {limit} transactions, not {len(items)}", "batch_size")
    checked = check_items(items, services.scorer, services.tokenizer, _displays())
    out: list[dict[str, Any] | None] = [None] * len(items)
    for index, errors in checked.errors.items():
        out[index] = _item(index, _given_id(items[index]), errors=errors)
    if checked.positions:
        batch = services.scorer.score_frame(checked.frame, checked.verdict)
        checker = services.scorer.checker
        for index, result in zip(checked.positions, batch.results, strict=True):
            if isinstance(result, Decision):
                out[index] = _item(index, result.transaction_id, decision=decision_body(result))
            else:
                assert isinstance(result, Rejection)
                out[index] = _item(index, result.transaction_id, errors=rejection_errors(result, checker))
    answered = [entry for entry in out if entry is not None]
    assert len(answered) == len(items), "every item is answered in its slot"
    scored = sum(1 for entry in answered if entry["status"] == "scored")
    return OrjsonResponse({"items": answered, "scored": scored, "rejected": len(answered) - scored})


def _displays() -> dict[str, str] | None:
    """Where the request keeps its cards' display forms for the audit trail (BIN and last four, by token)."""
    scope = current_scope()
    return None if scope is None else scope.card_displays


def _given_id(item: Any) -> str | None:
    tid = item.get("transaction_id") if isinstance(item, dict) else None
    return tid if isinstance(tid, str) else None


def _item(
    index: int, transaction_id: str | None, *, decision: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:  # fmt: skip
    return {
        "index": index,
        "transaction_id": transaction_id,
        "status": "rejected" if decision is None else "scored",
        "decision": decision,
        "errors": errors or [],
    }


def _problem(loc: list[str | int], msg: str, kind: str) -> OrjsonResponse:
    return OrjsonResponse({"detail": [{"loc": loc, "msg": msg, "type": kind}]}, status_code=422)

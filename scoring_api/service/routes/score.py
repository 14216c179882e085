"""``POST /v1/score`` and ``POST /v1/score/batch``: transactions in, decisions out (the scorer role).

Both routes parse their body themselves (pydantic reading the JSON bytes directly, the fastest path) and answer
through orjson; the OpenAPI document declares the same models. A batch validates each transaction on its own: a
bad one is reported in its slot and the others are scored.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import TypeAdapter, ValidationError

from scoring_api.recording.scope import current_scope
from scoring_api.records import Decision, Rejection
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
    requests_frame,
)

router = APIRouter(prefix="/v1/score", tags=["scoring"])

_REFUSALS: Responses = {
    401: {"model": Problem, "description": "missing or invalid API key"},
    403: {"model": Problem, "description": "the key's role may not score"},
    413: {"model": Problem, "description": "the body is too large"},
    503: {"model": Problem, "description": "no model is loaded yet"},
}
_requests = TypeAdapter(list[ScoreRequest])


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
    out: list[dict[str, Any]] = [{}] * len(items)
    parsed, positions = _validate(items, out)
    if parsed:
        frame = requests_frame(parsed, services.tokenizer, _displays())
        batch = services.scorer.score_frame(frame)
        checker = services.scorer.checker
        for index, result in zip(positions, batch.results, strict=True):
            if isinstance(result, Decision):
                out[index] = _item(index, result.transaction_id, decision=decision_body(result))
            else:
                assert isinstance(result, Rejection)
                out[index] = _item(index, result.transaction_id, errors=rejection_errors(result, checker))
    scored = rejected = 0
    for entry in out:
        if entry["status"] == "scored":
            scored += 1
        else:
            rejected += 1
    return OrjsonResponse({"items": out, "scored": scored, "rejected": rejected})


def _displays() -> dict[str, str] | None:
    """Where the request keeps its cards' display forms for the audit trail (BIN and last four, by token)."""
    scope = current_scope()
    return None if scope is None else scope.card_displays


def _validate(items: list[Any], out: list[dict[str, Any]]) -> tuple[list[ScoreRequest], list[int]]:
    """The items that read as transactions, and their positions; the others get their errors in ``out``.

    The whole list is validated in one call (the fast path when every item is good); when some are not, the
    errors name them by position and the others are validated again without them."""
    try:
        return _requests.validate_python(items), list(range(len(items)))
    except ValidationError as error:
        by_item: dict[int, list[Any]] = {}
        for e in error.errors():
            by_item.setdefault(int(e["loc"][0]), []).append({**e, "loc": e["loc"][1:]})
    for index, errors in by_item.items():
        tid = items[index].get("transaction_id") if isinstance(items[index], dict) else None
        out[index] = _item(index, tid if isinstance(tid, str) else None, errors=validation_errors(errors))
    positions = [i for i in range(len(items)) if i not in by_item]
    return _requests.validate_python([items[i] for i in positions]), positions


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

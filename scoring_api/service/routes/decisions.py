"""``GET /v1/decisions/{transaction_id}``: the recorded decision of a transaction (analysts, compliance)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path

from ingest.contract import MAX_ID_LENGTH
from scoring_api.access.keys import ApiKey, Role
from scoring_api.service.deps import ServicesDep, require
from scoring_api.service.responses import OrjsonResponse, decision_body
from scoring_api.service.schemas import DecisionOut, Problem

router = APIRouter(prefix="/v1/decisions", tags=["decisions"])

InvestigatorKey = Annotated[ApiKey, Depends(require(Role.ANALYST, Role.COMPLIANCE))]


@router.get(
    "/{transaction_id}",
    response_model=DecisionOut,
    responses={401: {"model": Problem}, 403: {"model": Problem}, 404: {"model": Problem}},
    summary="Read the recorded decision of a transaction",
)
async def read_decision(
    transaction_id: Annotated[str, Path(min_length=1, max_length=MAX_ID_LENGTH)],
    services: ServicesDep,
    key: InvestigatorKey,
) -> OrjsonResponse:
    """The decision taken on a transaction id, as it was answered (while the decision log still holds it)."""
    decision = services.scorer.log.get(transaction_id)
    if decision is None:
        raise HTTPException(404, "no recorded decision for this transaction id (never scored, or expired from the log)")
    return OrjsonResponse(decision_body(decision))

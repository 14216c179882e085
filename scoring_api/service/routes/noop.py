"""``POST /v1/noop``: the same application's path (middleware, key check, body read) doing nothing else - the
framework's ceiling that the benchmark measures the scoring route against. Served only with
``FRAUD_SCORING_EXPOSE_NOOP=true``."""

from __future__ import annotations

from fastapi import APIRouter, Request

from scoring_api.service.deps import ScorerKey
from scoring_api.service.responses import OrjsonResponse

router = APIRouter(prefix="/v1/noop", tags=["benchmark"])


@router.post("", summary="Do nothing (benchmark ceiling)", include_in_schema=False)
async def do_nothing(request: Request, key: ScorerKey) -> OrjsonResponse:
    await request.body()
    return OrjsonResponse({"ok": True})

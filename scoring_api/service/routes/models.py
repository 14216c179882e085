"""``GET /v1/models``: the registered model versions, to choose what to deploy (blessed ones only deploy)."""

from __future__ import annotations

from fastapi import APIRouter

from scoring_api.service.deps import ReaderKey, ServicesDep
from scoring_api.service.schemas import ModelOut, Problem

router = APIRouter(prefix="/v1/models", tags=["deployments"])


@router.get(
    "", response_model=list[ModelOut], responses={401: {"model": Problem}, 403: {"model": Problem}},
    summary="List the registered models",
)  # fmt: skip
def list_models(services: ServicesDep, key: ReaderKey) -> list[ModelOut]:
    """Every registered version, newest first, with whether the gate blessed it."""
    out = []
    for version in services.registry.versions():
        out.append(
            ModelOut(
                content_id=version.content_id,
                name=version.name,
                registered_at=version.registered_at,
                blessed=version.blessed,
                aliases=list(version.aliases),
                review_threshold=version.lineage.metrics.threshold_at_alert_rate,
            )
        )
    return out

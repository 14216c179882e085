"""``/v1/deployments``: what serves, and the admin's changes: shadow, canary, promote, roll back.

Loading a model takes seconds (checks, compilation, warm-up), so these routes run in the thread pool while the
current models keep answering; the swap itself is one reference. Every change takes ``?reason=`` and
``?ticket=``, recorded with it (in the service's history, the audit trail and, for the champion, the registry).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from scoring_api.deployments.served import ServedModel
from scoring_api.deployments.snapshot import Deployment
from scoring_api.service.deps import AdminKey, AuditorKey, ReaderKey, Reason, ServicesDep, Ticket, actor_of
from scoring_api.service.schemas import (
    CanaryOut,
    CanaryRequest,
    DeploymentEventOut,
    DeploymentOut,
    ModelOut,
    Problem,
    Responses,
    RollbackRequest,
    ShadowRequest,
)

router = APIRouter(prefix="/v1/deployments", tags=["deployments"])

_READ: Responses = {401: {"model": Problem}, 403: {"model": Problem}, 503: {"model": Problem}}
_REFUSED = "the change is refused (not blessed, nothing to promote...)"
_CHANGE: Responses = {
    **_READ,
    404: {"model": Problem, "description": "unknown model"},
    409: {"model": Problem, "description": _REFUSED},
}


def model_out(model: ServedModel) -> ModelOut:
    version = model.version
    return ModelOut(
        content_id=version.content_id,
        name=version.name,
        registered_at=version.registered_at,
        blessed=version.blessed,
        aliases=list(version.aliases),
        review_threshold=model.thresholds.review,
    )


def _out(services: ServicesDep, deployment: Deployment) -> DeploymentOut:
    canary = None
    if deployment.canary is not None:
        canary = CanaryOut(
            model=model_out(deployment.canary),
            share=deployment.canary_share,
            guardrails=services.deployments.canary_summary(),
        )
    return DeploymentOut(
        revision=deployment.revision,
        champion=model_out(deployment.champion),
        canary=canary,
        shadow=None if deployment.shadow is None else model_out(deployment.shadow),
        rollbacks=services.deployments.rollbacks,
    )


@router.get("", response_model=DeploymentOut, responses=_READ, summary="Read what serves now")
def read_deployment(services: ServicesDep, key: ReaderKey) -> DeploymentOut:
    return _out(services, services.deployments.current)


@router.get("/history", response_model=list[DeploymentEventOut], responses=_READ, summary="Read the changes")
def read_deployment_history(
    services: ServicesDep, key: AuditorKey, limit: Annotated[int, Query(ge=1, le=1_000)] = 100
) -> list[DeploymentEventOut]:
    """The latest deployment changes, newest first (who, what, when, why, automatic or not)."""
    store = services.deployments.store
    events = [] if store is None else store.history(limit)
    return [DeploymentEventOut(**{**e.__dict__, "action": e.action.value}) for e in events]


@router.post("/shadow", response_model=DeploymentOut, responses=_CHANGE, summary="Start a shadow model")
def start_shadow(
    request: ShadowRequest, services: ServicesDep, key: AdminKey, reason: Reason = "", ticket: Ticket = None
) -> DeploymentOut:
    """Score every transaction with a blessed model too; its scores are recorded, never answered with."""
    changed = services.deployments.start_shadow(request.model, actor_of(key), reason=reason, ticket=ticket)
    return _out(services, changed)


@router.delete("/shadow", response_model=DeploymentOut, responses=_CHANGE, summary="Stop the shadow model")
def stop_shadow(services: ServicesDep, key: AdminKey, reason: Reason = "", ticket: Ticket = None) -> DeploymentOut:
    return _out(services, services.deployments.stop_shadow(actor_of(key), reason=reason, ticket=ticket))


@router.post("/canary", response_model=DeploymentOut, responses=_CHANGE, summary="Start a canary")
def start_canary(
    request: CanaryRequest, services: ServicesDep, key: AdminKey, reason: Reason = "", ticket: Ticket = None
) -> DeploymentOut:
    """Answer for a sticky share of cards with a blessed model, under the guardrails (error rate, p99 latency,
    score distribution against the champion's), which roll it back automatically when broken."""
    changed = services.deployments.start_canary(
        request.model, request.share, actor_of(key), reason=reason, ticket=ticket
    )
    return _out(services, changed)


@router.delete("/canary", response_model=DeploymentOut, responses=_CHANGE, summary="Roll the canary back")
def rollback_canary(services: ServicesDep, key: AdminKey, reason: Reason = "", ticket: Ticket = None) -> DeploymentOut:
    changed = services.deployments.rollback_canary(actor_of(key), reason or "rolled back by an admin", ticket=ticket)
    return _out(services, changed)


@router.post("/canary/promote", response_model=DeploymentOut, responses=_CHANGE, summary="Promote the canary")
def promote_canary(services: ServicesDep, key: AdminKey, reason: Reason = "", ticket: Ticket = None) -> DeploymentOut:
    """Make the canary the registry's champion: every process swaps to it."""
    return _out(services, services.deployments.promote_canary(actor_of(key), reason=reason, ticket=ticket))


@router.post("/rollback", response_model=DeploymentOut, responses=_CHANGE, summary="Roll the champion back")
def rollback_champion(
    services: ServicesDep,
    key: AdminKey,
    request: RollbackRequest | None = None,
    reason: Reason = "",
    ticket: Ticket = None,
) -> DeploymentOut:
    """Give the champion alias back to the previous champion (the reason in the body, or ``?reason=``)."""
    why = reason or ("rolled back by an admin" if request is None else request.reason)
    return _out(services, services.deployments.rollback(actor_of(key), why, ticket=ticket))

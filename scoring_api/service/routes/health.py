"""``/healthz`` (the process answers), ``/readyz`` (it can score: model loaded and warmed, feature state
reachable), ``/metrics`` (Prometheus). Open to probes and scrapers: they carry no data about transactions."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from scoring_api.service.deps import ServicesDep
from scoring_api.service.responses import OrjsonResponse
from scoring_api.service.schemas import Health, Readiness

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="Liveness")
async def read_health() -> OrjsonResponse:
    return OrjsonResponse({"status": "ok"})


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}}, summary="Readiness")
def read_readiness(services: ServicesDep) -> OrjsonResponse:
    """Ready when a champion is loaded and warmed, the online feature state answers, and every event reached
    the audit trail."""
    deployments = services.deployments
    model_ok = deployments.loaded
    model_detail = (
        f"champion {deployments.champion_version} loaded and warmed on {deployments.backend}"
        if model_ok
        else f"no champion loaded: {services.load_error or 'not loaded yet'}"
    )
    store_problem = services.state_store_problem()
    checks = {
        "model": {"ok": model_ok, "detail": model_detail},
        "feature_state": {"ok": store_problem is None, "detail": store_problem or "reachable"},
        "decision_config": {"ok": True, "detail": f"version {services.configs.active.version} active"},
    }
    if services.audit is not None:
        audit_problem = services.audit_problem()
        checks["audit"] = {"ok": audit_problem is None, "detail": audit_problem or "every event recorded"}
    ready = all(c["ok"] for c in checks.values())
    return OrjsonResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response, summary="Prometheus metrics")
def read_metrics(services: ServicesDep) -> Response:
    return Response(services.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

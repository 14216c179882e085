"""The FastAPI application: one router per resource under ``/v1``, the middleware, the error handlers, and the
OpenAPI document.

``create_app(services)`` builds the application around a process's parts (:mod:`scoring_api.service.services`);
``app_from_environment()`` is the factory each ``fraud serve`` worker process calls (it reads the settings).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Final

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic.json_schema import models_json_schema

from lifecycle.registry.errors import DeploymentRefusedError, UnknownModelError
from monitoring.audit.errors import ExportError, UnknownRecordError
from monitoring.dashboard import DashboardSources, Principal, dashboard_router
from scoring_api.access.keys import ApiKey, Role
from scoring_api.errors import (
    AccessError,
    DecisionConfigError,
    DeploymentError,
    ModelMismatchError,
    NoModelLoadedError,
    ReplayError,
    UnknownDecisionConfigError,
)
from scoring_api.service.deps import actor_of, require
from scoring_api.service.middleware import BodyTooLargeError, ServiceMiddleware, record_too_large
from scoring_api.service.responses import OrjsonResponse, validation_errors
from scoring_api.service.routes import (
    audit,
    decision_configs,
    decisions,
    deployments,
    health,
    labels,
    models,
    noop,
    score,
    session,
)
from scoring_api.service.schemas import BatchScoreRequest, InputProblem, Problem, ScoreRequest
from scoring_api.service.services import Services

logger = logging.getLogger(__name__)

API_VERSION = "1.0.0"
DESCRIPTION = """Real-time card-fraud scoring: one transaction or a batch in, a decision with its score, risk band,
reason codes and the rules that fired out. Keys per role (`X-API-Key`): `scorer` (bank systems) scores and
delivers labels, `analyst` reads decisions and works the monitoring alerts and dashboard (`/v1/monitoring`),
`compliance` verifies, exports and replays the audit trail (`/v1/audit`), `admin` changes configurations and
deployments. Every decision, access and change is recorded in the audit trail before it is answered.
A card number may be sent as `pan`: it is tokenised on arrival and never stored, logged or returned."""

#: Exceptions of the layers below, as HTTP statuses (the message says what to do next).
_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (NoModelLoadedError, 503),
    (UnknownModelError, 404),
    (UnknownDecisionConfigError, 404),
    (UnknownRecordError, 404),
    (AccessError, 404),
    (ExportError, 422),
    (ReplayError, 409),
    (DeploymentRefusedError, 409),
    (ModelMismatchError, 409),
    (DeploymentError, 409),
    (DecisionConfigError, 409),
)


def _add_handlers(app: FastAPI) -> None:
    async def invalid_request(request: Request, error: Exception) -> OrjsonResponse:
        assert isinstance(error, RequestValidationError)
        return OrjsonResponse({"detail": validation_errors(list(error.errors()))}, status_code=422)

    async def too_large(request: Request, error: Exception) -> OrjsonResponse:
        assert isinstance(error, BodyTooLargeError)
        record_too_large(request.app.state.services, request.scope, error.limit)
        return OrjsonResponse({"detail": str(error)}, status_code=413)

    async def refused(request: Request, error: Exception) -> OrjsonResponse:
        status = next(code for kind, code in _STATUS if isinstance(error, kind))
        return OrjsonResponse({"detail": str(error)}, status_code=status)

    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(BodyTooLargeError, too_large)
    for kind, _ in _STATUS:
        app.add_exception_handler(kind, refused)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the schemas of the bodies the scoring routes parse themselves."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags
    )
    _, extra = models_json_schema(
        [(ScoreRequest, "validation"), (BatchScoreRequest, "validation")], ref_template="#/components/schemas/{model}"
    )
    document.setdefault("components", {}).setdefault("schemas", {}).update(extra.get("$defs", {}))
    app.openapi_schema = document
    return document


#: Container allocations between young collections (the interpreter's default is 700).
YOUNG_COLLECTION_THRESHOLD: Final = 10_000


def _tune_garbage_collector() -> None:
    """Keep what the process built before serving (modules, models, compiled kernels: millions of objects) out of
    the garbage collector's full collections. Without it every full collection walks them all again: pauses of
    0.3 to 0.9 s in the middle of requests, measured on the batch route; with it, tens of milliseconds.

    Then collect the young generation every :data:`YOUNG_COLLECTION_THRESHOLD` allocations instead of 700: a
    batch of 1,000 transactions allocates tens of thousands of containers (the body's items, the decisions,
    the answer's documents), which at 700 set off a dozen young collections a batch, and every tenth of those
    an older one, every tenth of which (as the decision log and the features' routes grow) a full one: 6.9 ms
    a batch in all, measured in process over 40 batches. The older generations keep their thresholds."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)


def create_app(services: Services, *, maintenance: bool = True, owns_services: bool = False) -> FastAPI:
    """The application serving ``services``; ``maintenance`` runs the thread that follows the shared state;
    ``owns_services``: the application closes them when it shuts down (a ``fraud serve`` process: the monitors
    run what they hold and save their state, the audit trail and the databases close), else the caller does."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _tune_garbage_collector()
        if maintenance:
            services.start_maintenance()
        try:
            yield
        finally:
            if owns_services:
                services.close()
            else:
                services.stop_maintenance()

    app = FastAPI(
        title="Fraud scoring API",
        version=API_VERSION,
        description=DESCRIPTION,
        default_response_class=OrjsonResponse,
        lifespan=lifespan,
    )
    app.state.services = services
    app.add_middleware(ServiceMiddleware)
    _add_handlers(app)
    for module in (health, score, decisions, decision_configs, deployments, models, labels):
        app.include_router(module.router)
    if services.audit is not None:
        app.include_router(audit.router)
    if services.monitors is not None:
        _mount_monitoring(app, services)
    if services.settings.expose_noop:
        app.include_router(noop.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


#: The analysts' key, as the monitoring routes' principal (recorded as the actor of every alert action).
AnalystKey = Annotated[ApiKey, Depends(require(Role.ANALYST, session=True))]


async def analyst_principal(key: AnalystKey) -> Principal:
    return Principal(actor_of(key), frozenset({key.role.value}))


def _mount_monitoring(app: FastAPI, services: Services) -> None:
    """The analysts' dashboard and alert routes under ``/v1/monitoring``, behind the service's own keys."""
    monitors = services.monitors
    assert monitors is not None

    def current_model() -> str | None:
        champion = services.deployments.champion_version
        return None if champion is None else monitors.name_of(champion)

    sources = DashboardSources(services=monitors.services, reference=monitors.reference, current_model=current_model)
    refusals: dict[int | str, dict[str, Any]] = {
        401: {"model": Problem, "description": "missing or invalid API key"},
        403: {"model": Problem, "description": "the key is not an analyst's"},
        404: {"model": Problem, "description": "no such alert, or nothing monitored yet"},
        409: {"model": Problem, "description": "the alert cannot take that step"},
        422: {"model": InputProblem, "description": "bad parameters or body, or a range out of bounds"},
    }
    router = dashboard_router(sources, principal=analyst_principal)
    app.include_router(router, prefix="/v1/monitoring", responses=refusals)
    app.include_router(session.router)


def app_from_environment() -> FastAPI:
    """The application of one ``fraud serve`` worker process, built from the settings in the environment."""
    from features.settings import FeaturesSettings
    from ingest.settings import IngestSettings
    from lifecycle.settings import LifecycleSettings
    from monitoring.audit.settings import AuditSettings
    from monitoring.settings import MonitoringSettings
    from scoring_api.service.services import build_services
    from scoring_api.settings import ScoringSettings, metrics_directory

    settings = ScoringSettings()
    services = build_services(
        settings,
        ingest=IngestSettings(),
        lifecycle=LifecycleSettings(),
        features=FeaturesSettings(),
        audit=AuditSettings() if settings.audit else None,
        monitoring=MonitoringSettings() if settings.monitoring else None,
        multiprocess_dir=metrics_directory(),
    )
    return create_app(services, owns_services=True)

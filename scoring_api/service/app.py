"""The FastAPI application: one router per resource under ``/v1``, the middleware, the error handlers, and the
OpenAPI document.

``create_app(services)`` builds the application around a process's parts (:mod:`scoring_api.service.services`);
``app_from_environment()`` is the factory each ``fraud serve`` worker process calls (it reads the settings).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic.json_schema import models_json_schema

from lifecycle.registry.errors import DeploymentRefusedError, UnknownModelError
from scoring_api.errors import (
    AccessError,
    DecisionConfigError,
    DeploymentError,
    ModelMismatchError,
    NoModelLoadedError,
    UnknownDecisionConfigError,
)
from scoring_api.service.middleware import BodyTooLargeError, ServiceMiddleware, record_too_large
from scoring_api.service.responses import OrjsonResponse, validation_errors
from scoring_api.service.routes import decision_configs, decisions, deployments, health, models, noop, score
from scoring_api.service.schemas import BatchScoreRequest, ScoreRequest
from scoring_api.service.services import Services

logger = logging.getLogger(__name__)

API_VERSION = "1.0.0"
DESCRIPTION = """Real-time card-fraud scoring: one transaction or a batch in, a decision with its score, risk band,
reason codes and the rules that fired out. Keys per role (`X-API-Key`): `scorer` (bank systems) scores,
`analyst` and `compliance` read decisions, configurations and deployments, `admin` changes them.
A card number may be sent as `pan`: it is tokenised on arrival and never stored, logged or returned."""

#: Exceptions of the layers below, as HTTP statuses (the message says what to do next).
_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (NoModelLoadedError, 503),
    (UnknownModelError, 404),
    (UnknownDecisionConfigError, 404),
    (AccessError, 404),
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


def create_app(services: Services, *, maintenance: bool = True) -> FastAPI:
    """The application serving ``services``; ``maintenance`` runs the thread that follows the shared state."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if maintenance:
            services.start_maintenance()
        try:
            yield
        finally:
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
    for module in (health, score, decisions, decision_configs, deployments, models):
        app.include_router(module.router)
    if services.settings.expose_noop:
        app.include_router(noop.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def app_from_environment() -> FastAPI:
    """The application of one ``fraud serve`` worker process, built from the settings in the environment."""
    from features.settings import FeaturesSettings
    from ingest.settings import IngestSettings
    from lifecycle.settings import LifecycleSettings
    from scoring_api.service.services import build_services
    from scoring_api.settings import ScoringSettings, metrics_directory

    services = build_services(
        ScoringSettings(),
        ingest=IngestSettings(),
        lifecycle=LifecycleSettings(),
        features=FeaturesSettings(),
        multiprocess_dir=metrics_directory(),
    )
    return create_app(services)

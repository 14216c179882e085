"""``/v1/decision-configs``: the versioned decision configuration. Admins draft and activate versions; analysts,
compliance officers and admins read them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from scoring_api.decisions.config import DecisionConfig
from scoring_api.decisions.store import DEFAULT_VERSION, ConfigVersion
from scoring_api.service.deps import AdminKey, ReaderKey, Reason, ServicesDep, Ticket, actor_of
from scoring_api.service.schemas import ConfigVersionOut, Problem, Responses

router = APIRouter(prefix="/v1/decision-configs", tags=["decision configuration"])

_READ: Responses = {401: {"model": Problem}, 403: {"model": Problem}}
_VERSION = Annotated[int, Path(ge=1, le=2**31 - 1, description="the version number")]


def _out(version: ConfigVersion) -> ConfigVersionOut:
    return ConfigVersionOut(
        version=version.version,
        status=version.status.value,
        config=version.config,
        created_at=version.created_at,
        created_by=version.created_by,
        activated_at=version.activated_at,
        activated_by=version.activated_by,
    )


@router.get("", response_model=list[ConfigVersionOut], responses=_READ, summary="List the configuration versions")
def list_decision_configs(services: ServicesDep, key: ReaderKey) -> list[ConfigVersionOut]:
    """Every stored version, newest first."""
    return [_out(v) for v in services.configs.versions()]


@router.get("/active", response_model=ConfigVersionOut, responses=_READ, summary="Read the active configuration")
def read_active_decision_config(services: ServicesDep, key: ReaderKey) -> ConfigVersionOut:
    """The configuration deciding now (version 0, the built-in default, while none was activated)."""
    active = services.configs.active
    if active.version == DEFAULT_VERSION:
        return ConfigVersionOut(
            version=0, status="default", config=active.config, created_at=None, created_by=None,
            activated_at=None, activated_by=None,
        )  # fmt: skip
    return _out(services.configs.get(active.version))


@router.get(
    "/{version}", response_model=ConfigVersionOut, responses={**_READ, 404: {"model": Problem}},
    summary="Read one configuration version",
)  # fmt: skip
def read_decision_config(version: _VERSION, services: ServicesDep, key: ReaderKey) -> ConfigVersionOut:
    return _out(services.configs.get(version))


@router.post(
    "", response_model=ConfigVersionOut, status_code=status.HTTP_201_CREATED, responses=_READ,
    summary="Draft a new configuration version",
)  # fmt: skip
def create_decision_config(
    config: DecisionConfig, services: ServicesDep, key: AdminKey, reason: Reason = "", ticket: Ticket = None
) -> ConfigVersionOut:
    """Store a configuration as the next version, in draft: it decides nothing until activated."""
    return _out(services.configs.draft(config, actor=actor_of(key), reason=reason, ticket=ticket))


@router.post(
    "/{version}/activate", response_model=ConfigVersionOut,
    responses={**_READ, 404: {"model": Problem}, 409: {"model": Problem}}, summary="Activate a configuration version",
)  # fmt: skip
def activate_decision_config(
    version: _VERSION, services: ServicesDep, key: AdminKey, reason: Reason = "", ticket: Ticket = None
) -> ConfigVersionOut:
    """Make a version the active one (the previous active version is retired; activating it again goes back)."""
    return _out(services.configs.activate(version, actor=actor_of(key), reason=reason, ticket=ticket))

"""The routes' dependencies, typed as ``Annotated`` aliases: the service's parts, and the API key of a role.

A request without a valid key is refused with 401, a key of another role with 403; every access, granted or
denied, goes to the sink (the audit trail).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, Security
from fastapi.security import APIKeyCookie, APIKeyHeader

from scoring_api.access.keys import ApiKey, Role
from scoring_api.service.middleware import route_template
from scoring_api.service.services import Services
from scoring_api.sinks import AccessEvent, utc_now

API_KEY_HEADER = "X-API-Key"
api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="an API key: fsk_<id>_<secret>")
#: The cookie a browser holds an analyst's key in once signed in to the dashboard (HttpOnly, SameSite=Strict,
#: only sent to ``/v1/monitoring``): a browser cannot add the key header to a page, its scripts and its calls.
SESSION_COOKIE = "fraud_analyst_key"
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="an analyst's key, set by POST /v1/monitoring/sign-in"
)


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def _origin(request: Request) -> str | None:
    return None if request.client is None else request.client.host


def admit(request: Request, services: Services, presented: str | None, roles: tuple[Role, ...]) -> ApiKey:
    """The key ``presented`` when it is valid and of one of ``roles``; 401 or 403 otherwise, each recorded."""
    key = None if presented is None else services.keys.verify(presented)
    if key is None:
        reason = "missing API key" if presented is None else "unknown, malformed or revoked API key"
        _record(services, request, 401, None, reason)
        raise HTTPException(401, f"{reason}; send a valid key in the {API_KEY_HEADER} header",
                            headers={"WWW-Authenticate": API_KEY_HEADER})  # fmt: skip
    if key.role not in roles:
        reason = f"role {key.role.value} may not {request.method} {request.url.path}"
        _record(services, request, 403, key, reason)
        raise HTTPException(403, f"{reason}; it needs one of the roles {[r.value for r in roles]}")
    _record(services, request, 200, key, "")
    return key


def require(*roles: Role, session: bool = False) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency that admits the keys of ``roles`` (the routes' allowed roles are read from it); with
    ``session``, a key held by the analysts' session cookie (:data:`SESSION_COOKIE`) too, for a browser."""

    async def api_key(
        request: Request, services: ServicesDep, presented: Annotated[str | None, Security(api_key_header)]
    ) -> ApiKey:
        return admit(request, services, presented, roles)

    async def api_key_or_session(
        request: Request,
        services: ServicesDep,
        presented: Annotated[str | None, Security(api_key_header)],
        held: Annotated[str | None, Security(session_cookie)],
    ) -> ApiKey:
        return admit(request, services, presented if presented is not None else held, roles)

    dependency: Callable[..., Awaitable[ApiKey]] = api_key_or_session if session else api_key
    dependency.roles = roles  # type: ignore[attr-defined]
    return dependency


def _record(services: Services, request: Request, status: int, key: ApiKey | None, reason: str) -> None:
    services.sink.access(
        AccessEvent(
            at=utc_now(),
            granted=status == 200,
            status=status,
            method=request.method,
            path=route_template(request.scope) or request.url.path,
            key_id=None if key is None else key.key_id,
            role=None if key is None else key.role.value,
            origin=_origin(request),
            reason=reason,
            resource=request.url.path,
        )
    )


ScorerKey = Annotated[ApiKey, Depends(require(Role.SCORER))]
ReaderKey = Annotated[ApiKey, Depends(require(Role.ANALYST, Role.COMPLIANCE, Role.ADMIN))]
AuditorKey = Annotated[ApiKey, Depends(require(Role.COMPLIANCE, Role.ADMIN))]
AdminKey = Annotated[ApiKey, Depends(require(Role.ADMIN))]
ComplianceKey = Annotated[ApiKey, Depends(require(Role.COMPLIANCE))]
#: Labels (chargebacks, confirmed frauds) come from the bank's systems, which hold scorer keys; admins backfill.
LabelKey = Annotated[ApiKey, Depends(require(Role.SCORER, Role.ADMIN))]


def actor_of(key: ApiKey) -> str:
    """How a key is named as the actor of a change (the key's id: never the key)."""
    return f"key:{key.key_id}"


#: What an admin may say about a change (recorded with it, card numbers masked): why, and the change ticket.
Reason = Annotated[str, Query(max_length=500, description="why the change is made (recorded with it)")]
Ticket = Annotated[str | None, Query(max_length=100, description="the change ticket, e.g. CHG-1234 (recorded)")]

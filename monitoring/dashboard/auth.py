"""Who may use the monitoring routes: the dependency that finds the caller, given by the application.

The router requires an analyst (:func:`analyst_requirement`), read from the caller the application's own
authentication finds. Out of the box that is :func:`current_principal`, which refuses everyone (401): the
routes are never open by accident. The API hands the router its own dependency when it builds it::

    app.include_router(dashboard_router(sources, principal=api_principal), prefix="/v1/monitoring")

(Not through ``app.dependency_overrides``: while an application has any, FastAPI rebuilds the dependencies of
every request on every route from their signatures, which cost the scoring routes a tenth of their CPU.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import Depends, HTTPException, status

#: The roles that may read the dashboard and act on alerts.
ANALYST_ROLES: Final = frozenset({"analyst"})


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a name (recorded on every alert action) and roles."""

    name: str
    roles: frozenset[str]


def current_principal() -> Principal:
    """The caller; replaced by the scoring API's authentication (see the module docstring)."""
    raise HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="no authentication is configured for the monitoring routes; mount them behind the scoring API",
    )


def analyst_requirement(principal: Callable[..., Any] = current_principal) -> Callable[[Principal], Principal]:
    """The dependency giving the caller that the dependency ``principal`` finds, when one of its roles is an
    analyst's; 403 otherwise."""

    def analyst(caller: Principal = Depends(principal)) -> Principal:
        return require_analyst(caller)

    return analyst


def require_analyst(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """The caller, when one of its roles is an analyst's; 403 otherwise."""
    if not principal.roles & ANALYST_ROLES:
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail=f"the monitoring routes need a role in {sorted(ANALYST_ROLES)}; "
            f"this caller has {sorted(principal.roles)}",
        )
    return principal


Analyst = Annotated[Principal, Depends(require_analyst)]

"""Who may use the monitoring routes: a dependency hook that the scoring API replaces with its own auth.

The router requires :func:`require_analyst`, which reads the caller from :func:`current_principal`. Out of
the box :func:`current_principal` refuses everyone (401): the routes are never open by accident. The API
mounts the router and overrides it with the principal its authentication found::

    app.include_router(dashboard_router(sources), prefix="/v1/monitoring")
    app.dependency_overrides[current_principal] = api_principal   # returns a Principal
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Final

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

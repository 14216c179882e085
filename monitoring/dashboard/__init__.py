"""The analysts' dashboard: JSON routes and the page that plots them, as a FastAPI router the scoring API
mounts behind its authentication (see :mod:`monitoring.dashboard.auth`)."""

from __future__ import annotations

from monitoring.dashboard.auth import (
    ANALYST_ROLES,
    Analyst,
    Principal,
    analyst_requirement,
    current_principal,
    require_analyst,
)
from monitoring.dashboard.router import DashboardSources, dashboard_router

__all__ = [
    "ANALYST_ROLES",
    "Analyst",
    "DashboardSources",
    "Principal",
    "analyst_requirement",
    "current_principal",
    "dashboard_router",
    "require_analyst",
]

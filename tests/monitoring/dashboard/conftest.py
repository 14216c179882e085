"""A small FastAPI app of the tests that mounts the dashboard router, with a header-based stand-in for the
scoring API's authentication (the override the API will install)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Header, HTTPException
from pydantic import SecretStr

from monitoring import MonitoringServices, MonitoringSettings, open_services
from monitoring.dashboard import DashboardSources, Principal, dashboard_router
from tests.monitoring.conftest import RecordingSink
from tests.monitoring.streams import ScoredPool

PREFIX = "/v1/monitoring"


def header_principal(
    x_test_user: str | None = Header(default=None), x_test_roles: str = Header(default="")
) -> Principal:
    if x_test_user is None:
        raise HTTPException(401, "who are you?")
    return Principal(x_test_user, frozenset(r for r in x_test_roles.split(",") if r))


@pytest.fixture
def dashboard_app(pool: ScoredPool, monitored: tuple[str, str]) -> Iterator[tuple[FastAPI, MonitoringServices]]:
    url, model = monitored
    services = open_services(MonitoringSettings(monitoring_url=SecretStr(url)), RecordingSink())
    sources = DashboardSources(
        services=services,
        reference=lambda content_id: pool.profile if content_id == model else None,
        current_model=lambda: model,
    )
    app = FastAPI()
    app.include_router(dashboard_router(sources, principal=header_principal), prefix=PREFIX)
    yield app, services
    services.close()

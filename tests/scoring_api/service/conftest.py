"""A scoring service over a fresh blessed registry, with one API key per role, behind a real HTTP client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from features.settings import FeaturesSettings
from ingest.settings import IngestSettings
from lifecycle.settings import LifecycleSettings
from monitoring.audit.settings import AuditSettings
from monitoring.settings import MonitoringSettings
from scoring_api.access.keys import Role
from scoring_api.service.app import create_app
from scoring_api.service.deps import API_KEY_HEADER
from scoring_api.service.services import Services, build_services
from scoring_api.settings import ScoringSettings
from tests.lifecycle.registry import support as registry_support
from tests.scoring_api.service.recording import RecordingSink
from tests.scoring_api.support import World, blessed_registry


@dataclass
class Service:
    """A running application, its parts, a client, and a key per role."""

    services: Services
    client: TestClient
    keys: dict[Role, str]
    ids: dict[str, str]
    sink: RecordingSink

    def headers(self, role: Role) -> dict[str, str]:
        return {API_KEY_HEADER: self.keys[role]}

    def post(self, path: str, role: Role = Role.SCORER, **kwargs: Any) -> Any:
        headers = {**kwargs.pop("headers", {}), **self.headers(role)}
        return self.client.post(path, headers=headers, **kwargs)

    def get(self, path: str, role: Role = Role.ADMIN, **kwargs: Any) -> Any:
        return self.client.get(path, headers=self.headers(role), **kwargs)


def audit_settings(root: Path, writer: str = "thread") -> AuditSettings:
    """The audit trail under ``root``; recorded by a thread of the test's process unless ``writer`` is
    ``process`` (the default of a deployed service: tests that need it ask for it, the others start faster)."""
    return AuditSettings(
        audit_url=f"sqlite:///{root}/audit/audit.sqlite",
        audit_archive_dir=root / "audit" / "archive",
        audit_writer=writer,
    )


def monitoring_settings(root: Path, **values: Any) -> MonitoringSettings:
    values = {"monitor_state_dir": root / "monitoring" / "state", **values}
    return MonitoringSettings(monitoring_url=SecretStr(f"sqlite:///{root}/monitoring/monitoring.sqlite"), **values)


def make_services(
    root: Path,
    sink: RecordingSink | None = None,
    store: Path | None = None,
    monitoring: dict[str, Any] | None = None,
    audit_writer: str = "thread",
    **settings: Any,
) -> Services:
    """A service over the registry under ``root`` (models in ``store``), its audit trail and monitoring under
    ``root`` too (``monitoring``: monitoring settings)."""
    return build_services(
        ScoringSettings(**{"database_url": f"sqlite:///{root}/service.sqlite", "watch_interval_s": 0.2, **settings}),
        ingest=IngestSettings(),
        lifecycle=LifecycleSettings(
            registry_url=f"sqlite:///{root}/registry/registry.sqlite",
            model_store=store or root / "registry" / "store",
            model_signing_key=registry_support.KEY,
        ),
        features=FeaturesSettings(),
        audit=audit_settings(root, audit_writer),
        monitoring=monitoring_settings(root, **(monitoring or {})),
        sink=sink if sink is not None else RecordingSink(),
    )


@pytest.fixture
def service(tmp_path: Path, world: World, request: pytest.FixtureRequest) -> Iterator[Service]:
    """The service; a test marked ``service_settings(**values)`` gets those settings."""
    marker = request.node.get_closest_marker("service_settings")
    # Canaries here are deliberately unlike the champion: the score guardrail is off unless a test sets it.
    settings = {"expose_noop": True, "canary_max_score_shift": 1.0, **(marker.kwargs if marker else {})}
    registry, ids = blessed_registry(tmp_path / "registry", world)
    registry.close()
    sink = RecordingSink()
    # A module asking for the ``audit_writer`` fixture runs its tests with that writer.
    writer = request.getfixturevalue("audit_writer") if "audit_writer" in request.fixturenames else "thread"
    services = make_services(tmp_path, sink, world.registry_root / "store", audit_writer=writer, **settings)
    keys = {role: services.keys.create(role, f"test {role.value}", "tester")[1] for role in Role}
    try:
        with TestClient(create_app(services, maintenance=False)) as client:
            yield Service(services, client, keys, ids, sink)
    finally:
        services.close()

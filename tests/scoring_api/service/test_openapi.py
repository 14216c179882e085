"""schemathesis against the OpenAPI document: generated requests to every operation, with a key of a role that
may call it, never get a server error, and every answer matches the documented status codes, content types and
schemas. Bounded: a few dozen examples per operation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from scoring_api.access.keys import Role
from scoring_api.service.app import create_app
from tests.scoring_api.service.conftest import make_services
from tests.scoring_api.support import World, blessed_registry

EXAMPLES = 25


@pytest.fixture
def keys_and_app(tmp_path: Path, world: World) -> Iterator[tuple[dict[Role, str], object]]:
    registry, _ = blessed_registry(tmp_path / "registry", world)
    registry.close()
    services = make_services(tmp_path, store=world.registry_root / "store", expose_noop=False)
    keys = {role: services.keys.create(role, role.value, "tester")[1] for role in Role}
    app = create_app(services, maintenance=False)
    try:
        with TestClient(app):  # runs the lifespan
            yield keys, app
    finally:
        services.close()


def _role(path: str) -> Role:
    if path.startswith(("/v1/score", "/v1/labels")):
        return Role.SCORER
    if path.startswith(("/v1/decisions/", "/v1/monitoring")):
        return Role.ANALYST
    if path.startswith("/v1/audit"):
        return Role.COMPLIANCE
    return Role.ADMIN


def _exercise(operation: schemathesis.APIOperation, headers: dict[str, str], problems: list[str]) -> None:
    """Generated requests to one operation; what breaks a promise is added to ``problems``."""

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: schemathesis.Case) -> None:
        response = case.call(headers=headers)
        if response.status_code >= 500:
            problems.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}")
            return
        try:
            case.validate_response(
                response, checks=(status_code_conformance, content_type_conformance, response_schema_conformance)
            )
        except Exception as error:  # every broken promise is collected, then reported together
            problems.append(f"{case.method} {case.formatted_path}: {error}"[:800])

    check()


def test_the_api_keeps_its_documented_promises(keys_and_app: tuple[dict[Role, str], object]) -> None:
    keys, app = keys_and_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    problems: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17, f"only {len(operations)} operations were found in the document"
    for operation in operations:
        _exercise(operation, {"X-API-Key": keys[_role(operation.path)]}, problems)
    assert problems == []


def test_reason_codes_are_answered_as_their_records() -> None:
    """The scoring routes hand the reason-code records to orjson as they are: their fields are the document's."""
    from dataclasses import fields

    from scoring_api.records import ReasonCode
    from scoring_api.service.schemas import ReasonCodeOut

    assert [f.name for f in fields(ReasonCode)] == list(ReasonCodeOut.model_fields)

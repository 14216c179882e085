"""Access: every route against every kind of caller (no key, a wrong key, a revoked key, each role), 401 and 403
where they belong, and every denied request recorded."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Iterator

import pytest
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from scoring_api.access.keys import Role
from scoring_api.service import routes
from tests.scoring_api.service.conftest import Service

SCORER, ANALYST, COMPLIANCE, ADMIN = Role.SCORER, Role.ANALYST, Role.COMPLIANCE, Role.ADMIN
READERS = {ANALYST, COMPLIANCE, ADMIN}

#: The access policy: (method, route) -> roles allowed (None: open to probes and scrapers).
POLICY: dict[tuple[str, str], set[Role] | None] = {
    ("GET", "/healthz"): None,
    ("GET", "/readyz"): None,
    ("GET", "/metrics"): None,
    ("POST", "/v1/score"): {SCORER},
    ("POST", "/v1/score/batch"): {SCORER},
    ("POST", "/v1/noop"): {SCORER},
    ("GET", "/v1/decisions/{transaction_id}"): {ANALYST, COMPLIANCE},
    ("GET", "/v1/decision-configs"): READERS,
    ("GET", "/v1/decision-configs/active"): READERS,
    ("GET", "/v1/decision-configs/{version}"): READERS,
    ("POST", "/v1/decision-configs"): {ADMIN},
    ("POST", "/v1/decision-configs/{version}/activate"): {ADMIN},
    ("GET", "/v1/deployments"): READERS,
    ("GET", "/v1/deployments/history"): {COMPLIANCE, ADMIN},
    ("POST", "/v1/deployments/shadow"): {ADMIN},
    ("DELETE", "/v1/deployments/shadow"): {ADMIN},
    ("POST", "/v1/deployments/canary"): {ADMIN},
    ("DELETE", "/v1/deployments/canary"): {ADMIN},
    ("POST", "/v1/deployments/canary/promote"): {ADMIN},
    ("POST", "/v1/deployments/rollback"): {ADMIN},
    ("GET", "/v1/models"): READERS,
    ("POST", "/v1/labels"): {SCORER, ADMIN},
    ("GET", "/v1/audit/verify"): {COMPLIANCE},
    ("GET", "/v1/audit/records"): {COMPLIANCE},
    ("GET", "/v1/audit/bundle"): {COMPLIANCE},
    ("GET", "/v1/audit/public-key"): {COMPLIANCE},
    ("GET", "/v1/audit/decisions/{decision_id}"): {COMPLIANCE},
    ("GET", "/v1/audit/decisions/{decision_id}/replay"): {COMPLIANCE},
    ("GET", "/v1/monitoring/sign-in"): None,
    ("POST", "/v1/monitoring/sign-in"): {ANALYST},
    ("POST", "/v1/monitoring/sign-out"): None,
    **{
        (method, f"/v1/monitoring{path}"): {ANALYST}
        for method, path in (
            ("GET", "/dashboard"),
            ("GET", "/dashboard/assets/{name}"),
            ("GET", "/summary"),
            ("GET", "/drift/daily"),
            ("GET", "/drift/windows"),
            ("GET", "/scores"),
            ("GET", "/performance"),
            ("GET", "/alerts"),
            ("GET", "/alerts/{alert_id}"),
            ("POST", "/alerts/{alert_id}/acknowledge"),
            ("POST", "/alerts/{alert_id}/resolve"),
            ("POST", "/alerts/{alert_id}/assign"),
            ("POST", "/alerts/{alert_id}/notes"),
        )
    },
}


def _routes(service: Service) -> set[tuple[str, str]]:
    """Every route of every router module of the service, and every route the application serves (the
    monitoring routes come from monitoring's router)."""
    found = set()
    for info in pkgutil.iter_modules(routes.__path__):
        router = importlib.import_module(f"{routes.__name__}.{info.name}").router
        found |= {(m, r.path) for r in router.routes if isinstance(r, APIRoute) for m in r.methods}
    served = service.client.app.routes  # type: ignore[attr-defined]
    return found | {(m, path) for path, route in _api_routes(served) for m in route.methods}


def _api_routes(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every API route with its full path, inside included routers too (newer FastAPI keeps an included
    router whole, behind its include prefix, instead of copying its routes into the application's list)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif (included := getattr(route, "original_router", None)) is not None:
            yield from _api_routes(included.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]


def test_the_policy_covers_every_route(service: Service) -> None:
    assert _routes(service) == set(POLICY)
    documented = service.client.get("/openapi.json").json()["paths"]
    assert {(m.upper(), p) for p, methods in documented.items() for m in methods} <= set(POLICY)


def _call(service: Service, method: str, path: str, headers: dict[str, str]) -> int:
    url = path.replace("{transaction_id}", "unknown-id").replace("{version}", "999")
    url = url.replace("{decision_id}", "unknown-id").replace("{alert_id}", "999").replace("{name}", "dashboard.js")
    # Bodies that no handler can act on: an allowed caller gets past the key check, and nothing changes.
    body = b"{}" if method == "POST" else None
    answer = service.client.request(method, url, headers={**headers, "content-type": "application/json"},
                                    content=body)  # fmt: skip
    return int(answer.status_code)


@pytest.mark.parametrize(("method", "path"), sorted(POLICY))
def test_every_caller_against_the_route(service: Service, method: str, path: str) -> None:
    allowed = POLICY[(method, path)]
    revoked_key, secret = service.services.keys.create(Role.ADMIN, "to revoke", "tester")
    service.services.keys.revoke(revoked_key.key_id, "tester")
    unknown = service.keys[Role.ADMIN][:-4] + "AAAA"
    callers: dict[str, dict[str, str]] = {
        "no key": {},
        "malformed key": {"X-API-Key": "not-a-key"},
        "wrong secret": {"X-API-Key": unknown},
        "revoked key": {"X-API-Key": secret},
        **{role.value: service.headers(role) for role in Role},
    }
    for caller, headers in callers.items():
        status = _call(service, method, path, headers)
        if allowed is None or caller in {r.value for r in allowed}:
            assert status not in (401, 403), (caller, status)
        elif caller in {r.value for r in Role}:
            assert status == 403, (caller, status)
        else:
            assert status == 401, (caller, status)


def test_every_denied_request_is_recorded(service: Service) -> None:
    service.sink.accesses.clear()
    service.client.post("/v1/score", json={})
    service.client.post("/v1/score", json={}, headers=service.headers(Role.ANALYST))
    service.client.post("/v1/deployments/rollback", headers=service.headers(Role.SCORER))
    denied = [e for e in service.sink.accesses if not e.granted]
    assert [(e.status, e.path, e.role) for e in denied] == [
        (401, "/v1/score", None),
        (403, "/v1/score", "analyst"),
        (403, "/v1/deployments/rollback", "scorer"),
    ]
    assert all(e.origin and e.at and e.reason for e in denied)
    granted = service.client.get("/v1/models", headers=service.headers(Role.ANALYST))
    assert granted.status_code == 200
    assert service.sink.accesses[-1].granted
    assert service.sink.accesses[-1].key_id == service.services.keys.verify(service.keys[Role.ANALYST]).key_id  # type: ignore[union-attr]


def test_keys_are_stored_only_as_hashes(service: Service) -> None:
    rows = service.services.database.query("SELECT * FROM api_keys")
    stored = " ".join(str(v) for row in rows for v in row)
    for key in service.keys.values():
        assert key not in stored
        assert key.split("_", 2)[2] not in stored

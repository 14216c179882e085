"""An analyst's browser signs in to the dashboard with their key and then loads the page, its scripts and its
data with the session cookie alone; the cookie opens nothing outside ``/v1/monitoring``, another role's key does
not sign in, and signing out or revoking the key ends the session."""

from __future__ import annotations

from fastapi.testclient import TestClient

from scoring_api.access.keys import Role
from scoring_api.service.deps import SESSION_COOKIE
from tests.scoring_api.service.conftest import Service


def _browser(service: Service) -> TestClient:
    """Another client of the same application: no key header, its own cookies."""
    return TestClient(service.client.app, follow_redirects=False)


def test_an_analyst_signs_in_and_the_cookie_opens_the_dashboard_only(service: Service) -> None:
    browser = _browser(service)
    assert browser.get("/v1/monitoring/dashboard").status_code == 401
    page = browser.get("/v1/monitoring/sign-in")
    assert page.status_code == 200
    assert 'name="key"' in page.text

    for role in (Role.SCORER, Role.COMPLIANCE, Role.ADMIN):
        refused = browser.post("/v1/monitoring/sign-in", data={"key": service.keys[role]})
        assert refused.status_code == 403, role
        assert SESSION_COOKIE not in refused.cookies
    assert browser.post("/v1/monitoring/sign-in", data={"key": "not-a-key"}).status_code == 401

    service.sink.accesses.clear()
    signed = browser.post("/v1/monitoring/sign-in", data={"key": service.keys[Role.ANALYST]})
    assert signed.status_code == 303
    assert signed.headers["location"] == "/v1/monitoring/dashboard"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/v1/monitoring" in cookie
    assert [(e.path, e.granted, e.role) for e in service.sink.accesses] == [("/v1/monitoring/sign-in", True, "analyst")]

    assert browser.get("/v1/monitoring/dashboard").status_code == 200
    assert browser.get("/v1/monitoring/dashboard/assets/dashboard.js").status_code == 200
    assert browser.get("/v1/monitoring/alerts").status_code == 200
    assert service.sink.accesses[-1].path == "/v1/monitoring/alerts", "recorded under the route's full path"
    # The cookie is the analyst's key for the monitoring routes only: elsewhere the header is still needed.
    assert browser.get("/v1/decision-configs", cookies={SESSION_COOKIE: service.keys[Role.ANALYST]}).status_code == 401

    out = browser.post("/v1/monitoring/sign-out")
    assert out.status_code == 303
    assert browser.get("/v1/monitoring/dashboard").status_code == 401


def test_revoking_the_key_ends_its_session(service: Service) -> None:
    key, secret = service.services.keys.create(Role.ANALYST, "desk", "tester")
    browser = _browser(service)
    assert browser.post("/v1/monitoring/sign-in", data={"key": secret}).status_code == 303
    assert browser.get("/v1/monitoring/dashboard").status_code == 200
    service.services.keys.revoke(key.key_id, "tester")
    assert browser.get("/v1/monitoring/dashboard").status_code == 401

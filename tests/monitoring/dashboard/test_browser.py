"""The dashboard in a real headless browser (Debian's chromium driven by Playwright): the page loads with
data, draws its plots and the alert list, and an acknowledge click changes the alert's state. A screenshot
is kept under the test's temporary folder."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from monitoring import AlertState, MonitoringServices
from tests.conftest import free_tcp_ports
from tests.monitoring.dashboard.conftest import PREFIX

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def served(dashboard_app: tuple[FastAPI, MonitoringServices]) -> Iterator[tuple[str, MonitoringServices]]:
    app, services = dashboard_app
    (port,) = free_tcp_ports(1)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", services
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_the_dashboard_shows_data_and_acknowledges_an_alert(
    served: tuple[str, MonitoringServices], tmp_path: Path
) -> None:
    if not Path(CHROMIUM).exists():
        message = "chromium is not installed; run infra/bootstrap.sh (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    sync_api = pytest.importorskip("playwright.sync_api")
    base, services = served
    open_alert = next(a for a in services.alerts.list_alerts([AlertState.OPEN]))
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": 1400, "height": 1800},
                extra_http_headers={"X-Test-User": "ana", "X-Test-Roles": "analyst"},
            )
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{base}{PREFIX}/dashboard")
            page.wait_for_selector("body[data-loaded=true]", timeout=60_000)
            for plot in ("drift-heatmap", "drift-column", "scores", "performance"):
                assert page.locator(f"#{plot} .main-svg").count() > 0, f"{plot} was not drawn"
            assert page.locator("#drift-heatmap .heatmaplayer").count() == 1
            row = page.locator(f'#alerts tr[data-alert-id="{open_alert.id}"]')
            assert row.locator("td.state").inner_text() == "open"
            assert page.locator("#alerts tbody tr").count() == len(
                services.alerts.list_alerts([AlertState.OPEN, AlertState.ACKNOWLEDGED])
            )
            row.locator("input").fill("on it")
            row.locator("button.acknowledge").click()
            page.wait_for_function(
                "id => document.querySelector(`#alerts tr[data-alert-id='${id}'] td.state`)?.textContent"
                " === 'acknowledged'",
                arg=open_alert.id,
                timeout=30_000,
            )
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
            assert errors == []
        finally:
            browser.close()
    acknowledged = services.alerts.get(open_alert.id)
    assert (acknowledged.state, acknowledged.assignee) == (AlertState.ACKNOWLEDGED, "ana")
    assert services.alerts.history(open_alert.id)[-1].note == "on it"
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000

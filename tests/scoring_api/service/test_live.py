"""The service on a real socket (uvicorn on 127.0.0.1): the typed client against every family of routes, and
models swapped, canaried, promoted and rolled back under concurrent load with no request failing."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import uvicorn

from scoring_api.access.keys import Role
from scoring_api.client import ApiError, ScoringClient
from scoring_api.decisions.config import DecisionConfig, Rule, RuleMatch
from scoring_api.service.app import create_app
from scoring_api.service.services import Services
from tests.conftest import free_tcp_ports
from tests.scoring_api.service.conftest import make_services
from tests.scoring_api.support import World, blessed_registry

#: The load: requests in all, and how many are in flight at once.
REQUESTS = 3_000
CONCURRENCY = 32


@dataclass
class Live:
    services: Services
    url: str
    keys: dict[Role, str]
    ids: dict[str, str]

    def client(self, role: Role) -> ScoringClient:
        return ScoringClient(self.url, self.keys[role])


@pytest.fixture
def live(tmp_path: Path, world: World) -> Iterator[Live]:
    registry, ids = blessed_registry(tmp_path / "registry", world)
    registry.close()
    services = make_services(
        tmp_path, store=world.registry_root / "store", watch_interval_s=0.1, canary_max_score_shift=1.0
    )
    keys = {role: services.keys.create(role, role.value, "tester")[1] for role in Role}
    (port,) = free_tcp_ports(1)
    config = uvicorn.Config(create_app(services), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError("the server did not start")
        time.sleep(0.02)
    try:
        yield Live(services, f"http://127.0.0.1:{port}", keys, ids)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        services.close()


def _transactions(world: World, n: int, tag: str) -> list[dict[str, Any]]:
    """``n`` transactions cycling over the next day, each with its own id, in time order."""
    day = world.day
    rows = day.iloc[[i % len(day) for i in range(n)]].reset_index(drop=True)
    rows["transaction_id"] = [f"{tag}-{i}" for i in range(n)]
    rows["timestamp"] = rows["timestamp"] + pd.to_timedelta([(i // len(day)) for i in range(n)], unit="D")
    return [tx.model_dump(mode="json") for tx in world.transactions(rows)]


def test_the_client_speaks_every_family_of_routes(live: Live, world: World) -> None:
    bodies = _transactions(world, 4, "client")
    with live.client(Role.SCORER) as scorer, live.client(Role.ADMIN) as admin, live.client(Role.ANALYST) as analyst:
        decision = scorer.score(bodies[0])
        assert decision.model_version == live.ids["forest"]
        batch = scorer.score_batch([bodies[1], {"transaction_id": "bad"}])
        assert (batch.scored, batch.rejected) == (1, 1)
        assert analyst.decision(bodies[0]["transaction_id"]) == decision
        assert analyst.ready().ready
        assert {m.content_id for m in analyst.models()} == set(live.ids.values())

        draft = admin.draft_decision_config(
            DecisionConfig(rules=[Rule(name="everything", action="review", match=RuleMatch(amount_above=0.0))])
        )
        assert (draft.version, draft.status) == (1, "draft")
        assert scorer.score(bodies[2]).decision_config_version == 0, "a draft decides nothing"
        assert admin.activate_decision_config(draft.version).status == "active"
        reviewed = scorer.score(bodies[3])
        assert (reviewed.decision_config_version, reviewed.decision, reviewed.rules_fired) == (
            1,
            "review",
            ["everything"],
        )
        assert [v.status for v in analyst.decision_configs()] == ["active"]

        assert admin.start_shadow(live.ids["linear"]).shadow is not None
        assert admin.stop_shadow().shadow is None
        with pytest.raises(ApiError) as refused:
            analyst.start_canary(live.ids["linear"], 0.5)
        assert refused.value.status == 403
    with ScoringClient(live.url, "fsk_000000000000_wrong") as stranger, pytest.raises(ApiError) as denied:
        stranger.score(bodies[0])
    assert denied.value.status == 401


def test_models_change_under_concurrent_load_and_no_request_fails(live: Live, world: World) -> None:
    bodies = _transactions(world, REQUESTS, "load")
    ids = live.ids
    statuses: list[int] = []
    versions: set[str] = set()
    done = threading.Event()

    async def load() -> None:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for body in bodies:
            queue.put_nowait(body)
        headers = {"X-API-Key": live.keys[Role.SCORER]}
        limits = httpx.Limits(max_connections=CONCURRENCY)
        async with httpx.AsyncClient(base_url=live.url, headers=headers, timeout=30, limits=limits) as client:

            async def worker() -> None:
                while not queue.empty():
                    body = queue.get_nowait()
                    answer = await client.post("/v1/score", json=body)
                    statuses.append(answer.status_code)
                    if answer.status_code == 200:
                        versions.add(answer.json()["model_version"])

            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        done.set()

    changes: list[str] = []

    def change_models() -> None:
        services = live.services
        deployments = services.deployments
        steps = (
            ("canary", lambda: deployments.start_canary(ids["forest_b"], 0.5, "test")),
            ("promote", lambda: deployments.promote_canary("test")),
            ("rollback", lambda: deployments.rollback("test", "load test")),
            ("canary", lambda: deployments.start_canary(ids["linear"], 0.3, "test")),
            ("canary rollback", lambda: deployments.rollback_canary("test")),
            # forest_b was judged against the champion forest: a model judged before it would be refused.
            ("registry promotion", lambda: services.registry.promote(ids["forest_b"], actor="elsewhere")),
        )
        for name, step in steps:
            time.sleep(0.3)
            if done.is_set():
                return
            step()
            changes.append(name)

    changer = threading.Thread(target=change_models)
    changer.start()
    started = time.perf_counter()
    asyncio.run(load())
    changer.join(timeout=60)
    elapsed = time.perf_counter() - started

    assert len(statuses) == REQUESTS
    assert [s for s in statuses if s != 200] == [], "no request fails while models change"
    assert len(changes) >= 3, f"the load ended after {elapsed:.1f}s, before the models changed: {changes}"
    assert versions <= set(ids.values())
    assert len(versions) >= 2, "answers came from more than one model during the changes"

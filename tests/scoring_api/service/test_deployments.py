"""Deployments through the API: shadow, a sticky canary, promotion, manual and automatic rollback, the registry
followed and the new champion swapped in, and what may not deploy refused."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from features import baseline_feature_set, model_input_names
from lifecycle.registry.registry import ModelRegistry
from lifecycle.settings import LifecycleSettings
from model_engine import compile_model, load_model, save_model
from scoring_api.access.keys import Role
from scoring_api.sinks import DeploymentAction
from tests.scoring_api.service.conftest import Service
from tests.scoring_api.support import World, judge, lineage


def _batch(service: Service, world: World, start: int, n: int) -> list[dict[str, Any]]:
    bodies = [tx.model_dump(mode="json") for tx in world.transactions(world.day.iloc[start : start + n])]
    answer = service.post("/v1/score/batch", json={"transactions": bodies})
    assert answer.status_code == 200, answer.text
    return [item["decision"] for item in answer.json()["items"]]


def _admin(service: Service, method: str, path: str, **kwargs: Any) -> Any:
    return service.client.request(method, path, headers=service.headers(Role.ADMIN), **kwargs)


def _registry(service: Service) -> ModelRegistry:
    return ModelRegistry.from_settings(
        LifecycleSettings(
            registry_url=service.services.registry._db.url,
            model_store=Path(service.services.registry._store),
            model_signing_key=service.services.registry._key,
        )
    )


def test_a_shadow_is_scored_and_recorded_but_never_answers(service: Service, world: World) -> None:
    shadow = service.ids["forest_b"]
    started = _admin(service, "POST", "/v1/deployments/shadow", json={"model": shadow})
    assert started.status_code == 200, started.text
    assert started.json()["shadow"]["content_id"] == shadow
    decisions = _batch(service, world, 0, 50)
    assert {d["model_version"] for d in decisions} == {service.ids["forest"]}
    recorded = service.sink.batches[-1].batch.shadow
    assert recorded is not None
    assert recorded.model_version == shadow
    assert recorded.error is None
    reference = load_model(service.services.registry.get(shadow).artifact_path, backend="numpy")
    model_input = service.sink.batches[-1].batch.model_input
    np.testing.assert_allclose(recorded.scores, reference.score(model_input.values, names=model_input.names), atol=1e-5)
    np.testing.assert_allclose(recorded.served_scores, [d["score"] for d in decisions], atol=1e-7)
    stopped = _admin(service, "DELETE", "/v1/deployments/shadow")
    assert stopped.json()["shadow"] is None
    actions = [e.action for e in service.sink.deployments]
    assert DeploymentAction.SHADOW_STARTED in actions
    assert DeploymentAction.SHADOW_STOPPED in actions


def test_a_canary_answers_for_a_sticky_share_of_cards(service: Service, world: World) -> None:
    canary = service.ids["forest_b"]
    started = _admin(service, "POST", "/v1/deployments/canary", json={"model": canary[:20], "share": 0.5})
    assert started.status_code == 200, started.text
    assert started.json()["canary"]["share"] == 0.5
    roles: dict[str, set[str]] = defaultdict(set)
    for start in range(0, len(world.day), 100):
        for d in _batch(service, world, start, 100):
            roles[d["transaction_id"]].add(d["model_role"])
            assert d["model_version"] == (canary if d["model_role"] == "canary" else service.ids["forest"])
            expected = world.thresholds["forest_b" if d["model_role"] == "canary" else "forest"]
            assert d["thresholds"]["review"] == pytest.approx(expected)
    by_card: dict[str, set[str]] = defaultdict(set)
    cards = dict(zip(world.day["transaction_id"].astype(str), world.day["card_token"], strict=True))
    for tid, seen in roles.items():
        by_card[cards[tid]] |= seen
    assert all(len(seen) == 1 for seen in by_card.values()), "a card never moves between canary and champion"
    on_canary = sum(seen == {"canary"} for seen in by_card.values()) / len(by_card)
    assert 0.3 < on_canary < 0.7
    assert service.get("/v1/deployments").json()["canary"]["guardrails"]["rows"] > 0


def test_promote_then_roll_back_the_champion(service: Service, world: World) -> None:
    old, new = service.ids["forest"], service.ids["forest_b"]
    _admin(service, "POST", "/v1/deployments/canary", json={"model": new, "share": 0.2})
    promoted = _admin(service, "POST", "/v1/deployments/canary/promote")
    assert promoted.status_code == 200, promoted.text
    assert (promoted.json()["champion"]["content_id"], promoted.json()["canary"]) == (new, None)
    assert service.services.registry.get("champion").content_id == new
    assert {d["model_version"] for d in _batch(service, world, 0, 20)} == {new}

    rolled = _admin(service, "POST", "/v1/deployments/rollback", json={"reason": "test"})
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["champion"]["content_id"] == old
    assert service.services.registry.get("champion").content_id == old
    assert {d["model_version"] for d in _batch(service, world, 20, 20)} == {old}
    history = service.get("/v1/deployments/history", role=Role.COMPLIANCE).json()
    assert [h["action"] for h in history[:3]] == ["rolled_back", "promoted", "canary_started"]
    assert history[0]["reason"] == "test"
    assert _admin(service, "POST", "/v1/deployments/canary/promote").status_code == 409


def test_a_canary_rolled_back_by_hand(service: Service, world: World) -> None:
    _admin(service, "POST", "/v1/deployments/canary", json={"model": service.ids["linear"], "share": 1.0})
    assert {d["model_role"] for d in _batch(service, world, 0, 10)} == {"canary"}
    rolled = _admin(service, "DELETE", "/v1/deployments/canary")
    assert rolled.json()["canary"] is None
    assert {d["model_role"] for d in _batch(service, world, 10, 10)} == {"champion"}
    assert _admin(service, "DELETE", "/v1/deployments/canary").status_code == 409


@pytest.mark.service_settings(canary_min_rows=50, canary_max_score_shift=0.02)
def test_a_canary_scoring_unlike_the_champion_is_rolled_back_automatically(service: Service, world: World) -> None:
    _admin(service, "POST", "/v1/deployments/canary", json={"model": service.ids["linear"], "share": 1.0})
    decisions = [d for start in range(0, 300, 50) for d in _batch(service, world, start, 50)]
    assert all(d is not None for d in decisions), "no request fails while the canary is dropped"
    assert decisions[0]["model_role"] == "canary"
    assert decisions[-1]["model_role"] == "champion"
    assert service.get("/v1/deployments").json()["canary"] is None
    event = service.sink.deployments[-1]
    assert event.action is DeploymentAction.CANARY_ROLLED_BACK
    assert event.automatic
    assert "score_shift" in event.reason
    assert event.actor == "guardrail"
    assert service.services.deployments.store.slots() == {}  # type: ignore[union-attr]
    metrics = service.client.get("/metrics").text
    assert 'fraud_rollbacks_total{kind="canary_rolled_back_automatic"} 1.0' in metrics


@pytest.mark.service_settings(canary_min_rows=20, canary_max_p99_ms=1e-6)
def test_a_slow_canary_is_rolled_back_automatically(service: Service, world: World) -> None:
    _admin(service, "POST", "/v1/deployments/canary", json={"model": service.ids["forest_b"], "share": 1.0})
    for start in range(30):
        answer = service.post("/v1/score", json=world.transactions(world.day.iloc[[start]])[0].model_dump(mode="json"))
        assert answer.status_code == 200
    assert service.get("/v1/deployments").json()["canary"] is None
    assert "p99_latency_ms" in service.sink.deployments[-1].reason


def test_a_promotion_in_the_registry_is_followed_and_swapped_in(service: Service, world: World) -> None:
    registry = _registry(service)
    try:
        # forest_b, judged against the champion forest (a model judged before it would be refused).
        registry.promote(service.ids["forest_b"], actor="someone else")
    finally:
        registry.close()
    assert {d["model_version"] for d in _batch(service, world, 0, 5)} == {service.ids["forest"]}
    service.services.follow()  # what the maintenance thread does every watch interval
    assert {d["model_version"] for d in _batch(service, world, 5, 5)} == {service.ids["forest_b"]}
    loaded = [e for e in service.sink.deployments if e.action is DeploymentAction.CHAMPION_LOADED]
    assert loaded[-1].content_id == service.ids["forest_b"]


def test_what_may_not_deploy_is_refused(service: Service, world: World, tmp_path: Path) -> None:
    registry = _registry(service)
    try:
        # Registered but never judged: not blessed.
        X = world.X[:400]
        y = (X[:, 0] > np.median(X[:, 0])).astype(int)
        names = list(model_input_names(world.feature_set))
        unjudged = compile_model(LogisticRegression(max_iter=200).fit(X, y), names)
        save_model(unjudged, tmp_path / "unjudged", golden_input=X[:32])
        plain = registry.register(tmp_path / "unjudged", name="unjudged", lineage=lineage(world, "linear"))
        # Blessed, but reading its inputs in another order than the feature set builds.
        y_all = world.history["is_fraud"].to_numpy()
        forest = RandomForestClassifier(n_estimators=10, max_depth=6, random_state=0).fit(world.X[:, ::-1], y_all)
        save_model(compile_model(forest, names[::-1]), tmp_path / "reordered", golden_input=world.X[:32, ::-1])
        doc = replace(lineage(world, "linear"), feature_names=tuple(names[::-1]))
        backwards = registry.register(tmp_path / "reordered", name="reordered", lineage=doc)
        judge(registry, backwards.content_id, world, world.X[:, ::-1].copy())
        # Blessed, but trained on another feature set.
        baseline = baseline_feature_set()
        other = RandomForestClassifier(n_estimators=10, max_depth=6, random_state=0).fit(world.X[:, :15], y_all)
        save_model(compile_model(other, list(model_input_names(baseline))), tmp_path / "baseline",
                   golden_input=world.X[:32, :15])  # fmt: skip
        doc = replace(lineage(world, "linear"), feature_spec_version=baseline.version,
                      feature_names=model_input_names(baseline))  # fmt: skip
        foreign = registry.register(tmp_path / "baseline", name="baseline", lineage=doc)
        judge(registry, foreign.content_id, world, world.X[:, :15].copy())
    finally:
        registry.close()
    for content_id, words in (
        (plain.content_id, "no gate verdict"),
        (backwards.content_id, "another order"),
        (foreign.content_id, "missing"),
        ("sha256:0123456789abcdef", "no model version"),
    ):
        answer = _admin(service, "POST", "/v1/deployments/canary", json={"model": content_id, "share": 0.1})
        assert answer.status_code in (404, 409), answer.text
        assert words in answer.json()["detail"]
    assert (
        _admin(
            service, "POST", "/v1/deployments/canary", json={"model": service.ids["forest"], "share": 0.1}
        ).status_code
        == 409
    )
    assert service.get("/v1/deployments").json()["canary"] is None

"""Decision configurations through the API: drafts decide nothing, activation switches every later decision,
segments take their own thresholds, every change is reported, and bad documents are refused."""

from __future__ import annotations

from typing import Any

from scoring_api.access.keys import Role
from scoring_api.sinks import DecisionConfigAction
from tests.scoring_api.service.conftest import Service
from tests.scoring_api.support import World


def _score(service: Service, world: World, row: int) -> dict[str, Any]:
    body = world.transactions(world.day.iloc[[row]])[0].model_dump(mode="json")
    answer = service.post("/v1/score", json=body)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_configuration_decides_only_once_activated(service: Service, world: World) -> None:
    assert service.get("/v1/decision-configs/active", role=Role.ANALYST).json()["status"] == "default"
    channel = world.day["channel"].iloc[1]
    config = {
        "rules": [{"name": "blocked_country", "action": "decline",
                   "match": {"countries": [world.day["country"].iloc[2]], "amount_above": 0.0}}],
        "thresholds": {"review": 0.99, "decline": None},
        "segments": [{"name": "this_channel", "channels": [channel], "thresholds": {"review": 0.0}}],
        "note": "test",
    }  # fmt: skip
    drafted = service.post("/v1/decision-configs", role=Role.ADMIN, json=config)
    assert drafted.status_code == 201, drafted.text
    version = drafted.json()["version"]
    assert _score(service, world, 0)["decision_config_version"] == 0

    activated = service.post(f"/v1/decision-configs/{version}/activate", role=Role.ADMIN)
    assert activated.status_code == 200
    assert activated.json()["activated_by"].startswith("key:")
    second = _score(service, world, 1)
    assert second["decision_config_version"] == version
    if world.day["country"].iloc[1] != world.day["country"].iloc[2]:
        assert (second["decision"], second["thresholds"]["review"]) == ("review", 0.0), "the segment's threshold"
    third = _score(service, world, 2)
    assert (third["decision"], third["decided_by"]) == ("decline", "rule:blocked_country")

    assert service.post(f"/v1/decision-configs/{version}/activate", role=Role.ADMIN).status_code == 409
    assert service.post("/v1/decision-configs/99/activate", role=Role.ADMIN).status_code == 404
    actions = [(e.action, e.version) for e in service.sink.configs]
    assert actions == [(DecisionConfigAction.DRAFTED, version), (DecisionConfigAction.ACTIVATED, version)]
    listed = service.get("/v1/decision-configs", role=Role.COMPLIANCE).json()
    assert [(v["version"], v["status"]) for v in listed] == [(version, "active")]


def test_documents_that_cannot_decide_are_refused(service: Service) -> None:
    bad = [
        {"rules": [{"name": "x", "action": "decline", "match": {}}]},  # matches nothing
        {"rules": [{"name": "Bad Name", "action": "decline", "match": {"countries": ["KP"]}}]},
        {"rules": [{"name": "x", "action": "block", "match": {"countries": ["KP"]}}]},
        {"thresholds": {"review": 0.9, "decline": 0.5}},  # decline below review
        {"segments": [{"name": "s", "thresholds": {"review": 0.1}}]},  # selects nothing
        {"rules": [{"name": "x", "action": "approve", "match": {"card_tokens": ["4111111111111111"]}}]},
        {"unknown": 1},
    ]
    for document in bad:
        answer = service.post("/v1/decision-configs", role=Role.ADMIN, json=document)
        assert answer.status_code == 422, (document, answer.text)
        assert "4111111111111111" not in answer.text


def test_metrics_count_requests_decisions_and_rejections(service: Service, world: World) -> None:
    _score(service, world, 0)
    service.post("/v1/score", json={"transaction_id": "x"})
    service.client.post("/v1/score", json={})
    text = service.client.get("/metrics").text
    assert 'fraud_http_requests_total{method="POST",route="/v1/score",status="200"} 1.0' in text
    assert 'fraud_http_requests_total{method="POST",route="/v1/score",status="422"} 1.0' in text
    assert 'fraud_http_requests_total{method="POST",route="/v1/score",status="401"} 1.0' in text
    assert 'fraud_decisions_total{model_role="champion",outcome=' in text
    assert (
        f'fraud_http_request_seconds_bucket{{le="0.01",model_version="{service.ids["forest"][:19]}",route="/v1/score"}}'
        in text
    )

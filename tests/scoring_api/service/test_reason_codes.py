"""Reason codes: every decision that is not an approval is explained by the model that answered it - for a
linear model and a tree ensemble the contributions sum with the base value to the model's margin, whose sigmoid
is the score - in words from the feature catalogue, largest push first, and the audit trail records them."""

from __future__ import annotations

import math
from typing import Any

import pytest

from features import model_input_descriptions
from monitoring.audit import AuditFilter, DecisionEvent
from scoring_api.access.keys import Role
from tests.scoring_api.service.conftest import Service
from tests.scoring_api.support import World


def _bodies(world: World, start: int, n: int) -> list[dict[str, Any]]:
    return [tx.model_dump(mode="json") for tx in world.transactions(world.day.iloc[start : start + n])]


def _review_everything(service: Service) -> None:
    assert service.post("/v1/decision-configs", Role.ADMIN, json={"thresholds": {"review": 0.0}}).status_code == 201
    assert service.post("/v1/decision-configs/1/activate", Role.ADMIN).status_code == 200


@pytest.mark.parametrize(("model", "method"), [("linear", "linear"), ("forest", "tree_shap")])
def test_reason_codes_sum_with_the_base_value_to_the_margin(
    service: Service, world: World, model: str, method: str
) -> None:
    service.services.registry.promote(service.ids[model], actor="tester", reason="reason codes test")
    service.services.follow()
    _review_everything(service)
    single = service.post("/v1/score", json=_bodies(world, 0, 1)[0]).json()
    batch = service.post("/v1/score/batch", json={"transactions": _bodies(world, 1, 40)}).json()
    decisions = [single] + [item["decision"] for item in batch["items"]]
    descriptions = model_input_descriptions(world.feature_set)
    for decision in decisions:
        assert decision["model_version"] == service.ids[model]
        assert decision["decision"] == "review"
        explanation, reasons = decision["explanation"], decision["reason_codes"]
        assert explanation["method"] == method
        assert explanation["quantity"] == "the logit of the score"
        total = explanation["base_value"] + math.fsum(r["contribution"] for r in reasons)
        assert total == pytest.approx(explanation["margin"], rel=1e-9, abs=1e-9)
        assert 1.0 / (1.0 + math.exp(-explanation["margin"])) == pytest.approx(decision["score"], abs=1e-6)
        pushes = [abs(r["contribution"]) for r in reasons]
        assert pushes == sorted(pushes, reverse=True)
        assert reasons, "an explained decision names the inputs that moved its score"
        for reason in reasons:
            assert reason["text"].startswith(descriptions[reason["feature"]])
            assert ("raised" in reason["text"]) == (reason["contribution"] > 0)

    assert service.services.audit is not None
    recorded = {
        e.decision_id: e
        for e in (r.event() for r in service.services.audit.log.records(AuditFilter(kinds=("decision",))))
        if isinstance(e, DecisionEvent)
    }
    for decision in decisions:
        event = recorded[decision["decision_id"]]
        assert [(r.feature, r.contribution, r.text) for r in event.reasons] == [
            (r["feature"], r["contribution"], r["text"]) for r in decision["reason_codes"]
        ]


@pytest.mark.parametrize("model", ["linear", "forest"])
def test_the_top_codes_are_stable(service: Service, world: World, model: str) -> None:
    """A row explained in a batch of 40 or alone (the replay re-explains each recorded decision alone) names the
    same inputs in the same order with the same contributions, bit for bit."""
    service.services.registry.promote(service.ids[model], actor="tester", reason="reason codes test")
    service.services.follow()
    _review_everything(service)
    batch = service.post("/v1/score/batch", json={"transactions": _bodies(world, 0, 40)}).json()
    answered = {item["decision"]["decision_id"]: item["decision"] for item in batch["items"]}
    replayer, audit = service.services.replayer, service.services.audit
    assert replayer is not None
    assert audit is not None
    events = [r.event() for r in audit.log.records(AuditFilter(kinds=("decision",)))]
    replays = [replayer.replay(e) for e in events if isinstance(e, DecisionEvent)]
    assert len(replays) == 40
    for replay in replays:
        assert replay.identical, replay.differences
        top = [(r["feature"], r["contribution"]) for r in answered[replay.recorded.decision_id]["reason_codes"][:3]]
        assert len(top) == 3
        assert [(r.feature, r.contribution) for r in replay.reasons[:3]] == top


def test_approvals_are_not_explained_unless_asked(service: Service, world: World) -> None:
    answers = service.post("/v1/score/batch", json={"transactions": _bodies(world, 0, 60)}).json()["items"]
    approved = [a["decision"] for a in answers if a["decision"]["decision"] == "approve"]
    assert approved
    assert all(d["reason_codes"] == [] and d["explanation"] is None for d in approved)
    others = [a["decision"] for a in answers if a["decision"]["decision"] != "approve"]
    assert all(d["reason_codes"] and d["explanation"] for d in others)


@pytest.mark.service_settings(explain_approved=True)
def test_approvals_are_explained_when_the_setting_asks(service: Service, world: World) -> None:
    answers = service.post("/v1/score/batch", json={"transactions": _bodies(world, 0, 20)}).json()["items"]
    assert all(a["decision"]["explanation"] is not None for a in answers)

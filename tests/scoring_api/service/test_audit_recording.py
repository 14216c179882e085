"""The service records in its audit trail every decision it answers (once, with everything a replay needs), every
access granted or denied (the PCI DSS 10.2.2 fields), and every change with who, why and which ticket; an
answer waits for its record, and is withheld when the record cannot be written."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from features import model_input_names
from monitoring.audit import AccessEvent, AuditEvent, AuditFilter, DecisionConfigEvent, DecisionEvent, DeploymentEvent
from scoring_api.access.keys import Role
from tests.scoring_api.service.conftest import Service
from tests.scoring_api.support import World

PAN = "4111 1111 1111 1111"


@pytest.fixture(autouse=True, params=["process", "thread"])
def audit_writer(request: pytest.FixtureRequest) -> str:
    """Every test here runs with the records written by a recording process (the default) and by a thread."""
    return str(request.param)


def _bodies(world: World, n: int, start: int = 0) -> list[dict[str, Any]]:
    return [tx.model_dump(mode="json") for tx in world.transactions(world.day.iloc[start : start + n])]


def _recorded(service: Service, kind: str) -> list[Any]:
    assert service.services.audit is not None
    return [record.event() for record in service.services.audit.log.records(AuditFilter(kinds=(kind,)))]


def _key_id(service: Service, role: Role) -> str:
    key = service.services.keys.verify(service.keys[role])
    assert key is not None
    return key.key_id


def test_every_decision_is_recorded_once_with_what_a_replay_needs(service: Service, world: World) -> None:
    bodies = _bodies(world, 5)
    by_number = {**{k: v for k, v in bodies[0].items() if k != "card_token"}, "pan": PAN}
    single = service.post("/v1/score", json=by_number).json()
    batch = service.post(
        "/v1/score/batch", json={"transactions": [bodies[1], {**bodies[2], "amount": -1}, bodies[3], bodies[4]]}
    ).json()
    replayed = service.post("/v1/score", json=by_number).json()
    assert replayed["replayed"] is True
    answered = [single] + [item["decision"] for item in batch["items"] if item["status"] == "scored"]
    assert len(answered) == 4

    recorded: list[DecisionEvent] = _recorded(service, "decision")
    assert [e.decision_id for e in recorded] == [d["decision_id"] for d in answered], "each once, replays not again"
    names = model_input_names(world.feature_set)
    for event, answer in zip(recorded, answered, strict=True):
        assert event.transaction_id == answer["transaction_id"]
        assert event.score == answer["score"]
        assert event.decision == answer["decision"]
        assert event.model_content_id == answer["model_version"] == service.ids["forest"]
        assert event.decision_config_version == "0"
        assert event.deployment == "champion"
        assert event.source == "api"
        assert event.backend == service.services.settings.model_backend
        assert tuple(event.features) == names
        assert all(np.float32(v) == v for v in event.features.values()), "the exact float32 values scored"
        assert event.input["transaction_id"] == event.transaction_id
        assert event.input["card_token"] == event.card_token
    first = recorded[0]
    assert first.card_display == "411111******1111"
    assert first.card_token == service.services.tokenizer.tokenize(PAN)
    assert first.input["amount"] == bodies[0]["amount"]
    assert recorded[1].card_display is None, "a card sent as a token has no number to show"


def test_every_access_is_recorded_with_the_pci_dss_fields(service: Service, world: World) -> None:
    body = _bodies(world, 1)[0]
    service.client.post("/v1/score", json=body)  # no key
    service.client.post("/v1/score", json=body, headers={"X-API-Key": "fsk_nobody_AAAA"})
    service.post("/v1/score", role=Role.ANALYST, json=body)
    service.post("/v1/score", json=body)
    service.get("/v1/decisions/unknown-id", role=Role.ANALYST)
    service.post("/v1/score/batch", content=b"x" * (service.services.settings.max_body_bytes + 1))

    accesses: list[AccessEvent] = _recorded(service, "access")
    seen = [(a.success, a.status, a.event_type, a.resource, a.key_id, a.role) for a in accesses]
    assert seen == [
        (False, 401, "authentication_failure", "POST /v1/score", None, None),
        (False, 401, "authentication_failure", "POST /v1/score", None, None),
        (False, 403, "authorization_failure", "POST /v1/score", _key_id(service, Role.ANALYST), "analyst"),
        (True, 200, "write", "POST /v1/score", _key_id(service, Role.SCORER), "scorer"),
        (True, 200, "read", "GET /v1/decisions/unknown-id", _key_id(service, Role.ANALYST), "analyst"),
        (False, 413, "refused", "POST /v1/score/batch", None, None),
    ]
    for access in accesses:
        assert access.origin == "testclient"
        assert access.occurred_at.tzinfo is not None
        assert access.success or access.detail, "a denial says why"
    assert not any("fsk_" in str(a) for a in accesses), "a key is named by its id, never itself"


def test_changes_are_recorded_with_who_why_and_the_ticket(service: Service, world: World) -> None:
    admin = f"key:{_key_id(service, Role.ADMIN)}"
    config = {"rules": [{"name": "big", "action": "review", "match": {"amount_above": 5000}}]}
    created = service.post("/v1/decision-configs?reason=seasonal+limits&ticket=CHG-7", Role.ADMIN, json=config)
    assert created.status_code == 201, created.text
    service.post("/v1/decision-configs/1/activate?reason=approved+by+risk&ticket=CHG-7", Role.ADMIN)
    canary = service.post(
        "/v1/deployments/canary?reason=try+the+linear+model&ticket=CHG-8&share=0.5", Role.ADMIN,
        json={"model": service.ids["linear"], "share": 0.5},
    )  # fmt: skip
    assert canary.status_code == 200, canary.text
    service.post("/v1/deployments/canary/promote?reason=better+recall&ticket=CHG-9", Role.ADMIN)

    configs: list[DecisionConfigEvent] = _recorded(service, "decision_config")
    assert [(c.action, c.config_version, c.actor, c.reason, c.ticket) for c in configs] == [
        ("created", "1", admin, "seasonal limits", "CHG-7"),
        ("activated", "1", admin, "approved by risk", "CHG-7"),
    ]
    assert configs[1].configuration["rules"][0]["match"]["amount_above"] == 5000
    deployments: list[DeploymentEvent] = _recorded(service, "deployment")
    moves = [(d.action, d.alias, d.content_id, d.actor, d.reason, d.ticket) for d in deployments]
    assert ("canary_started", "canary", service.ids["linear"], admin, "try the linear model", "CHG-8") in moves
    promotions = [m for m in moves if m[1] == "champion" and m[0] != "champion_loaded"]
    assert promotions == [("deploy", "champion", service.ids["linear"], admin, "better recall", "CHG-9")], (
        "a promotion is recorded once, by the registry"
    )
    started = next(d for d in deployments if d.action == "canary_started")
    assert started.details == {"share": 0.5}


def _fail_appends(path: Path) -> None:
    with sqlite3.connect(path) as connection:  # the audit store refuses writes, as a full disk would
        connection.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON audit_records BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )


def _allow_appends(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TRIGGER refuse")


def test_an_answer_is_withheld_while_its_record_cannot_be_written_and_recorded_once_it_can(
    service: Service, world: World, tmp_path: Path
) -> None:
    audit = service.services.audit
    assert audit is not None
    store = tmp_path / "audit" / "audit.sqlite"
    first, second = _bodies(world, 2)
    assert service.post("/v1/score", json=first).status_code == 200
    _fail_appends(store)
    try:
        withheld = service.post("/v1/score", json=second)
        assert withheld.status_code == 503
        assert "not answered" in withheld.json()["detail"]
        assert "decision" not in withheld.json()
        ready = service.client.get("/readyz").json()
        assert ready["ready"] is False
        assert not ready["checks"]["audit"]["ok"]
    finally:
        _allow_appends(store)
    service.services.follow()  # the maintenance round submits what waits
    assert service.client.get("/readyz").json()["checks"]["audit"]["ok"]
    again = service.post("/v1/score", json=second)
    assert again.status_code == 200
    assert again.json()["replayed"] is True
    decisions: Sequence[AuditEvent] = _recorded(service, "decision")
    assert [e.transaction_id for e in decisions if isinstance(e, DecisionEvent)] == [
        first["transaction_id"],
        second["transaction_id"],
    ], "the withheld decision reached the trail once"
    assert again.json()["decision_id"] == decisions[1].decision_id  # type: ignore[attr-defined]
    assert audit.log.verify().ok

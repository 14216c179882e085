"""Replay: every decision the service recorded - singles and batches, a forest and a linear champion, the built-in
configuration and an activated one with a decline rule, approvals, reviews and declines - re-scored and decided
again from the record alone gives the same score bit for bit, the same decision and the same rules; through the
library, the compliance route and ``fraud audit replay``. A configuration altered after the fact is caught."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from typer.testing import CliRunner

from monitoring.audit import AuditFilter, DecisionEvent
from scoring_api.access.keys import Role
from scoring_api.cli import app
from tests.lifecycle.registry import support as registry_support
from tests.scoring_api.service.conftest import Service
from tests.scoring_api.support import World


def _bodies(world: World, start: int, n: int) -> list[dict[str, Any]]:
    return [tx.model_dump(mode="json") for tx in world.transactions(world.day.iloc[start : start + n])]


def _score(service: Service, bodies: list[dict[str, Any]]) -> None:
    for body in bodies[:3]:
        assert service.post("/v1/score", json=body).status_code == 200
    answer = service.post("/v1/score/batch", json={"transactions": bodies[3:]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["rejected"] == 0


def _decisions(service: Service) -> list[DecisionEvent]:
    assert service.services.audit is not None
    events = [r.event() for r in service.services.audit.log.records(AuditFilter(kinds=("decision",)))]
    return [e for e in events if isinstance(e, DecisionEvent)]


def _history(service: Service, world: World) -> list[DecisionEvent]:
    """Decisions under two configurations and two champions, of every outcome."""
    _score(service, _bodies(world, 0, 30))  # the forest, the built-in configuration
    big = float(np.quantile(world.day["amount"].to_numpy(), 0.8))
    config = {
        "rules": [{"name": "big_amount", "action": "decline", "match": {"amount_above": big}}],
        "thresholds": {"review": 0.0},  # everything else goes to review
    }
    assert service.post("/v1/decision-configs", Role.ADMIN, json=config).status_code == 201
    assert service.post("/v1/decision-configs/1/activate", Role.ADMIN).status_code == 200
    _score(service, _bodies(world, 30, 30))
    service.services.registry.promote(service.ids["linear"], actor="tester", reason="replay test")
    service.services.follow()
    _score(service, _bodies(world, 60, 30))
    return _decisions(service)


def test_every_recorded_decision_replays_identically(service: Service, world: World) -> None:
    recorded = _history(service, world)
    assert len(recorded) == 90
    assert {e.model_content_id for e in recorded} == {service.ids["forest"], service.ids["linear"]}
    assert {e.decision_config_version for e in recorded} == {"0", "1"}
    outcomes = Counter(e.decision for e in recorded)
    assert set(outcomes) == {"approve", "review", "decline"}, outcomes
    replayer = service.services.replayer
    assert replayer is not None
    for event in recorded:
        replay = replayer.replay(event)
        assert replay.identical, (event.decision_id, replay.differences)
        assert np.float64(replay.score).tobytes() == np.float64(event.score).tobytes()
        assert (replay.decision, replay.rules) == (event.decision, tuple(event.rules))


def test_the_compliance_route_replays_and_catches_an_altered_configuration(
    service: Service, world: World, tmp_path: Path
) -> None:
    recorded = _history(service, world)
    declined = next(e for e in recorded if e.decision == "decline")
    path = f"/v1/audit/decisions/{declined.decision_id}/replay"
    answer = service.get(path, role=Role.COMPLIANCE)
    assert answer.status_code == 200, answer.text
    replay = answer.json()
    assert replay["identical"] is True
    assert replay["recorded"]["score_hex"] == replay["replayed"]["score_hex"]
    assert replay["replayed"]["rules"] == ["big_amount"]
    assert service.get(path, role=Role.ADMIN).status_code == 403
    assert service.get("/v1/audit/decisions/no-such-decision/replay", role=Role.COMPLIANCE).status_code == 404

    with sqlite3.connect(tmp_path / "service.sqlite") as connection:  # someone edits the stored version 1
        connection.execute("UPDATE decision_configs SET document = ? WHERE version = 1", ['{"thresholds": {}}'])
    altered = service.get(path, role=Role.COMPLIANCE).json()
    assert altered["identical"] is False
    assert any("service database" in d for d in altered["differences"])
    assert altered["replayed"]["decision"] == "decline", "the recorded configuration still decides the replay"


def test_fraud_audit_replay_shows_the_replay(service: Service, world: World, tmp_path: Path) -> None:
    recorded = _history(service, world)
    reviewed = next(e for e in recorded if e.decision == "review" and e.model_content_id == service.ids["linear"])
    env = {
        "FRAUD_AUDIT_URL": f"sqlite:///{tmp_path}/audit/audit.sqlite",
        "FRAUD_AUDIT_ARCHIVE_DIR": str(tmp_path / "audit" / "archive"),
        "FRAUD_REGISTRY_URL": f"sqlite:///{tmp_path}/registry/registry.sqlite",
        "FRAUD_MODEL_STORE": str(world.registry_root / "store"),
        "FRAUD_MODEL_SIGNING_KEY": registry_support.KEY.get_secret_value(),
        "FRAUD_SCORING_DATABASE_URL": f"sqlite:///{tmp_path}/service.sqlite",
        "FRAUD_ACTOR": "examiner",
    }
    runner = CliRunner()
    shown = runner.invoke(app, ["audit", "replay", reviewed.decision_id], env=env)
    assert shown.exit_code == 0, shown.output
    assert "identical" in shown.output
    assert reviewed.score.hex() in shown.output
    unknown = runner.invoke(app, ["audit", "replay", "no-such-decision"], env=env)
    assert unknown.exit_code == 1
    assert "no decision" in unknown.output
    assert service.services.audit is not None
    replays = list(service.services.audit.log.records(AuditFilter(kinds=("access",), actor="examiner")))
    assert [(r.subject, r.event().success) for r in replays] == [  # type: ignore[attr-defined]
        (reviewed.decision_id, True),
        ("no-such-decision", False),
    ]


def test_a_tampered_record_and_another_model_are_reported(service: Service, world: World, tmp_path: Path) -> None:
    """A recorded score edited in the audit database, and a decision attributed to a model that did not make it,
    both replay as different, and say why."""
    recorded = _history(service, world)
    replayer, audit = service.services.replayer, service.services.audit
    assert replayer is not None
    assert audit is not None
    reviewed = next(e for e in recorded if e.decision == "review" and e.model_content_id == service.ids["forest"])
    assert replayer.replay_recorded(audit.log, reviewed.decision_id).identical

    other = dataclasses.replace(reviewed, model_content_id=service.ids["linear"])
    wrong_model = replayer.replay(other)
    assert not wrong_model.identical
    assert any(d.startswith("score ") for d in wrong_model.differences), wrong_model.differences

    edited = float(np.nextafter(reviewed.score, 1.0))  # the smallest possible edit
    with sqlite3.connect(tmp_path / "audit" / "audit.sqlite") as connection:
        (payload,) = connection.execute(
            "SELECT payload FROM audit_records WHERE kind = 'decision' AND subject = ?", [reviewed.decision_id]
        ).fetchone()
        document = json.loads(payload)
        document["score"] = edited
        connection.execute(
            "UPDATE audit_records SET payload = ? WHERE kind = 'decision' AND subject = ?",
            [json.dumps(document), reviewed.decision_id],
        )
    answer = service.get(f"/v1/audit/decisions/{reviewed.decision_id}/replay", role=Role.COMPLIANCE).json()
    assert answer["identical"] is False
    assert answer["recorded"]["score"] == edited
    assert any("altered after it was written" in d for d in answer["differences"]), answer["differences"]
    assert any(d.startswith("score ") for d in answer["differences"]), answer["differences"]

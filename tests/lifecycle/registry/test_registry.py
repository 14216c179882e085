"""The registry keeps versions by content id with lineage and signed verdicts; deployment refuses anything
unblessed, a verdict whose signature fails, and a blessed artifact whose files changed after blessing."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from lifecycle.records import to_document
from lifecycle.registry import (
    Check,
    DeploymentRefusedError,
    GateThresholds,
    ModelRegistry,
    RegistryError,
    RegistryEvent,
    RegistryEventKind,
    UnknownModelError,
    Verdict,
    folder_digest,
    sign,
)
from lifecycle.registry.registry import store_path
from tests.lifecycle.registry import support


def test_register_is_content_addressed_and_keeps_lineage(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    artifact = support.forest_artifact(tmp_path / "a", data)
    first = registry.register(artifact, name="rf", lineage=support.lineage())
    again = registry.register(artifact, name="rf", lineage=support.lineage())
    assert first.content_id == again.content_id
    assert first.content_id == json.loads((artifact / "manifest.json").read_text())["content_id"]
    assert [v.content_id for v in registry.versions()] == [first.content_id]
    assert registry.get(first.content_id[:16]).lineage == support.lineage()
    assert first.artifact_path != artifact.resolve()
    # The id sha256:<hex> is kept in the store at sha256/<hex>.
    assert first.artifact_path == store_path(tmp_path / "store", first.content_id).resolve()
    assert first.artifact_path.relative_to((tmp_path / "store").resolve()).parts == tuple(first.content_id.split(":"))


def test_incomplete_lineage_is_refused(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    with pytest.raises(RegistryError, match="code_version"):
        registry.register(
            support.forest_artifact(tmp_path / "a", data), name="rf", lineage=support.lineage(code_version="")
        )


def test_blessed_model_deploys_and_aliases_move(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    one = registry.register(support.forest_artifact(tmp_path / "a", data, seed=1), name="rf", lineage=support.lineage())
    two = registry.register(support.forest_artifact(tmp_path / "b", data, seed=2), name="rf", lineage=support.lineage())
    support.judge_and_record(registry, one.content_id, data)
    registry.promote(one.content_id)
    support.judge_and_record(registry, two.content_id, data, champion=one.content_id)
    registry.deploy(two.content_id, "challenger")
    assert registry.get("champion").content_id == one.content_id
    registry.promote(two.content_id)
    assert registry.get("champion").content_id == two.content_id
    history = registry.alias_history()
    assert [h["alias"] for h in history] == ["champion", "challenger", "champion"]
    assert history[-1]["previous_content_id"] == one.content_id


def test_unblessed_model_cannot_be_deployed(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    version = registry.register(support.forest_artifact(tmp_path / "a", data), name="rf", lineage=support.lineage())
    with pytest.raises(DeploymentRefusedError, match="no gate verdict"):
        registry.promote(version.content_id)
    support.judge_and_record(registry, version.content_id, data, good=False)
    with pytest.raises(DeploymentRefusedError, match=r"not blessed.*value:auc_roc"):
        registry.promote(version.content_id)
    with pytest.raises(UnknownModelError):
        registry.get("champion")


def test_blessed_artifact_changed_after_blessing_is_refused(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    version = registry.register(support.forest_artifact(tmp_path / "a", data), name="rf", lineage=support.lineage())
    support.judge_and_record(registry, version.content_id, data)
    metadata = version.artifact_path / "metadata.json"
    metadata.write_text(metadata.read_text().replace("{", '{"note": "edited", ', 1))
    with pytest.raises(DeploymentRefusedError, match=r"files changed after blessing.*metadata.json"):
        registry.promote(version.content_id)


def test_altered_verdict_fails_its_signature(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    version = registry.register(support.forest_artifact(tmp_path / "a", data), name="rf", lineage=support.lineage())
    support.judge_and_record(registry, version.content_id, data, good=False)
    # Someone flips the stored verdict to blessed directly in the database.
    verdict = registry.get(version.content_id).verdict
    assert verdict is not None
    doc = {**to_document(verdict), "blessed": True}
    registry._db.execute(
        "UPDATE model_versions SET verdict = ?, blessed = 1 WHERE content_id = ?", [json.dumps(doc), version.content_id]
    )
    with pytest.raises(DeploymentRefusedError, match="signature"):
        registry.promote(version.content_id)


def _forged(registry: ModelRegistry, ref: str, **changes: object) -> Verdict:
    """A verdict for ``ref`` that claims to bless it on a single passing value check, then ``changes`` applied."""
    version = registry.get(ref)
    thresholds = GateThresholds.load()
    verdict = Verdict.decide(
        content_id=version.content_id,
        artifact_files=folder_digest(version.artifact_path),
        checks=[Check.measured("value:auc_roc", 0.95, "auc_roc >= 0.8", True)],
        thresholds_version=thresholds.version,
        thresholds_digest=thresholds.digest,
        champion_content_id=None,
        decided_by="tester",
    )
    return replace(verdict, **{"blessed": True, **changes})  # type: ignore[arg-type]


def test_a_verdict_that_contradicts_its_checks_is_not_recorded(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    version = registry.register(support.forest_artifact(tmp_path / "a", data), name="rf", lineage=support.lineage())
    # Blessed on value checks alone: the change and infrastructure checks were left out.
    with pytest.raises(RegistryError, match=r"needs an infrastructure check that ran; the change checks"):
        registry.record_verdict(version.content_id, _forged(registry, version.content_id))
    # Blessed over a failed check.
    failing = (Check.measured("value:auc_roc", 0.5, "auc_roc >= 0.8", False),)
    with pytest.raises(RegistryError, match="disagrees with its checks"):
        registry.record_verdict(version.content_id, _forged(registry, version.content_id, checks=failing))
    with pytest.raises(DeploymentRefusedError, match="no gate verdict"):
        registry.promote(version.content_id)


def test_a_signed_verdict_that_contradicts_its_checks_does_not_deploy(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    """Deployment re-checks the verdict's consistency, not only its signature (a verdict signed by a key holder
    outside the gate, or by older code)."""
    version = registry.register(support.forest_artifact(tmp_path / "a", data), name="rf", lineage=support.lineage())
    doc = to_document(_forged(registry, version.content_id))
    registry._db.execute(
        "UPDATE model_versions SET verdict = ?, verdict_signature = ?, blessed = 1 WHERE content_id = ?",
        [json.dumps(doc), sign(doc, support.KEY), version.content_id],
    )
    with pytest.raises(DeploymentRefusedError, match="contradicts its checks"):
        registry.promote(version.content_id)


def test_a_prefix_is_compared_literally(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    version = registry.register(support.forest_artifact(tmp_path / "a", data), name="rf", lineage=support.lineage())
    assert registry.get(version.content_id[:12]).content_id == version.content_id
    for pattern in ("%%%%%%%%", "sha256:" + "_" * 8, version.content_id[:10] + "%"):
        with pytest.raises(UnknownModelError, match="no model version"):
            registry.get(pattern)


def test_a_store_folder_left_with_other_files_is_not_taken_for_the_model(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    artifact = support.forest_artifact(tmp_path / "a", data)
    content_id = json.loads((artifact / "manifest.json").read_text())["content_id"]
    # A registration that stopped half-way through its copy, before its row was written.
    leftover = store_path(tmp_path / "store", content_id)
    leftover.mkdir(parents=True)
    (leftover / "manifest.json").write_text("{}")
    with pytest.raises(RegistryError, match="already holds different files"):
        registry.register(artifact, name="rf", lineage=support.lineage())
    assert registry.versions() == []
    # Once the leftover is moved aside, the artifact registers and its files land whole in the store.
    leftover.rename(tmp_path / "aside")
    version = registry.register(artifact, name="rf", lineage=support.lineage())
    assert sorted(p.name for p in version.artifact_path.iterdir()) == sorted(p.name for p in artifact.iterdir())
    assert not [p for p in leftover.parent.iterdir() if p.name.endswith(".partial")]


def test_a_password_in_a_registry_url_is_never_displayed() -> None:
    from lifecycle.registry.database import display_url

    shown = display_url("postgresql://fraud:s3cret-pw@db.internal:5432/registry?sslmode=require")
    assert "s3cret-pw" not in shown
    assert shown == "postgresql://fraud:***@db.internal:5432/registry?sslmode=require"
    assert display_url("sqlite:///var/registry.sqlite") == "sqlite:///var/registry.sqlite"


class _Events:
    def __init__(self) -> None:
        self.events: list[RegistryEvent] = []

    def record(self, event: RegistryEvent) -> None:
        self.events.append(event)


def test_every_registry_event_reaches_the_sink_with_actor_reason_and_ticket(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    sink = _Events()
    registry = ModelRegistry(f"sqlite:///{tmp_path}/r.sqlite", tmp_path / "store", signing_key=support.KEY, events=sink)
    one = registry.register(support.forest_artifact(tmp_path / "a", data, seed=1), name="rf", lineage=support.lineage())
    two = registry.register(support.forest_artifact(tmp_path / "b", data, seed=2), name="rf", lineage=support.lineage())
    bad = registry.register(support.forest_artifact(tmp_path / "c", data, seed=3), name="rf", lineage=support.lineage())
    support.judge_and_record(registry, one.content_id, data)
    registry.promote(one.content_id, actor="ana", reason="first model", ticket="CHG-1")
    # Later candidates are judged against the champion of the day, as a promotion requires.
    support.judge_and_record(registry, two.content_id, data, champion=one.content_id)
    support.judge_and_record(registry, bad.content_id, data, good=False, champion=one.content_id)
    registry.promote(two.content_id, actor="ana", reason="retrained", ticket="CHG-2")
    with pytest.raises(DeploymentRefusedError):
        registry.promote(bad.content_id, actor="bob", ticket="CHG-3")
    rolled = registry.rollback("champion", actor="ops", reason="score drift", ticket="INC-9")
    assert rolled.content_id == one.content_id
    assert registry.get("champion").content_id == one.content_id

    kinds = [e.kind for e in sink.events]
    assert kinds == [
        *[RegistryEventKind.REGISTERED] * 3,
        RegistryEventKind.VERDICT,
        RegistryEventKind.DEPLOYED,
        *[RegistryEventKind.VERDICT] * 2,
        RegistryEventKind.DEPLOYED,
        RegistryEventKind.REFUSED,
        RegistryEventKind.ROLLED_BACK,
    ]
    verdicts = [e.blessed for e in sink.events if e.kind == RegistryEventKind.VERDICT]
    assert verdicts == [True, True, False]
    deployed = sink.events[7]
    assert (deployed.actor, deployed.reason, deployed.ticket) == ("ana", "retrained", "CHG-2")
    assert (deployed.content_id, deployed.previous_content_id) == (two.content_id, one.content_id)
    refused = sink.events[8]
    assert (refused.actor, refused.content_id, refused.ticket) == ("bob", bad.content_id, "CHG-3")
    assert "not blessed" in refused.reason
    back = sink.events[9]
    assert (back.content_id, back.previous_content_id, back.reason, back.ticket) == (
        one.content_id,
        two.content_id,
        "score drift",
        "INC-9",
    )


def test_rollback_needs_an_earlier_version(registry: ModelRegistry) -> None:
    with pytest.raises(RegistryError, match="no earlier version"):
        registry.rollback("champion", reason="nothing to go back to")


def test_listings_show_only_a_blessing_the_registry_can_vouch_for(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    # Issue 12, point 10: `fraud models list|show` displayed the database's blessed column as if it were verified;
    # anyone with write access to the database could set it.
    from typer.testing import CliRunner

    from scoring_api.cli import app

    url = f"sqlite:///{tmp_path}/registry.sqlite"
    registry = ModelRegistry(url, tmp_path / "store", signing_key=support.KEY)
    versions = {}
    for name, seed, good in (("good", 1, True), ("flag", 2, False), ("edited", 3, False), ("changed", 4, True)):
        artifact = support.forest_artifact(tmp_path / name, data, seed=seed)
        versions[name] = registry.register(artifact, name=name, lineage=support.lineage()).content_id
        support.judge_and_record(registry, versions[name], data, good=good)
    registry._db.execute("UPDATE model_versions SET blessed = 1 WHERE content_id = ?", [versions["flag"]])
    edited = registry.get(versions["edited"]).verdict
    assert edited is not None
    document = {**to_document(edited), "blessed": True, "failed_checks": []}
    registry._db.execute(
        "UPDATE model_versions SET verdict = ?, blessed = 1 WHERE content_id = ?",
        [json.dumps(document), versions["edited"]],
    )
    metadata = registry.get(versions["changed"]).artifact_path / "metadata.json"
    metadata.write_text(metadata.read_text().replace("{", '{"note": "edited", ', 1))
    expected = {
        "good": "blessed",
        "flag": "unverified: the blessed flag disagrees with the signed verdict",
        "edited": "unverified: the gate verdict's signature does not match",
        "changed": "unverified: files changed after blessing: ['metadata.json']",
    }
    where = ["--registry", url, "--model-store", str(tmp_path / "store")]
    env = {"FRAUD_MODEL_SIGNING_KEY": support.KEY.get_secret_value()}
    listed = CliRunner().invoke(app, ["models", "list", *where], env=env)
    assert listed.exit_code == 0, listed.output
    for name, blessing in expected.items():
        row = next(line for line in listed.output.splitlines() if versions[name][:40] in line)
        assert f" {blessing.split(':')[0]}" in row, row
        shown = CliRunner().invoke(app, ["models", "show", versions[name], "--json", *where], env=env)
        assert shown.exit_code == 0, shown.output
        document = json.loads(shown.output[shown.output.index("{") :])
        assert document["blessing"].startswith(blessing), document["blessing"]
        assert document["blessed"] is (name == "good")

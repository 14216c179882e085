"""The registry keeps versions by content id with lineage and signed verdicts; deployment refuses anything
unblessed, a verdict whose signature fails, and a blessed artifact whose files changed after blessing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from model_engine.registry import DeploymentRefusedError, RegistryError, UnknownModelError
from model_engine.registry.registry import ModelRegistry
from tests.model_engine.registry import support


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return support.make_data()


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return support.make_registry(tmp_path)


def test_register_is_content_addressed_and_keeps_lineage(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    artifact = support.forest_artifact(tmp_path / "a", data)
    first = registry.register(artifact, name="rf", lineage=support.lineage())
    again = registry.register(artifact, name="rf", lineage=support.lineage())
    assert first.content_id == again.content_id
    assert first.content_id == json.loads((artifact / "manifest.json").read_text())["content_id"]
    assert [v.content_id for v in registry.versions()] == [first.content_id]
    assert registry.get(first.content_id[:16]).lineage["code_version"] == "abc123"
    assert first.artifact_path != artifact.resolve()


def test_incomplete_lineage_is_refused(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    lineage = support.lineage()
    del lineage["code_version"]
    with pytest.raises(RegistryError, match="code_version"):
        registry.register(support.forest_artifact(tmp_path / "a", data), name="rf", lineage=lineage)


def test_blessed_model_deploys_and_aliases_move(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    one = registry.register(support.forest_artifact(tmp_path / "a", data, seed=1), name="rf", lineage=support.lineage())
    two = registry.register(support.forest_artifact(tmp_path / "b", data, seed=2), name="rf", lineage=support.lineage())
    for version in (one, two):
        support.judge(registry, version.content_id, data[0], auc=0.95)
    registry.promote(one.content_id)
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
    support.judge(registry, version.content_id, data[0], auc=0.55)
    with pytest.raises(DeploymentRefusedError, match=r"not blessed.*value:auc_roc"):
        registry.promote(version.content_id)
    with pytest.raises(UnknownModelError):
        registry.get("champion")


def test_blessed_artifact_changed_after_blessing_is_refused(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    version = registry.register(support.forest_artifact(tmp_path / "a", data), name="rf", lineage=support.lineage())
    support.judge(registry, version.content_id, data[0], auc=0.95)
    metadata = version.artifact_path / "metadata.json"
    metadata.write_text(metadata.read_text().replace("{", '{"note": "edited", ', 1))
    with pytest.raises(DeploymentRefusedError, match=r"files changed after blessing.*metadata.json"):
        registry.promote(version.content_id)


def test_altered_verdict_fails_its_signature(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    version = registry.register(support.forest_artifact(tmp_path / "a", data), name="rf", lineage=support.lineage())
    support.judge(registry, version.content_id, data[0], auc=0.55)
    # Someone flips the stored verdict to blessed directly in the database.
    doc = registry.get(version.content_id).verdict
    assert doc is not None
    doc["blessed"] = True
    registry._db.execute(
        "UPDATE model_versions SET verdict = ?, blessed = 1 WHERE content_id = ?", [json.dumps(doc), version.content_id]
    )
    with pytest.raises(DeploymentRefusedError, match="signature"):
        registry.promote(version.content_id)

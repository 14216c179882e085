"""The registry keeps versions by content id with lineage and signed verdicts; deployment refuses anything
unblessed, a verdict whose signature fails, and a blessed artifact whose files changed after blessing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import SecretStr
from sklearn.ensemble import RandomForestClassifier

from model_engine.compile import compile_model
from model_engine.registry import DeploymentRefusedError, GateThresholds, RegistryError, UnknownModelError
from model_engine.registry.gate import value_checks, verdict
from model_engine.registry.infrastructure import infrastructure_checks
from model_engine.registry.registry import ModelRegistry
from model_engine.registry.signing import folder_digest

KEY = SecretStr("registry-test-key-0123456789")
NAMES = ["amount", "card_count_1d", "terminal_fraud_share_7d"]


def _lineage() -> dict[str, Any]:
    return {
        "data": {"fingerprint": "f" * 64, "rows": 100},
        "feature_spec_version": "v1",
        "feature_names": NAMES,
        "code_version": "abc123",
        "parameters": {"family": "random_forest"},
        "metrics": {"overall": {"auc_roc": 0.9, "average_precision": 0.7}},
        "timings": {"fit": 1.0},
        "created_by": "tester",
        "created_at": "2026-01-01T00:00:00+00:00",
    }


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] + 0.5 * rng.normal(size=400) > 1.0).astype(int)
    return X, y


def _artifact(path: Path, data: tuple[np.ndarray, np.ndarray], seed: int = 0) -> Path:
    X, y = data
    model = RandomForestClassifier(n_estimators=5, max_depth=3, random_state=seed).fit(X, y)
    compile_model(model, NAMES).save(path, golden_input=X[:32])
    return path


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(f"sqlite:///{tmp_path}/registry.sqlite", tmp_path / "store", signing_key=KEY)


def _judge(registry: ModelRegistry, ref: str, X: np.ndarray, auc: float) -> None:
    version = registry.get(ref)
    thresholds = GateThresholds.load()
    report = {"overall": {"auc_roc": auc, "average_precision": 0.7, "recall_at_alert_rate": 0.5}, "slices": {}}
    checks = [*value_checks(report, thresholds), *infrastructure_checks(version.artifact_path, X, thresholds)]
    doc = verdict(
        content_id=version.content_id,
        artifact_files=folder_digest(version.artifact_path),
        checks=checks,
        thresholds=thresholds,
        champion_content_id=None,
        decided_by="tester",
    )
    registry.record_verdict(version.content_id, doc)


def test_register_is_content_addressed_and_keeps_lineage(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    artifact = _artifact(tmp_path / "a", data)
    first = registry.register(artifact, name="rf", lineage=_lineage())
    again = registry.register(artifact, name="rf", lineage=_lineage())
    assert first.content_id == again.content_id
    assert first.content_id == json.loads((artifact / "manifest.json").read_text())["content_id"]
    assert [v.content_id for v in registry.versions()] == [first.content_id]
    assert registry.get(first.content_id[:16]).lineage["code_version"] == "abc123"
    assert first.artifact_path != artifact.resolve()


def test_incomplete_lineage_is_refused(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    lineage = _lineage()
    del lineage["code_version"]
    with pytest.raises(RegistryError, match="code_version"):
        registry.register(_artifact(tmp_path / "a", data), name="rf", lineage=lineage)


def test_blessed_model_deploys_and_aliases_move(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    one = registry.register(_artifact(tmp_path / "a", data, seed=1), name="rf", lineage=_lineage())
    two = registry.register(_artifact(tmp_path / "b", data, seed=2), name="rf", lineage=_lineage())
    for version in (one, two):
        _judge(registry, version.content_id, data[0], auc=0.95)
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
    version = registry.register(_artifact(tmp_path / "a", data), name="rf", lineage=_lineage())
    with pytest.raises(DeploymentRefusedError, match="no gate verdict"):
        registry.promote(version.content_id)
    _judge(registry, version.content_id, data[0], auc=0.55)
    with pytest.raises(DeploymentRefusedError, match=r"not blessed.*value:auc_roc"):
        registry.promote(version.content_id)
    with pytest.raises(UnknownModelError):
        registry.get("champion")


def test_blessed_artifact_changed_after_blessing_is_refused(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    version = registry.register(_artifact(tmp_path / "a", data), name="rf", lineage=_lineage())
    _judge(registry, version.content_id, data[0], auc=0.95)
    metadata = version.artifact_path / "metadata.json"
    metadata.write_text(metadata.read_text().replace("{", '{"note": "edited", ', 1))
    with pytest.raises(DeploymentRefusedError, match=r"files changed after blessing.*metadata.json"):
        registry.promote(version.content_id)


def test_altered_verdict_fails_its_signature(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    version = registry.register(_artifact(tmp_path / "a", data), name="rf", lineage=_lineage())
    _judge(registry, version.content_id, data[0], auc=0.55)
    # Someone flips the stored verdict to blessed directly in the database.
    doc = registry.get(version.content_id).verdict
    assert doc is not None
    doc["blessed"] = True
    registry._db.execute(
        "UPDATE model_versions SET verdict = ?, blessed = 1 WHERE content_id = ?", [json.dumps(doc), version.content_id]
    )
    with pytest.raises(DeploymentRefusedError, match="signature"):
        registry.promote(version.content_id)

"""Registry test support: a small compiled forest artifact, complete lineage, and a recorded gate verdict, so
tests of the registry and of what serves from it build blessed versions the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import SecretStr
from sklearn.ensemble import RandomForestClassifier

from lifecycle.registry import GateThresholds
from lifecycle.registry.gate import change_checks, value_checks, verdict
from lifecycle.registry.infrastructure import infrastructure_checks
from lifecycle.registry.registry import ModelRegistry
from lifecycle.registry.signing import folder_digest
from model_engine import compile_model, save_model

KEY = SecretStr("registry-test-key-0123456789")
NAMES = ["amount", "card_count_1d", "terminal_fraud_share_7d"]


def lineage() -> dict[str, Any]:
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


def make_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] + 0.5 * rng.normal(size=400) > 1.0).astype(int)
    return X, y


def forest_artifact(path: Path, data: tuple[np.ndarray, np.ndarray], seed: int = 0) -> Path:
    X, y = data
    model = RandomForestClassifier(n_estimators=5, max_depth=3, random_state=seed).fit(X, y)
    save_model(compile_model(model, NAMES), path, golden_input=X[:32])
    return path


def make_registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(f"sqlite:///{tmp_path}/registry.sqlite", tmp_path / "store", signing_key=KEY)


def judge(registry: ModelRegistry, ref: str, X: np.ndarray, auc: float) -> None:
    version = registry.get(ref)
    thresholds = GateThresholds.load()
    report = {"overall": {"auc_roc": auc, "average_precision": 0.7, "recall_at_alert_rate": 0.5}, "slices": {}}
    checks = [
        *value_checks(report, thresholds),
        *change_checks(report, None, thresholds),
        *infrastructure_checks(version.artifact_path, X, thresholds),
    ]
    doc = verdict(
        content_id=version.content_id,
        artifact_files=folder_digest(version.artifact_path),
        checks=checks,
        thresholds=thresholds,
        champion_content_id=None,
        decided_by="tester",
    )
    registry.record_verdict(version.content_id, doc)

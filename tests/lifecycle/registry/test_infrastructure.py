"""The gate's infrastructure checks load the artifact through the scoring path and reproduce its golden batch,
also for a model that no longer reads every feature of its signature (unused-feature elimination)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.ensemble import RandomForestClassifier

from lifecycle.registry import GateThresholds
from lifecycle.registry.infrastructure import infrastructure_checks
from model_engine import compile_model, save_model

NAMES = ["amount", "constant", "card_count_1d", "terminal_fraud_share_7d"]


def test_golden_batch_reproduces_for_a_model_that_dropped_unused_features(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4))
    X[:, 1] = 3.0  # never split on: the compiled graph stops reading it
    y = (X[:, 0] + 0.5 * rng.normal(size=400) > 1.0).astype(int)
    compiled = compile_model(RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(X, y), NAMES)
    assert "constant" not in compiled.signature.graph_features
    save_model(compiled, tmp_path / "artifact", golden_input=X[:32])

    checks = {c.name: c for c in infrastructure_checks(tmp_path / "artifact", X, GateThresholds.load())}
    assert checks["infrastructure:load"].passed
    assert checks["infrastructure:golden"].passed, checks["infrastructure:golden"]
    assert checks["infrastructure:golden"].value == 0.0
    # Warm-up requests, one transaction each, answer what the same rows get in a batch.
    assert checks["infrastructure:warmup_outputs"].passed, checks["infrastructure:warmup_outputs"]
    # Within one float32 step of a probability: the numpy backend may sum a forest's trees in another order
    # for one row than for a batch.
    value = checks["infrastructure:warmup_outputs"].value
    assert value is not None
    assert value <= 1e-7


def test_a_stage_that_raises_is_a_failed_check_naming_the_error(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] > 0.5).astype(int)
    forest = RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(X, y)
    save_model(compile_model(forest, NAMES), tmp_path / "artifact", golden_input=X[:16])
    too_narrow = X[:, :2]  # warm-up rows without the signature's columns: scoring them raises
    checks = {c.name: c for c in infrastructure_checks(tmp_path / "artifact", too_narrow, GateThresholds.load())}
    assert checks["infrastructure:golden"].passed
    for stage in ("infrastructure:warmup", "infrastructure:batch"):
        assert not checks[stage].passed
        assert "SignatureError" in checks[stage].detail

"""Registry test support: a small compiled forest artifact, complete typed lineage, and a verdict from the real
gate (:func:`lifecycle.registry.judge`), so tests of the registry and of what serves from it build blessed and
refused versions the same way."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import SecretStr
from sklearn.ensemble import RandomForestClassifier

from lifecycle.evaluation import EvaluationConfig, evaluate
from lifecycle.registry import (
    DataLineage,
    GateData,
    GateThresholds,
    Lineage,
    ModelRegistry,
    Selection,
    SplitLineage,
    Trial,
    ValidationLineage,
    Verdict,
    judge,
)
from model_engine import compile_model, save_model

KEY = SecretStr("registry-test-key-0123456789")
NAMES = ["amount", "card_count_1d", "terminal_fraud_share_7d"]
EVALUATION = EvaluationConfig(k=10, alert_rate=0.1)
#: The shipped thresholds with latency budgets any shared machine meets (the latency checks run and are recorded,
#: but no test depends on timing) and a calibration bound the tiny uncalibrated support forest meets (the bound
#: itself is tested in test_gate_checks).
THRESHOLDS = replace(
    GateThresholds.load(),
    calibration={"ece": 0.2},
    infrastructure={**GateThresholds.load().infrastructure, "latency_p99_ms": 1e6, "batch_latency_p99_ms": 1e7},
)


def make_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] + 0.5 * rng.normal(size=400) > 1.0).astype(int)
    return X, y


def transactions(y: np.ndarray) -> pd.DataFrame:
    """Transactions for labels ``y``: one an hour over 40 cards, all in one amount band."""
    n = len(y)
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC"),
            "card_token": [f"card{i % 40}" for i in range(n)],
            "amount": np.full(n, 10.0),
            "is_fraud": y,
        }
    )


def gate_data(data: tuple[np.ndarray, np.ndarray], *, good: bool = True) -> GateData:
    """The data as the gate judges it; ``good=False`` flips the labels, so a model that learnt them fails."""
    X, y = data
    labels = y if good else 1 - y
    return GateData(X.astype(np.float32), tuple(NAMES), transactions(labels), EVALUATION)


def lineage(**changes: object) -> Lineage:
    X, y = make_data()
    split = SplitLineage("2024-01-01", "2024-01-05", "2024-01-08", 7.0, "2024-01-15", "2024-01-22")
    record = Lineage(
        data=DataLineage(
            fingerprint="f" * 64,
            source="tests",
            rows=len(y),
            train_rows=len(y),
            train_frauds=int(y.sum()),
            test_rows=len(y),
            test_frauds=int(y.sum()),
            first_timestamp="2024-01-01 00:00:00+00:00",
            last_timestamp="2024-01-22 00:00:00+00:00",
            split=split,
            validation=ValidationLineage("transactions", True, 60, (), "docs", False),
        ),
        feature_spec_version="v1",
        feature_names=tuple(NAMES),
        code_version="abc123",
        family="random_forest",
        parameters={"n_estimators": 5, "max_depth": 3},
        selection=Selection("the only candidate", (Trial("random_forest", {"max_depth": 3}, None, None),)),
        metrics=evaluate(1.0 / (1.0 + np.exp(-X[:, 0])), transactions(y), EVALUATION),
        parity_max_abs_diff=0.0,
        timings={"fit": 1.0},
        calibration=None,
        created_by="tester",
        created_at="2026-01-01T00:00:00+00:00",
    )
    return replace(record, **changes)  # type: ignore[arg-type]


def forest_artifact(path: Path, data: tuple[np.ndarray, np.ndarray], seed: int = 0) -> Path:
    X, y = data
    model = RandomForestClassifier(n_estimators=5, max_depth=3, random_state=seed).fit(X, y)
    save_model(compile_model(model, NAMES, input_dtype="float32"), path, golden_input=X[:32])  # served as float32
    return path


def make_registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(f"sqlite:///{tmp_path}/registry.sqlite", tmp_path / "store", signing_key=KEY)


def judge_and_record(
    registry: ModelRegistry,
    ref: str,
    data: tuple[np.ndarray, np.ndarray],
    *,
    good: bool = True,
    champion: str | None = None,
) -> Verdict:
    """The real gate's verdict on ``ref`` against ``champion`` (a content id; none by default), recorded in the
    registry."""
    version = registry.get(ref)
    judged_against = None if champion is None else registry.get(champion)
    verdict = judge(version, judged_against, gate_data(data, good=good), THRESHOLDS)
    registry.record_verdict(version.content_id, verdict)
    return verdict


def deploy_repeatedly(
    url: str, store: Path, refs: list[str], alias: str, start: Any, outcomes: Any, rounds: int = 1
) -> None:
    """Run in a separate process: open the registry, wait at ``start`` (a barrier) for the other processes, then
    deploy ``refs`` in turn to ``alias`` ``rounds`` times, putting "ok" or the refusal's message on ``outcomes``."""
    from lifecycle.registry.errors import DeploymentRefusedError

    registry = ModelRegistry(url, store, signing_key=KEY)
    try:
        start.wait(timeout=120)
        for index in range(rounds * len(refs)):
            try:
                registry.deploy(refs[index % len(refs)], alias, actor=f"process-{refs[0][:12]}")
                outcomes.put("ok")
            except DeploymentRefusedError as error:
                outcomes.put(str(error))
    finally:
        registry.close()

"""The model the service benchmarks score with: the demo's fast random forest, trained on a simulated history,
passed by the lifecycle's gate and promoted in a registry of the benchmark's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def promoted_forest(root: Path, days: int) -> tuple[Any, Any]:
    """Simulate ``days + 1`` days, train on the first ``days`` (registry ``root/registry.sqlite``, artifacts in
    ``root/models``), gate and promote; returns the simulation and the time its untrained last day starts."""
    import pandas as pd

    from ingest.simulator import SimulatorConfig, simulate
    from lifecycle.registry import ModelRegistry
    from lifecycle.settings import LifecycleSettings
    from lifecycle.training import TrainingConfig, run_training

    data = simulate(SimulatorConfig.preset("realistic", days=days + 1, seed=0, n_customers=2_000, n_terminals=4_000))
    cut = data.transactions["timestamp"].min().normalize() + pd.Timedelta(days=days)
    history = data.transactions[data.transactions["timestamp"] < cut]
    key = LifecycleSettings().model_signing_key
    registry = ModelRegistry(f"sqlite:///{root}/registry.sqlite", root / "models", signing_key=key)
    config = TrainingConfig(train_days=float(days - 14), test_days=7.0, label_delay_days=7.0,
                            families=("random_forest",), fast=True, source="simulator:realistic")  # fmt: skip
    result = run_training(history, registry, root / "training", config, labels=data.labels)
    if not result.verdict.blessed:
        raise SystemExit(f"the gate refused the benchmark model: {result.verdict.failed_checks}")
    registry.promote(result.version.content_id)
    registry.close()
    return data, cut

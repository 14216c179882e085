"""The model the service benchmarks score with: the demo's model (its training configuration, families and seed),
trained on a simulated history, passed by the lifecycle's gate and promoted in a registry of the benchmark's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Days of simulated history the benchmark model trains on: the demo's quick run's (on fewer, such as the quick
#: champion's 38 alone, the gate may refuse a slice's AUC).
DAYS = 45


def promoted_model(root: Path, days: int = DAYS) -> tuple[Any, Any]:
    """Simulate ``days + 1`` days as the demo does, train on the first ``days`` with the demo's configuration
    (registry ``root/registry.sqlite``, artifacts in ``root/models``), gate and promote; returns the simulation
    and the time its untrained last day starts."""
    import pandas as pd

    from ingest.simulator import simulate
    from lifecycle.registry import ModelRegistry
    from lifecycle.settings import LifecycleSettings
    from lifecycle.training import run_training
    from scoring_api.demo.context import DemoOptions
    from scoring_api.demo.steps import simulator_config
    from scoring_api.demo.training import training_config

    options = DemoOptions()
    data = simulate(simulator_config(options, days + 1))
    cut = data.transactions["timestamp"].min().normalize() + pd.Timedelta(days=days)
    history = data.transactions[data.transactions["timestamp"] < cut]
    key = LifecycleSettings().model_signing_key
    registry = ModelRegistry(f"sqlite:///{root}/registry.sqlite", root / "models", signing_key=key)
    result = run_training(
        history, registry, root / "training", training_config(options, days, "benchmark", actor="bench"),
        labels=data.labels,
    )  # fmt: skip
    if not result.verdict.blessed:
        raise SystemExit(f"the gate refused the benchmark model: {result.verdict.failed_checks}")
    registry.promote(result.version.content_id)
    registry.close()
    return data, cut

"""The gate's infrastructure checks: the artifact must work where it will run.

It is loaded by the real scoring code path (:func:`model_engine.load_model`, which verifies the
manifest), reproduces its golden outputs (the engine's own :func:`~model_engine.artifacts.store.check_golden_batch`,
whose gap the check records), answers warm-up requests of single transactions and of a batch, and stays within
the latency budget at the 99th percentile.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from lifecycle.registry.gate import GateThresholds
from lifecycle.registry.verdict import Check

if TYPE_CHECKING:
    from model_engine.model import CompiledModel


def infrastructure_checks(artifact: Path, X_warmup: npt.NDArray[Any], thresholds: GateThresholds) -> list[Check]:
    """Load, golden-batch, single-request and batch latency checks (``X_warmup``: real test rows).

    A stage that raises becomes a failed check carrying the error, so the verdict names what broke instead of
    the gate stopping without one.
    """
    from model_engine import load_model

    limits = thresholds.infrastructure
    backend = str(limits.get("backend", "numpy"))
    try:
        # The golden batch is the next check, with its gap recorded: loading only verifies the manifest.
        model = load_model(artifact, backend=backend, check_golden=False)
    except Exception as error:  # the verdict must name the failure rather than crash the gate
        return [Check.measured("infrastructure:load", None, "loads through the scoring path", False, f"{error}")]
    checks = [Check.measured("infrastructure:load", 1.0, f"loads through the scoring path ({backend})", True)]
    atol = float(limits.get("golden_atol", 1e-6))
    rows = np.asarray(X_warmup, dtype=np.float64)
    stages: tuple[tuple[str, Callable[[], list[Check]]], ...] = (
        ("infrastructure:golden", lambda: [_golden_check(model, artifact, backend, atol)]),
        ("infrastructure:warmup", lambda: _single_request_checks(model, rows, limits, atol)),
        ("infrastructure:batch", lambda: _batch_checks(model, rows, limits)),
    )
    for name, run in stages:
        try:
            checks.extend(run())
        except Exception as error:  # recorded as a failed check with the error: nothing is hidden
            checks.append(Check.measured(name, None, "runs without error", False, f"{type(error).__name__}: {error}"))
    return checks


def _golden_check(model: CompiledModel, artifact: Path, backend: str, atol: float) -> Check:
    from model_engine.artifacts.store import check_golden_batch

    gap = check_golden_batch(model, artifact, backend)
    return Check.measured("infrastructure:golden", gap, f"max |output - golden| <= {atol:g}", gap <= atol)


def _single_request_checks(
    model: CompiledModel, rows: npt.NDArray[np.float64], limits: Mapping[str, Any], atol: float
) -> list[Check]:
    n = int(limits.get("warmup_requests", 50))
    single = []
    answers = np.empty(n, dtype=np.float64)
    for i in range(n):
        row = rows[i % len(rows)][None, :]
        start = time.perf_counter()
        answer = model.score(row)
        single.append((time.perf_counter() - start) * 1000.0)
        answers[i] = float(np.asarray(answer, dtype=np.float64).ravel()[0])
    p99 = float(np.percentile(single[n // 5 :] or single, 99))  # the first fifth warms caches and JITs
    budget = float(limits.get("latency_p99_ms", 50.0))
    checks = [
        Check.measured("infrastructure:latency_single", p99, f"p99 ms per transaction <= {budget:g}", p99 <= budget)
    ]
    # A warm-up request must answer what the same transaction gets inside a batch: a single-row path that
    # scores differently (a backend's small-batch route, a shape bug) would pass every other check.
    expected = np.asarray(model.score(rows[np.arange(n) % len(rows)]), dtype=np.float64).ravel()
    drift = float(np.max(np.abs(answers - expected))) if n else 0.0
    rule = f"max |single-request score - batch score| <= {atol:g}"
    checks.append(Check.measured("infrastructure:warmup_outputs", drift, rule, drift <= atol))
    return checks


def _batch_checks(model: CompiledModel, rows: npt.NDArray[np.float64], limits: Mapping[str, Any]) -> list[Check]:
    batch = rows[: int(limits.get("batch_rows", 1024))]
    batch_times = []
    for _ in range(5):
        start = time.perf_counter()
        scores = np.asarray(model.score(batch))
        batch_times.append((time.perf_counter() - start) * 1000.0)
    batch_budget = float(limits.get("batch_latency_p99_ms", 500.0))
    worst = float(max(batch_times[1:]))
    finite = bool(np.all(np.isfinite(scores)) and np.all((scores >= 0) & (scores <= 1)))
    rule = f"worst ms per {len(batch)}-row batch <= {batch_budget:g}"
    return [
        Check.measured("infrastructure:batch_outputs", float(finite), "batch scores are probabilities", finite),
        Check.measured("infrastructure:latency_batch", worst, rule, worst <= batch_budget),
    ]

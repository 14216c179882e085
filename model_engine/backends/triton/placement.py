"""Device placement: the batch size from which the GPU beats the CPU backend, measured and stored per device.

A GPU round trip costs tens of microseconds while the CPU answers one row in a few, so small batches stay on
the CPU. The crossover is measured (``fraud artifact calibrate-device``) by timing both backends on the same model
over a ladder of batch sizes, and stored as JSON per device name. Without a stored calibration every batch goes
to the device: the backend does not guess a threshold.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from model_engine.errors import ModelEngineError

DEFAULT_CALIBRATION_DIR = Path("fraud-registry/device-calibration")
"""Relative to the working directory, beside the model registry's default ``fraud-registry/`` folder."""
DEFAULT_LADDER = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536)


@dataclass(frozen=True)
class Calibration:
    """``min_rows``: the smallest batch sent to the device; ``timings``: seconds per batch for each backend."""

    device_name: str
    min_rows: int
    cpu_backend: str
    timings: dict[str, dict[str, float]]
    measured_at: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def calibration_file(directory: Path, device_name: str) -> Path:
    """One JSON file per device name (e.g. ``NVIDIA-H100-80GB-HBM3.json``)."""
    return directory / (re.sub(r"[^A-Za-z0-9_.-]+", "-", device_name).strip("-") + ".json")


def load_calibration(directory: Path, device_name: str) -> Calibration | None:
    path = calibration_file(directory, device_name)
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text())
        return Calibration(
            device_name=str(doc["device_name"]),
            min_rows=int(doc["min_rows"]),
            cpu_backend=str(doc["cpu_backend"]),
            timings={str(k): {str(b): float(t) for b, t in v.items()} for k, v in doc["timings"].items()},
            measured_at=str(doc["measured_at"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelEngineError(
            f"device calibration {path} is unreadable ({exc}); rerun fraud artifact calibrate-device"
        ) from exc


def save_calibration(directory: Path, calibration: Calibration) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = calibration_file(directory, calibration.device_name)
    path.write_text(json.dumps(calibration.to_json(), indent=2, sort_keys=True) + "\n")
    return path


def best_time(fn: Callable[[], object], *, repeats: int = 5, min_seconds: float = 0.02) -> float:
    """Best-of-``repeats`` seconds per call, each repeat looping until ``min_seconds`` have passed."""
    fn()  # warm-up: compilation, buffer growth
    best = float("inf")
    for _ in range(repeats):
        calls, start = 0, time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        best = min(best, elapsed / calls)
    return best


def crossover(ladder: Sequence[int], cpu: Sequence[float], device: Sequence[float]) -> int:
    """The smallest batch from which the device is faster at every larger measured batch (else past the ladder)."""
    min_rows = 2 * ladder[-1]
    for i in range(len(ladder) - 1, -1, -1):
        if device[i] < cpu[i]:
            min_rows = ladder[i]
        else:
            break
    return min_rows


def calibrate(
    run_cpu: Callable[[np.ndarray[Any, Any]], object],
    run_device: Callable[[np.ndarray[Any, Any]], object],
    sample: np.ndarray[Any, Any],
    *,
    device_name: str,
    cpu_backend: str,
    ladder: Sequence[int] = DEFAULT_LADDER,
) -> Calibration:
    """Time both paths (host arrays in and out, as a caller sees them) on batches cut from ``sample``."""
    if sample.shape[0] == 0:
        raise ModelEngineError("calibration needs at least one sample row")
    cpu_times: list[float] = []
    device_times: list[float] = []
    for rows in ladder:
        batch = np.ascontiguousarray(np.resize(sample, (rows, sample.shape[1])))
        cpu_times.append(best_time(partial(run_cpu, batch)))
        device_times.append(best_time(partial(run_device, batch)))
    return Calibration(
        device_name=device_name,
        min_rows=crossover(ladder, cpu_times, device_times),
        cpu_backend=cpu_backend,
        timings={
            cpu_backend: {str(r): t for r, t in zip(ladder, cpu_times, strict=True)},
            "triton": {str(r): t for r, t in zip(ladder, device_times, strict=True)},
        },
        measured_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )

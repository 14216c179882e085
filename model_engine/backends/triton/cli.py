"""``fraud artifact calibrate-device``: measure from which batch size the GPU beats the CPU backend, and store it.

``register(artifact_app)`` adds the command to the ``fraud artifact`` command group; the heavy imports (torch, triton)
happen inside the command.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from model_engine.backends.triton.placement import (
    DEFAULT_CALIBRATION_DIR,
    DEFAULT_LADDER,
    Calibration,
    save_calibration,
)


def calibrate_artifact(
    artifact: Path, *, cpu_backend: str = "numba", ladder: Sequence[int] = DEFAULT_LADDER
) -> Calibration:
    """Load and verify an artifact (its golden batch must reproduce on the device), then time the CPU backend
    and the device on batches cut from the golden input, host arrays in and out."""
    from model_engine.artifacts.store import load_model
    from model_engine.artifacts.tensors import read_npz
    from model_engine.backends import get_backend
    from model_engine.backends.triton.backend import TritonBackend
    from model_engine.backends.triton.placement import calibrate
    from model_engine.errors import BackendUnavailableError

    model = load_model(artifact, backend="numpy")
    sample = read_npz(artifact / "golden.npz")["input"]
    device = TritonBackend(min_rows=0)
    try:
        cpu = get_backend(cpu_backend)
    except BackendUnavailableError:
        cpu_backend, cpu = "numpy", get_backend("numpy")
    cpu_run = cpu.prepare(model.graph).run
    device_run = device.prepare(model.graph).run_device
    name = device.device_name
    return calibrate(cpu_run, device_run, sample, device_name=name, cpu_backend=cpu_backend, ladder=ladder)


def register(artifact_app: typer.Typer) -> None:
    """Add ``calibrate-device`` to the ``fraud artifact`` group."""

    @artifact_app.command("calibrate-device")
    def calibrate_device(
        artifact: Annotated[Path, typer.Argument(help="A model artifact directory (its golden batch is the sample)")],
        calibration_dir: Annotated[
            Path, typer.Option(help="Where calibrations are stored, one JSON file per device name")
        ] = DEFAULT_CALIBRATION_DIR,
        cpu_backend: Annotated[str, typer.Option(help="The CPU backend small batches go to")] = "numba",
        max_rows: Annotated[int, typer.Option(help="The largest batch timed")] = DEFAULT_LADDER[-1],
    ) -> None:
        """Time the CPU backend and the GPU on one model over growing batches; store the crossover batch size."""
        ladder = [rows for rows in DEFAULT_LADDER if rows <= max_rows] or [1]
        calibration = calibrate_artifact(artifact, cpu_backend=cpu_backend, ladder=ladder)
        path = save_calibration(calibration_dir, calibration)
        cpu_times = calibration.timings[calibration.cpu_backend]
        device_times = calibration.timings["triton"]
        typer.echo(f"{'rows':>8} {calibration.cpu_backend + ' (s)':>14} {'triton (s)':>14} {'ratio':>8}")
        for rows in ladder:
            cpu_t, dev_t = cpu_times[str(rows)], device_times[str(rows)]
            typer.echo(f"{rows:>8} {cpu_t:>14.3e} {dev_t:>14.3e} {cpu_t / dev_t:>8.2f}")
        typer.echo(f"{calibration.device_name}: batches of {calibration.min_rows}+ rows go to the device ({path})")

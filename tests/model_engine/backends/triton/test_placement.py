"""Device placement: the crossover rule, the stored calibration, and the calibrate-device command end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from model_engine.backends.triton.placement import (
    Calibration,
    calibration_file,
    crossover,
    load_calibration,
    save_calibration,
)
from model_engine.errors import ModelEngineError


def test_crossover_is_where_the_device_wins_from_then_on() -> None:
    ladder = [1, 10, 100, 1000]
    assert crossover(ladder, [1, 2, 3, 4], [5, 5, 1, 1]) == 100
    assert crossover(ladder, [1, 2, 3, 4], [5, 1, 5, 1]) == 1000  # a win followed by a loss does not count
    assert crossover(ladder, [1, 2, 3, 4], [0, 0, 0, 0]) == 1
    assert crossover(ladder, [1, 2, 3, 4], [9, 9, 9, 9]) == 2000  # never: past the largest batch measured


def test_calibration_round_trip_per_device(tmp_path: Path) -> None:
    calibration = Calibration("NVIDIA H100 80GB HBM3", 2048, "numba", {"numba": {"1": 1e-6}}, "2026-01-01T00:00:00Z")
    path = save_calibration(tmp_path, calibration)
    assert path == calibration_file(tmp_path, "NVIDIA H100 80GB HBM3")
    assert path.name == "NVIDIA-H100-80GB-HBM3.json"
    assert load_calibration(tmp_path, "NVIDIA H100 80GB HBM3") == calibration
    assert load_calibration(tmp_path, "another card") is None
    path.write_text(json.dumps({"device_name": "x"}))
    with pytest.raises(ModelEngineError, match="calibrate-device"):
        load_calibration(tmp_path, "NVIDIA H100 80GB HBM3")


def test_calibrate_device_command_stores_a_measured_threshold(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="needs the 'gpu' extra")
    pytest.importorskip("triton", reason="needs the 'gpu' extra")
    from sklearn.ensemble import RandomForestClassifier

    from model_engine import compile_model, save_model
    from model_engine.backends.triton.backend import TritonBackend
    from model_engine.backends.triton.cli import register

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    forest = RandomForestClassifier(n_estimators=3, max_depth=5, random_state=0).fit(X, X[:, 0] > 0)
    model = compile_model(forest, ["a", "b", "c", "d"], dtype="float32")
    save_model(model, tmp_path / "artifact")
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # a second command keeps typer from collapsing the group
    store = tmp_path / "calibrations"
    args = ["calibrate-device", str(tmp_path / "artifact"), "--calibration-dir", str(store), "--max-rows", "4"]
    args += ["--cpu-backend", "numpy"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    backend = TritonBackend(calibration_dir=store)
    stored = load_calibration(store, backend.device_name)
    assert stored is not None
    assert set(stored.timings) == {"numpy", "triton"}
    assert set(stored.timings["triton"]) == {"1", "4"}
    assert backend.min_rows == stored.min_rows
    assert "go to the device" in result.output


def test_calibrate_device_reports_a_bad_artifact(tmp_path: Path) -> None:
    from model_engine.backends.triton.cli import register

    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(app, ["calibrate-device", str(tmp_path / "missing")])
    assert result.exit_code != 0

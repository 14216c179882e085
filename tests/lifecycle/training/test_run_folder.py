"""A training run writes into a folder of its own and never takes another run's leftovers for a candidate's
fault (issue 12, points 1 and 3): the README's `fraud train --data DATA` works from any folder, a run folder
already holding a run is refused (replaced only with --force), and a failure to write the best candidate's
artifact stops the run instead of registering the next best in its place."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from typer.testing import CliRunner

from ingest.simulator import SimulatorConfig, simulate
from lifecycle.registry.registry import ModelRegistry, engine_content_id
from lifecycle.training.errors import TrainingInputError
from lifecycle.training.pipeline import check_run_dir, clear_previous_run, run_training
from lifecycle.training.progress import Steps
from lifecycle.training.registration import register_first_servable
from model_engine import compile_model
from model_engine.errors import ArtifactExistsError, TamperedArtifactError
from scoring_api.cli import app
from tests.lifecycle.registry import support


@pytest.mark.slow
def test_the_readme_command_works_from_any_folder_and_never_reuses_a_run_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    data = simulate(SimulatorConfig.preset("realistic", days=28, seed=5, n_customers=400, n_terminals=800))
    data.transactions.to_parquet("tx.parquet")
    options = ["--fast", "--families", "logistic_regression", "--train-days", "14", "--alert-rate", "0.05"]
    runner = CliRunner()

    trained = runner.invoke(app, ["train", "--data", "tx.parquet", *options])  # relative paths, default folders

    assert trained.exit_code in (0, 3), trained.output  # blessed or refused by the gate: the run completed
    (report,) = Path("fraud-runs").glob("*/report.html")
    assert Path("fraud-registry/registry.sqlite").exists()
    written = report.read_bytes()
    # Point 3: training again into the same folder is refused before any work, the first run left intact.
    again = runner.invoke(app, ["train", "--data", "tx.parquet", *options, "--run-dir", str(report.parent)])
    assert again.exit_code == 2, again.output
    assert "already holds a previous run; give a new --run-dir, or pass --force" in again.output
    assert "validate" not in again.output
    assert report.read_bytes() == written


def test_force_replaces_a_previous_run_and_nothing_else(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "artifacts" / "random_forest").mkdir(parents=True)
    (run / "report.html").write_text("previous")
    with pytest.raises(TrainingInputError, match="already holds a previous run"):
        check_run_dir(run)
    clear_previous_run(run)
    assert not run.exists()
    check_run_dir(run)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("keep me")
    with pytest.raises(TrainingInputError, match=r"holds \['thesis.tex'\], which no training run writes"):
        clear_previous_run(mine)
    assert (mine / "thesis.tex").read_text() == "keep me"


def test_a_run_that_stops_before_writing_leaves_no_empty_folder(tmp_path: Path, registry: ModelRegistry) -> None:
    data = simulate(SimulatorConfig.preset("handbook", days=2, seed=0, n_customers=50, n_terminals=100))
    empty = data.transactions.iloc[:0].assign(is_fraud=np.zeros(0, dtype=np.int8))
    run = tmp_path / "runs" / "first"
    with pytest.raises(TrainingInputError, match="holds no transactions"):
        run_training(empty, registry, run)
    assert not run.exists()
    # A folder the caller made beforehand stays: the run removes only what it created.
    run.mkdir()
    with pytest.raises(TrainingInputError, match="holds no transactions"):
        run_training(empty, registry, run)
    assert run.is_dir()


def _candidates(data: tuple[np.ndarray, np.ndarray]) -> list[SimpleNamespace]:
    X, y = data
    ranked = []
    for family, seed in (("best", 1), ("second", 2)):
        model = RandomForestClassifier(n_estimators=5, max_depth=3, random_state=seed).fit(X, y)
        ranked.append(SimpleNamespace(family=family, model=compile_model(model, support.NAMES)))
    return ranked


def test_an_artifact_that_cannot_be_written_stops_the_run(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray], registry: ModelRegistry
) -> None:
    # The cause of point 3: "artifact folder already exists" was handled like "artifact does not round-trip",
    # so the best candidate was skipped and a worse one registered in its place.
    artifacts = tmp_path / "artifacts"
    (artifacts / "best").mkdir(parents=True)
    (artifacts / "best" / "manifest.json").write_text("{}")  # a previous run's leftovers
    with pytest.raises(ArtifactExistsError, match="already exists"):
        register_first_servable(
            _candidates(data),  # type: ignore[arg-type]
            lambda candidate: (candidate, support.lineage()),  # type: ignore[arg-type,return-value]
            SimpleNamespace(test_inputs=data[0]),  # type: ignore[arg-type]
            registry,
            artifacts,
            actor="tester",
            excluded={},
            steps=Steps(),
        )
    assert registry.versions() == []


def test_an_artifact_that_does_not_load_back_passes_to_the_next_candidate(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    def verify(path: Path) -> str:
        if path.name == "best":
            raise TamperedArtifactError(f"{path} does not match its manifest")
        return engine_content_id(path)

    registry = ModelRegistry(
        f"sqlite:///{tmp_path}/registry.sqlite", tmp_path / "store", signing_key=support.KEY, verify_artifact=verify
    )
    excluded: dict[str, str] = {}
    chosen, version = register_first_servable(
        _candidates(data),  # type: ignore[arg-type]
        lambda candidate: (candidate, support.lineage()),  # type: ignore[arg-type,return-value]
        SimpleNamespace(test_inputs=data[0]),  # type: ignore[arg-type]
        registry,
        tmp_path / "artifacts",
        actor="tester",
        excluded=excluded,
        steps=Steps(),
    )
    assert chosen.family == "second"
    assert version.name == "second"
    assert "does not match its manifest" in excluded["best"]

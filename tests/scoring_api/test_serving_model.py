"""The serving model: loads the registry's blessed champion on the backend the scoring settings name, refuses
what may not deploy, and swaps to a newly promoted model without a request seeing a mix of the two."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from lifecycle.registry import DeploymentRefusedError, ModelRegistry, UnknownModelError
from model_engine import load_model
from model_engine.backends.triton.availability import check as triton_availability
from model_engine.errors import BackendUnavailableError
from scoring_api.errors import NoModelLoadedError
from scoring_api.serving_model import ServingModel
from scoring_api.settings import ScoringSettings
from tests.lifecycle.registry import support

FLOAT32_TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return support.make_data()


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return support.make_registry(tmp_path)


def _blessed(registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray], seed: int) -> str:
    version = registry.register(
        support.forest_artifact(tmp_path / f"forest-{seed}", data, seed=seed), name="rf", lineage=support.lineage()
    )
    support.judge_and_record(registry, version.content_id, data)
    return version.content_id


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_serves_the_champion_on_the_configured_backend(
    backend: str, registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    champion = _blessed(registry, tmp_path, data, seed=1)
    registry.promote(champion)
    serving = ServingModel(registry, ScoringSettings(model_backend=backend))
    assert serving.load().content_id == champion
    content_id, scores = serving.score(data[0].astype(np.float32))
    assert content_id == champion
    assert serving.current.model.default_backend == backend
    reference = load_model(registry.get(champion).artifact_path, backend="numpy").score(data[0].astype(np.float32))
    np.testing.assert_allclose(scores, reference, atol=FLOAT32_TOLERANCE)


def test_the_triton_option_reaches_the_engine(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    """With a GPU (or Triton's interpreter) the champion scores on Triton; without, loading names what is missing."""
    registry.promote(_blessed(registry, tmp_path, data, seed=1))
    serving = ServingModel(registry, ScoringSettings(model_backend="triton"))
    availability = triton_availability()
    if not availability.ok:
        with pytest.raises(BackendUnavailableError, match="triton backend cannot run here"):
            serving.load()
        return
    rows = data[0][:5].astype(np.float32)
    serving.load()
    assert serving.current.model.default_backend == "triton"
    reference = load_model(serving.current.version.artifact_path, backend="numpy").score(rows)
    np.testing.assert_allclose(serving.score(rows)[1], reference, atol=FLOAT32_TOLERANCE)


def test_unknown_backend_is_refused_by_the_settings() -> None:
    with pytest.raises(ValidationError, match="model_backend"):
        ScoringSettings(model_backend="cuda")


def test_nothing_to_serve_says_what_to_do(registry: ModelRegistry) -> None:
    serving = ServingModel(registry, ScoringSettings(model_backend="numpy"))
    with pytest.raises(NoModelLoadedError, match="call load"):
        serving.score(np.zeros((1, 3), dtype=np.float32))
    with pytest.raises(UnknownModelError, match="promote"):
        serving.load()


def test_a_champion_changed_after_blessing_is_not_served(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    champion = _blessed(registry, tmp_path, data, seed=1)
    registry.promote(champion)
    metadata = registry.get(champion).artifact_path / "metadata.json"
    metadata.write_text(metadata.read_text().replace("{", '{"edited": true, ', 1))
    with pytest.raises(DeploymentRefusedError, match="changed after blessing"):
        ServingModel(registry, ScoringSettings(model_backend="numpy")).load()


def test_a_promotion_swaps_models_without_mixing_them(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    rows = data[0][:64].astype(np.float32)
    old, new = _blessed(registry, tmp_path, data, seed=1), _blessed(registry, tmp_path, data, seed=2)
    expected = {cid: load_model(registry.get(cid).artifact_path, backend="numpy").score(rows) for cid in (old, new)}
    assert not np.array_equal(expected[old], expected[new])
    registry.promote(old)
    serving = ServingModel(registry, ScoringSettings(model_backend="numpy"))
    serving.load()

    answers: list[tuple[str, np.ndarray]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def keep_scoring() -> None:
        while not stop.is_set() and len(answers) < 2_000:
            try:
                answers.append(serving.score(rows))
            except BaseException as error:  # collected and asserted below: a dropped request fails the test
                errors.append(error)

    scorers = [threading.Thread(target=keep_scoring) for _ in range(2)]
    for thread in scorers:
        thread.start()
    registry.promote(new)
    assert serving.load().content_id == new
    stop.set()
    for thread in scorers:
        thread.join(timeout=60)
    assert errors == []
    assert {cid for cid, _ in answers} <= {old, new}
    for cid, scores in answers:
        np.testing.assert_array_equal(scores, expected[cid])
    assert serving.score(rows)[0] == new

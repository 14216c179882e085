"""The register step: the served candidate saved as an artifact with its lineage, and registered. An artifact
that does not load back through the engine raises the engine's error (the run then tries its next choice); a
failure to write it (a folder already there, a full disk) stops the run: it says nothing about the candidate."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from lifecycle.records import to_document
from lifecycle.registry import Lineage, ModelRegistry, ModelVersion
from lifecycle.training.compilation import ServedCandidate
from lifecycle.training.dataset import TrainingData
from lifecycle.training.errors import TrainingError
from lifecycle.training.fitting import FittedCandidate
from lifecycle.training.progress import Steps
from model_engine import save_model
from model_engine.errors import ArtifactExistsError, ModelEngineError

#: Real test rows stored as the golden batch: the gate's warm-up requests must reproduce them exactly.
GOLDEN_ROWS = 256


def register_served(
    served: ServedCandidate,
    lineage: Lineage,
    data: TrainingData,
    registry: ModelRegistry,
    artifacts_dir: Path,
    *,
    actor: str | None,
    steps: Steps,
) -> ModelVersion:
    """Save the served model as an artifact (its golden batch real test rows) and register it; an artifact that
    does not round-trip raises :class:`~model_engine.errors.ArtifactError`."""
    with steps.step("register", f"registering {served.family}"):
        path = artifacts_dir / served.family
        save_model(served.model, path, golden_input=data.test_inputs[:GOLDEN_ROWS], lineage=to_document(lineage))
        return registry.register(path, name=served.family, lineage=lineage, actor=actor)


def register_first_servable(
    choices: Sequence[FittedCandidate],
    serve: Callable[[FittedCandidate], tuple[ServedCandidate, Lineage]],
    data: TrainingData,
    registry: ModelRegistry,
    artifacts_dir: Path,
    *,
    actor: str | None,
    excluded: dict[str, str],
    steps: Steps,
) -> tuple[ServedCandidate, ModelVersion]:
    """Serve and register the first of ``choices`` (best first) that the engine serves faithfully and whose
    artifact loads back; the others tried join ``excluded`` with the reason. An artifact that cannot be written
    (:class:`~model_engine.errors.ArtifactExistsError`, a full disk) stops the run instead."""
    for choice in choices:
        try:
            served, lineage = serve(choice)
            version = register_served(served, lineage, data, registry, artifacts_dir, actor=actor, steps=steps)
        except ArtifactExistsError:
            raise
        except ModelEngineError as error:
            excluded[choice.family] = f"{type(error).__name__}: {error}"
            steps.progress(choice.family, f"excluded: {error}")
            continue
        return served, version
    raise TrainingError(f"no candidate could be compiled with parity and saved as an artifact: {excluded}")

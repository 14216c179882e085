"""The register step: the best candidate saved as an artifact with its lineage and registered; when its
artifact does not load back through the engine, the next best is tried. A failure to write the artifact (a
folder already there, a full disk) stops the run instead: it says nothing about the candidate, and taking it
for one would register a worse model in the best one's place."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from lifecycle.records import to_document
from lifecycle.registry import Lineage, ModelRegistry, ModelVersion
from lifecycle.training.compilation import CompiledCandidate
from lifecycle.training.dataset import TrainingData
from lifecycle.training.errors import TrainingError
from lifecycle.training.progress import Steps
from model_engine import save_model
from model_engine.errors import ArtifactError

#: Real test rows stored as the golden batch: the gate's warm-up requests must reproduce them exactly.
GOLDEN_ROWS = 256


def register_best(
    ranking: Sequence[CompiledCandidate],
    data: TrainingData,
    registry: ModelRegistry,
    artifacts_dir: Path,
    lineage_of: Callable[[CompiledCandidate], Lineage],
    *,
    actor: str | None,
    excluded: dict[str, str],
    steps: Steps,
) -> tuple[CompiledCandidate, ModelVersion]:
    """Save and register the first candidate of ``ranking`` whose artifact loads back; failures join ``excluded``."""
    with steps.step("register", f"registering the best of {[c.family for c in ranking]}"):
        for candidate in ranking:
            lineage = lineage_of(candidate)
            path = artifacts_dir / candidate.family
            save_model(candidate.model, path, golden_input=data.test_inputs[:GOLDEN_ROWS], lineage=to_document(lineage))
            try:
                # Registration loads the artifact through the engine (manifest, golden batch): only that failing
                # is the candidate's fault.
                return candidate, registry.register(path, name=candidate.family, lineage=lineage, actor=actor)
            except ArtifactError as error:
                excluded[candidate.family] = f"{type(error).__name__}: {error}"
                steps.progress("register", f"{candidate.family} excluded: {error}")
    raise TrainingError(f"no candidate could be saved and loaded back as an artifact: {excluded}")

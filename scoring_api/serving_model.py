"""The model a scoring service answers with, loaded from the registry and swapped without dropping a request.

Loading re-checks that the registry version may deploy (blessed, signed verdict, files unchanged since
blessing), loads the artifact through the engine on the configured backend (manifest and golden batch
verified), warms it up, and only then replaces the model in use. A request reads the current model once, so
it is scored wholly by the old model or wholly by the new one, and the content id it reports is the one that
scored it.

>>> # serving = ServingModel(registry, ScoringSettings(model_backend="triton"))
>>> # version = serving.load(); content_id, scores = serving.score(rows)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lifecycle.registry import ModelRegistry, ModelVersion
from model_engine import CompiledModel, load_model
from scoring_api.errors import NoModelLoadedError
from scoring_api.settings import ScoringSettings


@dataclass(frozen=True)
class LoadedModel:
    """A registry version and its compiled model, ready to score."""

    version: ModelVersion
    model: CompiledModel

    @property
    def content_id(self) -> str:
        return self.version.content_id


class ServingModel:
    """The registry's model for one alias, on the backend the settings name, swappable while serving."""

    def __init__(self, registry: ModelRegistry, settings: ScoringSettings) -> None:
        self._registry = registry
        self._settings = settings
        self._current: LoadedModel | None = None
        self._load_lock = threading.Lock()

    @property
    def backend(self) -> str:
        return self._settings.model_backend

    @property
    def current(self) -> LoadedModel:
        loaded = self._current
        if loaded is None:
            raise NoModelLoadedError(f"no model is loaded yet; call load() to serve the {self._settings.model_alias}")
        return loaded

    def load(self) -> ModelVersion:
        """Load the alias's current version (if it changed) and make it the one in use; returns that version."""
        with self._load_lock:
            version = self._registry.get(self._settings.model_alias)
            if self._current is not None and self._current.content_id == version.content_id:
                return version
            self._registry.check_deployable(version)
            model = load_model(version.artifact_path, backend=self._settings.model_backend)
            self._warm_up(model)
            self._current = LoadedModel(version, model)  # one reference assignment: the swap is atomic
            return version

    def score(self, rows: npt.NDArray[Any]) -> tuple[str, npt.NDArray[np.float32]]:
        """Fraud probabilities for feature rows in the signature's order, with the content id that scored them."""
        loaded = self.current
        return loaded.content_id, np.asarray(loaded.model.score(rows))

    def _warm_up(self, model: CompiledModel) -> None:
        width = model.signature.n_features
        model.score(np.zeros((self._settings.warmup_rows, width), dtype=np.float32))
        model.score(np.zeros((1, width), dtype=np.float32))

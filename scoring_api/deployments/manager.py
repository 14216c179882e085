"""The deployment manager: which models serve, loaded off the request path and swapped atomically.

It loads the registry's champion (every check of :func:`~scoring_api.deployments.served.load_served_model`),
and :meth:`DeploymentManager.refresh` follows the registry: a newly promoted champion is loaded and warmed
while the old one keeps answering, then one reference swap makes it the one in use. A batch reads
:attr:`DeploymentManager.current` once, so it is scored wholly by the old deployment or wholly by the new one.
"""

from __future__ import annotations

import threading

from features.spec import FeatureSet
from lifecycle.registry.registry import ModelRegistry
from scoring_api.deployments.served import ServedModel, load_served_model
from scoring_api.deployments.snapshot import CanaryObservation, Deployment
from scoring_api.errors import NoModelLoadedError
from scoring_api.sinks import DecisionSink, DeploymentAction, DeploymentChanged, LogSink, utc_now


class DeploymentManager:
    """The registry's champion (and, later, canary and shadow) for one service, swappable while serving."""

    def __init__(
        self,
        registry: ModelRegistry,
        *,
        feature_set: FeatureSet,
        backend: str = "numba",
        warmup_rows: int = 64,
        sink: DecisionSink | None = None,
        actor: str = "scoring-service",
    ) -> None:
        self.registry = registry
        self.feature_set = feature_set
        self.backend = backend
        self.warmup_rows = warmup_rows
        self.sink: DecisionSink = sink if sink is not None else LogSink()
        self.actor = actor
        self._current: Deployment | None = None
        self._change_lock = threading.RLock()

    @property
    def current(self) -> Deployment:
        deployment = self._current
        if deployment is None:
            raise NoModelLoadedError("no model is loaded yet; the service loads the registry's champion at start")
        return deployment

    @property
    def loaded(self) -> bool:
        return self._current is not None

    def observe(self, observation: CanaryObservation) -> None:
        """How the canary did on a batch (no canary is served yet: nothing to watch)."""

    def load(self, ref: str) -> ServedModel:
        """A registry version loaded and warmed for serving on this service's backend and feature set."""
        return load_served_model(
            self.registry, ref, feature_set=self.feature_set, backend=self.backend, warmup_rows=self.warmup_rows
        )

    def refresh(self) -> bool:
        """Serve the registry's champion: load it when it changed (or nothing is loaded); True when it swapped."""
        with self._change_lock:
            target = self.registry.get("champion").content_id
            current = self._current
            if current is not None and current.champion.content_id == target:
                return False
            champion = self.load(target)
            previous = None if current is None else current.champion.content_id
            revision = 0 if current is None else current.revision + 1
            self._current = Deployment(champion=champion, revision=revision)  # one reference: the swap is atomic
        self.sink.deployment_changed(
            DeploymentChanged(utc_now(), DeploymentAction.CHAMPION_LOADED, target, previous, self.actor)
        )
        return True

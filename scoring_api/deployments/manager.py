"""The deployment manager: which models serve (champion, canary, shadow), loaded off the request path and
swapped atomically.

The champion is the registry's ``champion`` alias; the canary (with its share of cards) and the shadow live in
the service database (:mod:`scoring_api.deployments.state`). :meth:`DeploymentManager.refresh` follows both:
a newly promoted champion, or a canary started through another process, is loaded and warmed while the current
models keep answering, then one reference swap makes the new :class:`Deployment` the one in use. A batch reads
:attr:`DeploymentManager.current` once, so it is scored wholly by the old deployment or wholly by the new one,
and no request fails while models change.

Only blessed artifacts deploy: every load re-checks the registry's verdict and the files
(:func:`~scoring_api.deployments.served.load_served_model`). A canary that breaks a guardrail
(:mod:`scoring_api.deployments.guardrails`) is dropped at once from the deployment in use, then from the
stored state, with the reason recorded.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import replace
from typing import Any

from features.spec import FeatureSet
from ingest.validation.masking import mask_card_numbers
from lifecycle.registry.registry import ModelRegistry
from scoring_api.deployments.guardrails import CanaryWatch, Guardrails
from scoring_api.deployments.served import ServedModel, load_served_model
from scoring_api.deployments.snapshot import CanaryObservation, Deployment
from scoring_api.deployments.state import DeploymentStore, Slot
from scoring_api.errors import DeploymentError, NoModelLoadedError
from scoring_api.sinks import DecisionSink, DeploymentAction, DeploymentChanged, LogSink, utc_now

logger = logging.getLogger(__name__)


class DeploymentManager:
    """The models one service serves, changed by admins, the registry and the guardrails while it serves."""

    def __init__(
        self,
        registry: ModelRegistry,
        *,
        feature_set: FeatureSet,
        backend: str = "numba",
        warmup_rows: int = 64,
        sink: DecisionSink | None = None,
        store: DeploymentStore | None = None,
        guardrails: Guardrails | None = None,
        actor: str = "scoring-service",
    ) -> None:
        self.registry = registry
        self.feature_set = feature_set
        self.backend = backend
        self.warmup_rows = warmup_rows
        self.sink: DecisionSink = sink if sink is not None else LogSink()
        self.store = store
        self.guardrails = guardrails or Guardrails()
        self.actor = actor
        self._current: Deployment | None = None
        self._watch: CanaryWatch | None = None
        # Canaries this process dropped for a broken guardrail, kept out until the stored state forgets them.
        self._dropped: set[str] = set()
        self._change_lock = threading.RLock()
        self.rollbacks = 0

    # -- reading -----------------------------------------------------------------------------------------

    @property
    def current(self) -> Deployment:
        deployment = self._current
        if deployment is None:
            raise NoModelLoadedError("no model is loaded yet; the service loads the registry's champion at start")
        return deployment

    @property
    def loaded(self) -> bool:
        return self._current is not None

    @property
    def champion_version(self) -> str | None:
        """The content id of the champion in use, or None before one is loaded."""
        deployment = self._current
        return None if deployment is None else deployment.champion.content_id

    def canary_summary(self) -> dict[str, Any] | None:
        """The guardrails' figures for the canary in use, or None."""
        watch = self._watch
        return None if watch is None else watch.summary()

    def load(self, ref: str) -> ServedModel:
        """A registry version loaded and warmed for serving on this service's backend and feature set (reusing
        the one in use when it is already loaded)."""
        current = self._current
        if current is not None:
            for model in (current.champion, current.canary, current.shadow):
                if model is not None and ref in (model.content_id, model.content_id[: len(ref)]) and len(ref) >= 8:
                    return model
        return load_served_model(
            self.registry, ref, feature_set=self.feature_set, backend=self.backend, warmup_rows=self.warmup_rows
        )

    # -- following the registry and the stored state -------------------------------------------------------

    def refresh(self) -> bool:
        """Serve what the registry and the stored state say; True when the deployment in use changed."""
        with self._change_lock:
            champion_id = self.registry.get("champion").content_id
            slots = self.store.slots() if self.store is not None else {}
            canary_state, shadow_state = slots.get(Slot.CANARY), slots.get(Slot.SHADOW)
            self._dropped &= {canary_state.content_id} if canary_state else set()
            canary_id = None if canary_state is None else canary_state.content_id
            if canary_id in self._dropped or canary_id == champion_id:
                canary_id = None
            shadow_id = None if shadow_state is None else shadow_state.content_id
            share = 0.0 if canary_state is None or canary_id is None else canary_state.share
            current = self._current
            if current is not None and (
                current.champion.content_id == champion_id
                and _id(current.canary) == canary_id
                and current.canary_share == share
                and _id(current.shadow) == shadow_id
            ):
                return False
            previous = None if current is None else current.champion.content_id
            deployment = Deployment(
                champion=self.load(champion_id),
                canary=None if canary_id is None else self.load(canary_id),
                canary_share=share,
                shadow=None if shadow_id is None else self.load(shadow_id),
                revision=0 if current is None else current.revision + 1,
            )
            self._swap(deployment)
        if previous != champion_id:
            details = {"process": os.getpid(), "backend": self.backend}
            self._report(
                DeploymentAction.CHAMPION_LOADED, champion_id, previous, self.actor, details=details, store=False
            )
        return True

    # -- admin changes -----------------------------------------------------------------------------------

    def start_shadow(self, ref: str, actor: str, *, reason: str = "", ticket: str | None = None) -> Deployment:
        """Score every transaction with ``ref`` too, on the side: recorded, never answered with."""
        with self._change_lock:
            current = self.current
            model = self.load(ref)
            self._refuse_champion(model, current, "shadow")
            if self.store is not None:
                self.store.fill(Slot.SHADOW, model.content_id, 1.0, utc_now(), actor)
            self._swap(replace(current, shadow=model, revision=current.revision + 1))
        self._report(
            DeploymentAction.SHADOW_STARTED, model.content_id, _id(current.shadow), actor, reason, ticket=ticket
        )
        return self.current

    def stop_shadow(self, actor: str, *, reason: str = "", ticket: str | None = None) -> Deployment:
        with self._change_lock:
            current = self.current
            if current.shadow is None:
                raise DeploymentError("no shadow model is deployed")
            if self.store is not None:
                self.store.empty(Slot.SHADOW)
            self._swap(replace(current, shadow=None, revision=current.revision + 1))
        self._report(DeploymentAction.SHADOW_STOPPED, None, current.shadow.content_id, actor, reason, ticket=ticket)
        return self.current

    def start_canary(
        self, ref: str, share: float, actor: str, *, reason: str = "", ticket: str | None = None
    ) -> Deployment:
        """Answer for a sticky ``share`` of cards with ``ref``, under the guardrails."""
        if not 0.0 < share <= 1.0:
            raise DeploymentError(f"a canary's share of cards lies in (0, 1], got {share}")
        with self._change_lock:
            current = self.current
            model = self.load(ref)
            self._refuse_champion(model, current, "canary")
            if self.store is not None:
                self.store.fill(Slot.CANARY, model.content_id, share, utc_now(), actor)
            self._dropped.discard(model.content_id)
            self._swap(replace(current, canary=model, canary_share=share, revision=current.revision + 1))
        self._report(
            DeploymentAction.CANARY_STARTED,
            model.content_id,
            _id(current.canary),
            actor,
            reason,
            details={"share": share},
            ticket=ticket,
        )
        return self.current

    def rollback_canary(
        self,
        actor: str,
        reason: str = "rolled back by an admin",
        automatic: bool = False,
        *,
        ticket: str | None = None,
    ) -> Deployment:
        """Stop the canary: the champion answers for every card again."""
        with self._change_lock:
            current = self.current
            if current.canary is None:
                raise DeploymentError("no canary is deployed")
            canary = current.canary
            details = {"share": current.canary_share, "guardrails": self.canary_summary_of(canary.content_id)}
            if self.store is not None:
                self.store.empty(Slot.CANARY, canary.content_id)
            self._swap(replace(current, canary=None, canary_share=0.0, revision=current.revision + 1))
        self.rollbacks += 1
        self._report(
            DeploymentAction.CANARY_ROLLED_BACK,
            None,
            canary.content_id,
            actor,
            reason,
            automatic,
            details,
            ticket=ticket,
        )
        return self.current

    def promote_canary(self, actor: str, *, reason: str = "", ticket: str | None = None) -> Deployment:
        """Make the canary the champion (in the registry, for every process) and answer with it for every card."""
        with self._change_lock:
            current = self.current
            canary = current.canary
            if canary is None:
                raise DeploymentError("no canary to promote; start one with POST /v1/deployments/canary")
            self.registry.promote(canary.content_id, actor=actor, reason=reason, ticket=ticket)
            if self.store is not None:
                self.store.empty(Slot.CANARY, canary.content_id)
            self._swap(Deployment(champion=canary, shadow=current.shadow, revision=current.revision + 1))
        self._report(
            DeploymentAction.PROMOTED, canary.content_id, current.champion.content_id, actor, reason, ticket=ticket
        )
        return self.current

    def rollback(self, actor: str, reason: str = "rolled back by an admin", *, ticket: str | None = None) -> Deployment:
        """Give the champion alias back to the model it had before the current champion."""
        with self._change_lock:
            current = self.current
            champion_id = current.champion.content_id
            history = [
                h for h in self.registry.alias_history() if h["alias"] == "champion" and h["content_id"] == champion_id
            ]
            previous_id = history[-1]["previous_content_id"] if history else None
            if not previous_id:
                raise DeploymentError(f"the champion {champion_id} has no previous champion to roll back to")
            previous = self.load(str(previous_id))  # loaded and warmed before the alias moves
            self.registry.rollback("champion", actor=actor, reason=reason, ticket=ticket)
            canary = None if current.canary is previous else current.canary
            self._swap(replace(current, champion=previous, canary=canary, revision=current.revision + 1))
        self.rollbacks += 1
        self._report(DeploymentAction.ROLLED_BACK, previous.content_id, champion_id, actor, reason, ticket=ticket)
        return self.current

    # -- guardrails --------------------------------------------------------------------------------------

    def observe(self, observation: CanaryObservation) -> None:
        """How the canary did on a batch; a broken guardrail drops it at once (the batch itself is already
        answered: by the champion when the canary failed)."""
        watch = self._watch
        if watch is None or watch.content_id != observation.content_id:
            return
        breach = watch.add(observation)
        if breach is None:
            return
        with self._change_lock:
            current = self._current
            if current is None or current.canary is None or current.canary.content_id != observation.content_id:
                return  # another batch dropped it first
            self._dropped.add(observation.content_id)
        logger.warning("canary %s: %s; rolling it back", observation.content_id, breach.describe())
        self.rollback_canary("guardrail", breach.describe(), automatic=True)

    def canary_summary_of(self, content_id: str) -> dict[str, Any] | None:
        watch = self._watch
        return watch.summary() if watch is not None and watch.content_id == content_id else None

    # -- internals ---------------------------------------------------------------------------------------

    def _swap(self, deployment: Deployment) -> None:
        canary = deployment.canary
        if canary is None:
            self._watch = None
        elif self._watch is None or self._watch.content_id != canary.content_id:
            self._watch = CanaryWatch(canary.content_id, self.guardrails)
        self._current = deployment  # one reference assignment: the swap is atomic

    @staticmethod
    def _refuse_champion(model: ServedModel, current: Deployment, role: str) -> None:
        if model.content_id == current.champion.content_id:
            raise DeploymentError(f"model {model.content_id} is the champion already; it cannot also be the {role}")

    def _report(
        self,
        action: DeploymentAction,
        content_id: str | None,
        previous: str | None,
        actor: str,
        reason: str = "",
        automatic: bool = False,
        details: dict[str, Any] | None = None,
        store: bool = True,
        ticket: str | None = None,
    ) -> None:
        # What an admin typed (a reason, a ticket) may hold a pasted card number: stored and reported masked.
        event = DeploymentChanged(
            utc_now(),
            action,
            content_id,
            previous,
            actor,
            mask_card_numbers(reason),
            automatic,
            details or {},
            None if ticket is None else mask_card_numbers(ticket),
        )
        if store and self.store is not None:
            self.store.record(event)
        self.sink.deployment_changed(event)


def _id(model: ServedModel | None) -> str | None:
    return None if model is None else model.content_id

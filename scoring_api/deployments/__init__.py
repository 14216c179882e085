"""Deployments: which blessed models serve (champion, canary, shadow), loaded off the request path and swapped
atomically."""

from __future__ import annotations

from scoring_api.deployments.manager import DeploymentManager
from scoring_api.deployments.served import ServedModel, load_served_model
from scoring_api.deployments.snapshot import CanaryObservation, Deployment, ModelSource

__all__ = ["CanaryObservation", "Deployment", "DeploymentManager", "ModelSource", "ServedModel", "load_served_model"]

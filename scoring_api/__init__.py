"""The scoring service: scoring, decisions and reasons, gated deployments, roles, and the `fraud` CLI."""

from __future__ import annotations

from scoring_api.errors import NoModelLoadedError, ScoringError
from scoring_api.serving_model import LoadedModel, ServingModel
from scoring_api.settings import ScoringSettings

__all__ = ["LoadedModel", "NoModelLoadedError", "ScoringError", "ScoringSettings", "ServingModel"]

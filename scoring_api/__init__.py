"""The scoring service: scoring, decisions and reasons, gated deployments, roles, and the `fraud` CLI.

Importing the package stays light (the ``fraud`` command line imports it at start-up): the scorer, the
deployments and the HTTP application load on first use of their names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.lazy_exports import lazy_exports
from scoring_api.errors import NoModelLoadedError, ScoringError

if TYPE_CHECKING:
    from scoring_api.deployments import DeploymentManager
    from scoring_api.pipeline import Scorer
    from scoring_api.settings import ScoringSettings

_LAZY = {
    "DeploymentManager": "scoring_api.deployments",
    "Scorer": "scoring_api.pipeline",
    "ScoringSettings": "scoring_api.settings",
}
__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = ["DeploymentManager", "NoModelLoadedError", "Scorer", "ScoringError", "ScoringSettings"]

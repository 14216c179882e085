"""The model registry, lineage, and the gate that blesses models before they may deploy."""

from __future__ import annotations

from lifecycle.registry.database import Database
from lifecycle.registry.errors import DeploymentRefusedError, GateConfigError, RegistryError, UnknownModelError
from lifecycle.registry.gate import (
    CHECK_KINDS,
    Check,
    GateThresholds,
    change_checks,
    value_checks,
    verdict,
    verdict_problems,
)
from lifecycle.registry.infrastructure import infrastructure_checks
from lifecycle.registry.lineage import DataLineage, Lineage, code_version, data_fingerprint, missing_fields
from lifecycle.registry.registry import ALIASES, ModelRegistry, ModelVersion
from lifecycle.registry.signing import folder_digest, sign, signature_matches

__all__ = [
    "ALIASES",
    "CHECK_KINDS",
    "Check",
    "DataLineage",
    "Database",
    "DeploymentRefusedError",
    "GateConfigError",
    "GateThresholds",
    "Lineage",
    "ModelRegistry",
    "ModelVersion",
    "RegistryError",
    "UnknownModelError",
    "change_checks",
    "code_version",
    "data_fingerprint",
    "folder_digest",
    "infrastructure_checks",
    "missing_fields",
    "sign",
    "signature_matches",
    "value_checks",
    "verdict",
    "verdict_problems",
]

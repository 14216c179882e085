"""The model registry, lineage, model evidence, and the gate that blesses models before they may deploy.

:func:`judge` is the gate's one entry point (value, change and infrastructure checks -> a :class:`Verdict`); the
registry stores versions with their typed :class:`Lineage` and signed verdicts, and deploys only blessed ones.
"""

from __future__ import annotations

from lifecycle.registry.database import Database
from lifecycle.registry.errors import (
    DeploymentRefusedError,
    GateConfigError,
    RegistryConfigError,
    RegistryError,
    UnknownModelError,
)
from lifecycle.registry.events import RegistryEvent, RegistryEventKind, RegistryEventSink
from lifecycle.registry.evidence import EvidenceFile
from lifecycle.registry.gate import GateThresholds, change_checks, value_checks
from lifecycle.registry.infrastructure import infrastructure_checks
from lifecycle.registry.judge import GateData, judge, scores_on
from lifecycle.registry.lineage import (
    CalibrationLineage,
    DataLineage,
    Lineage,
    Selection,
    SplitLineage,
    Trial,
    ValidationLineage,
    code_version,
    data_fingerprint,
    missing_fields,
)
from lifecycle.registry.registry import ALIASES, ModelRegistry, ModelVersion, store_path
from lifecycle.registry.signing import folder_digest, sign, signature_matches
from lifecycle.registry.verdict import CHECK_KINDS, Check, Verdict, verdict_problems

__all__ = [
    "ALIASES",
    "CHECK_KINDS",
    "CalibrationLineage",
    "Check",
    "DataLineage",
    "Database",
    "DeploymentRefusedError",
    "EvidenceFile",
    "GateConfigError",
    "GateData",
    "GateThresholds",
    "Lineage",
    "ModelRegistry",
    "ModelVersion",
    "RegistryConfigError",
    "RegistryError",
    "RegistryEvent",
    "RegistryEventKind",
    "RegistryEventSink",
    "Selection",
    "SplitLineage",
    "Trial",
    "UnknownModelError",
    "ValidationLineage",
    "Verdict",
    "change_checks",
    "code_version",
    "data_fingerprint",
    "folder_digest",
    "infrastructure_checks",
    "judge",
    "missing_fields",
    "scores_on",
    "sign",
    "signature_matches",
    "store_path",
    "value_checks",
    "verdict_problems",
]

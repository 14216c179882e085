"""Lineage: where a model came from, recorded with it so anyone can later answer "trained on what, how, by
whom, when, with which code and features, and how good was it"."""

from __future__ import annotations

import getpass
import hashlib
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pandas as pd

#: The fields a lineage record must fill for a model to be registered.
REQUIRED_FIELDS: Final = (
    "data",
    "feature_spec_version",
    "feature_names",
    "code_version",
    "parameters",
    "metrics",
    "timings",
    "created_by",
    "created_at",
)
_REPOSITORY: Final = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class DataLineage:
    """The data a model saw: a fingerprint of the exact rows and columns, where it came from, and counts."""

    fingerprint: str
    source: str
    rows: int
    train_rows: int
    train_frauds: int
    test_rows: int
    test_frauds: int
    first_timestamp: str
    last_timestamp: str
    split: dict[str, Any] = field(default_factory=dict)
    validation: dict[str, Any] = field(default_factory=dict)
    #: The label feed's fingerprint when labels came from one: its report times decide which training labels
    #: were known at the cutoff, so the transactions' fingerprint alone does not pin the training set down.
    labels_fingerprint: str | None = None


@dataclass(frozen=True)
class Lineage:
    """One model version's lineage record (stored as JSON in the registry and in the artifact's metadata)."""

    data: DataLineage
    feature_spec_version: str
    feature_names: tuple[str, ...]
    code_version: str
    parameters: dict[str, Any]
    metrics: dict[str, Any]
    timings: dict[str, float]
    created_by: str = field(default_factory=getpass.getuser)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["feature_names"] = list(self.feature_names)
        return out


def missing_fields(lineage: dict[str, Any]) -> list[str]:
    """The required fields that a lineage document lacks or leaves empty."""
    return [name for name in REQUIRED_FIELDS if lineage.get(name) in (None, "", {}, [], ())]


def data_fingerprint(frame: pd.DataFrame) -> str:
    """SHA-256 over the frame's column names, dtypes and row hashes: the same data gives the same id."""
    digest = hashlib.sha256()
    digest.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode("utf-8"))
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def code_version(repository: Path = _REPOSITORY) -> str:
    """The git commit the code runs from (``+dirty`` when the tree has uncommitted changes to tracked files),
    or the installed package version outside a checkout."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repository, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repository,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"fraud-scoring=={version('fraud-scoring')}"
        except PackageNotFoundError:
            return "unknown"
    return f"{commit}+dirty" if dirty else commit

"""Lineage: where a model came from, recorded with it so anyone can later answer "trained on what, how, by
whom, when, with which code and features, and how good was it"."""

from __future__ import annotations

import getpass
import hashlib
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pandas as pd

from lifecycle.evaluation.metrics import ReliabilityCurve
from lifecycle.evaluation.report import EvaluationReport
from lifecycle.records import RECORD_CONFIG

_REPOSITORY: Final = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class SplitLineage:
    """The periods a model was trained and tested on (ISO times, UTC): train (the model's fit up to ``fit_end``,
    its calibration from there), then a gap as long as the label delay, then test."""

    __pydantic_config__ = RECORD_CONFIG

    train_start: str
    fit_end: str
    train_end: str
    gap_days: float
    test_start: str
    test_end: str


@dataclass(frozen=True)
class ValidationLineage:
    """What the data-validation suite said about the training data, and whether training went on regardless."""

    __pydantic_config__ = RECORD_CONFIG

    suite: str
    success: bool
    expectations: int
    failed: tuple[str, ...]
    data_docs: str
    allowed_invalid: bool


@dataclass(frozen=True)
class DataLineage:
    """The data a model saw: a fingerprint of the exact rows and columns, where it came from, and counts."""

    __pydantic_config__ = RECORD_CONFIG

    fingerprint: str
    source: str
    rows: int
    train_rows: int
    train_frauds: int
    test_rows: int
    test_frauds: int
    first_timestamp: str
    last_timestamp: str
    split: SplitLineage
    validation: ValidationLineage
    #: The label feed's fingerprint when labels came from one: its report times decide which training labels
    #: were known at the cutoff, so the transactions' fingerprint alone does not pin the training set down.
    labels_fingerprint: str | None = None


@dataclass(frozen=True)
class Trial:
    """One configuration of a candidate family, scored where the selection rule scores it."""

    __pydantic_config__ = RECORD_CONFIG

    family: str
    params: dict[str, Any]
    average_precision: float | None
    auc_roc: float | None
    note: str = ""


@dataclass(frozen=True)
class Selection:
    """How the model was chosen: the rule in words, the configurations it compared, and the candidates left out
    (with the reason, e.g. an engine that could not reproduce them)."""

    __pydantic_config__ = RECORD_CONFIG

    rule: str
    trials: tuple[Trial, ...]
    excluded: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CalibrationLineage:
    """How the model's scores were made probabilities: the method, chosen by the Brier score on the later half of
    the calibration slice (each method fitted on the earlier half), then fitted on the whole slice; the weight of
    the uncalibrated score that breaks the calibration's ties (so the ranking stays the model's); and the
    reliability of the test-period scores before and after."""

    __pydantic_config__ = RECORD_CONFIG

    method: str
    tie_break: float
    slice_start: str
    slice_end: str
    rows: int
    frauds: int
    brier_by_method: dict[str, float]
    before: ReliabilityCurve
    after: ReliabilityCurve


@dataclass(frozen=True)
class Lineage:
    """One model version's lineage record (stored as JSON in the registry and in the artifact's metadata).

    ``parameters`` holds the chosen family's hyper-parameters as plain JSON values (they differ by family);
    ``metrics`` is the evaluation on the test period; ``parity_max_abs_diff`` the largest difference between
    the compiled artifact and the scikit-learn model it came from on that period; ``calibration`` says how the
    scores were calibrated (None for a model served uncalibrated).
    """

    __pydantic_config__ = RECORD_CONFIG

    data: DataLineage
    feature_spec_version: str
    feature_names: tuple[str, ...]
    code_version: str
    family: str
    parameters: dict[str, Any]
    selection: Selection
    metrics: EvaluationReport
    parity_max_abs_diff: float
    timings: dict[str, float]
    calibration: CalibrationLineage | None
    created_by: str = field(default_factory=getpass.getuser)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    #: The reference profile of the test period (:class:`lifecycle.reference.ReferenceProfile`, its JSON form):
    #: what monitoring compares serving traffic with.
    reference: dict[str, Any] | None = None


def missing_fields(lineage: Lineage) -> list[str]:
    """The fields a lineage record leaves empty although a registered model needs them."""
    required = {
        "data.fingerprint": lineage.data.fingerprint,
        "data.source": lineage.data.source,
        "feature_spec_version": lineage.feature_spec_version,
        "feature_names": lineage.feature_names,
        "code_version": lineage.code_version,
        "family": lineage.family,
        "selection.rule": lineage.selection.rule,
        "created_by": lineage.created_by,
        "created_at": lineage.created_at,
    }
    return [name for name, value in required.items() if not value]


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

"""The gate's one entry point: :func:`judge` a registered candidate against the champion on the same data.

Training calls it after registering a candidate, and so do the tests; nobody composes the checks by hand. The
candidate is scored through its stored artifact (the files that would deploy), and so is the champion when it
reads only inputs the data has; otherwise the champion's stored test metrics stand in for it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from lifecycle.evaluation import EvaluationConfig, EvaluationReport, evaluate
from lifecycle.registry.errors import RegistryError
from lifecycle.registry.gate import GateThresholds, change_checks, value_checks
from lifecycle.registry.infrastructure import infrastructure_checks
from lifecycle.registry.registry import ModelVersion
from lifecycle.registry.signing import folder_digest
from lifecycle.registry.verdict import Check, Verdict


@dataclass(frozen=True)
class GateData:
    """What a candidate is judged on: model inputs (columns named by ``input_names``) and the same rows as
    transactions with their labels, plus how to evaluate them."""

    inputs: npt.NDArray[Any]
    input_names: tuple[str, ...]
    transactions: pd.DataFrame
    evaluation: EvaluationConfig
    first_seen: pd.Series | None = None

    def __post_init__(self) -> None:
        if self.inputs.ndim != 2 or self.inputs.shape[1] != len(self.input_names):
            raise ValueError(f"inputs of shape {self.inputs.shape} for {len(self.input_names)} input names")
        if len(self.inputs) != len(self.transactions):
            raise ValueError(f"{len(self.inputs)} input rows but {len(self.transactions)} transactions")


def judge(
    candidate: ModelVersion,
    champion: ModelVersion | None,
    data: GateData,
    thresholds: GateThresholds,
    *,
    decided_by: str | None = None,
) -> Verdict:
    """Value, change and infrastructure checks on ``data``, and the verdict they support.

    A check that cannot run because the candidate fails (its artifact does not load or score) is a failed check
    naming the error; data that lacks an input the candidate reads is the caller's mistake and raises.
    """
    infrastructure = infrastructure_checks(candidate.artifact_path, _columns_of(candidate, data), thresholds)
    try:
        report = _rescored(candidate, data, thresholds)
    except Exception as error:  # the verdict must name why the candidate could not be evaluated
        report = None
        detail = f"{type(error).__name__}: {error}"
    if report is None:
        measured = [Check.measured("value:evaluation", None, "the candidate scores the gate's data", False, detail)]
    else:
        measured = [*value_checks(report, thresholds), *_against_champion(report, champion, data, thresholds)]
    return Verdict.decide(
        content_id=candidate.content_id,
        artifact_files=folder_digest(candidate.artifact_path),
        checks=[*measured, *infrastructure],
        thresholds_version=thresholds.version,
        thresholds_digest=thresholds.digest,
        champion_content_id=None if champion is None else champion.content_id,
        decided_by=decided_by or candidate.registered_by,
    )


def _columns_of(version: ModelVersion, data: GateData) -> npt.NDArray[Any]:
    """The data's inputs in the order the version reads them."""
    missing = [n for n in version.lineage.feature_names if n not in data.input_names]
    if missing:
        raise RegistryError(
            f"model {version.content_id} reads inputs {missing} that the gate's data lacks; judge it on data with "
            "the inputs it was trained on"
        )
    columns = [data.input_names.index(n) for n in version.lineage.feature_names]
    return data.inputs if columns == list(range(len(data.input_names))) else data.inputs[:, columns]


def scores_on(version: ModelVersion, data: GateData, backend: str = "numpy") -> npt.NDArray[np.float64] | None:
    """The version's scores on ``data`` through its stored artifact; None when it reads inputs the data lacks."""

    if not set(version.lineage.feature_names) <= set(data.input_names):
        return None
    return _scores(version, data, backend)


def _scores(version: ModelVersion, data: GateData, backend: str) -> npt.NDArray[np.float64]:
    from model_engine import load_model

    model = load_model(version.artifact_path, backend=backend)
    return np.asarray(model.score(_columns_of(version, data)), dtype=np.float64)


def _rescored(version: ModelVersion, data: GateData, thresholds: GateThresholds) -> EvaluationReport:
    """The version's evaluation on ``data``, scored through its stored artifact."""
    scores = _scores(version, data, str(thresholds.infrastructure.get("backend", "numpy")))
    return evaluate(scores, data.transactions, data.evaluation, first_seen=data.first_seen)


def _against_champion(
    report: EvaluationReport, champion: ModelVersion | None, data: GateData, thresholds: GateThresholds
) -> list[Check]:
    """The change checks: against the champion re-scored on the same data when it reads only inputs the data has,
    else against its stored metrics (from its own test period, which each check's detail says); a champion that
    cannot be scored leaves every change check skipped with the error."""
    if champion is None:
        return change_checks(report, None, thresholds)
    if not set(champion.lineage.feature_names) <= set(data.input_names):
        note = (
            f"against the champion's stored metrics of its own test period ({champion.lineage.data.split.test_start})"
        )
        checks = change_checks(report, champion.lineage.metrics, thresholds)
        return [replace(c, detail=f"{c.detail}; {note}" if c.detail else note) for c in checks]
    try:
        rescored = _rescored(champion, data, thresholds)
    except Exception as error:  # the champion's failure must not pass or fail the candidate: the checks say why
        reason = f"the champion {champion.content_id} could not be scored: {type(error).__name__}: {error}"
        return [Check.skipped(c.name, c.rule, reason) for c in change_checks(report, None, thresholds)]
    return change_checks(report, rescored, thresholds)

"""The gate: a candidate is blessed only with evidence.

Three kinds of checks (:class:`~lifecycle.registry.verdict.Check`), each recorded with its value and rule:

* value thresholds: minimum AUC ROC, average precision and recall at the alert rate, overall and per slice,
  and a maximum expected calibration error (scores are probabilities that thresholds and budgets rely on);
* change thresholds: not worse than the champion by more than a margin, overall and per slice, both
  measured on the same test period;
* infrastructure: the artifact loads through the scoring code path, reproduces its golden batch and stays in
  the latency budget (:mod:`lifecycle.registry.infrastructure`).

A check that cannot apply (no champion yet, a slice too small or of one class) is listed as skipped with its
reason, never as passed.

Thresholds live in ``gate_thresholds.toml`` shipped with the package (versioned; the verdict records the
version and the file's digest).
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final, Protocol

from lifecycle.evaluation.report import Metrics
from lifecycle.registry.errors import GateConfigError
from lifecycle.registry.verdict import Check

METRICS: Final = ("auc_roc", "average_precision", "recall_at_alert_rate", "card_precision_at_k")
_SECTIONS: Final = ("value", "calibration", "slice_value", "change", "slice_change", "infrastructure")
#: Metrics where lower is better, bounded from above in the [calibration] section.
CALIBRATION_METRICS: Final = ("ece", "brier")


class Measured(Protocol):
    """What the value and change checks read: metrics overall and per slice (an ``EvaluationReport`` is one)."""

    @property
    def overall(self) -> Metrics: ...

    @property
    def slices(self) -> Mapping[str, Metrics]: ...


@dataclass(frozen=True)
class GateThresholds:
    """The parsed threshold file."""

    version: str
    digest: str
    value: dict[str, float]
    calibration: dict[str, float]
    slice_value: dict[str, float]
    change: dict[str, float]
    slice_change: dict[str, float]
    infrastructure: dict[str, Any]

    @classmethod
    def load(cls, path: Path | None = None) -> GateThresholds:
        """Read the thresholds from ``path``, or the file shipped with the package."""
        if path is None:
            raw = resources.files("lifecycle.registry").joinpath("gate_thresholds.toml").read_bytes()
        else:
            try:
                raw = path.read_bytes()
            except OSError as error:
                raise GateConfigError(f"cannot read gate thresholds {path}: {error}") from None
        try:
            doc = tomllib.loads(raw.decode("utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise GateConfigError(f"gate thresholds are not valid TOML: {error}") from None
        missing = [s for s in ("version", *_SECTIONS) if s not in doc]
        if missing:
            raise GateConfigError(f"gate thresholds lack {missing}; see the shipped gate_thresholds.toml")
        for section in ("value", "slice_value", "change", "slice_change"):
            unknown = sorted(set(doc[section]) - {*METRICS, "min_frauds"})
            if unknown:
                raise GateConfigError(f"[{section}] names unknown metrics {unknown}; known: {list(METRICS)}")
        unknown = sorted(set(doc["calibration"]) - set(CALIBRATION_METRICS))
        if unknown:
            raise GateConfigError(f"[calibration] names unknown metrics {unknown}; known: {list(CALIBRATION_METRICS)}")
        return cls(
            version=str(doc["version"]),
            digest=hashlib.sha256(raw).hexdigest(),
            **{section: dict(doc[section]) for section in _SECTIONS},
        )


def _metric(metrics: Metrics, name: str) -> float | None:
    value: float | None = getattr(metrics, name)
    return value


def _too_small(metrics: Metrics, minimum: float) -> str | None:
    """Why a slice is too small to judge (None when it is not): fewer frauds or genuine rows than ``minimum``."""
    frauds, genuine = metrics.frauds, metrics.transactions - metrics.frauds
    if genuine == 0:
        return f"all {frauds} transactions of the slice are frauds: AUC is undefined, nothing to rank them against"
    if frauds == 0:
        return f"the slice holds no fraud ({genuine} genuine transactions): AUC and AP are undefined"
    if min(frauds, genuine) < minimum:
        return f"{frauds} frauds and {genuine} genuine transactions: fewer than {minimum:g} of one class to judge on"
    return None


def _at_least(name: str, metric: str, value: float | None, minimum: float) -> Check:
    rule = f"{metric} >= {minimum:g}"
    if value is None:
        return Check.measured(name, None, rule, False, f"{metric} is undefined on this data")
    return Check.measured(name, value, rule, value >= minimum)


def value_checks(report: Measured, thresholds: GateThresholds) -> list[Check]:
    """Minimum values overall, a maximum calibration error, and minimum values on each slice large enough to
    judge (the others are listed as skipped, with their size)."""
    checks = [_at_least(f"value:{m}", m, _metric(report.overall, m), v) for m, v in thresholds.value.items()]
    for metric, maximum in thresholds.calibration.items():
        value = _metric(report.overall, metric)
        checks.append(
            Check.measured(f"value:{metric}", value, f"{metric} <= {maximum:g}", value is not None and value <= maximum)
        )
    minimum = thresholds.slice_value.get("min_frauds", 0)
    rules = {m: v for m, v in thresholds.slice_value.items() if m != "min_frauds"}
    for name, metrics in sorted(report.slices.items()):
        small = _too_small(metrics, minimum)
        for metric, floor in rules.items():
            check_name = f"slice_value:{name}:{metric}"
            if small is not None:
                checks.append(Check.skipped(check_name, f"{metric} >= {floor:g}", small))
            else:
                checks.append(_at_least(check_name, metric, _metric(metrics, metric), floor))
    return checks


def _not_worse(name: str, metric: str, value: float | None, reference: float | None, margin: float) -> Check:
    if reference is None:
        return Check.skipped(name, f"{metric} >= champion - {margin:g}", f"the champion has no {metric} here")
    rule = f"{metric} >= champion {round(reference, 6)} - {margin:g}"
    if value is None:
        return Check.measured(name, None, rule, False, f"{metric} is undefined for the candidate")
    return Check.measured(name, value, rule, value >= reference - margin)


def change_checks(report: Measured, champion_report: Measured | None, thresholds: GateThresholds) -> list[Check]:
    """Not worse than the champion by more than the margins, overall and on each slice both can be judged on;
    without a champion, every change check is listed as skipped."""
    if champion_report is None:
        reason = "no champion yet: this is the first model, there is nothing to compare to"
        return [
            Check.skipped(f"change:{metric}", f"{metric} >= champion - {margin:g}", reason)
            for metric, margin in thresholds.change.items()
        ]
    checks = [
        _not_worse(f"change:{m}", m, _metric(report.overall, m), _metric(champion_report.overall, m), margin)
        for m, margin in thresholds.change.items()
    ]
    minimum = thresholds.slice_change.get("min_frauds", 0)
    rules = {m: v for m, v in thresholds.slice_change.items() if m != "min_frauds"}
    theirs = champion_report.slices
    for name, metrics in sorted(report.slices.items()):
        small = _too_small(metrics, minimum)
        if small is None and name not in theirs:
            small = "the champion's evaluation has no such slice"
        elif small is None:
            small = _too_small(theirs[name], minimum)
            small = None if small is None else f"for the champion, {small}"
        for metric, margin in rules.items():
            check_name = f"slice_change:{name}:{metric}"
            if small is not None:
                checks.append(Check.skipped(check_name, f"{metric} >= champion - {margin:g}", small))
            else:
                checks.append(
                    _not_worse(check_name, metric, _metric(metrics, metric), _metric(theirs[name], metric), margin)
                )
    return checks

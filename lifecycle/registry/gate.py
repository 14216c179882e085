"""The gate: a candidate is blessed only with evidence.

Three kinds of checks (:class:`~lifecycle.registry.verdict.Check`), each recorded with its value and rule:

* value thresholds: minimum AUC ROC, average precision and recall at the alert rate, overall and per slice;
* change thresholds: not worse than the champion by more than a margin, overall and per slice, both
  measured on the same test period;
* infrastructure: the artifact loads through the scoring code path, reproduces its golden batch and stays in
  the latency budget (:mod:`lifecycle.registry.infrastructure`).

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
_SECTIONS: Final = ("value", "slice_value", "change", "slice_change", "infrastructure")


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
        return cls(
            version=str(doc["version"]),
            digest=hashlib.sha256(raw).hexdigest(),
            **{section: dict(doc[section]) for section in _SECTIONS},
        )


def _metric(metrics: Metrics, name: str) -> float | None:
    value: float | None = getattr(metrics, name)
    return value


def _smaller_class(metrics: Metrics) -> int:
    """Frauds or genuine transactions, whichever are fewer: a slice nearly all of one class cannot be ranked."""
    return min(metrics.frauds, metrics.transactions - metrics.frauds)


def _value_rule(metric: str, minimum: float) -> str:
    return f"{metric} >= {minimum:g}"


def value_checks(report: Measured, thresholds: GateThresholds) -> list[Check]:
    """Minimum values overall and on each slice with enough frauds and genuine transactions."""
    checks: list[Check] = []
    for metric, minimum in thresholds.value.items():
        value = _metric(report.overall, metric)
        checks.append(
            Check(f"value:{metric}", value, _value_rule(metric, minimum), value is not None and value >= minimum)
        )
    min_frauds = thresholds.slice_value.get("min_frauds", 0)
    for name, metrics in sorted(report.slices.items()):
        if _smaller_class(metrics) < min_frauds:
            continue
        for metric, minimum in thresholds.slice_value.items():
            if metric == "min_frauds":
                continue
            value = _metric(metrics, metric)
            passed = value is not None and value >= minimum
            checks.append(Check(f"slice_value:{name}:{metric}", value, _value_rule(metric, minimum), passed))
    return checks


def _change_check(name: str, metric: str, value: float | None, reference: float | None, margin: float) -> Check:
    rule = f"{metric} >= champion {reference if reference is None else round(reference, 6)} - {margin:g}"
    if reference is None:
        return Check(name, value, rule, True, "champion has no value here")
    passed = value is not None and value >= reference - margin
    return Check(name, value, rule, passed)


def change_checks(report: Measured, champion_report: Measured | None, thresholds: GateThresholds) -> list[Check]:
    """Not worse than the champion by more than the margins; no champion yet means nothing to compare to."""
    if champion_report is None:
        return [Check("change:champion", None, "a champion to compare to", True, "no champion yet: first model")]
    checks = [
        _change_check(
            f"change:{metric}",
            metric,
            _metric(report.overall, metric),
            _metric(champion_report.overall, metric),
            margin,
        )
        for metric, margin in thresholds.change.items()
    ]
    min_frauds = thresholds.slice_change.get("min_frauds", 0)
    theirs = champion_report.slices
    for name, metrics in sorted(report.slices.items()):
        if name not in theirs or min(_smaller_class(metrics), _smaller_class(theirs[name])) < min_frauds:
            continue
        for metric, margin in thresholds.slice_change.items():
            if metric == "min_frauds":
                continue
            checks.append(
                _change_check(
                    f"slice_change:{name}:{metric}",
                    metric,
                    _metric(metrics, metric),
                    _metric(theirs[name], metric),
                    margin,
                )
            )
    return checks

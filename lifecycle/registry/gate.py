"""The gate: a candidate is blessed only with evidence.

Three kinds of checks, each recorded with its value and rule:

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
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Final

from lifecycle.registry.errors import GateConfigError

METRICS: Final = ("auc_roc", "average_precision", "recall_at_alert_rate", "card_precision_at_k")
#: The kinds of check a blessing verdict must hold at least one of (the prefix of each check's name).
CHECK_KINDS: Final = ("value", "change", "infrastructure")
_SECTIONS: Final = ("value", "slice_value", "change", "slice_change", "infrastructure")


@dataclass(frozen=True)
class Check:
    """One gate check: what was measured, the rule it had to meet, and whether it did."""

    name: str
    value: float | None
    rule: str
    passed: bool
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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


def _smaller_class(metrics: Mapping[str, Any]) -> int:
    """Frauds or genuine transactions, whichever are fewer: a slice nearly all of one class cannot be ranked."""
    frauds = int(metrics["frauds"])
    return min(frauds, int(metrics.get("transactions", 2 * frauds)) - frauds)


def _value_rule(metric: str, minimum: float) -> str:
    return f"{metric} >= {minimum:g}"


def value_checks(report: Mapping[str, Any], thresholds: GateThresholds) -> list[Check]:
    """Minimum values overall and on each slice with enough frauds (``report`` is ``EvaluationReport.to_dict()``)."""
    checks: list[Check] = []
    overall = report["overall"]
    for metric, minimum in thresholds.value.items():
        value = overall.get(metric)
        checks.append(
            Check(f"value:{metric}", value, _value_rule(metric, minimum), value is not None and value >= minimum)
        )
    min_frauds = thresholds.slice_value.get("min_frauds", 0)
    for name, metrics in sorted(report.get("slices", {}).items()):
        if _smaller_class(metrics) < min_frauds:
            continue
        for metric, minimum in thresholds.slice_value.items():
            if metric == "min_frauds":
                continue
            value = metrics.get(metric)
            passed = value is not None and value >= minimum
            checks.append(Check(f"slice_value:{name}:{metric}", value, _value_rule(metric, minimum), passed))
    return checks


def _change_check(name: str, metric: str, value: Any, reference: Any, margin: float) -> Check:
    rule = f"{metric} >= champion {reference if reference is None else round(reference, 6)} - {margin:g}"
    if reference is None:
        return Check(name, value, rule, True, "champion has no value here")
    passed = value is not None and value >= reference - margin
    return Check(name, value, rule, passed)


def change_checks(
    report: Mapping[str, Any], champion_report: Mapping[str, Any] | None, thresholds: GateThresholds
) -> list[Check]:
    """Not worse than the champion by more than the margins; no champion yet means nothing to compare to."""
    if champion_report is None:
        return [Check("change:champion", None, "a champion to compare to", True, "no champion yet: first model")]
    checks = [
        _change_check(
            f"change:{metric}", metric, report["overall"].get(metric), champion_report["overall"].get(metric), margin
        )
        for metric, margin in thresholds.change.items()
    ]
    min_frauds = thresholds.slice_change.get("min_frauds", 0)
    theirs = champion_report.get("slices", {})
    for name, metrics in sorted(report.get("slices", {}).items()):
        if name not in theirs or min(_smaller_class(metrics), _smaller_class(theirs[name])) < min_frauds:
            continue
        for metric, margin in thresholds.slice_change.items():
            if metric == "min_frauds":
                continue
            checks.append(
                _change_check(
                    f"slice_change:{name}:{metric}", metric, metrics.get(metric), theirs[name].get(metric), margin
                )
            )
    return checks


def verdict(
    *,
    content_id: str,
    artifact_files: Mapping[str, str],
    checks: Sequence[Check],
    thresholds: GateThresholds,
    champion_content_id: str | None,
    decided_by: str,
) -> dict[str, Any]:
    """The verdict document (signed when the registry stores it): blessed only if every check passed."""
    failed = [c.name for c in checks if not c.passed]
    return {
        "content_id": content_id,
        "blessed": not failed and bool(checks),
        "failed_checks": failed,
        "checks": [c.to_dict() for c in checks],
        "thresholds_version": thresholds.version,
        "thresholds_digest": thresholds.digest,
        "champion_content_id": champion_content_id,
        "artifact_files": dict(artifact_files),
        "decided_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "decided_by": decided_by,
    }


def verdict_problems(document: Mapping[str, Any]) -> list[str]:
    """Why a verdict document does not support its own conclusion (empty when it does).

    ``blessed`` must be exactly "every check passed", ``failed_checks`` must name the failed ones, and a
    blessing must rest on value, change and infrastructure checks alike: a verdict with its infrastructure
    checks left out, or with ``blessed`` set over a failed check, is refused whoever signs it.
    """
    checks = document.get("checks")
    if not isinstance(checks, list) or not all(isinstance(c, Mapping) for c in checks):
        return ["the verdict has no list of checks"]
    failed = [str(c.get("name")) for c in checks if c.get("passed") is not True]
    problems: list[str] = []
    if bool(document.get("blessed")) != (bool(checks) and not failed):
        problems.append(f"blessed={document.get('blessed')!r} disagrees with its checks (failed: {failed})")
    if list(document.get("failed_checks") or []) != failed:
        problems.append(f"failed_checks {document.get('failed_checks')!r} does not list the failed checks {failed}")
    if document.get("blessed"):
        kinds = {str(c.get("name", "")).split(":", 1)[0] for c in checks}
        lacking = [kind for kind in CHECK_KINDS if kind not in kinds]
        if lacking:
            problems.append(f"a blessing needs {list(CHECK_KINDS)} checks; this verdict has none of {lacking}")
    return problems

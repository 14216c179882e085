"""When monitoring raises an alert: the rules that turn a drift window or a day's performance into candidates.

* Drift: a window where some column drifted (significant after the false discovery rate control, with a PSI
  at or over the monitor's floor: a material change, see ``DriftMonitor``) raises one alert for
  the inputs (raw fields and model inputs) and one for the score. The inputs' alert is critical when a
  drifted column's PSI is in the significant band (0.25 and over), a warning otherwise; a drifted score is
  critical (decisions move with it). Each names the columns that moved most, with their test values.
* Performance: a day whose realised metric (labels final) or estimated metric (the day complete) is under
  the gate's minimum (``[value]`` of the gate thresholds), or lower than the model's reference by more than
  the gate's allowed change (``[change]``), raises an alert per metric and source: critical when realised,
  a warning when estimated. Days with fewer frauds (realised) or expected frauds (estimated) than the gate's
  ``min_frauds`` are too noisy to judge and raise nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from ingest.validation import mask_card_numbers
from lifecycle.registry import GateThresholds
from monitoring.alerts.model import AlertCandidate, AlertKind, Severity
from monitoring.drift import ColumnDrift, WindowReport
from monitoring.performance import DailyPerformance

#: Columns named in an alert's details (the largest Jensen-Shannon distances first).
TOP_COLUMNS: Final = 5
METRIC_NAMES: Final = {
    "auc_roc": "AUC ROC",
    "average_precision": "average precision",
    "card_precision_at_100": "card precision@100",
}


def drift_candidates(report: WindowReport, *, model: str | None = None) -> list[AlertCandidate]:
    """The alerts a drift window raises (none when nothing drifted)."""
    drifted = report.drifted
    out = []
    inputs = [c for c in drifted if c.group != "score"]
    if inputs:
        severity = Severity.CRITICAL if any(c.psi_band == "significant" for c in inputs) else Severity.WARNING
        out.append(_drift_candidate(report, inputs, "inputs", severity, model))
    score = [c for c in drifted if c.group == "score"]
    if score:
        out.append(_drift_candidate(report, score, "score", Severity.CRITICAL, model))
    return out


def _drift_candidate(
    report: WindowReport, columns: list[ColumnDrift], subject: str, severity: Severity, model: str | None
) -> AlertCandidate:
    names = [c.column for c in columns]
    shown = ", ".join(names[:3]) + (f" (+{len(names) - 3} more)" if len(names) > 3 else "")
    title = f"{'Score' if subject == 'score' else 'Input'} drift: {shown}"
    parts = [_describe(c) for c in columns[:TOP_COLUMNS]]
    span = (
        f"{report.start_time} .. {report.end_time}"
        if report.start_time
        else f"rows {report.start_row}..{report.end_row}"
    )
    summary = mask_card_numbers(f"{report.window} window of {report.rows:,} transactions ({span}): " + "; ".join(parts))
    moved = []
    for c in columns[:TOP_COLUMNS]:
        item = c.to_dict()
        item["unseen"] = [[mask_card_numbers(name), count] for name, count in c.unseen]
        item["moved_bin"] = mask_card_numbers(c.moved_bin)
        moved.append(item)
    return AlertCandidate(
        kind=AlertKind.DRIFT,
        subject=subject,
        severity=severity,
        title=title,
        summary=summary,
        model=model,
        window=report.window,
        window_start=report.start_time,
        window_end=report.end_time,
        details={
            "level": report.level,
            "min_psi": report.min_psi,
            "rows": report.rows,
            "start_row": report.start_row,
            "end_row": report.end_row,
            "drifted_columns": names,
            "moved": moved,
        },
    )


def _describe(c: ColumnDrift) -> str:
    shares = f"{c.moved_bin} {c.reference_share:.1%} -> {c.window_share:.1%}"
    if c.unseen:
        shares += " (new: " + ", ".join(f"{name} x{count}" for name, count in c.unseen[:3]) + ")"
    return (
        f"{c.column} {c.test.upper()} {c.statistic:.3g} (p {c.p_value:.2g}, adjusted {c.adjusted_p_value:.2g}), "
        f"JS {c.js_distance:.3f}, PSI {c.psi:.3f} {c.psi_band}, {shares}"
    )


@dataclass(frozen=True)
class PerformanceRules:
    """The gate's minimums and allowed changes, and the model's reference metrics to compare with."""

    minimum: Mapping[str, float]
    max_drop: Mapping[str, float]
    min_frauds: int
    reference: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_gate(cls, thresholds: GateThresholds, reference: Mapping[str, float]) -> PerformanceRules:
        return cls(
            minimum={k: v for k, v in thresholds.value.items() if k in METRIC_NAMES},
            max_drop={k: v for k, v in thresholds.change.items() if k in METRIC_NAMES},
            min_frauds=int(thresholds.slice_value.get("min_frauds", 25)),
            reference=dict(reference),
        )

    def candidates(self, day: DailyPerformance, *, model: str | None = None) -> list[AlertCandidate]:
        """The alerts one day's figures raise."""
        out = []
        sources = []
        if day.mature and day.frauds >= self.min_frauds:
            sources.append(("realised", day.realised, Severity.CRITICAL))
        if day.complete and (day.expected_frauds or 0.0) >= self.min_frauds:
            sources.append(("estimated", day.estimated, Severity.WARNING))
        for source, values, severity in sources:
            for metric, value in values.items():
                if value is None:
                    continue
                findings = []
                if metric in self.minimum and value < self.minimum[metric]:
                    findings.append(f"under the gate's minimum {self.minimum[metric]:.2f}")
                baseline = self.reference.get(metric)
                if baseline is not None and metric in self.max_drop and baseline - value > self.max_drop[metric]:
                    findings.append(
                        f"{baseline - value:.3f} below the model's reference {baseline:.3f} "
                        f"(allowed drop {self.max_drop[metric]:.2f})"
                    )
                if findings:
                    out.append(self._candidate(day, metric, source, value, severity, findings, model))
        return out

    def _candidate(
        self,
        day: DailyPerformance,
        metric: str,
        source: str,
        value: float,
        severity: Severity,
        findings: list[str],
        model: str | None,
    ) -> AlertCandidate:
        name = METRIC_NAMES[metric]
        frauds = (
            f"{day.frauds} labelled frauds" if source == "realised" else f"{day.expected_frauds:.0f} expected frauds"
        )
        return AlertCandidate(
            kind=AlertKind.PERFORMANCE,
            subject=f"{metric}:{source}",
            severity=severity,
            title=f"{source.capitalize()} {name} {value:.3f} on {day.day}",
            summary=f"{source} {name} {value:.3f} on {day.day} ({day.transactions:,} transactions, {frauds}): "
            + "; ".join(findings),
            model=model,
            window=f"day {day.day}",
            window_start=day.day,
            window_end=day.day,
            details={
                "metric": metric,
                "source": source,
                "value": value,
                "minimum": self.minimum.get(metric),
                "reference": self.reference.get(metric),
                "max_drop": self.max_drop.get(metric),
                "day": day.day,
                "transactions": day.transactions,
                "frauds": day.frauds,
                "expected_frauds": day.expected_frauds,
            },
        )

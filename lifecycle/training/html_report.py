"""One self-contained HTML page per training run, for an analyst: the lineage (periods, data and label
fingerprints, code version, thresholds digest, who and when, the calibration), how the model was chosen, the
served model's slices (saying why a slice's metric is missing), the candidates side by side, every gate check
with its outcome and reason, and the plots (written next to the page as PNG files)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lifecycle.evaluation.report import EvaluationReport, Metrics
from lifecycle.registry.lineage import Lineage, Trial
from lifecycle.registry.verdict import Verdict

_COLUMNS = (
    ("transactions", "transactions"),
    ("frauds", "frauds"),
    ("auc_roc", "AUC ROC"),
    ("average_precision", "AP"),
    ("card_precision_at_k", "CP@k"),
    ("recall_at_alert_rate", "recall@alert rate"),
    ("brier", "Brier"),
    ("ece", "ECE"),
)

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d1d1f; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.pass, .passed { color: #1a7f37; } .fail, .failed { color: #cf222e; font-weight: bold; } .skipped { color: #9a6700; }
img { max-width: 32rem; margin: 0.3rem; border: 1px solid #eee; }
"""


def _cell(value: Any) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape(str(value))


def _metrics_table(rows: Mapping[str, Metrics], first_header: str) -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in _COLUMNS)
    body = []
    for name, metrics in rows.items():
        cells = "".join(f"<td>{_cell(getattr(metrics, key))}</td>" for key, _ in _COLUMNS)
        body.append(f"<tr><td>{html.escape(name)}</td>{cells}</tr>")
    return f"<table><tr><th>{html.escape(first_header)}</th>{head}</tr>{''.join(body)}</table>"


def _verdict_table(verdict: Verdict) -> str:
    rows = []
    for check in verdict.checks:
        status = check.outcome.value
        rows.append(
            f"<tr><td>{html.escape(check.name)}</td><td>{_cell(check.value)}</td>"
            f"<td>{html.escape(check.rule)}</td><td class='{status}'>{status}</td>"
            f"<td>{html.escape(check.detail)}</td></tr>"
        )
    state = "blessed" if verdict.blessed else "refused"
    return (
        f"<p>Verdict: <b class='{'pass' if verdict.blessed else 'fail'}'>{state}</b> "
        f"(thresholds version {html.escape(verdict.thresholds_version)})</p>"
        f"<table><tr><th>check</th><th>value</th><th>rule</th><th>result</th><th>why</th></tr>{''.join(rows)}</table>"
    )


def _why_undefined(metrics: Metrics) -> str:
    """Why a slice's ranking metrics are missing, in words (empty when they are not)."""
    if metrics.frauds == metrics.transactions:
        return "every transaction is a fraud: nothing to rank them against, AUC undefined"
    if metrics.frauds == 0:
        return "no fraud: AUC and AP undefined"
    return ""


def _slices_table(report: EvaluationReport) -> str:
    rows = {"overall": report.overall, **report.slices}
    table = _metrics_table(rows, "slice")
    notes = [f"<li>{html.escape(name)}: {_why_undefined(m)}</li>" for name, m in rows.items() if _why_undefined(m)]
    notes += [f"<li>{html.escape(name)}: {html.escape(why)}</li>" for name, why in report.slice_notes.items()]
    return table + (f"<ul>{''.join(notes)}</ul>" if notes else "")


def _lineage_table(lineage: Lineage, verdict: Verdict | None) -> str:
    data, split = lineage.data, lineage.data.split
    facts: dict[str, Any] = {
        "model": f"{lineage.family} {verdict.content_id if verdict else ''}",
        "fit": f"{split.train_start} .. {split.fit_end}",
        "calibration slice": f"{split.fit_end} .. {split.train_end}" if split.fit_end != split.train_end else "none",
        "gap (label delay)": f"{split.gap_days:g} days",
        "test": f"{split.test_start} .. {split.test_end}",
        "source": data.source,
        "rows (fit and calibration / test)": f"{data.rows:,} ({data.train_rows:,} / {data.test_rows:,})",
        "data fingerprint": data.fingerprint,
        "labels fingerprint": data.labels_fingerprint or "labels carried by the transactions",
        "feature set version": lineage.feature_spec_version,
        "code version": lineage.code_version,
        "hyper-parameters": ", ".join(f"{k}={v}" for k, v in sorted(lineage.parameters.items())),
        "selection rule": lineage.selection.rule,
        "parity with scikit-learn (max abs diff)": f"{lineage.parity_max_abs_diff:.2e}",
        "created by": f"{lineage.created_by} at {lineage.created_at}",
    }
    if lineage.calibration is not None:
        cal = lineage.calibration
        briers = ", ".join(f"{m} {b:.5f}" for m, b in sorted(cal.brier_by_method.items()))
        facts["calibration"] = (
            f"{cal.method}, chosen by the Brier score on the later half of the slice ({briers}); test ECE "
            f"{cal.before.expected_calibration_error:.4f} before, {cal.after.expected_calibration_error:.4f} after"
        )
    if verdict is not None:
        facts["gate thresholds"] = f"version {verdict.thresholds_version}, sha256 {verdict.thresholds_digest}"
        facts["judged"] = f"by {verdict.decided_by} at {verdict.decided_at}"
    items = "".join(f"<tr><td>{html.escape(k)}</td><td>{_cell(v)}</td></tr>" for k, v in facts.items())
    return f"<table>{items}</table>"


def _trials_table(lineage: Lineage) -> str:
    def row(trial: Trial) -> str:
        params = ", ".join(f"{k}={v}" for k, v in trial.params.items())
        return (
            f"<tr><td>{html.escape(trial.family)}</td><td>{html.escape(params)}</td>"
            f"<td>{_cell(trial.average_precision)}</td><td>{_cell(trial.auc_roc)}</td>"
            f"<td>{html.escape(trial.note)}</td></tr>"
        )

    rows = "".join(row(t) for t in lineage.selection.trials)
    excluded = "".join(
        f"<li>{html.escape(name)}: {html.escape(why)}</li>" for name, why in lineage.selection.excluded.items()
    )
    return (
        "<table><tr><th>family</th><th>configuration</th><th>validation AP</th><th>validation AUC</th>"
        f"<th>folds</th></tr>{rows}</table>" + (f"<p>Left out:</p><ul>{excluded}</ul>" if excluded else "")
    )


def write_html_report(
    path: Path,
    *,
    title: str,
    lineage: Lineage,
    served: EvaluationReport,
    candidates: Mapping[str, EvaluationReport],
    verdict: Verdict | None = None,
    plots: Sequence[Path] = (),
) -> Path:
    """Write the run's report to ``path``: lineage, how the model was chosen, the served model's slices, the
    candidates' test figures for comparison, the gate's checks and the plots (linked relative to the page)."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<h2>Lineage</h2>",
        _lineage_table(lineage, verdict),
        "<h2>Selection (validation folds of the fit period)</h2>",
        _trials_table(lineage),
        f"<h2>Served model ({html.escape(lineage.family)}, calibrated, through the engine): test period</h2>",
        _slices_table(served),
        "<h2>Every candidate on the test period (uncalibrated; for comparison, not for choosing)</h2>",
        _metrics_table({name: r.overall for name, r in candidates.items()}, "candidate"),
    ]
    if verdict is not None:
        parts.append("<h2>Gate</h2>")
        parts.append(_verdict_table(verdict))
    if plots:
        parts.append("<h2>Plots</h2>")
        base = path.parent.resolve()
        for plot in plots:
            rel = plot.resolve().relative_to(base).as_posix()
            parts.append(f"<img src='{html.escape(rel)}' alt='{html.escape(plot.stem)}'>")
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path

"""One self-contained HTML page per training run: candidates side by side, the chosen model's slices, the
gate's verdict when there is one, and the plots (written next to the page as PNG files)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lifecycle.evaluation.report import EvaluationReport, Metrics
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


def write_html_report(
    path: Path,
    *,
    title: str,
    candidates: Mapping[str, EvaluationReport],
    chosen: str,
    plots: Sequence[Path] = (),
    verdict: Verdict | None = None,
    facts: Mapping[str, Any] | None = None,
) -> Path:
    """Write the run's report to ``path``; plot paths are linked relative to the page's folder."""
    chosen_report = candidates[chosen]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if facts:
        items = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{_cell(v)}</td></tr>" for k, v in facts.items())
        parts.append(f"<h2>Run</h2><table>{items}</table>")
    parts.append("<h2>Candidates (test period)</h2>")
    parts.append(_metrics_table({name: r.overall for name, r in candidates.items()}, "candidate"))
    parts.append(f"<h2>Chosen: {html.escape(chosen)}, per slice</h2>")
    parts.append(_metrics_table({"overall": chosen_report.overall, **chosen_report.slices}, "slice"))
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

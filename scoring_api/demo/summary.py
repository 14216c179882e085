"""The demo's summary: a few readable tables (what ran, the traffic, the models, the rollout, the alerts, the
audit), where the run's stores are with the commands to look at them, and the same as JSON (``--json FILE``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from scoring_api.demo.context import DemoContext

if TYPE_CHECKING:
    from rich.console import Console


def commands(context: DemoContext) -> list[str]:
    """What to run afterwards to look at what the demo made (in a shell where ``env.sh`` is sourced)."""
    workspace = context.workspace
    return [
        f"source {workspace.env_file}",
        "fraud models list",
        "fraud models history",
        "fraud alerts list",
        "fraud audit verify",
        f"fraud audit verify-bundle {workspace.root / 'exports' / 'audit-bundle'}",
        "fraud keys list",
        "fraud keys create --role analyst --name YOUR-NAME   # then, for the dashboard:",
        "fraud serve   # and open http://127.0.0.1:8000/v1/monitoring/sign-in with that key",
    ]


def summary(context: DemoContext, seconds: float, error: BaseException | None) -> dict[str, Any]:
    """The summary as a JSON-ready document."""
    api = asdict(context.api)
    del api["transaction_ids"]
    stream = asdict(context.stream)
    return {
        "ok": error is None,
        "error": None if error is None else describe(error),
        "quick": context.options.quick,
        "seconds": round(seconds, 1),
        "run_folder": str(context.workspace.root),
        "env_file": str(context.workspace.env_file),
        "steps": [
            {
                "name": r.name,
                "count": r.count,
                "unit": r.unit,
                "seconds": round(r.seconds, 3),
                "per_second": None if r.rate is None else round(r.rate, 1),
                "note": r.note,
            }
            for r in context.results
        ],
        "data": {
            "history_days": context.options.days,
            "history_rows": 0 if context.history is None else len(context.history),
            "stream_rows": 0 if context.stream_day is None else len(context.stream_day),
            "api_rows": 0 if context.api_day is None else len(context.api_day),
            "drift_day_rows": 0 if context.drift_day is None else len(context.drift_day),
        },
        "validation": context.validation,
        "champion": None if context.champion is None else {**asdict(context.champion), "promoted": True},
        "challenger": None if context.challenger is None else asdict(context.challenger),
        "stream": stream,
        "api": api,
        "rollout": asdict(context.rollout),
        "drift": asdict(context.drift),
        "audit": asdict(context.audit),
        "champion_now": context.content_id,
        "service": {
            "url": None if context.service is None else context.service.url,
            "state": context.service_state,
        },
        "broker": context.broker_state,
        "commands": commands(context),
    }


def print_summary(console: Console, context: DemoContext, error: BaseException | None) -> None:
    """The summary as tables, then where things are and the commands to look at them."""
    from rich.table import Table

    table = Table(title="fraud demo: summary", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("value")
    for what, value in _rows(context):
        table.add_row(what, value)
    console.print(table)
    workspace = context.workspace
    console.print(f"run folder: {workspace.root} (registry, audit trail, monitoring, service database, data, reports)")
    console.print("look at it (every fraud command reads the stores named in env.sh):")
    for command in commands(context):
        console.print(f"  $ {command}")
    if error is not None:
        console.print(f"[red]the demo did not finish[/red]: {describe(error)}")


def _rows(context: DemoContext) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if context.history is not None:
        rows.append(("history", f"{len(context.history):,} transactions over {context.options.days} days"))
    if context.validation:
        v = context.validation
        rows.append(("validation", f"{v['expectations']} expectations, {v['rejected_rows']} rows rejected"))
    for name, model in (("champion", context.champion), ("challenger", context.challenger)):
        if model is not None:
            rows.append(
                (
                    name,
                    f"{model.family} {model.content_id[:19]} ({model.days} days): AUC {model.auc_roc:.3f}, "
                    f"AP {model.average_precision:.3f}, {'blessed' if model.blessed else 'refused'}",
                )
            )
    s = context.stream
    if s.consumed:
        rows += [
            (
                "stream (Kafka)",
                f"{s.scored:,} scored, {s.rejected} rejected ({s.dead_lettered} dead-lettered), "
                f"{s.unaccounted} unaccounted, {s.duplicates} twice",
            ),
            (
                "stream speed",
                f"{s.consumed / s.seconds if s.seconds else 0:,.0f} tx/s, micro-batch median "
                f"{s.median_batch_latency_ms:.1f} ms",
            ),
            ("stream quality", f"AUC {s.auc_roc:.3f}, AP {s.average_precision:.3f} on {s.frauds} frauds"),
        ]
    a = context.api
    if a.calls:
        rows += [
            (
                "API (typed client)",
                f"{a.decided:,} decided, {a.rejected} rejected in {a.calls} calls; {a.read_back} read back by id",
            ),
            ("API outcomes", ", ".join(f"{n} {k}" for k, n in sorted(a.outcomes.items()))),
        ]
    r = context.rollout
    if r.shadow_scored:
        rows.append(
            (
                "rollout",
                f"shadow over {r.shadow_scored:,}, canary answered {r.canary_answered:,}, "
                f"{'promoted' if r.promoted else 'not promoted'}",
            )
        )
    d = context.drift
    if d.drifted_rows:
        rows += [
            ("drift injected", f"{d.injected_frauds} card-testing frauds; {d.broken_feature}"),
            ("alerts on the next day, as it was", _alerts(d.baseline_alerts)),
            ("alerts on the drifted day", _alerts(d.alerts)),
        ]
    u = context.audit
    if u.records:
        rows.append(
            (
                "audit trail",
                f"{u.records:,} records, chain {'intact' if u.chain_ok else 'ALTERED'}; bundle "
                f"{'verified' if u.bundle_ok else 'FAILED'}; evidence {'verified' if u.evidence_ok else 'FAILED'}",
            )
        )
    rows += [("service", context.service_state), ("broker", context.broker_state)]
    return rows


def _alerts(alerts: list[dict[str, str]]) -> str:
    return "; ".join(f"{a['severity']} #{a['id']} {a['title']}" for a in alerts) or "none"


def describe(error: BaseException) -> str:
    """What stopped the run, in a line."""
    if isinstance(error, KeyboardInterrupt):
        return f"interrupted ({error})" if str(error) else "interrupted (Ctrl-C)"
    return f"{type(error).__name__}: {error}"

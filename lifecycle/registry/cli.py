"""``fraud models list|show|lineage|history|promote|rollback``: read the registry, and move its aliases.

Every command that uses the registry (these, and ``fraud train``) takes ``--registry URL`` and
``--model-store DIR`` beside the settings (``FRAUD_REGISTRY_URL``, ``FRAUD_MODEL_STORE``) and says on stderr
which registry it uses, a password in the URL hidden. Changes are made in someone's name (``FRAUD_ACTOR``,
else the operating-system user), for a stated reason, under an optional change ticket; the application that
composes the command line passes the registry's event sink (the audit trail) to :func:`register`, so that
each change, and each refused promotion, is recorded there.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.table import Table

    from lifecycle.registry.events import RegistryEventSink
    from lifecycle.registry.registry import ModelRegistry, ModelVersion

models_app = typer.Typer(help="Registered models: versions, lineage, verdicts, aliases.", no_args_is_help=True)

RegistryUrl = Annotated[
    str | None,
    typer.Option(
        "--registry", help="registry database: sqlite:///PATH or postgresql://... (default: FRAUD_REGISTRY_URL)"
    ),
]
ModelStore = Annotated[
    Path | None, typer.Option("--model-store", help="folder of registered artifacts (default: FRAUD_MODEL_STORE)")
]


#: Opens the sink the registry reports its changes to, when the composing application gave one.
_event_sink: Callable[[], RegistryEventSink] | None = None


def register(app: typer.Typer, events: Callable[[], RegistryEventSink] | None = None) -> None:
    """Add ``fraud models``; ``events`` opens the sink every registry these commands use reports to."""
    global _event_sink
    _event_sink = events
    app.add_typer(models_app, name="models")


def open_registry(url: str | None, store: Path | None) -> ModelRegistry:
    """The registry the options name (else the settings'), announced on stderr."""
    from lifecycle.registry.database import display_url
    from lifecycle.registry.registry import ModelRegistry
    from lifecycle.settings import LifecycleSettings

    settings = LifecycleSettings()
    overrides = {"registry_url": url, "model_store": store}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    typer.echo(f"registry {display_url(settings.registry_url)}, models in {settings.model_store}", err=True)
    return ModelRegistry.from_settings(settings, events=None if _event_sink is None else _event_sink())


@contextmanager
def _registry(url: str | None, store: Path | None) -> Iterator[ModelRegistry]:
    """:func:`open_registry`, closed at the end (errors are reported by the ``fraud`` command's one error path)."""
    registry = open_registry(url, store)
    try:
        yield registry
    finally:
        registry.close()


@models_app.command("list")
def list_models(registry_url: RegistryUrl = None, model_store: ModelStore = None) -> None:
    """Every registered version, newest first, with its aliases and headline metrics.

    The blessed column is what the registry can vouch for (the signed verdict checked, the files unchanged):
    "unverified: ..." where the stored flag, the verdict or the files do not bear each other out.
    """
    from rich.table import Table

    table = Table("content id", "name", "registered", "blessed", "aliases", "AUC ROC", "AP")
    with _registry(registry_url, model_store) as registry:
        for version in registry.versions():
            s = version.summary()
            auc, ap = s["auc_roc"], s["average_precision"]
            table.add_row(
                s["content_id"],
                s["name"],
                s["registered_at"],
                registry.blessing(version),
                ",".join(s["aliases"]),
                "-" if auc is None else f"{auc:.4f}",
                "-" if ap is None else f"{ap:.4f}",
            )
    _print(table)


@models_app.command("show")
def show_model(
    ref: Annotated[str, typer.Argument(help="content id (or prefix) or alias")],
    as_json: Annotated[bool, typer.Option("--json", help="the full record: summary, lineage and verdict")] = False,
    registry_url: RegistryUrl = None,
    model_store: ModelStore = None,
) -> None:
    """One version: what it is, how good it was on its test period, how it was calibrated, and the gate's verdict
    with every failed and skipped check (``--json``: the whole record); ``blessed`` is true only when the signed
    verdict says so and holds up (``blessing`` says what was checked)."""
    from lifecycle.records import to_document

    with _registry(registry_url, model_store) as registry:
        version = registry.get(ref)
        blessing = registry.blessing(version)
    if as_json:
        doc = {
            **version.summary(),
            "blessed": blessing == "blessed",
            "blessing": blessing,
            "artifact_path": str(version.artifact_path),
            "registered_by": version.registered_by,
            "lineage": to_document(version.lineage),
            "verdict": None if version.verdict is None else to_document(version.verdict),
        }
        typer.echo(json.dumps(doc, indent=2))
        return
    typer.echo("\n".join(describe(version, blessing)))


def describe(version: ModelVersion, blessing: str) -> list[str]:
    """The readable summary of one version, line by line; ``blessing`` is what the registry vouches for."""
    lineage, overall = version.lineage, version.lineage.metrics.overall
    split = lineage.data.split

    def figure(value: float | None) -> str:
        return "-" if value is None else f"{value:.4f}"

    lines = [
        f"{version.content_id}  {version.name}" + (f"  [{', '.join(version.aliases)}]" if version.aliases else ""),
        f"  registered   {version.registered_at} by {version.registered_by}",
        f"  stored at    {version.artifact_path}",
        f"  trained      {split.train_start} .. {split.fit_end} on {lineage.data.source} (code {lineage.code_version})",
        f"  chosen by    {lineage.selection.rule}",
        f"  test period  {split.test_start} .. {split.test_end}: {overall.transactions:,} transactions, "
        f"{overall.frauds:,} frauds",
        f"  metrics      AUC {figure(overall.auc_roc)}  AP {figure(overall.average_precision)}  "
        f"CP@{lineage.metrics.config.k} {figure(overall.card_precision_at_k)}  "
        f"recall@{lineage.metrics.config.alert_rate:g} {figure(overall.recall_at_alert_rate)}  "
        f"Brier {figure(overall.brier)}  ECE {figure(overall.ece)}",
    ]
    calibration = lineage.calibration
    if calibration is None:
        lines.append("  calibration  none: scores are not calibrated probabilities")
    else:
        lines.append(
            f"  calibration  {calibration.method} on {calibration.slice_start} .. {calibration.slice_end} "
            f"({calibration.rows:,} rows): ECE {calibration.before.expected_calibration_error:.4f} -> "
            f"{calibration.after.expected_calibration_error:.4f}"
        )
    verdict = version.verdict
    if verdict is None:
        lines.append(f"  gate         no verdict yet ({blessing})")
        return lines
    lines.append(
        f"  gate         {blessing} by {verdict.decided_by} at {verdict.decided_at} "
        f"(thresholds {verdict.thresholds_version}); {len(verdict.checks)} checks: {len(verdict.failed_checks)} "
        f"failed, {len(verdict.skipped_checks)} skipped"
    )
    for check in verdict.checks:
        if not check.passed:
            value = "" if check.value is None else f" = {check.value:.4g}"
            reason = f": {check.detail}" if check.detail else ""
            lines.append(f"    {check.outcome.value:<8} {check.name}{value} ({check.rule}){reason}")
    return lines


@models_app.command("lineage")
def show_lineage(
    ref: Annotated[str, typer.Argument(help="content id (or prefix) or alias")],
    registry_url: RegistryUrl = None,
    model_store: ModelStore = None,
) -> None:
    """The lineage record: data fingerprint and counts, features, code version, parameters, metrics, timings."""
    from lifecycle.records import to_document

    with _registry(registry_url, model_store) as registry:
        lineage = to_document(registry.get(ref).lineage)
    typer.echo(json.dumps(lineage, indent=2))


@models_app.command("history")
def show_history(
    alias: Annotated[str | None, typer.Option(help="only this alias (champion or challenger)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table")] = False,
    registry_url: RegistryUrl = None,
    model_store: ModelStore = None,
) -> None:
    """Every alias change, oldest first: when, what it pointed at before and after, who, why, which ticket."""
    from rich.table import Table

    with _registry(registry_url, model_store) as registry:
        changes = [h for h in registry.alias_history() if alias is None or h["alias"] == alias]
    if as_json:
        for change in changes:
            typer.echo(json.dumps(change))
        return
    table = Table("changed at", "alias", "action", "content id", "previous", "by", "reason", "ticket")
    for h in changes:
        table.add_row(
            h["changed_at"],
            h["alias"],
            h["action"],
            h["content_id"],
            h["previous_content_id"] or "-",
            h["changed_by"],
            h["reason"] or "-",
            h["ticket"] or "-",
        )
    _print(table)


Reason = Annotated[str, typer.Option("--reason", help="why (recorded with the change)")]
Ticket = Annotated[str | None, typer.Option("--ticket", help="the change ticket authorising it (recorded too)")]


@models_app.command("promote")
def promote_model(
    ref: Annotated[str, typer.Argument(help="content id (or prefix)")],
    reason: Reason,
    ticket: Ticket = None,
    alias: Annotated[str, typer.Option(help="champion or challenger")] = "champion",
    registry_url: RegistryUrl = None,
    model_store: ModelStore = None,
) -> None:
    """Point an alias at a version; refused unless it is blessed and its files are unchanged since blessing.
    Promoting the version an alias already points at changes nothing."""
    from lifecycle.settings import LifecycleSettings

    with _registry(registry_url, model_store) as registry:
        before = registry.find_alias(alias)
        actor = LifecycleSettings().actor_name()
        version = registry.deploy(ref, alias, actor=actor, reason=reason, ticket=ticket)
    if before is not None and before.content_id == version.content_id:
        typer.echo(f"{alias} is already {version.content_id}; nothing changed")
    else:
        typer.echo(f"{alias} -> {version.content_id}")


@models_app.command("rollback")
def rollback_model(
    reason: Reason,
    ticket: Ticket = None,
    alias: Annotated[str, typer.Option(help="champion or challenger")] = "champion",
    registry_url: RegistryUrl = None,
    model_store: ModelStore = None,
) -> None:
    """Point an alias back at the version it named before its latest change (re-checked like a promotion)."""
    from lifecycle.settings import LifecycleSettings

    with _registry(registry_url, model_store) as registry:
        actor = LifecycleSettings().actor_name()
        version = registry.rollback(alias, actor=actor, reason=reason, ticket=ticket)
    typer.echo(f"{alias} -> {version.content_id} (rolled back)")


def _print(table: Table) -> None:
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        # Piped output (scripts, logs) gets a wide table instead of one wrapped to a default 80 columns.
        console = Console(width=220)
    console.print(table)

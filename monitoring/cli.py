"""``fraud alerts``: the analysts' alert workflow from the command line.

    fraud alerts list [--state open --state acknowledged] [--kind drift] [--json]
    fraud alerts show ID [--json]
    fraud alerts ack ID [--note TEXT] [--assignee NAME]
    fraud alerts resolve ID --note TEXT

Every action is stored in the alert's history and recorded in the audit trail (``FRAUD_AUDIT_URL``), under
``--actor`` (the login name by default). The database is ``FRAUD_MONITORING_URL``. The audit trail's own
commands (``fraud audit``) are registered here too.
"""

from __future__ import annotations

import getpass
import json
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from monitoring.alerts import Alert, AlertService

alerts_app = typer.Typer(help="Monitoring alerts: list, show, acknowledge, resolve.", no_args_is_help=True)

Actor = Annotated[str | None, typer.Option(help="Who acts (recorded for audit); default: the login name.")]


def register(app: typer.Typer) -> None:
    """Add the ``alerts`` and ``audit`` commands to the ``fraud`` command line."""
    from monitoring.audit import cli as audit_cli

    app.add_typer(alerts_app, name="alerts")
    audit_cli.register(app)


def _service() -> AlertService:
    from monitoring.audit.cli import alert_action_sink
    from monitoring.services import open_services
    from monitoring.settings import MonitoringSettings

    return open_services(MonitoringSettings(), alert_action_sink()).alerts


@alerts_app.command("list")
def list_alerts(
    state: Annotated[list[str] | None, typer.Option(help="open, acknowledged or resolved (repeatable).")] = None,
    kind: Annotated[str | None, typer.Option(help="drift or performance.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document instead of a table.")] = False,
) -> None:
    """List alerts, the most recently seen first."""
    from monitoring.alerts import AlertKind, AlertState
    from monitoring.errors import MonitoringError

    try:
        states = [AlertState(s) for s in state or ()]
        chosen = AlertKind(kind) if kind else None
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    try:
        alerts = _service().list_alerts(states, kind=chosen, limit=limit)
    except MonitoringError as error:
        _fail(error)
    if as_json:
        typer.echo(json.dumps([a.to_dict() for a in alerts], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(alerts)} alert(s)")
    for heading in ("id", "severity", "state", "title", "occurrences", "last seen", "assignee"):
        table.add_column(heading)
    for a in alerts:
        table.add_row(
            str(a.id), a.severity.value, a.state.value, a.title, str(a.occurrences), a.last_seen, a.assignee or ""
        )
    Console().print(table)


@alerts_app.command("show")
def show_alert(
    alert_id: Annotated[int, typer.Argument(help="The alert's id.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show an alert: its test values, the columns that moved, and its history."""
    from monitoring.errors import MonitoringError

    try:
        service = _service()
        alert = service.get(alert_id)
        history = service.history(alert_id)
    except MonitoringError as error:
        _fail(error)
    doc = {**alert.to_dict(), "history": [e.to_dict() for e in history]}
    if as_json:
        typer.echo(json.dumps(doc, indent=2))
        return
    typer.echo(f"alert {alert.id} [{alert.severity.value}, {alert.state.value}] {alert.title}")
    typer.echo(alert.summary)
    typer.echo(f"seen {alert.occurrences} time(s), {alert.first_seen} .. {alert.last_seen}; assignee: {alert.assignee}")
    for event in history:
        note = f": {event.note}" if event.note else ""
        typer.echo(f"  {event.at} {event.actor} {event.action.value} -> {event.state.value}{note}")


@alerts_app.command("ack")
def acknowledge_alert(
    alert_id: Annotated[int, typer.Argument(help="The alert's id.")],
    note: Annotated[str | None, typer.Option(help="What you are doing about it.")] = None,
    assignee: Annotated[str | None, typer.Option(help="Who works on it; default: you.")] = None,
    actor: Actor = None,
) -> None:
    """Acknowledge an open alert (you, or --assignee, take it)."""
    from monitoring.errors import MonitoringError

    try:
        alert = _service().acknowledge(alert_id, actor=actor or getpass.getuser(), note=note, assignee=assignee)
    except MonitoringError as error:
        _fail(error)
    _done(alert)


@alerts_app.command("resolve")
def resolve_alert(
    alert_id: Annotated[int, typer.Argument(help="The alert's id.")],
    note: Annotated[str, typer.Option(help="What was found and what was done (required).")],
    actor: Actor = None,
) -> None:
    """Resolve an open or acknowledged alert, saying what was found and done."""
    from monitoring.errors import MonitoringError

    try:
        alert = _service().resolve(alert_id, actor=actor or getpass.getuser(), note=note)
    except MonitoringError as error:
        _fail(error)
    _done(alert)


def _done(alert: Alert) -> None:
    typer.echo(f"alert {alert.id} is {alert.state.value} (assignee: {alert.assignee or '-'})")


def _fail(error: Exception) -> NoReturn:
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(1)

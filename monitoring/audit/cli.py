"""``fraud audit verify|export|verify-bundle|retention|show|public-key`` and ``fraud models evidence``.

Commands import what they need when they run, so that ``fraud --help`` stays fast. Exporting or verifying the
audit trail is itself recorded in it (an access by the operator, ``FRAUD_ACTOR``), as is every registry change
made through ``fraud models`` and ``fraud train`` (:func:`registry_event_sink` is the registry's sink) and
every action taken through ``fraud alerts`` (:func:`alert_action_sink`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lifecycle.registry.cli import ModelStore, RegistryUrl

if TYPE_CHECKING:
    from monitoring.audit import AuditLog, AuditSink

audit_app = typer.Typer(
    help="The audit trail: verify it, export it (signed bundles), check a bundle, apply retention.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add ``fraud audit`` and ``fraud models evidence`` (the ``models`` group must be registered already)."""
    from lifecycle.registry.cli import models_app

    app.add_typer(audit_app, name="audit")
    models_app.command("evidence")(export_model_evidence)


@contextmanager
def open_log() -> Iterator[AuditLog]:
    """The audit log named by the settings; its errors become one line on stderr and exit status 1."""
    from monitoring.audit import AuditError, AuditLog, AuditSettings

    try:
        with AuditLog.from_settings(AuditSettings()) as log:
            yield log
    except AuditError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None


def registry_event_sink() -> AuditSink:
    """The registry's event sink for a command: each change recorded in the configured audit trail (the
    settings are read, and the log opened, when a change is recorded)."""
    return _command_sink()


def alert_action_sink() -> AuditSink:
    """The alert service's action sink for a command: each action recorded in the configured audit trail."""
    return _command_sink()


def _command_sink() -> AuditSink:
    from monitoring.audit import AuditLog, AuditSettings, AuditSink

    return AuditSink(open_log=lambda: AuditLog.from_settings(AuditSettings()))


def operator() -> str:
    from lifecycle.settings import LifecycleSettings

    return LifecycleSettings().actor_name()


def record_access(log: AuditLog, event_type: str, resource: str, success: bool, detail: str | None = None) -> None:
    """Record that the operator (``FRAUD_ACTOR``) read or exported the trail from the command line."""
    import socket

    from monitoring.audit import AccessEvent

    event = AccessEvent(
        key_id=operator(),
        role="operator",
        event_type=event_type,
        success=success,
        origin=f"cli@{socket.gethostname()}",
        resource=resource,
        detail=detail,
    )
    log.append([event])


def _report(summary: str, findings: list[str]) -> None:
    """A check's summary and findings; exit status 1 when there are findings."""
    typer.echo(summary)
    for finding in findings:
        typer.echo(f"  - {finding}")
    if findings:
        raise typer.Exit(1)


def _moment(text: str | None, name: str) -> datetime | None:
    """An ISO date or time; without a zone it is UTC."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{name} must be an ISO date or time, such as 2026-01-31 or 2026-01-31T12:00Z"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@audit_app.command("verify")
def verify_log(as_json: Annotated[bool, typer.Option("--json", help="the report as JSON")] = False) -> None:
    """Check the whole chain (archive segments, main store, signed head); exit 1 and say where if altered."""
    with open_log() as log:
        report = log.verify()
        record_access(log, "audit_verify", "audit log", report.ok, None if report.ok else report.summary())
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        if not report.ok:
            raise typer.Exit(1)
    else:
        _report(report.summary(), [str(f) for f in report.findings])


@audit_app.command("export")
def export_log(
    out: Annotated[Path, typer.Option("--out", help="a new folder for the bundle")],
    formats: Annotated[
        str, typer.Option("--format", help="comma-separated: jsonl, csv, parquet")
    ] = "jsonl,csv,parquet",
    since: Annotated[str | None, typer.Option(help="from this recorded time (ISO; UTC when no zone)")] = None,
    until: Annotated[str | None, typer.Option(help="up to, not including, this recorded time")] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="only these event kinds (repeatable)")] = None,
    actor: Annotated[str | None, typer.Option(help="only records by this actor (or API key id)")] = None,
    subject: Annotated[str | None, typer.Option(help="only records about this decision, model, alert...")] = None,
    card_token: Annotated[str | None, typer.Option(help="only decisions on this card token")] = None,
) -> None:
    """Export a time range to a signed bundle (records in each format, manifest.json, manifest.sig)."""
    from monitoring.audit import AuditError, AuditFilter, export_bundle
    from monitoring.audit.formats import parse_formats

    with open_log() as log:
        try:
            where = AuditFilter(
                since=_moment(since, "--since"),
                until=_moment(until, "--until"),
                kinds=tuple(kind or ()),
                actor=actor,
                subject=subject,
                card_token=card_token,
            )
            result = export_bundle(log, out, where=where, formats=parse_formats(formats), actor=operator())
        except AuditError as error:
            record_access(log, "audit_export", str(out), False, str(error))
            raise
        record_access(log, "audit_export", str(out), True)
    chain = result.manifest["chain"]
    typer.echo(f"exported {result.records} records to {out} (last record hash {chain['last_record_hash']})")


@audit_app.command("verify-bundle")
def verify_exported_bundle(
    folder: Annotated[Path, typer.Argument(help="an export or evidence bundle folder")],
    public_key: Annotated[
        str | None, typer.Option(help="the signer's public key (hex); default: the configured audit key's")
    ] = None,
) -> None:
    """Check a bundle on its own, without the database: signature, files, and every record's hash and order."""
    from monitoring.audit import AuditError, AuditSettings, Signer, verify_bundle

    try:
        key = public_key or Signer.from_secret(AuditSettings().audit_signing_key).public_key_hex
        report = verify_bundle(folder, key)
    except AuditError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    _report(report.summary(), list(report.findings))


@audit_app.command("retention")
def apply_log_retention(
    reason: Annotated[str | None, typer.Option(help="recorded with the archiving and deletions")] = None,
) -> None:
    """Move months older than the hot period to archive segments; delete those past retention (recorded)."""
    from monitoring.audit import AuditSettings, apply_retention

    settings = AuditSettings()
    with open_log() as log:
        result = apply_retention(
            log,
            now=datetime.now(UTC),
            hot_months=settings.audit_hot_months,
            retention_months=settings.audit_retention_months,
            actor=operator(),
            reason=reason,
        )
    typer.echo(f"archived: {', '.join(result.archived) or 'none'}; deleted: {', '.join(result.deleted) or 'none'}")


@audit_app.command("show")
def show_records(
    subject: Annotated[str, typer.Argument(help="a decision id, model content id, alert id, API key id...")],
    kind: Annotated[str | None, typer.Option(help="only this event kind")] = None,
) -> None:
    """The records filed under a subject, oldest first, as JSON lines (cards by token only)."""
    with open_log() as log:
        records = log.find(subject, kind)
        record_access(log, "audit_read", subject, True)
    for record in records:
        typer.echo(json.dumps({**record.as_dict(), "payload": json.loads(record.payload)}))
    if not records:
        typer.echo(f"no records filed under {subject!r}", err=True)
        raise typer.Exit(1)


@audit_app.command("public-key")
def show_public_key() -> None:
    """The audit key's public half (hex): give it to whoever checks bundles, by another channel than them."""
    from monitoring.audit import AuditSettings, Signer

    signer = Signer.from_secret(AuditSettings().audit_signing_key)
    typer.echo(f"{signer.public_key_hex}  (key id {signer.key_id})")


def export_model_evidence(
    ref: Annotated[str, typer.Argument(help="content id (or prefix) or alias")],
    out: Annotated[Path, typer.Option("--out", help="a new folder for the bundle")],
    registry_url: RegistryUrl = None,
    model_store: ModelStore = None,
) -> None:
    """A model's evidence as a signed bundle: record, lineage, verdict, history, report, plots, data validation."""
    from lifecycle.errors import LifecycleError
    from lifecycle.registry.cli import open_registry
    from monitoring.audit import AuditError
    from monitoring.audit.evidence import export_evidence

    with open_log() as log:
        try:
            registry = open_registry(registry_url, model_store)
            try:
                manifest = export_evidence(registry, ref, out, signer=log.signer, actor=operator())
            finally:
                registry.close()
        except (LifecycleError, AuditError) as error:
            record_access(log, "evidence_export", ref, False, str(error))
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(1) from None
        record_access(log, "evidence_export", manifest["content_id"], True)
    typer.echo(f"evidence of {manifest['content_id']} ({len(manifest['files'])} files) written to {out}")

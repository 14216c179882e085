"""``fraud audit replay DECISION_ID``: a recorded decision re-scored and decided again, beside the record.

Added to the ``fraud audit`` group (the audit trail's own commands live in :mod:`monitoring.audit.cli`, which
cannot reach the scorer's decisions). It reads the audit trail (``FRAUD_AUDIT_*``), the registry
(``FRAUD_REGISTRY_URL``, ``FRAUD_MODEL_STORE``) and, to cross-check the configuration, the service database
(``FRAUD_SCORING_DATABASE_URL``) when it exists. The replay is itself recorded as an access by the operator.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from scoring_api.decisions.config import DecisionConfig
    from scoring_api.recording.replay import Replay


def register(audit_app: typer.Typer) -> None:
    """Add ``replay`` to the ``fraud audit`` group (once)."""
    if "replay" not in {command.name for command in audit_app.registered_commands}:
        audit_app.command("replay")(replay_decision)


def replay_decision(
    decision_id: Annotated[str, typer.Argument(help="the decision's id (as answered, and in the audit trail)")],
    as_json: Annotated[bool, typer.Option("--json", help="the comparison as JSON")] = False,
) -> None:
    """Re-score a recorded decision with its recorded model and configuration; exit 1 if anything differs."""
    from lifecycle.registry.registry import ModelRegistry
    from lifecycle.settings import LifecycleSettings
    from monitoring.audit import AuditError
    from monitoring.audit.cli import open_log, record_access
    from scoring_api.errors import ScoringError
    from scoring_api.recording.replay import Replayer, recorded_config

    with open_log() as log:
        registry = ModelRegistry.from_settings(LifecycleSettings())
        try:
            replayer = Replayer(
                registry, config_of=lambda version: recorded_config(log, version), stored_config_of=_stored_config
            )
            replay = replayer.replay_recorded(log, decision_id)
        except (AuditError, ScoringError) as error:
            record_access(log, "audit_replay", decision_id, False, str(error))
            raise  # reported by the fraud command's one error path, once recorded
        finally:
            registry.close()
        record_access(log, "audit_replay", decision_id, True, None if replay.identical else "differs")
    if as_json:
        typer.echo(json.dumps(replay.to_dict(), indent=2))
    else:
        _show(replay)
    if not replay.identical:
        raise typer.Exit(1)


def _stored_config(version: int) -> DecisionConfig | None:
    """The service database's copy of a configuration version, when that database exists."""
    from lifecycle.registry.database import Database
    from scoring_api.decisions.store import DecisionConfigStore
    from scoring_api.settings import ScoringSettings

    url = ScoringSettings().database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None  # no service database here: nothing to compare with (and nothing is created)
    database = Database(url)
    try:
        return DecisionConfigStore(database).document(version)
    finally:
        database.close()


def _show(replay: Replay) -> None:
    document = replay.to_dict()
    recorded, replayed = document["recorded"], document["replayed"]
    typer.echo(
        f"decision {document['decision_id']} (transaction {document['transaction_id']}): model "
        f"{document['model_content_id']} on {document['backend']}, configuration version "
        f"{document['decision_config_version']}"
    )
    for name in ("score", "score_hex", "decision", "rules", "reasons"):
        mark = "=" if recorded[name] == replayed[name] else "!"
        typer.echo(f"  {mark} {name:<9} recorded {recorded[name]!r:<28} replayed {replayed[name]!r}")
    if replay.identical:
        typer.echo("identical: the score bit for bit, the decision, the rules and the reasons")
    for difference in replay.differences:
        typer.echo(f"  - {difference}")

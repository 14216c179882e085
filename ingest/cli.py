"""Commands of the ``ingest`` package for the ``fraud`` command line."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from ingest.simulator.command import simulate_command
from ingest.validation.cli import validate_command

if TYPE_CHECKING:
    from ingest.kafka.broker import LocalKafkaBroker


def register(app: typer.Typer) -> None:
    """Add this package's commands to the root ``fraud`` application."""
    app.command("simulate")(simulate_command)
    app.add_typer(kafka_app, name="kafka")
    app.command("validate")(validate_command)


kafka_app = typer.Typer(help="The local single-node Kafka broker (KRaft) under infra/kafka.", no_args_is_help=True)


def _local_broker() -> LocalKafkaBroker:
    from ingest.kafka.broker import LocalKafkaBroker
    from ingest.kafka.broker_config import BrokerConfig
    from ingest.settings import IngestSettings

    return LocalKafkaBroker(BrokerConfig.from_settings(IngestSettings()))


@kafka_app.command("start")
def kafka_start() -> None:
    """Start the broker and wait until it is ready; report the running one if it is already up."""
    broker = _local_broker()
    running = broker.status()
    if running is not None:
        typer.echo(f"Kafka broker already running: pid {running.pid}, bootstrap {running.bootstrap_servers}")
        return
    state = broker.start()
    typer.echo(f"Kafka broker started: pid {state.pid}, bootstrap {state.bootstrap_servers}, log {state.log_file}")


@kafka_app.command("stop")
def kafka_stop() -> None:
    """Stop the broker (controlled shutdown first); succeed quietly when none is running."""
    stopped = _local_broker().stop()
    typer.echo("Kafka broker stopped" if stopped else "no Kafka broker was running")


@kafka_app.command("status")
def kafka_status() -> None:
    """Print the running broker's bootstrap address; exit with status 1 when no broker is running."""
    broker = _local_broker()
    state = broker.status()
    if state is None:
        typer.echo(f"no Kafka broker running (run folder {broker.config.run_dir})", err=True)
        raise typer.Exit(1)
    typer.echo(state.bootstrap_servers)
    typer.echo(f"pid {state.pid}, controller port {state.controller_port}, started {state.started_at}", err=True)

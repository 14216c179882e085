"""The ``fraud`` command line: one entry point, with each package contributing its own commands.

Each package's ``cli`` module exposes ``register(app)``; heavy imports stay inside the commands so that
``fraud --help`` answers at once.
"""

from __future__ import annotations

import typer

from features import cli as features_cli
from ingest import cli as ingest_cli
from model_engine import cli as model_engine_cli
from model_engine.training import cli as training_cli

app = typer.Typer(
    name="fraud",
    help="Real-time card-fraud scoring: simulate, ingest, build features, train, compile, serve, monitor.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

for register in (ingest_cli.register, features_cli.register, model_engine_cli.register, training_cli.register):
    register(app)


@app.command("demo")
def run_demo(
    days: int = typer.Option(1, min=1, help="days of simulated transactions (handbook preset)"),
    seed: int = typer.Option(0, help="simulator seed"),
    consumers: int = typer.Option(2, min=1, help="members of the consumer group"),
    keep_broker: bool = typer.Option(False, help="leave a broker this run started running afterwards"),
) -> None:
    """The end-to-end run: broker, simulated transactions into Kafka, consumed back by a consumer group."""
    from scoring_api.demo import DemoOptions, main

    main(DemoOptions(days=days, seed=seed, consumers=consumers, keep_broker=keep_broker))


@app.command("version")
def show_version() -> None:
    """Print the installed version of the fraud-scoring system."""
    from importlib.metadata import version

    typer.echo(version("fraud-scoring"))


def main() -> None:
    """Entry point of the ``fraud`` console script."""
    app()

"""The ``fraud`` command line: one entry point, with each package contributing its own commands.

Each package's ``cli`` module exposes ``register(app)``; heavy imports stay inside the commands so that
``fraud --help`` answers at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from features import cli as features_cli
from ingest import cli as ingest_cli
from lifecycle import cli as lifecycle_cli
from model_engine import cli as model_engine_cli
from monitoring import cli as monitoring_cli
from monitoring.audit import cli as audit_cli

app = typer.Typer(
    name="fraud",
    help="Real-time card-fraud scoring: simulate, ingest, build features, train, compile, serve, monitor.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

for register in (
    ingest_cli.register,
    features_cli.register,
    model_engine_cli.register,
    monitoring_cli.register,
):
    register(app)
# The registry's changes, made through `fraud models` and `fraud train`, are recorded in the audit trail.
lifecycle_cli.register(app, registry_events=audit_cli.registry_event_sink)


#: Where ``fraud demo`` keeps its training runs and model registry (git-ignored).
DEMO_RUN_DIR = Path("var/demo")


@app.command("demo")
def run_demo(
    days: int = typer.Option(28, min=21, help="days of simulated history to train on; the day after is streamed"),
    seed: int = typer.Option(0, help="simulator and training seed"),
    customers: int = typer.Option(2_000, min=10, help="simulated customers (realistic preset)"),
    terminals: int = typer.Option(4_000, min=10, help="simulated terminals"),
    consumers: int = typer.Option(2, min=1, help="members of the consumer group"),
    backend: str = typer.Option("numba", help="engine backend the served model scores on: numba, numpy or triton"),
    run_dir: Annotated[Path, typer.Option(help="folder for the training runs and the model registry")] = DEMO_RUN_DIR,
    keep_broker: bool = typer.Option(False, help="leave a broker this run started running afterwards"),
) -> None:
    """The end-to-end run: broker, history, training and gate, the next day streamed through Kafka and scored."""
    from scoring_api.demo import DemoOptions, main

    if backend not in ("numba", "numpy", "triton"):
        raise typer.BadParameter(f"unknown backend {backend!r}; choose numba, numpy or triton")
    options = DemoOptions(
        days=days,
        seed=seed,
        customers=customers,
        terminals=terminals,
        consumers=consumers,
        backend=backend,  # type: ignore[arg-type]  # checked just above
        run_dir=run_dir,
        keep_broker=keep_broker,
    )
    code = main(options)
    if code:
        raise typer.Exit(code)


@app.command("version")
def show_version() -> None:
    """Print the installed version of the fraud-scoring system."""
    from importlib.metadata import version

    typer.echo(version("fraud-scoring"))


def main() -> None:
    """Entry point of the ``fraud`` console script."""
    app()

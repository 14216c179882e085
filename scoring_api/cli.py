"""The ``fraud`` command line: one entry point, with each package contributing its own commands.

Each package's ``cli`` module exposes ``register(app)``. The root loads a package's commands only when one of
them runs: importing the packages (pandas, numba, pyarrow, great-expectations...) takes seconds, and ``fraud
--help`` lists every command from :data:`COMMANDS` without importing any of them (a test holds the short help
written here to the commands' own). Whatever a command raises is reported in one line with exit status 2 (bad
usage or input) or 1 (failure) by :mod:`scoring_api.command_errors`; ``fraud --debug`` shows the traceback.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.main
from typer.core import TyperCommand

from scoring_api.command_errors import ReportingGroup


def _register_lifecycle(app: typer.Typer) -> None:
    """``fraud train`` and ``fraud models``, whose registry changes are recorded in the audit trail, with
    ``fraud models evidence`` (added to the models group by the audit commands, which come with monitoring's)."""
    from lifecycle import cli as lifecycle_cli
    from lifecycle.registry.cli import models_app
    from monitoring.audit import cli as audit_cli

    lifecycle_cli.register(app, registry_events=audit_cli.registry_event_sink)
    if "evidence" not in {command.name for command in models_app.registered_commands}:
        audit_cli.register(typer.Typer())


def _register_artifact(app: typer.Typer) -> None:
    """``fraud artifact``: the engine's commands on artifact files, and scoring a file of feature rows with one,
    which is the scoring service's (the scores carry the file's ids, which must hold no card number)."""
    from model_engine import cli as model_engine_cli
    from scoring_api.score_file import score_file

    model_engine_cli.register(app)
    if "score" not in {command.name for command in model_engine_cli.artifact_app.registered_commands}:
        model_engine_cli.artifact_app.command("score")(score_file)


def _register_monitoring(app: typer.Typer) -> None:
    """``fraud alerts`` and ``fraud audit``, with ``fraud audit replay`` (added to the audit group by the scoring
    service's recording commands: replaying a decision needs the scorer's decisions)."""
    from monitoring import cli as monitoring_cli
    from monitoring.audit.cli import audit_app
    from scoring_api.recording import cli as recording_cli

    monitoring_cli.register(app)
    recording_cli.register(audit_app)


def _register(module: str) -> Callable[[typer.Typer], None]:
    def register(app: typer.Typer) -> None:
        importlib.import_module(module).register(app)

    return register


#: How each group of commands is added to an application (imported only when one of its commands runs).
LOADERS: dict[str, Callable[[typer.Typer], None]] = {
    "ingest": _register("ingest.cli"),
    "features": _register("features.cli"),
    "model_engine": _register_artifact,
    "lifecycle": _register_lifecycle,
    "monitoring": _register_monitoring,
    "scoring_api": _register("scoring_api.service.cli"),
    "worker": _register("scoring_api.worker.cli"),
}

#: Commands registered by the loaders: name -> (loader, short help).
COMMANDS: dict[str, tuple[str, str]] = {
    "simulate": (
        "ingest",
        "Simulate card transactions with fraud scenarios and late labels; write them to Parquet (--out), produce "
        "them to Kafka (--kafka), or both.",
    ),
    "kafka": ("ingest", "The local single-node Kafka broker (KRaft) under infra/kafka."),
    "validate": (
        "ingest",
        "Validate a batch of transactions against the contract (and a learned reference), or learn one.",
    ),
    "features": ("features", "Feature definitions and the offline feature engine."),
    "train": (
        "lifecycle",
        "Validate, build features, split by time, choose a model on validation folds, calibrate it, compile, "
        "evaluate on the test period, register and gate.",
    ),
    "models": ("lifecycle", "Registered models: versions, lineage, verdicts, aliases."),
    "artifact": ("model_engine", "Compile scikit-learn pipelines into graph artifacts, inspect and run them."),
    "alerts": ("monitoring", "Monitoring alerts: list, show, acknowledge, resolve."),
    "audit": (
        "monitoring",
        "The audit trail: verify it, export it (signed bundles), check a bundle, apply retention.",
    ),
    "serve": (
        "scoring_api",
        "Serve the scoring API (FastAPI on uvicorn, with uvloop and httptools when installed).",
    ),
    "keys": ("scoring_api", "API keys of the scoring service (one role each, stored as hashes)."),
    "worker": (
        "worker",
        "Score the transactions topic exactly once: decisions to scores, bad messages to the dead-letter topic.",
    ),
}


def load_commands(loader: str) -> dict[str, Any]:
    """The commands a loader registers (run on a scratch application)."""
    scratch = typer.Typer()
    LOADERS[loader](scratch)
    return dict(typer.main.get_group(scratch).commands)


class LazyGroup(ReportingGroup):
    """The root group: lists every command at once, imports a package's commands when one of them runs, and
    reports what a command raises in one line (:class:`~scoring_api.command_errors.ReportingGroup`)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *(name for name in super().list_commands(ctx) if name not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in COMMANDS:
            # Listed in the help without importing: a stand-in that carries the short help.
            help_text = COMMANDS[cmd_name][1]
            return TyperCommand(cmd_name, help=help_text, short_help=help_text)
        return command

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name = args[0] if args else None
        if name in COMMANDS and name not in self.commands:
            for loaded, command in load_commands(COMMANDS[name][0]).items():
                self.commands.setdefault(loaded, command)
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="fraud",
    cls=LazyGroup,
    help="Real-time card-fraud scoring: simulate, ingest, build features, train, compile, serve, monitor.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def fraud(
    debug: Annotated[
        bool, typer.Option("--debug", help="let an error through with its traceback instead of one line")
    ] = False,
) -> None:
    """Real-time card-fraud scoring: simulate, ingest, build features, train, compile, serve, monitor."""


#: Where ``fraud demo`` makes its run folders (git-ignored): each run's registry, audit trail, monitoring,
#: service database, data and reports, with the ``env.sh`` that points the ``fraud`` commands at them.
DEMO_RUN_DIR = Path("var/demo")


@app.command("demo")
def run_demo(
    quick: Annotated[bool, typer.Option("--quick", help="the short run: fewer days, a shorter stream")] = False,
    json_path: Annotated[Path | None, typer.Option("--json", help="also write the summary as JSON to FILE")] = None,
    days: Annotated[
        int | None, typer.Option(min=29, help="days of history (default 60, quick 45); the next days are replayed")
    ] = None,
    champion_days: Annotated[
        int | None, typer.Option(min=28, help="days the champion trains on (default 45, quick 38)")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="simulator and training seed (default 4)")] = None,
    customers: Annotated[int, typer.Option(min=10, help="simulated customers (realistic preset)")] = 2_000,
    terminals: Annotated[int, typer.Option(min=10, help="simulated terminals")] = 4_000,
    workers: Annotated[
        int, typer.Option(min=1, max=16, help="stream workers (one gives the offline engine's features)")
    ] = 1,
    backend: Annotated[str, typer.Option(help="engine backend the models score on: numba, numpy or triton")] = "numba",
    run_dir: Annotated[Path, typer.Option(help="folder under which each run makes its own")] = DEMO_RUN_DIR,
    keep_broker: Annotated[bool, typer.Option(help="leave a broker this run started running afterwards")] = False,
    force: Annotated[bool, typer.Option("--force", help="replace the file at --json")] = False,
) -> None:
    """The whole system end to end: history, validation, champion, API and stream, challenger through shadow and
    canary to promotion, drift and alerts, audit trail and evidence; a summary (exit status 2 if a step failed)."""
    from scoring_api.demo import DemoOptions, main

    if backend not in ("numba", "numpy", "triton"):
        raise typer.BadParameter(f"unknown backend {backend!r}; choose numba, numpy or triton")
    options = (DemoOptions.quick_run() if quick else DemoOptions()).with_changes(
        days=days,
        champion_days=champion_days,
        seed=seed,
        customers=customers,
        terminals=terminals,
        workers=workers,
        backend=backend,
        run_dir=run_dir,
        keep_broker=keep_broker,
        json_path=json_path,
    )
    if json_path is not None:
        from ingest.outputs import check_output

        check_output(json_path, force=force)
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

"""``fraud worker``: the exactly-once stream scoring worker (one process, or ``--workers N`` of them)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

WorkersOption = Annotated[int, typer.Option("--workers", min=1, max=256, help="worker processes (one per slot)")]
SlotOption = Annotated[int, typer.Option("--slot", min=0, help="this process's slot (transactional id, state)")]
BatchOption = Annotated[int | None, typer.Option("--max-batch", min=1, help="most transactions per micro-batch")]
PortOption = Annotated[
    int | None, typer.Option("--metrics-port", min=0, help="Prometheus port on 127.0.0.1 (+ slot); 0: off")
]
StateOption = Annotated[Path | None, typer.Option("--state-dir", help="folder of the embedded state snapshots")]
SuiteOption = Annotated[Path | None, typer.Option("--suite", help="a suite saved by `fraud validate` (JSON)")]
GroupOption = Annotated[str | None, typer.Option("--group", help="consumer group (default: scorers)")]
LogOption = Annotated[str, typer.Option("--log-level", help="debug, info, warning or error")]


def worker_command(
    workers: WorkersOption = 1,
    slot: SlotOption = 0,
    max_batch: BatchOption = None,
    metrics_port: PortOption = None,
    state_dir: StateOption = None,
    suite: SuiteOption = None,
    group: GroupOption = None,
    log_level: LogOption = "info",
) -> None:
    """Score the transactions topic exactly once: decisions to scores, bad messages to the dead-letter topic.

    Runs until SIGTERM or SIGINT, which finish the batch in hand, commit it and leave the group.
    """
    from scoring_api.worker.logs import configure_logging

    options: dict[str, Any] = {
        "max_batch": max_batch,
        "metrics_port": metrics_port,
        "state_dir": state_dir.resolve() if state_dir else None,
        "suite_path": suite.resolve() if suite else None,
        "group_id": group,
    }
    if workers > 1:
        from scoring_api.worker.settings import WorkerSettings
        from scoring_api.worker.supervisor import Supervisor

        configure_logging(log_level, worker="supervisor")
        arguments = ["--log-level", log_level]
        for name, value in options.items():
            if value is not None:
                flag = {"suite_path": "--suite", "group_id": "--group"}.get(name, "--" + name.replace("_", "-"))
                arguments += [flag, str(value)]
        timeout = WorkerSettings().shutdown_timeout_s
        raise typer.Exit(Supervisor(workers, arguments, timeout).run())
    _run_one(slot, options, log_level)


def _run_one(slot: int, options: dict[str, Any], log_level: str) -> None:
    from ingest.kafka import FencedError
    from scoring_api.worker.app import WorkerConfig, build_worker, run_worker
    from scoring_api.worker.logs import configure_logging
    from scoring_api.worker.settings import WorkerSettings

    config = WorkerConfig.from_environment()
    settings = WorkerSettings(**{k: v for k, v in options.items() if v is not None})
    config = replace(config, worker=settings)
    configure_logging(log_level, worker=f"{settings.transactional_id_prefix}-{slot}")
    try:
        report = run_worker(build_worker(config, slot))
    except FencedError as exc:  # another process took this slot over: a status of its own, see the supervisor
        typer.echo(f"stopped: {exc}", err=True)
        raise typer.Exit(3) from exc
    typer.echo(
        f"worker {slot}: {report.batches} batches, {report.decided} decisions, {report.dead_letters} dead letters"
    )


def register(app: typer.Typer) -> None:
    """Add ``fraud worker`` to the root application."""
    app.command("worker")(worker_command)


def worker_app() -> None:
    """Entry point of ``python -m scoring_api.worker``: what the command raises is reported as every ``fraud``
    command reports it (one line, exit status 2 for bad input or settings, 1 for a failure)."""
    from scoring_api.command_errors import report

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(worker_command)
    try:
        app()
    except Exception as error:
        raise SystemExit(report(error)) from None

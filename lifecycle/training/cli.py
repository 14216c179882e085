"""``fraud train``: the training pipeline from the command line, with a rich progress display."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lifecycle.registry.cli import ModelStore, RegistryUrl, open_registry

#: Exit status when the run completed but the gate refused the model (2 is taken by usage errors).
REFUSED_EXIT_CODE = 3


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def register(app: typer.Typer) -> None:
    """Add ``fraud train`` to the root application."""
    app.command("train")(train)


def train(
    data: Annotated[list[Path] | None, typer.Option("--data", help="Parquet file or folder (repeatable)")] = None,
    mapping: Annotated[str | None, typer.Option(help="column mapping of the source, e.g. handbook")] = None,
    labels: Annotated[Path | None, typer.Option(help="Parquet label file")] = None,
    kafka_topic: Annotated[str | None, typer.Option(help="replay this Kafka topic instead of reading files")] = None,
    train_days: Annotated[float, typer.Option(help="length of the training period (fit, then calibration)")] = 21.0,
    calibration_days: Annotated[
        float, typer.Option(help="the training period's last days, kept to calibrate the chosen model (0: none)")
    ] = 7.0,
    test_days: Annotated[float, typer.Option(help="length of the test period")] = 7.0,
    label_delay_days: Annotated[float, typer.Option(help="label delay = gap between train and test")] = 7.0,
    families: Annotated[str, typer.Option(help="comma-separated candidate families")] = (
        "logistic_regression,random_forest,hist_gradient_boosting,mlp"
    ),
    fast: Annotated[bool, typer.Option("--fast", help="tiny search, small models (tests, demos)")] = False,
    allow_invalid: Annotated[bool, typer.Option("--allow-invalid", help="train although validation failed")] = False,
    run_dir: Annotated[
        Path | None,
        typer.Option(help="a new folder for the report, plots and artifacts [default: fraud-runs/<UTC time>]"),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="replace a previous run in --run-dir")] = False,
    promote: Annotated[bool, typer.Option("--promote", help="make the model champion if the gate blesses it")] = False,
    alert_rate: Annotated[float, typer.Option(help="the bank's review budget, a share of transactions")] = 0.005,
    gate_thresholds: Annotated[
        Path | None, typer.Option("--gate-thresholds", help="TOML file of the gate's policy (default: the shipped one)")
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed of the models")] = 0,
    registry_url: RegistryUrl = None,
    model_store: ModelStore = None,
) -> None:
    """Validate, build features, split by time, choose a model on validation folds, calibrate it, compile,
    evaluate on the test period, register and gate.

    Each run writes into a folder of its own: a new one under fraud-runs/ by default; an existing --run-dir
    holding a previous run is replaced only with --force.
    """
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from ingest.settings import IngestSettings
    from ingest.sources import attach_labels, read_labels, read_transactions, replay_kafka
    from lifecycle.evaluation import EvaluationConfig
    from lifecycle.registry import GateThresholds
    from lifecycle.settings import LifecycleSettings
    from lifecycle.training.pipeline import (
        TrainingConfig,
        check_run_dir,
        clear_previous_run,
        new_run_dir,
        run_training,
    )

    console = Console()
    if (data is None) == (kafka_topic is None):
        raise typer.BadParameter("give either --data (Parquet) or --kafka-topic (replay)")
    # Options and the run folder are checked before any data is read, so that a mistake costs nothing.
    config = TrainingConfig(
        train_days=train_days,
        calibration_days=calibration_days,
        test_days=test_days,
        label_delay_days=label_delay_days,
        families=tuple(f.strip() for f in families.split(",") if f.strip()),
        fast=fast,
        allow_invalid=allow_invalid,
        seed=seed,
        source=f"kafka:{kafka_topic}" if kafka_topic is not None else "parquet:" + ",".join(map(str, data or [])),
        evaluation=EvaluationConfig(alert_rate=alert_rate),
        actor=LifecycleSettings().actor_name(),
        thresholds=None if gate_thresholds is None else GateThresholds.load(gate_thresholds),
    )
    run_dir = new_run_dir(Path("fraud-runs")) if run_dir is None else run_dir
    if force:
        clear_previous_run(run_dir)
    check_run_dir(run_dir)
    label_frame = read_labels(labels) if labels is not None else None
    if kafka_topic is not None:
        frame = replay_kafka(IngestSettings().kafka_bootstrap_servers, kafka_topic)
    else:
        frame = read_transactions(data or [], mapping)
    if "is_fraud" not in frame.columns:
        if label_frame is None:
            raise typer.BadParameter("the source carries no is_fraud column: pass --labels")
        frame = attach_labels(frame, label_frame)
    registry = open_registry(registry_url, model_store)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("starting", total=None)

        def progress(step: str, message: str) -> None:
            bar.update(task, description=f"[bold]{step}[/]: {message}")
            bar.console.log(f"{step}: {message}")

        result = run_training(frame, registry, run_dir, config, labels=label_frame, progress=progress)
    console.print(f"chosen {result.chosen} ({result.selection.rule})")
    overall = result.report.overall
    calibration = result.version.lineage.calibration
    calibrated = (
        "uncalibrated"
        if calibration is None
        else f"{calibration.method} calibration, ECE {calibration.before.expected_calibration_error:.4f} -> "
        f"{calibration.after.expected_calibration_error:.4f}"
    )
    console.print(
        f"test period, as served ({calibrated}): AUC {_figure(overall.auc_roc)}, "
        f"AP {_figure(overall.average_precision)}, CP@{config.evaluation.k} {_figure(overall.card_precision_at_k)}"
    )
    verdict = "[green]blessed[/]" if result.verdict.blessed else "[red]refused[/]"
    console.print(f"model {result.version.content_id}: {verdict}; report {result.report_path}")
    if not result.verdict.blessed:
        console.print(f"failed checks: {', '.join(result.verdict.failed_checks)}")
        raise typer.Exit(REFUSED_EXIT_CODE)
    if promote:
        registry.promote(
            result.version.content_id, actor=config.actor, reason="fraud train --promote: blessed by the gate"
        )
        console.print("promoted to champion")

"""Running the demo: the steps in order, a spinner while each runs, one table row per step, and a summary."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ingest.settings import IngestSettings
from scoring_api.demo.context import DemoContext, DemoOptions, StepResult
from scoring_api.demo.steps import step_broker, step_place_group, step_produce, step_simulate, step_train
from scoring_api.demo.stream import step_stream
from scoring_api.errors import DemoRefusedError

if TYPE_CHECKING:
    from rich.table import Table

Step = Callable[[DemoContext], StepResult]

#: The steps in order, each with what a spinner says while it runs.
STEPS: tuple[tuple[Step, str], ...] = (
    (step_broker, "starting the Kafka broker and creating the topics"),
    (step_simulate, "simulating the history and the next day"),
    (step_train, "training, evaluating and gating a model on the history"),
    (step_place_group, "placing the worker group at the end of the topic and warming its state on the history"),
    (step_produce, "producing the next day and its labels to Kafka"),
    (step_stream, "the stream worker: validating, building features, scoring, committing exactly once"),
)


def run_demo(
    settings: IngestSettings,
    options: DemoOptions,
    on_step: Callable[[StepResult], None],
    on_start: Callable[[str], None] = lambda message: None,
) -> DemoContext:
    """Run every step in order, reporting each result as it comes; stop a broker this run started, unless kept.

    A model the gate refuses raises :class:`DemoRefusedError` before anything is scored.
    """
    context = DemoContext(settings=settings, options=options)
    try:
        for step, message in STEPS:
            on_start(message)
            result = step(context)
            context.results.append(result)
            on_step(result)
    finally:
        if context.registry is not None:
            context.registry.close()
        if context.started_broker is None:
            context.broker_state = "reused, left running"
        elif options.keep_broker:
            context.broker_state = "kept running (--keep-broker)"
        else:
            stopped = time.perf_counter()
            context.started_broker.stop()
            context.broker_state = f"stopped in {time.perf_counter() - stopped:.1f} s"
    return context


def summary_table(context: DemoContext) -> Table:
    """The figures of the streamed day: counts, speed, latency, ranking quality, review load, the model."""
    from rich.table import Table

    s = context.stream
    table = Table(title="streamed day", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    rows = [
        ("transactions consumed", f"{s.consumed:,}"),
        ("validated / rejected", f"{s.validated:,} / {s.rejected:,}"),
        ("written to the dead-letter topic", f"{s.dead_lettered:,}"),
        ("decisions committed to the scores topic", f"{s.scored:,}"),
        ("unaccounted / decided twice", f"{s.unaccounted} / {s.duplicates}"),
        ("stream throughput", f"{s.consumed / s.seconds if s.seconds else 0.0:,.0f} tx/s"),
        ("micro-batches / median latency", f"{s.batches} / {s.median_batch_latency_ms:.1f} ms"),
        ("frauds (simulated labels)", f"{s.frauds}"),
        ("fraud labels in the features: before / during the day", f"{s.labels_before:,} / {s.labels_during:,}"),
        ("AUC ROC / average precision", f"{s.auc_roc:.4f} / {s.average_precision:.4f}"),
        (
            f"to review (top {100 * context.options.review_rate:g}%, score >= {s.review_threshold:.3f})",
            f"{s.over_threshold} ({s.frauds_over_threshold} frauds)",
        ),
        ("model (content id)", context.content_id),
        ("backend", context.options.backend),
        ("broker", context.broker_state),
    ]
    for what, value in rows:
        table.add_row(what, value)
    return table


def main(options: DemoOptions) -> int:
    """Run the demo with a spinner per step, print one row per step and the summary; the exit code."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="fraud demo")
    table.add_column("step")
    table.add_column("count", justify="right")
    table.add_column("seconds", justify="right")
    table.add_column("per second", justify="right")
    status = console.status("starting")

    def start(message: str) -> None:
        status.update(f"[bold]{message}[/]")

    def report(result: StepResult) -> None:
        console.print(f"[green]done[/green] {result.name}: {result.note}")
        count = f"{result.count:,} {result.unit}".strip()
        rate = "" if result.rate is None else f"{result.rate:,.0f}"
        table.add_row(result.name, count, f"{result.seconds:.2f}", rate)

    with status:
        try:
            context = run_demo(IngestSettings(), options, report, start)
        except DemoRefusedError as refused:
            console.print(f"[red]not served:[/red] {refused}")
            return 2
    console.print(table)
    console.print(summary_table(context))
    return 0

"""Running the demo: the steps in order, a spinner while each runs, a line per finished step, and a summary;
everything the run started (the service, the broker) is stopped at the end, on an error or on Ctrl-C."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from ingest.settings import IngestSettings
from scoring_api.demo.audit import step_audit
from scoring_api.demo.context import DemoContext, DemoOptions, StepResult
from scoring_api.demo.drift import step_drift
from scoring_api.demo.rollout import step_rollout
from scoring_api.demo.steps import step_broker, step_place_group, step_simulate
from scoring_api.demo.summary import print_summary, summary
from scoring_api.demo.traffic import step_serve, step_stream_and_api
from scoring_api.demo.training import step_challenger, step_champion
from scoring_api.demo.validation import step_validate
from scoring_api.demo.workspace import DemoWorkspace
from scoring_api.errors import DemoError

Step = Callable[[DemoContext], StepResult | list[StepResult]]

#: The steps in order, each with what a spinner says while it runs.
STEPS: tuple[tuple[Step, str], ...] = (
    (step_broker, "starting the Kafka broker and creating the topics"),
    (step_simulate, "simulating the history, the next day and the day after"),
    (step_validate, "validating the history with fraud validate"),
    (step_champion, "training, evaluating and gating the champion on the older history"),
    (step_serve, "warming the feature state and starting fraud serve"),
    (step_place_group, "placing the worker group at the end of the topic and warming its state on the history"),
    (step_stream_and_api, "streaming the next day through Kafka while the online channel calls the API"),
    (step_challenger, "training a challenger on the whole history and gating it against the champion"),
    (step_rollout, "shadow, then canary, then promotion of the challenger through the deployments API"),
    (step_drift, "injecting a drift (a new fraud pattern, a broken feature) and watching the alerts"),
    (step_audit, "verifying and exporting the audit trail and the champion's evidence"),
)


def new_context(settings: IngestSettings, options: DemoOptions) -> DemoContext:
    """A context for one run, with a new run folder under ``options.run_dir``."""
    return DemoContext(settings=settings, options=options, workspace=DemoWorkspace.create(options.run_dir))


def run_demo(
    settings: IngestSettings,
    options: DemoOptions,
    on_step: Callable[[StepResult], None],
    on_start: Callable[[str], None] = lambda message: None,
    *,
    context: DemoContext | None = None,
    interrupted: Callable[[], KeyboardInterrupt | None] = lambda: None,
) -> DemoContext:
    """Run every step in order, reporting each result as it comes; then stop what the run started.

    A step that cannot complete raises :class:`DemoError` (a model the gate refuses,
    :class:`~scoring_api.errors.DemoRefusedError`, before anything is served with it); ``context``, when
    given, then holds what the steps before it did. ``interrupted`` is asked before each step: a stop requested
    while a step ran, whose ``KeyboardInterrupt`` that step's code swallowed, stops the run there.
    """
    context = context or new_context(settings, options)
    try:
        for step, message in STEPS:
            if (stop := interrupted()) is not None:
                raise stop
            on_start(message)
            results = step(context)
            for result in results if isinstance(results, list) else [results]:
                context.results.append(result)
                on_step(result)
    finally:
        on_start("stopping what the demo started")
        stop_everything(context)
    return context


def stop_everything(context: DemoContext) -> None:
    """Stop the service and a broker the run started (unless kept); close the registry."""
    if context.service is not None:
        code = context.service.stop()
        context.service_state = (
            f"stopped ({f'signal {-code}' if code is not None and code < 0 else f'exit status {code}'})"
        )
    if context.registry is not None:
        context.registry.close()
    if context.started_broker is None:
        context.broker_state = "reused, left running" if context.bootstrap_servers else "not started"
    elif context.options.keep_broker:
        context.broker_state = "kept running (--keep-broker)"
    else:
        stopped = time.perf_counter()
        context.started_broker.stop()
        context.broker_state = f"stopped in {time.perf_counter() - stopped:.1f} s"


def main(options: DemoOptions) -> int:
    """Run the demo with a spinner per step and a line per finished step, print the summary (and write it as
    JSON with ``options.json_path``); the exit code: 0 done, 2 a step refused or failed, 130 interrupted."""
    from rich.console import Console

    console = Console()
    status = console.status("starting")
    started = time.perf_counter()

    def start(message: str) -> None:
        status.update(f"[bold]{message}[/] ({time.perf_counter() - started:.0f} s)")

    def report(result: StepResult) -> None:
        rate = "" if result.rate is None else f", {result.rate:,.0f}/s"
        console.print(f"[green]done[/green] [bold]{result.name}[/bold] ({result.seconds:.1f} s{rate}): {result.note}")

    error: BaseException | None = None
    # SIGTERM (a supervisor, a CI timeout) stops the run as Ctrl-C does: everything it started is stopped. The
    # signal is also remembered: a KeyboardInterrupt raised where Python ignores exceptions (a finaliser that runs
    # in the main thread at that moment, "Exception ignored in ...") still stops the run before its next step.
    received: list[int] = []

    def interrupt(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        raise KeyboardInterrupt(f"signal {signum}")

    def interrupted() -> KeyboardInterrupt | None:
        return KeyboardInterrupt(f"signal {received[0]}") if received else None

    previous = {signum: signal.signal(signum, interrupt) for signum in (signal.SIGTERM, signal.SIGINT)}
    context = new_context(IngestSettings(), options)
    console.print(f"run folder: {context.workspace.root}")
    with status:
        try:
            run_demo(context.settings, options, report, start, context=context, interrupted=interrupted)
        except DemoError as refused:
            error = refused
            console.print(f"[red]stopped:[/red] {refused}")
        except KeyboardInterrupt as stopped:
            error = stopped
            console.print("[yellow]interrupted[/yellow]: the service and the broker the demo started are stopped")
        except Exception as unexpected:  # reported by the fraud command's error path, after the summary
            error = unexpected
    for signum, handler in previous.items():
        signal.signal(signum, handler)
    if error is None and received:  # interrupted during the last step, which swallowed it
        error = interrupted()
        console.print("[yellow]interrupted[/yellow]: the service and the broker the demo started are stopped")
    print_summary(console, context, error)
    if options.json_path is not None:
        write_json(options.json_path, summary(context, time.perf_counter() - started, error))
    if isinstance(error, KeyboardInterrupt):
        return 130
    if error is not None and not isinstance(error, DemoError):
        raise error
    return 0 if error is None else 2


def write_json(path: Path, document: dict[str, object]) -> None:
    """The summary to ``path``, in one step (the command checked the path before the run)."""
    from ingest.outputs import atomic_output

    with atomic_output(path) as partial:
        partial.write_text(json.dumps(document, indent=2, default=str) + "\n")

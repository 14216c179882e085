"""The demo's run loop: a stop requested while a step ran stops the run before the next step, even when that step's
code swallowed the ``KeyboardInterrupt`` (as Python does when the signal lands in a finaliser), and what the run
started is stopped either way."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.settings import IngestSettings
from scoring_api.demo import run
from scoring_api.demo.context import DemoContext, DemoOptions, StepResult


def test_a_swallowed_interrupt_stops_the_run_before_the_next_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []
    received: list[int] = []

    def swallowing(context: DemoContext) -> StepResult:
        ran.append("first")
        try:
            raise KeyboardInterrupt("signal 2")  # what the signal handler raised inside this step
        except KeyboardInterrupt:
            received.append(2)  # the handler had remembered it; the step's code lost the exception
        return StepResult("first", 1, 0.0, "done")

    def second(context: DemoContext) -> StepResult:
        ran.append("second")
        return StepResult("second", 1, 0.0, "done")

    stopped: list[DemoContext] = []
    monkeypatch.setattr(run, "STEPS", ((swallowing, "first"), (second, "second")))
    monkeypatch.setattr(run, "stop_everything", stopped.append)
    options = DemoOptions(run_dir=tmp_path / "runs")
    reported: list[str] = []

    with pytest.raises(KeyboardInterrupt, match="signal 2"):
        run.run_demo(
            IngestSettings(),
            options,
            lambda result: reported.append(result.name),
            interrupted=lambda: KeyboardInterrupt(f"signal {received[0]}") if received else None,
        )
    assert ran == ["first"]
    assert reported == ["first"]
    assert len(stopped) == 1, "what the run started is stopped"


def test_without_a_stop_every_step_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []

    def step(name: str) -> run.Step:
        def call(context: DemoContext) -> StepResult:
            ran.append(name)
            return StepResult(name, 1, 0.0, "done")

        return call

    monkeypatch.setattr(run, "STEPS", tuple((step(name), name) for name in ("a", "b", "c")))
    monkeypatch.setattr(run, "stop_everything", lambda context: None)
    context = run.run_demo(IngestSettings(), DemoOptions(run_dir=tmp_path / "runs"), lambda result: None)
    assert ran == ["a", "b", "c"]
    assert [r.name for r in context.results] == ["a", "b", "c"]

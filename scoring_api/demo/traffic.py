"""The demo's API side: the service started on the run's stores with its feature state warmed on the history,
and a bank's online channel calling it with the typed client (:class:`scoring_api.client.ScoringClient`) while
the stream is scored.

The service's online features start from a snapshot of the state the history built (cards, customers,
terminals, and the fraud labels reported before the next day), the same warm-up the stream gets.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from scoring_api.demo.context import DemoContext, StepResult
from scoring_api.demo.figures import ApiFigures
from scoring_api.demo.service import ServiceProcess, create_keys
from scoring_api.demo.workspace import DEMO_ACTOR
from scoring_api.errors import DemoError

if TYPE_CHECKING:
    import pandas as pd

    from scoring_api.client import ScoringClient

T = TypeVar("T")

#: Settings of the demo's service beyond the run's stores: follow changes quickly, and canary guardrails that
#: judge the canary on a demo's traffic - a few hundred transactions, on a shared machine (p99 latency), between
#: two models each calibrated on its own week, whose stepwise calibrated scores differ more in Kolmogorov-Smirnov
#: distance on so few rows than the production default allows (0.48 measured on the quick run).
SERVICE_SETTINGS = {
    "FRAUD_SCORING_WATCH_INTERVAL_S": "0.5",
    "FRAUD_SCORING_CANARY_MIN_ROWS": "100",
    "FRAUD_SCORING_CANARY_MAX_P99_MS": "1000",
    "FRAUD_SCORING_CANARY_MAX_SCORE_SHIFT": "0.7",
}


def step_serve(context: DemoContext) -> StepResult:
    """Warm the feature state on the history, create a key per role, and start ``fraud serve``."""
    from features import InMemoryStateStore
    from scoring_api.demo.stream import warm_engine

    workspace = context.workspace
    start = time.perf_counter()
    engine, _ = warm_engine(context)
    store = engine.store
    assert isinstance(store, InMemoryStateStore), "the demo's engine holds the embedded state"
    environment = workspace.environment()
    store.snapshot(workspace.state_snapshot, engine.feature_set.version)
    workspace.write_env_file()
    context.api_keys = create_keys(workspace.service_database_url, DEMO_ACTOR)
    context.service = ServiceProcess.start(
        {**environment, **SERVICE_SETTINGS},
        workspace.path("logs", "serve.log"),
        backend=context.options.backend,
    )
    note = (
        f"fraud serve on {context.service.url} (pid {context.service.process.pid}), feature state warmed on the "
        f"history; keys for {', '.join(context.api_keys)}; stores in {workspace.root}"
    )
    return StepResult("serve", len(context.api_keys), time.perf_counter() - start, note, "API keys")


def client(context: DemoContext, role: str) -> ScoringClient:
    """A typed client of the demo's service with the key of ``role``."""
    from scoring_api.client import ScoringClient

    assert context.service is not None, "the serve step runs first"
    return ScoringClient(context.service.url, context.api_keys[role], timeout_s=60.0)


def api_payloads(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The contract's fields of each row as the API takes them (times in ISO 8601, UTC)."""
    from ingest.contract import TRANSACTION_COLUMNS

    columns = [c for c in TRANSACTION_COLUMNS if c in frame.columns]
    rows = frame[columns].copy()
    rows["timestamp"] = rows["timestamp"].map(lambda t: t.isoformat())
    return [{str(name): value for name, value in record.items()} for record in rows.to_dict(orient="records")]


def send(scorer: ScoringClient, frame: pd.DataFrame, batch: int) -> ApiFigures:
    """Score ``frame`` through the API in time order, ``batch`` transactions per call; the figures."""
    from scoring_api.service.schemas import DecisionOut

    figures = ApiFigures()
    latencies: list[float] = []
    payloads = api_payloads(frame.sort_values("timestamp", kind="mergesort"))
    start = time.perf_counter()
    for first in range(0, len(payloads), batch):
        chunk = payloads[first : first + batch]
        called = time.perf_counter()
        if batch == 1:
            answers: list[DecisionOut | None] = [scorer.score(chunk[0])]
        else:
            answers = [item.decision for item in scorer.score_batch(chunk).items]
        latencies.append(1000 * (time.perf_counter() - called))
        figures.calls += 1
        figures.sent += len(chunk)
        for answer in answers:
            if answer is None:
                figures.rejected += 1
                continue
            figures.decided += 1
            figures.outcomes[answer.decision] = figures.outcomes.get(answer.decision, 0) + 1
            figures.roles[answer.model_role] = figures.roles.get(answer.model_role, 0) + 1
            figures.transaction_ids.append(answer.transaction_id)
    figures.seconds = time.perf_counter() - start
    if latencies:
        figures.median_call_ms = statistics.median(latencies)
        figures.p99_call_ms = sorted(latencies)[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    return figures


def api_phase(context: DemoContext, phase: int, of: int) -> pd.DataFrame:
    """The ``phase``-th of ``of`` consecutive parts (by time) of the API's transactions."""
    assert context.api_day is not None, "the simulate step runs first"
    day = context.api_day.sort_values("timestamp", kind="mergesort").reset_index(drop=True)
    size = -(-len(day) // of)
    return day.iloc[phase * size : (phase + 1) * size]


class Background(Generic[T]):
    """A function run on a thread; its result or its error taken with :meth:`result`."""

    def __init__(self, function: Callable[[], T]) -> None:
        self._function = function
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._function()
        except BaseException as error:
            self._error = error

    def result(self, timeout_s: float) -> T:
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise DemoError(f"{self._function} did not finish in {timeout_s:.0f} s")
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value


def step_stream_and_api(context: DemoContext) -> list[StepResult]:
    """Replay the next day into Kafka at a steady rate while the stream worker scores it and the online channel calls
    the API with its first part of the day."""
    from scoring_api.demo.steps import step_produce
    from scoring_api.demo.stream import step_stream

    assert context.stream_day is not None, "the simulate step runs first"
    options = context.options
    scorer = client(context, "scorer")
    try:
        calls = Background(lambda: send(scorer, api_phase(context, 0, 3), options.api_batch))
        # What the producer is about to send, so that the stream knows when it has seen everything.
        context.produced = len(context.stream_day) + options.malformed
        producing = Background(lambda: step_produce(context))
        streamed = step_stream(context)
        produced = producing.result(options.timeout_s)
        figures = calls.result(options.timeout_s)
    finally:
        scorer.close()
    context.api.add(figures)
    checked = read_back(context, figures.transaction_ids[:: max(1, len(figures.transaction_ids) // 20)])
    rate = figures.decided / figures.seconds if figures.seconds else 0.0
    note = (
        f"{figures.decided:,} decided, {figures.rejected} rejected in {figures.calls} calls of up to "
        f"{options.api_batch}: {rate:,.0f} tx/s, call latency median {figures.median_call_ms:.1f} ms, "
        f"p99 {figures.p99_call_ms:.1f} ms; {checked} decisions read back by id with the analyst's key"
    )
    api = StepResult("API (typed client)", figures.sent, figures.seconds, note, "transactions")
    return [produced, streamed, api]


def read_back(context: DemoContext, transaction_ids: list[str]) -> int:
    """Read decisions back by transaction id with the analyst's key; how many were found."""
    with client(context, "analyst") as analyst:
        found = sum(analyst.decision(tid).transaction_id == tid for tid in transaction_ids)
    context.api.read_back += found
    return found

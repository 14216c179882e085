"""``fraud demo``: the end-to-end run, as a sequence of steps that each report a count, a time and a rate.

Today's steps: make sure the local Kafka broker runs and the topics exist, simulate a day of transactions
(the handbook preset), produce them to the ``transactions`` topic, and consume them back with a consumer group
of several members (manual commits after each micro-batch). Later steps (features, scoring, monitoring) are
added to :func:`run_demo` in order.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ingest.kafka import (
    BrokerConfig,
    LocalKafkaBroker,
    TransactionConsumer,
    TransactionProducer,
    ensure_topics,
    start_group_at_end,
    system_topics,
)
from ingest.settings import IngestSettings

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class StepResult:
    """What one step did: how many items, in how long, and a short note."""

    name: str
    count: int
    seconds: float
    note: str = ""
    #: What ``count`` counts; only steps that move transactions report a rate.
    unit: str = ""

    @property
    def rate(self) -> float | None:
        return self.count / self.seconds if self.unit == "transactions" and self.seconds > 0 else None


@dataclass
class DemoOptions:
    days: int = 1
    seed: int = 0
    consumers: int = 2
    keep_broker: bool = False
    timeout_s: float = 300.0


@dataclass
class DemoContext:
    """What the steps hand each other."""

    settings: IngestSettings
    options: DemoOptions
    bootstrap_servers: str = ""
    group_id: str = ""
    started_broker: LocalKafkaBroker | None = None
    transactions: pd.DataFrame | None = None
    results: list[StepResult] = field(default_factory=list)


Step = Callable[[DemoContext], StepResult]


def step_broker(context: DemoContext) -> StepResult:
    start = time.perf_counter()
    broker = LocalKafkaBroker(BrokerConfig.from_settings(context.settings))
    running = broker.status()
    state = running if running is not None else broker.start()
    if running is None:
        context.started_broker = broker
    context.bootstrap_servers = state.bootstrap_servers
    created = ensure_topics(state.bootstrap_servers, system_topics(context.settings))
    note = f"{'reused' if running else 'started'} {state.bootstrap_servers}; topics created: {created or 'none'}"
    return StepResult("broker and topics", len(created), time.perf_counter() - start, note, "topics created")


def step_simulate(context: DemoContext) -> StepResult:
    from ingest.simulator import SimulatorConfig, simulate

    start = time.perf_counter()
    config = SimulatorConfig.preset("handbook", days=context.options.days, seed=context.options.seed)
    transactions = simulate(config).transactions
    context.transactions = transactions
    frauds = int(transactions["is_fraud"].sum()) if "is_fraud" in transactions else 0
    note = f"handbook preset, {context.options.days} day(s), seed {context.options.seed}, {frauds} fraudulent"
    return StepResult("simulate", len(transactions), time.perf_counter() - start, note, "transactions")


def step_produce(context: DemoContext) -> StepResult:
    assert context.transactions is not None, "the simulate step runs first"
    topic = context.settings.topic_transactions
    start = time.perf_counter()
    with TransactionProducer(context.bootstrap_servers, topic, client_id="fraud-demo") as producer:
        sent = producer.send_frame(context.transactions)
        producer.flush()
    note = f"to {topic!r}, keyed by card token"
    return StepResult("produce", sent, time.perf_counter() - start, note, "transactions")


def step_consume(context: DemoContext) -> StepResult:
    assert context.transactions is not None, "the simulate step runs first"
    expected = len(context.transactions)
    topic = context.settings.topic_transactions
    group = context.group_id
    members = [_Member(TransactionConsumer(context.bootstrap_servers, group, [topic], client_id=f"fraud-demo-{i}"))
               for i in range(context.options.consumers)]  # fmt: skip
    start = time.perf_counter()
    for member in members:
        member.start()
    deadline = start + context.options.timeout_s
    try:
        while sum(m.processed + m.rejected for m in members) < expected:
            for member in members:
                if member.error is not None:
                    raise member.error
            if time.perf_counter() > deadline:
                raise TimeoutError(f"consumed {sum(m.processed for m in members)} of {expected} in time")
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
    finally:
        for member in members:
            member.stop.set()
        for member in members:
            member.join(timeout=30)
    received = {tid for m in members for tid in m.ids}
    missing = expected - len(received & set(context.transactions["transaction_id"]))
    note = (
        f"group {group!r}: {' + '.join(str(m.processed) for m in members)} by {len(members)} members, "
        f"{sum(m.rejected for m in members)} rejected, {missing} missing"
    )
    return StepResult("consume", sum(m.processed for m in members), elapsed, note, "transactions")


class _Member(threading.Thread):
    """One group member: poll a micro-batch, process it (collect its ids), commit, repeat."""

    def __init__(self, consumer: TransactionConsumer) -> None:
        super().__init__(daemon=True)
        self.consumer = consumer
        self.ids: list[str] = []
        self.processed = 0
        self.rejected = 0
        self.error: BaseException | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                batch = self.consumer.poll_batch(timeout_s=0.2)
                if batch is None:
                    continue
                self.ids.extend(batch.frame["transaction_id"].tolist())
                self.processed += len(batch.frame)
                self.rejected += len(batch.rejected)
                self.consumer.commit(batch)
        except BaseException as exc:
            self.error = exc
        finally:
            self.consumer.close()


def _place_group(context: DemoContext) -> StepResult:
    start = time.perf_counter()
    context.group_id = f"fraud-demo-{uuid.uuid4().hex[:8]}"
    offsets = start_group_at_end(context.bootstrap_servers, context.group_id, [context.settings.topic_transactions])
    note = f"{context.group_id!r} placed at the end of the topic"
    return StepResult("consumer group", len(offsets), time.perf_counter() - start, note, "partitions")


STEPS: tuple[Step, ...] = (step_broker, step_simulate, _place_group, step_produce, step_consume)


def run_demo(settings: IngestSettings, options: DemoOptions, on_step: Callable[[StepResult], None]) -> DemoContext:
    """Run every step in order, reporting each result as it comes; stop a broker this run started, unless kept."""
    context = DemoContext(settings=settings, options=options)
    try:
        for step in STEPS:
            result = step(context)
            context.results.append(result)
            on_step(result)
    finally:
        if context.started_broker is not None and not options.keep_broker:
            context.started_broker.stop()
    return context


def main(options: DemoOptions) -> None:
    """Run the demo and print one table row per step."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="fraud demo")
    table.add_column("step")
    table.add_column("count", justify="right")
    table.add_column("seconds", justify="right")
    table.add_column("per second", justify="right")

    def report(result: StepResult) -> None:
        console.print(f"[green]done[/green] {result.name}: {result.note}")
        count = f"{result.count:,} {result.unit}".strip()
        rate = "" if result.rate is None else f"{result.rate:,.0f}"
        table.add_row(result.name, count, f"{result.seconds:.2f}", rate)

    run_demo(IngestSettings(), options, report)
    console.print(table)

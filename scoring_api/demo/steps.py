"""The demo's set-up steps: broker and topics, simulated history and next day, training, group, produce."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from ingest.kafka import (
    BrokerConfig,
    LocalKafkaBroker,
    TransactionProducer,
    encode_frame,
    ensure_topics,
    send_raw,
    start_group_at_end,
    system_topics,
)
from scoring_api.demo.context import DemoContext, StepResult
from scoring_api.errors import DemoRefusedError

if TYPE_CHECKING:
    import pandas as pd

#: The training split inside the history: the last week is the test period, the week before it the label gap.
TEST_DAYS = 7
LABEL_DELAY_DAYS = 7
MIN_TRAIN_DAYS = 7
#: The training period's last days kept to calibrate the model: none here. Two weeks of training history are too
#: few to spare a slice (on the demo's data, keeping 4 days costs the forest AUC 0.835 -> 0.772), and the unweighted
#: forest's scores are already probabilities (ECE 0.006): the gate's calibration check holds it to that.
CALIBRATION_DAYS = 0


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
    """History and the streamed day in one simulation, so the next day continues the same population."""
    from ingest.simulator import SimulatorConfig, simulate

    options = context.options
    if options.days < MIN_TRAIN_DAYS + LABEL_DELAY_DAYS + TEST_DAYS:
        raise ValueError(f"--days must be at least {MIN_TRAIN_DAYS + LABEL_DELAY_DAYS + TEST_DAYS} (train, gap, test)")
    start = time.perf_counter()
    config = SimulatorConfig.preset(
        "realistic",
        days=options.days + 1,
        seed=options.seed,
        n_customers=options.customers,
        n_terminals=options.terminals,
    )
    data = simulate(config)
    cut = config.start + timedelta(days=options.days)
    history_mask = data.transactions["timestamp"] < cut
    context.history = data.transactions.loc[history_mask].reset_index(drop=True)
    context.stream_day = data.transactions.loc[~history_mask].reset_index(drop=True)
    context.labels = data.labels.sort_values("reported_at", kind="mergesort").reset_index(drop=True)
    context.history_labels = data.labels.loc[data.labels["transaction_id"].isin(context.history["transaction_id"])]
    frauds = int(context.history["is_fraud"].sum())
    note = (
        f"realistic preset, {options.customers:,} customers / {options.terminals:,} terminals, seed {options.seed}: "
        f"{len(context.history):,} history rows over {options.days} days ({frauds} frauds), "
        f"{len(context.stream_day):,} rows on the next day to stream"
    )
    return StepResult("simulate", len(data.transactions), time.perf_counter() - start, note, "transactions")


def step_train(context: DemoContext) -> StepResult:
    """Train on the history (fast search, random forest), gate it, and promote it to champion when blessed."""
    from lifecycle.registry import GateThresholds, ModelRegistry
    from lifecycle.settings import LifecycleSettings
    from lifecycle.training import TrainingConfig, run_training

    assert context.history is not None, "the simulate step runs first"
    options = context.options
    root = options.run_dir.resolve() / f"run-{uuid.uuid4().hex[:8]}"
    root.mkdir(parents=True, exist_ok=True)
    key = LifecycleSettings().model_signing_key
    registry = ModelRegistry(f"sqlite:///{root}/registry.sqlite", root / "models", signing_key=key)
    context.registry = registry
    config = TrainingConfig(
        train_days=float(options.days - LABEL_DELAY_DAYS - TEST_DAYS),
        calibration_days=float(CALIBRATION_DAYS),
        test_days=float(TEST_DAYS),
        label_delay_days=float(LABEL_DELAY_DAYS),
        families=("random_forest",),
        fast=True,
        seed=options.seed,
        source="simulator:realistic",
        thresholds=None if options.gate_thresholds is None else GateThresholds.load(options.gate_thresholds),
    )
    start = time.perf_counter()
    result = run_training(context.history, registry, root / "training", config, labels=context.history_labels)
    elapsed = time.perf_counter() - start
    context.training = result
    overall = result.report.overall
    verdict = result.verdict
    if not verdict.blessed:
        raise DemoRefusedError(
            f"the gate refused model {result.version.content_id} ({result.chosen}); failed checks: "
            f"{', '.join(verdict.failed_checks) or 'none recorded'}; see {result.report_path}. Nothing is served."
        )
    registry.promote(result.version.content_id)
    context.content_id = result.version.content_id
    note = (
        f"{result.chosen} {result.version.content_id[:12]}: test AUC {overall.auc_roc or 0.0:.3f}, "
        f"AP {overall.average_precision or 0.0:.3f}; blessed by the gate, promoted to champion; run folder {root}"
    )
    return StepResult("train and gate", len(context.history), elapsed, note, "transactions")


def step_place_group(context: DemoContext) -> StepResult:
    """A fresh worker group at the end of the topics, its feature state warmed on the history (see stream)."""
    from scoring_api.demo.stream import warm_state

    start = time.perf_counter()
    context.group_id = f"fraud-demo-{uuid.uuid4().hex[:8]}"
    offsets = start_group_at_end(context.bootstrap_servers, context.group_id, [context.settings.topic_transactions])
    context.stream.labels_before = warm_state(context, offsets)
    note = (
        f"{context.group_id!r} placed at the end of the topic; its state warmed on the history, with the "
        f"{context.stream.labels_before:,} fraud labels reported before the day"
    )
    return StepResult("consumer group", len(offsets), time.perf_counter() - start, note, "partitions")


def step_produce(context: DemoContext) -> StepResult:
    """The next day to ``transactions`` (keyed by card token), malformed messages among it, and the labels
    reported during the day to ``labels``."""
    assert context.stream_day is not None, "the simulate step runs first"
    assert context.labels is not None
    topic = context.settings.topic_transactions
    start = time.perf_counter()
    with TransactionProducer(context.bootstrap_servers, topic, client_id="fraud-demo") as producer:
        sent = producer.send_frame(context.stream_day)
        producer.flush()
    malformed = malformed_messages(context.stream_day, context.options.malformed)
    if malformed:
        send_raw(context.bootstrap_servers, topic, malformed)
    day_start = context.stream_day["timestamp"].min().normalize()
    reported = context.labels["reported_at"]
    during = context.labels[(reported >= day_start) & (reported < day_start + timedelta(days=1))]
    with TransactionProducer(context.bootstrap_servers, context.settings.topic_labels, client_id="fraud-demo") as feed:
        feed.send_labels(during)
        feed.flush()
    context.produced = sent + len(malformed)
    context.labels_produced = len(during)
    note = (
        f"the next day to {topic!r}, keyed by card token, {len(malformed)} malformed messages, and the "
        f"{len(during):,} labels reported during the day to {context.settings.topic_labels!r}"
    )
    return StepResult("produce", context.produced, time.perf_counter() - start, note, "transactions")


def malformed_messages(day: pd.DataFrame, count: int) -> list[tuple[bytes, bytes]]:
    """``count`` (key, value) messages that break the contract in turn: not JSON, a negative amount, no card."""
    import orjson

    keys, values = encode_frame(day.head(max(count, 1)))
    out: list[tuple[bytes, bytes]] = []
    for i in range(count):
        record = orjson.loads(values[i % len(values)])
        record["transaction_id"] = f"malformed-{i}"
        kind = i % 3
        if kind == 0:
            value = b'{"transaction_id": "malformed-' + str(i).encode() + b'", "amount": '
        elif kind == 1:
            value = orjson.dumps({**record, "amount": -abs(float(record["amount"])) - 1.0})
        else:
            value = orjson.dumps({k: v for k, v in record.items() if k != "card_token"})
        out.append((keys[i % len(keys)], value))
    return out

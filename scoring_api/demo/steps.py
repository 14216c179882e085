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
from scoring_api.demo.context import DemoContext, DemoOptions, StepResult
from scoring_api.demo.training import MIN_HISTORY_DAYS

if TYPE_CHECKING:
    import pandas as pd

    from ingest.simulator import SimulatorConfig


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


def simulator_config(options: DemoOptions, days: int) -> SimulatorConfig:
    """The demo's simulated history of ``days`` days: the realistic preset with the options' seed and population."""
    from ingest.simulator import SimulatorConfig

    return SimulatorConfig.preset(
        "realistic", days=days, seed=options.seed, n_customers=options.customers, n_terminals=options.terminals
    )


def step_simulate(context: DemoContext) -> StepResult:
    """The history, the next day and the day after in one simulation, so that they continue one population.

    The next day is split by card: the bank's online channel sends ``api_share`` of the cards to the API, the
    rest stream through Kafka. The day after is kept for the drift step.
    """
    from ingest.simulator import simulate

    options = context.options
    if options.days < MIN_HISTORY_DAYS or not MIN_HISTORY_DAYS <= options.champion_days < options.days:
        raise ValueError(
            f"--days must be at least {MIN_HISTORY_DAYS} (fit, calibration, gap, test) and the champion's days between "
            f"{MIN_HISTORY_DAYS} and --days - 1"
        )
    start = time.perf_counter()
    config = simulator_config(options, options.days + 2)
    data = simulate(config)
    transactions = data.transactions
    next_day = config.start + timedelta(days=options.days)
    day_after = next_day + timedelta(days=1)
    context.history = transactions.loc[transactions["timestamp"] < next_day].reset_index(drop=True)
    day = transactions.loc[(transactions["timestamp"] >= next_day) & (transactions["timestamp"] < day_after)]
    through_api = api_cards(day["card_token"], options.api_share)
    context.stream_day = day.loc[~through_api].reset_index(drop=True)
    context.api_day = day.loc[through_api].reset_index(drop=True)
    context.drift_day = transactions.loc[transactions["timestamp"] >= day_after].reset_index(drop=True)
    context.labels = data.labels.sort_values("reported_at", kind="mergesort").reset_index(drop=True)
    context.history_labels = data.labels.loc[data.labels["transaction_id"].isin(context.history["transaction_id"])]
    frauds = int(context.history["is_fraud"].sum())
    note = (
        f"realistic preset, {options.customers:,} customers / {options.terminals:,} terminals, seed {options.seed}: "
        f"{len(context.history):,} history rows over {options.days} days ({frauds} frauds, labels reported late); "
        f"the next day: {len(context.stream_day):,} rows to stream, {len(context.api_day):,} for the API; "
        f"{len(context.drift_day):,} rows on the day after"
    )
    return StepResult("simulate", len(transactions), time.perf_counter() - start, note, "transactions")


def api_cards(cards: pd.Series, share: float) -> pd.Series:
    """Whether each card's transactions go to the API: a fixed share of the cards, chosen by a hash of the token."""
    import pandas as pd

    buckets = pd.util.hash_pandas_object(cards.astype(str), index=False).to_numpy() % 10_000
    return pd.Series(buckets < round(share * 10_000), index=cards.index)


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
    """The labels reported during the next day to ``labels`` (each waits in the workers until the stream reaches
    its report time), then the day to ``transactions`` at a steady rate (``replay_rate``, keyed by card token),
    then malformed messages."""
    from ingest.simulator.stream import send_at_rate

    assert context.stream_day is not None, "the simulate step runs first"
    assert context.labels is not None
    topic = context.settings.topic_transactions
    start = time.perf_counter()
    day_start = context.stream_day["timestamp"].min().normalize()
    reported = context.labels["reported_at"]
    during = context.labels[(reported >= day_start) & (reported < day_start + timedelta(days=1))]
    with TransactionProducer(context.bootstrap_servers, context.settings.topic_labels, client_id="fraud-demo") as feed:
        feed.send_labels(during)
        feed.flush()
    with TransactionProducer(context.bootstrap_servers, topic, client_id="fraud-demo") as producer:
        sent = send_at_rate(context.stream_day, producer.send_frame, context.options.replay_rate).sent
        producer.flush()
    malformed = malformed_messages(context.stream_day, context.options.malformed)
    if malformed:
        send_raw(context.bootstrap_servers, topic, malformed)
    context.produced = sent + len(malformed)
    context.labels_produced = len(during)
    note = (
        f"the next day to {topic!r} at {context.options.replay_rate:,.0f} a second, keyed by card token, "
        f"{len(malformed)} malformed messages, and the {len(during):,} labels reported during the day to "
        f"{context.settings.topic_labels!r}"
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

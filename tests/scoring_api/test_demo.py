"""`fraud demo` end to end against the real broker: history, training and gate, the next day streamed and scored."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from ingest.kafka import BrokerState
from ingest.settings import IngestSettings
from scoring_api.demo import DemoOptions, StepResult, run_demo

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _settings(kafka_broker: BrokerState) -> IngestSettings:
    suffix = uuid.uuid4().hex[:8]
    return IngestSettings(
        kafka_run_dir=Path(kafka_broker.run_dir),
        kafka_port=kafka_broker.port,
        kafka_controller_port=kafka_broker.controller_port,
        topic_transactions=f"transactions-{suffix}",
        topic_labels=f"labels-{suffix}",
        topic_scores=f"scores-{suffix}",
        topic_dead_letters=f"transactions-{suffix}.dlq",
    )


def _messages_on(bootstrap_servers: str, topic: str) -> int:
    """Committed messages on ``topic`` (transaction markers take offsets too: they are not counted)."""
    from ingest.kafka import read_topic

    return len(read_topic(bootstrap_servers, topic, settle_s=0.5))


def test_the_demo_scores_every_streamed_transaction_once_with_the_blessed_model(
    kafka_broker: BrokerState, tmp_path: Path
) -> None:
    reported: list[StepResult] = []
    options = DemoOptions(days=28, seed=0, workers=1, batch_size=300, malformed=5, run_dir=tmp_path, timeout_s=300)
    context = run_demo(_settings(kafka_broker), options, reported.append)

    steps = {result.name: result for result in reported}
    assert list(steps) == [
        "broker and topics",
        "simulate",
        "train and gate",
        "consumer group",
        "produce",
        "stream and score",
    ]
    assert context.started_broker is None, "the running broker is reused, not restarted"
    assert context.broker_state == "reused, left running"
    assert steps["broker and topics"].count == 4

    # The history and the streamed day split one simulation at midnight, with nothing lost or shared.
    assert context.history is not None
    assert context.stream_day is not None
    assert steps["simulate"].count == len(context.history) + len(context.stream_day)
    assert context.history["timestamp"].max() < context.stream_day["timestamp"].min()
    assert (context.stream_day["timestamp"].dt.normalize() == context.stream_day["timestamp"].min().normalize()).all()

    # A blessed model was promoted and is the one that scored the stream.
    assert context.training is not None
    assert context.training.verdict.blessed is True
    assert context.registry is not None
    assert context.content_id == context.training.version.content_id

    # Every streamed message was consumed exactly once: the day's transactions decided (read back from the scores
    # topic), the malformed ones rejected and written to the dead-letter topic.
    streamed = len(context.stream_day)
    stream = context.stream
    assert steps["produce"].count == context.produced == streamed + options.malformed
    assert steps["stream and score"].count == context.produced
    assert stream.consumed == context.produced
    assert stream.scored == streamed
    assert stream.rejected == stream.dead_lettered == options.malformed
    assert stream.validated == stream.scored
    assert stream.unaccounted == 0
    assert stream.duplicates == 0
    assert stream.batches >= streamed // options.batch_size
    assert _messages_on(context.bootstrap_servers, context.settings.topic_dead_letters) == options.malformed

    # The features knew the frauds reported before the day, and learnt those reported during it from the labels
    # topic, as the stream reached their report times.
    assert stream.labels_before > 0
    assert context.labels_produced > 0
    assert stream.labels_during > 0

    # The scores rank the day's frauds well above chance, and the review queue holds the top scores.
    assert stream.frauds == int(context.stream_day["is_fraud"].sum()) > 0
    assert stream.auc_roc > 0.7
    assert stream.average_precision > stream.frauds / streamed
    assert 0 < stream.over_threshold <= streamed * options.review_rate * 2
    assert 0 <= stream.frauds_over_threshold <= stream.over_threshold


def test_a_model_the_gate_refuses_is_never_served_and_the_demo_exits_non_zero(
    kafka_broker: BrokerState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from importlib import resources

    from lifecycle.registry import ModelRegistry
    from lifecycle.settings import LifecycleSettings
    from scoring_api.demo import main

    shipped = resources.files("lifecycle.registry").joinpath("gate_thresholds.toml").read_text()
    assert "auc_roc = 0.80" in shipped
    strict = tmp_path / "strict.toml"
    strict.write_text(shipped.replace("auc_roc = 0.80", "auc_roc = 0.999"))
    settings = _settings(kafka_broker)
    for name, value in (
        ("FRAUD_KAFKA_RUN_DIR", str(settings.kafka_run_dir)),
        ("FRAUD_KAFKA_PORT", str(settings.kafka_port)),
        ("FRAUD_KAFKA_CONTROLLER_PORT", str(settings.kafka_controller_port)),
        ("FRAUD_TOPIC_TRANSACTIONS", settings.topic_transactions),
        ("FRAUD_TOPIC_DEAD_LETTERS", settings.topic_dead_letters),
    ):
        monkeypatch.setenv(name, value)
    options = DemoOptions(run_dir=tmp_path / "demo", gate_thresholds=strict)

    assert main(options) == 2

    printed = capsys.readouterr().out
    assert "not served" in printed
    assert "value:auc_roc" in printed
    assert "streamed day" not in printed
    runs = list((tmp_path / "demo").iterdir())
    assert len(runs) == 1
    key = LifecycleSettings().model_signing_key
    registry = ModelRegistry(f"sqlite:///{runs[0]}/registry.sqlite", runs[0] / "models", signing_key=key)
    try:
        assert len(registry.versions()) == 1
        assert registry.find_alias("champion") is None
    finally:
        registry.close()

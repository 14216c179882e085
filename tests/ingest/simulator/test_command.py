"""``fraud simulate``: to Parquet, to a real Kafka broker at a rate, and its pacing."""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ingest.kafka import BrokerState
from ingest.simulator import SimulatorConfig, SimulatorError, labels_path, simulate
from ingest.simulator.stream import send_at_rate
from scoring_api.cli import app

SMALL = ["--days", "2", "--customers", "300", "--terminals", "600", "--seed", "4"]


def test_simulate_writes_the_same_stream_as_the_library(tmp_path: Path) -> None:
    out = tmp_path / "sim.parquet"
    result = CliRunner().invoke(app, ["simulate", "--preset", "realistic", *SMALL, "--out", str(out)])
    assert result.exit_code == 0, result.output
    expected = simulate(SimulatorConfig.preset("realistic", days=2, n_customers=300, n_terminals=600, seed=4))
    written = pd.read_parquet(out)
    pd.testing.assert_frame_equal(written, expected.transactions)
    pd.testing.assert_frame_equal(pd.read_parquet(labels_path(out)), expected.labels)
    assert f"{len(expected.transactions):,} transactions over 2 days" in result.output


def test_simulate_needs_a_destination() -> None:
    result = CliRunner().invoke(app, ["simulate", *SMALL])
    assert result.exit_code == 2
    assert "--out FILE.parquet, --kafka, or both" in result.output


def test_simulate_refuses_unknown_presets(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["simulate", "--preset", "nope", "--out", str(tmp_path / "x.parquet")])
    assert result.exit_code == 2
    assert "unknown simulator preset 'nope'" in result.output


class FakeClock:
    """A clock that moves only when slept on (the process edge)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_paced_sending_keeps_order_and_schedule() -> None:
    frame = pd.DataFrame({"n": range(250)})
    seen: list[int] = []

    def send(chunk: pd.DataFrame) -> int:
        seen.extend(chunk["n"].tolist())
        return len(chunk)

    clock = FakeClock()
    report = send_at_rate(frame, send, 100.0, clock=clock, sleep=clock.sleep)
    assert seen == list(range(250))
    assert report.sent == 250
    # 5 rows per 50 ms tick: the last chunk leaves 245 / 100 s after the first.
    assert report.seconds == pytest.approx(2.45)
    assert report.rate == pytest.approx(250 / 2.45)
    assert len(clock.slept) == 49


def test_unthrottled_sending_never_sleeps() -> None:
    clock = FakeClock()
    report = send_at_rate(pd.DataFrame({"n": range(25_000)}), len, None, clock=clock, sleep=clock.sleep)
    assert report.sent == 25_000
    assert clock.slept == []


def test_labels_go_out_before_the_first_transaction_at_or_after_their_report_time() -> None:
    times = pd.date_range("2018-04-01", periods=30, freq="h", tz="UTC")
    frame = pd.DataFrame({"timestamp": times, "n": range(30)})
    labels = pd.DataFrame({"reported_at": [times[2], times[2] + pd.Timedelta(minutes=1), times[29], times[29]
                                           + pd.Timedelta(days=1)], "id": ["a", "b", "c", "d"]})  # fmt: skip
    order: list[str] = []

    def send(chunk: pd.DataFrame) -> int:
        order.extend(f"tx{n}" for n in chunk["n"])
        return len(chunk)

    def send_labels(chunk: pd.DataFrame) -> int:
        order.extend(chunk["id"])
        return len(chunk)

    clock = FakeClock()
    report = send_at_rate(frame, send, 20.0, labels=labels, send_labels=send_labels, clock=clock, sleep=clock.sleep)
    assert report.labels_sent == 4
    assert order.index("a") < order.index("tx2")  # a is reported at tx2's time: it arrives before tx2
    assert order.index("b") < order.index("tx3")
    assert order.index("c") < order.index("tx29")
    assert order[-1] == "d"  # reported after the stream's end: sent last


def test_rates_must_be_positive() -> None:
    with pytest.raises(SimulatorError, match="rate must be positive"):
        send_at_rate(pd.DataFrame({"n": [1]}), len, 0.0)


@pytest.mark.kafka
def test_simulate_produces_every_transaction_to_kafka(kafka_broker: BrokerState, tmp_path: Path) -> None:
    from kafka import KafkaConsumer

    topic = f"simulated-{uuid.uuid4().hex[:8]}"
    out = tmp_path / "sim.parquet"
    labels_topic = f"{topic}-labels"
    args = ["simulate", *SMALL, "--out", str(out), "--kafka", "--rate", "20000", "--labels-topic", labels_topic]
    result = CliRunner().invoke(app, [*args, "--bootstrap", kafka_broker.bootstrap_servers, "--topic", topic])
    assert result.exit_code == 0, result.output
    expected = pd.read_parquet(out)
    expected_labels = pd.read_parquet(labels_path(out))
    assert f"produced {len(expected):,} transactions to '{topic}'" in result.output
    assert f"produced {len(expected_labels):,} labels to '{labels_topic}'" in result.output
    from ingest.kafka import decode_labels, read_topic

    label_messages = read_topic(kafka_broker.bootstrap_servers, labels_topic, expected=len(expected_labels))
    decoded = decode_labels([m.value for m in label_messages])
    assert decoded.rejected == []
    assert sorted(decoded.frame["transaction_id"]) == sorted(expected_labels["transaction_id"])
    assert all(m.key.decode() == card for m, card in zip(label_messages, decoded.frame["card_token"], strict=True))

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka_broker.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
    )
    try:
        keys = [(m.key.decode(), m.value) for m in consumer]
    finally:
        consumer.close()
    assert len(keys) == len(expected)
    assert sorted(k for k, _ in keys) == sorted(expected["card_token"])
    ids = sorted(v.split(b'"transaction_id":"')[1].split(b'"')[0].decode() for _, v in keys)
    assert ids == sorted(expected["transaction_id"])


def test_simulate_refuses_to_replace_a_stream_without_force(tmp_path: Path) -> None:
    # Issue 12, point 8: --out replaced an existing file and its labels file without a word.
    out = tmp_path / "sim.parquet"
    args = ["simulate", *SMALL, "--out", str(out)]
    assert CliRunner().invoke(app, args).exit_code == 0
    before = out.read_bytes(), labels_path(out).read_bytes()
    refused = CliRunner().invoke(app, [*args, "--seed", "5"])
    assert refused.exit_code == 2, refused.output
    assert "already exists; pass --force" in refused.output
    assert (out.read_bytes(), labels_path(out).read_bytes()) == before
    labels_path(out).unlink()  # the labels alone are in the way as well
    (tmp_path / "sim.parquet").unlink()
    labels_path(out).write_bytes(b"someone's labels")
    assert CliRunner().invoke(app, [*args, "--seed", "5"]).exit_code == 2
    replaced = CliRunner().invoke(app, [*args, "--seed", "5", "--force"])
    assert replaced.exit_code == 0, replaced.output
    assert pd.read_parquet(labels_path(out)).shape[0] > 0


def test_a_failure_while_writing_leaves_the_previous_pair_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 12, point 8: the pair was written file by file, so a failure left new transactions beside old labels.
    from ingest.simulator import data as simulated

    out = tmp_path / "sim.parquet"
    assert CliRunner().invoke(app, ["simulate", *SMALL, "--out", str(out)]).exit_code == 0
    before = out.read_bytes(), labels_path(out).read_bytes()
    real_write = simulated._write

    def write_then_fail_on_labels(frame: pd.DataFrame, schema: object, metadata: object, path: Path) -> None:
        if path.name.startswith(f".{labels_path(out).name}"):
            raise OSError(28, "No space left on device")
        real_write(frame, schema, metadata, path)  # type: ignore[arg-type]

    monkeypatch.setattr(simulated, "_write", write_then_fail_on_labels)
    failed = CliRunner().invoke(app, ["simulate", *SMALL, "--seed", "9", "--out", str(out), "--force"])
    assert failed.exit_code == 1, failed.output
    assert "No space left on device" in failed.output
    assert (out.read_bytes(), labels_path(out).read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name, labels_path(out).name])


def test_simulate_checks_its_size_and_its_output_before_simulating(tmp_path: Path) -> None:
    # Issue 12, point 7: absurd sizes ended in a MemoryError, an unwritable --out was found after the simulation.
    absurd = CliRunner().invoke(app, ["simulate", "--days", "100000", "--customers", "1000000", "--out", "x.parquet"])
    assert absurd.exit_code == 2, absurd.output
    assert "GB of memory" in absurd.output
    assert "simulate fewer days, customers or terminals" in absurd.output
    (tmp_path / "file").write_text("")
    unwritable = CliRunner().invoke(app, ["simulate", *SMALL, "--out", str(tmp_path / "file" / "x.parquet")])
    assert unwritable.exit_code == 2, unwritable.output
    assert "nothing can be written under it" in unwritable.output
    assert "transactions over" not in unwritable.output  # refused before simulating
    for result in (absurd, unwritable):
        assert "Traceback" not in result.output

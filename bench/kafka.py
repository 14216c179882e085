"""Kafka throughput of the transaction producer and consumer against kafka-python's own benchmarks.

Both sides run against the same local broker in the same run, with the same producer settings (acks=all,
idempotent, linger 10 ms, 64 KiB batches) and the same record size:

* ours: ``TransactionProducer.send_frame`` on simulated transactions (orjson encoding included), and a
  ``TransactionConsumer`` group member decoding every poll into a contract DataFrame and committing it;
* the peer: ``kafka.benchmarks.producer_performance`` (opaque records of our mean size) and
  ``kafka.benchmarks.consumer_performance`` (a group member with periodic auto-commit, no decoding), each in
  its own process.

Each side is measured ``--repeat`` times, interleaved, and its best run is kept: the machine is shared.

    python bench/kafka.py --records 100000 --repeat 3 --json bench-kafka.json
"""

from __future__ import annotations

import argparse
import math
import re
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

if __name__ == "__main__":
    # This script shares its name with the kafka-python package: keep its folder off the import path.
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]

PRODUCER_SETTINGS = {"linger_ms": 10, "batch_size": 64 * 1024}
_EXECUTION_TIME = re.compile(r"Execution time: ([0-9.eE+-]+) secs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000, help="messages per measurement")
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=3, help="measurements per side; the best is kept")
    parser.add_argument("--bootstrap", help="an existing broker; default: the running local one, else a fresh one")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    with _Broker(args.bootstrap) as bootstrap:
        figures = run(bootstrap, args.records, args.partitions, args.repeat)
    _print(figures)
    if args.json:
        import json

        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


def run(bootstrap: str, records: int, partitions: int, repeat: int) -> dict[str, Any]:
    """Measure ours and the peer ``repeat`` times, interleaved, and keep each side's best (the machine is shared)."""
    from ingest.kafka import TopicSpec, ensure_topics

    frame = _transactions(records)
    times: dict[str, list[float]] = {"producer": [], "peer_producer": [], "consumer": [], "peer_consumer": []}
    mean_bytes = 0.0
    for _ in range(repeat):
        run_id = uuid.uuid4().hex[:8]
        ours_topic, peer_topic = f"bench-ours-{run_id}", f"bench-peer-{run_id}"
        ensure_topics(bootstrap, [TopicSpec(ours_topic, partitions), TopicSpec(peer_topic, partitions)])
        produced_s, mean_bytes = _our_producer(bootstrap, ours_topic, frame)
        times["producer"].append(produced_s)
        settings = [f"{k}={v}" for k, v in PRODUCER_SETTINGS.items()]
        size = ["--record-size", str(round(mean_bytes))]
        times["peer_producer"].append(_peer("producer_performance", bootstrap, peer_topic, records, size, settings))
        times["consumer"].append(_our_consumer(bootstrap, ours_topic, records))
        group = [f"group_id=bench-peer-{run_id}"]  # a group member too, so both sides pay for joining a group
        times["peer_consumer"].append(_peer("consumer_performance", bootstrap, peer_topic, records, [], group))
    return {
        "records": records,
        "partitions": partitions,
        "repeat": repeat,
        "mean_record_bytes": round(mean_bytes, 1),
        "producer": _rates(records, min(times["producer"]), min(times["peer_producer"])),
        "consumer": _rates(records, min(times["consumer"]), min(times["peer_consumer"])),
        "seconds": {side: [round(t, 3) for t in values] for side, values in times.items()},
        "python": sys.version.split()[0],
    }


def _transactions(records: int) -> Any:
    from ingest.simulator import SimulatorConfig, simulate

    days = max(1, math.ceil(records / 9_000))
    frame = simulate(SimulatorConfig.preset("handbook", days=days, seed=0)).transactions
    while len(frame) < records:  # only for very small presets: repeat rather than fail
        import pandas as pd

        frame = pd.concat([frame, frame], ignore_index=True)
    return frame.head(records).reset_index(drop=True)


def _our_producer(bootstrap: str, topic: str, frame: Any) -> tuple[float, float]:
    from ingest.kafka import TransactionProducer
    from ingest.kafka.codec import encode_frame

    mean_bytes = sum(len(v) for v in encode_frame(frame.head(10_000))[1]) / min(len(frame), 10_000)
    producer = TransactionProducer(bootstrap, topic, client_id="bench-ours", **PRODUCER_SETTINGS)
    start = time.perf_counter()
    producer.send_frame(frame)
    producer.flush()
    elapsed = time.perf_counter() - start
    producer.close()
    return elapsed, mean_bytes


def _our_consumer(bootstrap: str, topic: str, records: int) -> float:
    from ingest.kafka import TransactionConsumer

    consumer = TransactionConsumer(bootstrap, f"bench-{topic}", [topic], client_id="bench-ours")
    start = time.perf_counter()  # like the peer: timed from a constructed client, group join included
    seen = 0
    while seen < records:
        batch = consumer.poll_batch(timeout_s=10.0)
        if batch is None:
            raise SystemExit(f"the consumer stalled after {seen} of {records} records")
        if batch.rejected:
            raise SystemExit(f"{len(batch.rejected)} records were rejected: {batch.rejected[0].reason}")
        seen += len(batch.frame)
        consumer.commit(batch)
    elapsed = time.perf_counter() - start
    consumer.close()
    return elapsed


def _peer(module: str, bootstrap: str, topic: str, records: int, extra: list[str], config: list[str]) -> float:
    command = [
        sys.executable,
        "-m",
        f"kafka.benchmarks.{module}",
        "--bootstrap-servers",
        bootstrap,
        "--topic",
        topic,
        "--num-records",
        str(records),
        "--stats-interval",
        "60",
        *extra,
    ]
    if config:
        flag = "--producer-config" if module.startswith("producer") else "--consumer-config"
        command += [flag, *config]
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=Path(__file__).parents[1])
    match = _EXECUTION_TIME.search(result.stdout)
    if result.returncode != 0 or match is None:
        raise SystemExit(f"kafka.benchmarks.{module} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return float(match.group(1))


def _rates(records: int, ours_s: float, peer_s: float) -> dict[str, float]:
    ours, peer = records / ours_s, records / peer_s
    return {"ours_per_s": round(ours), "peer_per_s": round(peer), "ratio": round(ours / peer, 2)}


def _print(figures: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    size = f"{figures['mean_record_bytes']:.0f}"
    title = f"Kafka: {figures['records']:,} records of ~{size} bytes, best of {figures['repeat']}"
    table = Table(title=title)
    table.add_column("client")
    table.add_column("ours (msg/s)", justify="right")
    table.add_column("kafka.benchmarks (msg/s)", justify="right")
    table.add_column("ours / peer", justify="right")
    for side in ("producer", "consumer"):
        rates = figures[side]
        table.add_row(side, f"{rates['ours_per_s']:,}", f"{rates['peer_per_s']:,}", f"{rates['ratio']:.2f}")
    Console().print(table)


def _free_ports(count: int) -> list[int]:
    import socket

    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class _Broker:
    """The broker to measure against: the given one, the running local one, or a fresh one stopped at the end."""

    def __init__(self, bootstrap: str | None) -> None:
        self.bootstrap = bootstrap
        self._started: Any = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> str:
        if self.bootstrap:
            return self.bootstrap
        from ingest.kafka import BrokerConfig, LocalKafkaBroker
        from ingest.settings import IngestSettings

        configured = BrokerConfig.from_settings(IngestSettings())
        running = LocalKafkaBroker(configured).status()
        if running is not None:
            return running.bootstrap_servers
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-kafka-")
        port, controller_port = _free_ports(2)
        config = replace(configured, run_dir=Path(self._tmp.name), port=port, controller_port=controller_port)
        self._started = LocalKafkaBroker(config)
        return str(self._started.start().bootstrap_servers)

    def __exit__(self, *exc: object) -> None:
        if self._started is not None:
            self._started.stop()
        if self._tmp is not None:
            self._tmp.cleanup()


if __name__ == "__main__":
    main()

"""The stream worker end to end: transactions produced -> decisions committed, exactly once, against a
pass-through worker with the same transactional settings, in the same run.

A model is trained, gated and promoted on a simulated history (the demo's configuration, ``bench/models.py``).
Then, on fresh topics for each measurement (6 partitions), a worker process runs and this process produces
``--transactions`` simulated transactions (with the labels reported while they happen) as fast as it can, and
reads the outputs back (read_committed) as they commit:

* ``pass-through``: a consumer group member (read_committed, cooperative, the worker's batch size) that
  re-produces every message unchanged to an output topic, in one Kafka transaction per poll with the input
  offsets, as the worker commits: the ceiling of exactly-once consume-transform-produce with kafka-python;
* ``worker``: ``python -m scoring_api.worker`` (validation, features, model, decision, decisions, journal,
  offsets in one transaction, the state after), with monitoring and the audit trail off;
* ``worker + monitoring``: the same with the models' drift and performance monitors on (``--monitoring``);
* ``worker + audit``: the worker recording every decision in the audit trail (SQLite, committed before the
  batch's transaction) through its recording process (the default), monitoring off (``--audit``); with
  ``--audit-thread``, also ``worker + audit in a thread`` (``FRAUD_AUDIT_WRITER=thread``).

Throughput is the transactions divided by the time from the first produced to the last decision committed,
and the CPU time the process under test used meanwhile (user and system, all its threads, and its child
processes: the audit trail's recording process; what a busy, shared machine changes least) divided by the
transactions;
latency, per transaction, the time its output became visible to a read_committed reader minus the time it was
produced (the record's create time), measured again at a paced rate (``--paced-rate``) below saturation, where
it is the worker's own delay rather than the queue. Each side runs ``--repeat`` times, interleaved; the best
throughput of each is kept (the machine is shared).

Targets (issue 11): the worker at least 0.5 of the pass-through's rate and at least 10,000 transactions/s end
to end; monitoring (issue 15) and recording every decision (issue 16) each at most 10 % of the worker's
throughput.

    python bench/stream.py --transactions 60000 --repeat 2 --json bench-stream.json
"""

# ruff: noqa: E402  (the import path is fixed before the project packages are imported)
from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]  # bench/kafka.py is not kafka-python
sys.path.insert(0, str(_HERE.parent))

import argparse
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd

from bench.kafka import _Broker
from bench.processes import tree_cpu_seconds

ROOT = _HERE.parent
PARTITIONS = 6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", type=int, default=60_000)
    parser.add_argument("--max-batch", type=int, default=2_000, help="records per poll (both sides)")
    parser.add_argument("--paced-rate", type=float, default=2_000.0, help="tx/s of the latency measurement")
    parser.add_argument("--paced-seconds", type=float, default=15.0)
    parser.add_argument("--repeat", type=int, default=2, help="measurements per side; the best is kept")
    parser.add_argument("--monitoring", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--audit", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--audit-thread", action="store_true",
                        help="also measure the worker recording in a thread (FRAUD_AUDIT_WRITER=thread)")  # fmt: skip
    parser.add_argument("--bootstrap", help="an existing broker; default: the running local one, else a fresh one")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--role", choices=["passthrough"], help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--group", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "passthrough":
        pass_through(args.bootstrap, args.input, args.output, args.group, args.max_batch)
        return
    with tempfile.TemporaryDirectory(prefix="bench-stream-") as folder, _Broker(args.bootstrap) as bootstrap:
        figures = run(bootstrap, Path(folder), args)
    _print(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


# -- the peer ---------------------------------------------------------------------------------------------------
def pass_through(bootstrap: str, source: str, target: str, group: str, max_batch: int) -> None:
    """Consume ``source`` and re-produce every message unchanged to ``target``, exactly once: one Kafka
    transaction per poll with the input offsets (the worker's transactional settings and batch size)."""
    from kafka import KafkaConsumer
    from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor

    from ingest.kafka import TransactionalProducer

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    producer = TransactionalProducer(bootstrap, f"{group}-passthrough")
    producer.init()
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, isolation_level="read_committed",
        auto_offset_reset="earliest", max_poll_records=max_batch,
        partition_assignment_strategy=[CooperativeStickyAssignor],
    )  # fmt: skip
    consumer.subscribe([source])
    print("ready", flush=True)
    from kafka.structs import OffsetAndMetadata

    while not stop.is_set():
        polled = consumer.poll(timeout_ms=500)
        if not polled:
            continue
        producer.begin()
        offsets = {}
        for tp, messages in polled.items():
            for message in messages:
                producer.send(target, message.value, key=message.key)
            offsets[tp] = OffsetAndMetadata(messages[-1].offset + 1, "", -1)
        producer.send_offsets(offsets, consumer.group_metadata())
        producer.commit()
    consumer.close()
    producer.close()


# -- preparing ---------------------------------------------------------------------------------------------------
def prepare(root: Path, transactions: int) -> tuple[dict[str, str], pd.DataFrame, pd.DataFrame]:
    """Train, gate and promote a model on a simulated history (the demo's run); the workers' environment, and
    the transactions to stream with the labels reported while they happen (another simulated population)."""
    from bench.models import promoted_model
    from ingest.simulator import SimulatorConfig, simulate
    from ingest.validation import build_suite, save_suite

    promoted_model(root)
    per_day = 20_000
    stream = simulate(
        SimulatorConfig.preset(
            "realistic", days=max(2, -(-transactions // per_day) + 1), seed=1, n_customers=10_000, n_terminals=20_000
        )
    )
    frame = stream.transactions.head(transactions).reset_index(drop=True)
    end = frame["timestamp"].max()
    labels = stream.labels[(stream.labels["reported_at"] <= end) & stream.labels["transaction_id"].isin(
        frame["transaction_id"])].reset_index(drop=True)  # fmt: skip
    env = {
        "FRAUD_REGISTRY_URL": f"sqlite:///{root}/registry.sqlite",
        "FRAUD_MODEL_STORE": str(root / "models"),
        "FRAUD_MONITORING_URL": f"sqlite:///{root}/monitoring.sqlite",
        "FRAUD_AUDIT_URL": f"sqlite:///{root}/audit.sqlite",
        "FRAUD_AUDIT_ARCHIVE_DIR": str(root / "audit-archive"),
        "FRAUD_WORKER_SUITE_PATH": str(save_suite(build_suite(), root / "suite.json")),
        "FRAUD_WORKER_METRICS_PORT": "0",
    }
    return env, frame, labels


# -- one measurement ---------------------------------------------------------------------------------------------
@dataclass
class Side:
    """What one measurement runs: the pass-through peer or the worker, with or without monitoring."""

    name: str
    kind: str
    monitoring: bool = False
    audit: bool = False
    #: Where the audit trail is written (``FRAUD_AUDIT_WRITER``): a recording process of the worker's own, or a
    #: thread of the worker.
    audit_writer: str = "process"
    runs: list[dict[str, Any]] = field(default_factory=list)


def _topics(bootstrap: str) -> dict[str, str]:
    from ingest.kafka import TopicSpec, ensure_topics

    suffix = uuid.uuid4().hex[:8]
    names = {
        "transactions": f"bench-tx-{suffix}",
        "labels": f"bench-labels-{suffix}",
        "scores": f"bench-scores-{suffix}",
        "dlq": f"bench-tx-{suffix}.dlq",
        "journal": f"bench-journal-{suffix}",
        "group": f"bench-{suffix}",
    }
    specs = [TopicSpec(names[n], PARTITIONS) for n in ("transactions", "labels", "scores")]
    ensure_topics(bootstrap, [*specs, TopicSpec(names["dlq"], 1), TopicSpec(names["journal"], 1)])
    return names


def _start(side: Side, bootstrap: str, names: dict[str, str], env: dict[str, str], root: Path, args: Any) -> Any:
    log = (root / f"{names['group']}.log").open("wb")
    if side.kind == "passthrough":
        command = [sys.executable, str(Path(__file__).resolve()), "--role", "passthrough", "--bootstrap", bootstrap,
                   "--input", names["transactions"], "--output", names["scores"], "--group", names["group"],
                   "--max-batch", str(args.max_batch)]  # fmt: skip
        ready = "ready"
    else:
        command = [sys.executable, "-m", "scoring_api.worker", "--slot", "0"]
        ready = "partitions assigned"
    full = {
        **os.environ,
        **env,
        "FRAUD_ENVIRONMENT": "test",
        "FRAUD_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "FRAUD_TOPIC_TRANSACTIONS": names["transactions"],
        "FRAUD_TOPIC_LABELS": names["labels"],
        "FRAUD_TOPIC_SCORES": names["scores"],
        "FRAUD_TOPIC_DEAD_LETTERS": names["dlq"],
        "FRAUD_WORKER_TOPIC_JOURNAL": names["journal"],
        "FRAUD_WORKER_GROUP_ID": names["group"],
        "FRAUD_WORKER_TRANSACTIONAL_ID_PREFIX": names["group"],
        "FRAUD_WORKER_STATE_DIR": str(root / names["group"]),
        "FRAUD_WORKER_MAX_BATCH": str(args.max_batch),
        "FRAUD_WORKER_MONITOR": "true" if side.monitoring else "false",
        "FRAUD_SCORING_AUDIT": "true" if side.audit else "false",
        "FRAUD_AUDIT_WRITER": side.audit_writer,
    }
    process = subprocess.Popen(command, cwd=ROOT, env=full, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    path = root / f"{names['group']}.log"
    while ready not in path.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{side.name} did not start:\n{path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)
    return process, log


class _Reader(threading.Thread):
    """Reads the outputs (read_committed) as they commit: transaction id -> the time it became visible."""

    def __init__(self, bootstrap: str, topic: str, expected: int) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.expected = bootstrap, topic, expected
        self.seen: dict[str, float] = {}
        self.duplicates = 0

    def run(self) -> None:
        from ingest.kafka import committed_reader

        consumer = committed_reader(self.bootstrap, f"bench-reader-{self.topic}")
        from kafka import TopicPartition

        tps = [TopicPartition(self.topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + 900
        while len(self.seen) < self.expected and time.monotonic() < deadline:
            for messages in consumer.poll(timeout_ms=100).values():
                now = time.time()
                for message in messages:
                    tx_id = orjson.loads(message.value)["transaction_id"]
                    if tx_id in self.seen:
                        self.duplicates += 1
                    self.seen.setdefault(tx_id, now)
        consumer.close()


def _created(bootstrap: str, topic: str) -> dict[str, float]:
    """Transaction id -> the time its message was produced (the record's create time)."""
    from ingest.kafka import read_topic

    return {
        orjson.loads(m.value)["transaction_id"]: m.timestamp / 1000.0
        for m in read_topic(bootstrap, topic, settle_s=0.5)
    }


def measure(side: Side, bootstrap: str, env: dict[str, str], root: Path, frame: pd.DataFrame, labels: pd.DataFrame,
            rate: float | None, args: Any) -> dict[str, Any]:  # fmt: skip
    """One run of ``side``: produce ``frame`` (at ``rate``, or as fast as possible), read the outputs back."""
    from ingest.kafka import TransactionProducer
    from ingest.simulator.stream import send_at_rate

    names = _topics(bootstrap)
    process, log = _start(side, bootstrap, names, env, root, args)
    reader = _Reader(bootstrap, names["scores"], len(frame))
    reader.start()
    try:
        cpu_began = tree_cpu_seconds(process.pid)
        began = time.time()
        with TransactionProducer(bootstrap, names["transactions"]) as producer, TransactionProducer(
            bootstrap, names["labels"]
        ) as feed:  # fmt: skip
            send_at_rate(frame, producer.send_frame, rate, labels=labels, send_labels=feed.send_labels)
            producer.flush()
            feed.flush()
        reader.join(900)
        cpu = tree_cpu_seconds(process.pid) - cpu_began
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(120)
        log.close()
    created = _created(bootstrap, names["transactions"])
    latencies = np.array([reader.seen[t] - created[t] for t in reader.seen if t in created], dtype=np.float64)
    quantiles = (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
    last = max(reader.seen.values()) if reader.seen else began
    return {
        "transactions": len(frame),
        "outputs": len(reader.seen),
        "duplicates": reader.duplicates,
        "seconds": last - began,
        "tx_per_s": len(reader.seen) / (last - began) if reader.seen else 0.0,
        "cpu_us_per_tx": 1e6 * cpu / len(reader.seen) if reader.seen else 0.0,
        "latency_ms": {q: float(np.percentile(latencies, p) * 1000) for q, p in quantiles} if len(latencies) else {},
    }


def run(bootstrap: str, root: Path, args: Any) -> dict[str, Any]:
    env, frame, labels = prepare(root, args.transactions)
    sides = [Side("pass-through", "passthrough"), Side("worker", "worker")]
    if args.monitoring:
        sides.append(Side("worker + monitoring", "worker", monitoring=True))
    if args.audit:
        sides.append(Side("worker + audit", "worker", audit=True))
    if args.audit_thread:
        sides.append(Side("worker + audit in a thread", "worker", audit=True, audit_writer="thread"))
    for _ in range(args.repeat):
        for side in sides:
            side.runs.append(measure(side, bootstrap, env, root, frame, labels, None, args))
    paced_rows = int(args.paced_rate * args.paced_seconds)
    paced = frame.head(paced_rows)
    paced_labels = labels[labels["transaction_id"].isin(paced["transaction_id"])]
    latency = {
        side.name: measure(side, bootstrap, env, root, paced, paced_labels, args.paced_rate, args) for side in sides[:2]
    }
    best = {side.name: max(side.runs, key=lambda r: r["tx_per_s"]) for side in sides}
    figures: dict[str, Any] = {
        "transactions": args.transactions,
        "partitions": PARTITIONS,
        "max_batch": args.max_batch,
        "load_average": os.getloadavg(),
        "throughput": {name: run["tx_per_s"] for name, run in best.items()},
        "cpu_us_per_tx": {side.name: min(r["cpu_us_per_tx"] for r in side.runs) for side in sides},
        "runs": {side.name: side.runs for side in sides},
        "paced": {"rate": args.paced_rate, "runs": latency},
        "ratio_worker_to_pass_through": best["worker"]["tx_per_s"] / best["pass-through"]["tx_per_s"],
    }
    cpu = figures["cpu_us_per_tx"]
    figures["cpu_ratio_pass_through_to_worker"] = cpu["pass-through"] / cpu["worker"]
    if args.monitoring:
        on = best["worker + monitoring"]["tx_per_s"]
        figures["monitoring_cost"] = 1.0 - on / best["worker"]["tx_per_s"]
        figures["monitoring_cpu_cost"] = cpu["worker + monitoring"] / cpu["worker"] - 1.0
    if args.audit:
        figures["audit_cost"] = 1.0 - best["worker + audit"]["tx_per_s"] / best["worker"]["tx_per_s"]
        figures["audit_cpu_cost"] = cpu["worker + audit"] / cpu["worker"] - 1.0
    if args.audit_thread:
        figures["audit_thread_cost"] = 1.0 - best["worker + audit in a thread"]["tx_per_s"] / best["worker"]["tx_per_s"]
        figures["audit_thread_cpu_cost"] = cpu["worker + audit in a thread"] / cpu["worker"] - 1.0
    return figures


def _print(figures: dict[str, Any]) -> None:
    print(f"{figures['transactions']:,} transactions, {figures['partitions']} partitions, "
          f"batches of {figures['max_batch']:,}; load average {figures['load_average']}")  # fmt: skip
    for name, rate in figures["throughput"].items():
        runs = figures["runs"][name]
        print(f"  {name:<27} {rate:>10,.0f} tx/s end to end (best of {len(runs)}; "
              f"duplicates {sum(r['duplicates'] for r in runs)}, outputs {[r['outputs'] for r in runs]}); "
              f"{figures['cpu_us_per_tx'][name]:,.0f} CPU us a transaction")  # fmt: skip
    print(f"  worker / pass-through: {figures['ratio_worker_to_pass_through']:.2f} "
          f"(CPU a transaction, pass-through / worker: {figures['cpu_ratio_pass_through_to_worker']:.2f})")  # fmt: skip
    if "monitoring_cost" in figures:
        print(f"  monitoring costs {100 * figures['monitoring_cost']:.1f} % of the worker's throughput "
              f"({100 * figures['monitoring_cpu_cost']:.1f} % more CPU a transaction)")  # fmt: skip
    if "audit_cost" in figures:
        print(f"  recording every decision costs {100 * figures['audit_cost']:.1f} % of the worker's throughput "
              f"({100 * figures['audit_cpu_cost']:.1f} % more CPU a transaction, its recorder's too)")  # fmt: skip
    if "audit_thread_cost" in figures:
        print(f"  recording in a thread of the worker costs {100 * figures['audit_thread_cost']:.1f} % of its "
              f"throughput ({100 * figures['audit_thread_cpu_cost']:.1f} % more CPU a transaction)")  # fmt: skip
    paced = figures["paced"]
    for name, run in paced["runs"].items():
        print(f"  paced at {paced['rate']:,.0f} tx/s, {name}: latency {run['latency_ms']}")


if __name__ == "__main__":
    main()

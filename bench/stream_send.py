"""The stream worker's send path: one Kafka transaction of a micro-batch's decisions, on the same broker in the
same run, three ways:

* ``send per record``: kafka-python's ``send`` per record, the partition left to it (its pure-Python murmur2);
* ``send per record, partitioned``: the same with the batch's partitions computed at once
  (:mod:`ingest.kafka.partitioning`), as ``send_keyed`` did before it appended blocks;
* ``send_keyed``: ``TransactionalProducer.send_keyed``, the partitions computed at once and the records appended
  to the producer's accumulator in blocks, one record batch per partition (:mod:`ingest.kafka.record_batches`).

Each transaction sends ``--batch`` decision-sized records keyed by transaction id to a 6-partition topic and
commits; both sides run ``--transactions`` transactions, interleaved ``--repeat`` times, the best kept (the
machine is shared).

    python bench/stream_send.py --batch 2000 --transactions 10 --repeat 3 --json bench-stream-send.json
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
import time
import uuid
from collections.abc import Callable
from typing import Any

from bench.kafka import _Broker

PARTITIONS = 6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=2_000, help="records per transaction")
    parser.add_argument("--transactions", type=int, default=20, help="transactions per measurement")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bootstrap", help="an existing broker; default: the running local one, else a fresh one")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    with _Broker(args.bootstrap) as bootstrap:
        figures = run(bootstrap, args)
    print(f"{args.batch:,} records per transaction, {args.transactions} transactions; "
          f"load average {figures['load_average']}")  # fmt: skip
    for name, rate in figures["records_per_s"].items():
        print(f"  {name:<28} {rate:>10,.0f} records/s (best of {args.repeat})")
    print(f"  send_keyed / per record: {figures['ratio']:.2f}; "
          f"/ per record, partitioned: {figures['ratio_to_partitioned']:.2f}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


def run(bootstrap: str, args: Any) -> dict[str, Any]:
    import orjson

    from ingest.kafka import TopicSpec, TransactionalProducer, ensure_topics

    topic = f"bench-send-{uuid.uuid4().hex[:8]}"
    ensure_topics(bootstrap, [TopicSpec(topic, PARTITIONS)])
    keys = [str(uuid.uuid4()).encode() for _ in range(args.batch)]
    values = [orjson.dumps({"transaction_id": k.decode(), "score": 0.5, "pad": "x" * 300}) for k in keys]
    producer = TransactionalProducer(bootstrap, f"bench-send-{uuid.uuid4().hex[:8]}")
    producer.init()

    def per_record() -> None:
        for key, value in zip(keys, values, strict=True):
            producer.send(topic, value, key=key)

    def partitioned() -> None:
        from ingest.kafka.partitioning import key_partitions

        kafka_producer = producer._producer
        partitions = key_partitions(keys, kafka_producer.partitions_for(topic))
        for key, value, partition in zip(keys, values, partitions, strict=True):
            kafka_producer.send(topic, value=value, key=key, partition=partition)

    def keyed() -> None:
        producer.send_keyed(topic, keys, values)

    sides: dict[str, Callable[[], None]] = {
        "send per record": per_record,
        "send per record, partitioned": partitioned,
        "send_keyed": keyed,
    }
    runs: dict[str, list[float]] = {name: [] for name in sides}
    try:
        for _ in range(args.repeat):
            for name, send in sides.items():
                began = time.perf_counter()
                for _ in range(args.transactions):
                    producer.begin()
                    send()
                    producer.commit()
                runs[name].append(args.batch * args.transactions / (time.perf_counter() - began))
    finally:
        producer.close()
    best = {name: max(rates) for name, rates in runs.items()}
    return {
        "batch": args.batch,
        "transactions": args.transactions,
        "load_average": os.getloadavg(),
        "records_per_s": best,
        "runs": runs,
        "ratio": best["send_keyed"] / best["send per record"],
        "ratio_to_partitioned": best["send_keyed"] / best["send per record, partitioned"],
    }


if __name__ == "__main__":
    main()

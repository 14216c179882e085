"""Monitoring's cost per transaction: the same scored frames through a stand-in for the stream worker's
per-batch work (building the scored frame), with ``ModelMonitor.update`` off and on, in one run.

    python bench/monitoring.py [--rows 200000] [--batch 1000] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from pydantic import SecretStr

    from monitoring import MonitoringSettings, open_services
    from monitoring.alerts import LoggingSink
    from monitoring.model_monitor import ModelMonitor
    from tests.monitoring.streams import scored_pool

    pool = scored_pool()
    stream = pool.shuffled(1, rows=args.rows).sort_values("timestamp", kind="mergesort").reset_index(drop=True)
    batches = [stream.iloc[i : i + args.batch] for i in range(0, len(stream), args.batch)]
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/monitoring.sqlite"
        services = open_services(MonitoringSettings(monitoring_url=SecretStr(url)), LoggingSink())
        monitor = ModelMonitor(pool.profile, services, model="bench")
        start = time.perf_counter()
        for batch in batches:
            batch.copy()  # the frame the worker hands over
        off = time.perf_counter() - start
        start = time.perf_counter()
        for batch in batches:
            monitor.update(batch.copy())
        monitor.flush()
        on = time.perf_counter() - start
        services.close()
    figures = {
        "rows": args.rows,
        "batch": args.batch,
        "windows": [w.name for w in monitor.drift.windows],
        "monitoring_us_per_transaction": (on - off) / args.rows * 1e6,
        "monitored_transactions_per_s": args.rows / on,
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

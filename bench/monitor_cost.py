"""Monitoring's cost per transaction, against the model's own scoring of the same batches in the same run.

Two simulated months (realistic preset) get their offline features; a logistic regression is fitted on the
first month and compiled with the engine; the next week is the reference period (its profile built as training
builds it, with calibration maps); the rest is the stream. The stream is cut into micro-batches of
each ``--batches`` size, as the worker and the batch API hand them over: the scored frame carries the raw
contract fields, the model inputs by name and ``score``. Then, each the best of ``--repeat`` passes:

* scoring (the peer): the batch's inputs taken out as float32 and scored by the compiled model;
* drift alone (:class:`monitoring.drift.DriftMonitor`), performance alone (``PerformanceMonitor.update``);
* the whole :class:`monitoring.ModelMonitor` (drift, score counts, performance by day with the estimate of
  each day the stream leaves, history and alerts in SQLite), then the stream's labels delivered in
  ``--label-deliveries`` batches (reported by the simulator: every transaction, fraud or genuine).

CPU time of this process is the figure to read on a shared machine; wall time is printed beside it. The
budget line is the issue's: a stream worker at 10,000 transactions/s has 100 µs per transaction for
everything, of which monitoring may take 10 %.

    python bench/monitor_cost.py --batches 250,1000,4000 --repeat 3 --json monitor-cost.json
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# One thread everywhere (set before NumPy and BLAS load): the worker runs one scoring thread per core.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"
# Run as a script, this folder comes first on the path, and bench/features.py would hide the features package.
_here = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
sys.path.insert(0, str(_here.parent))

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

BUDGET_US = 100.0 * 0.10  # 10 % of 100 µs per transaction (10,000 transactions/s)
#: The first month trains the model (its 30-day features are still filling), the next week is the reference.
TRAIN_DAYS, REFERENCE_DAYS = 31, 7


@dataclass(frozen=True)
class Stream:
    profile: Any
    model: Any
    inputs: tuple[str, ...]
    frame: pd.DataFrame
    labels: pd.DataFrame


def scored_stream(days: int, customers: int, seed: int) -> Stream:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from features import TimeFlag, default_feature_set
    from features.build import build_features
    from ingest.simulator import SimulatorConfig, simulate
    from lifecycle.reference import SCORE, build_reference_profile
    from model_engine import compile_model

    terminals = 2 * customers
    data = simulate(
        SimulatorConfig.preset("realistic", days=days, seed=seed, n_customers=customers, n_terminals=terminals)
    )
    feature_set = default_feature_set()
    frame = build_features(data.transactions.reset_index(drop=True), feature_set)
    inputs = ("amount", *feature_set.names)
    day = (frame["timestamp"] - frame["timestamp"].min().normalize()).dt.days
    train, stream = day < TRAIN_DAYS, day >= TRAIN_DAYS + REFERENCE_DAYS
    reference = ~train & ~stream
    estimator = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, class_weight="balanced"))
    estimator.fit(frame.loc[train, list(inputs)].to_numpy(np.float32), frame.loc[train, "is_fraud"].to_numpy())
    model = compile_model(estimator, list(inputs))
    frame[SCORE] = np.asarray(model.score(frame[list(inputs)].to_numpy(np.float32)), dtype=np.float64)
    ref = frame[reference]
    clock = [f.name for f in feature_set.features if isinstance(f, TimeFlag)]
    profile = build_reference_profile(
        ref, scores=ref[SCORE].to_numpy(), inputs=inputs, labels=ref["is_fraud"].to_numpy(), time_dependent=clock
    )
    scored = frame[stream].drop(columns=["is_fraud", "fraud_scenario"]).reset_index(drop=True)
    labels = data.labels[data.labels["transaction_id"].isin(scored["transaction_id"])]
    labels = labels.sort_values("reported_at", kind="mergesort").reset_index(drop=True)
    return Stream(profile, model, inputs, scored, labels)


def best(passes: int, run: Callable[[], Any]) -> tuple[float, float, Any]:
    """The lowest CPU and wall seconds of ``passes`` runs, and the last run's result."""
    cpu, wall, result = [], [], None
    for _ in range(passes):
        c0, w0 = time.process_time(), time.perf_counter()
        result = run()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return min(cpu), min(wall), result


def measure(stream: Stream, size: int, passes: int, deliveries: int) -> dict[str, Any]:
    from pydantic import SecretStr

    from monitoring import MonitoringSettings, open_services
    from monitoring.alerts import LoggingSink
    from monitoring.drift import DriftMonitor
    from monitoring.model_monitor import ModelMonitor
    from monitoring.performance import PerformanceMonitor

    rows = len(stream.frame)
    batches = [stream.frame.iloc[i : i + size].copy() for i in range(0, rows, size)]
    inputs = list(stream.inputs)

    def scoring() -> None:
        for batch in batches:
            stream.model.score(batch[inputs].to_numpy(np.float32))

    def drift() -> None:
        monitor = DriftMonitor(stream.profile)
        for batch in batches:
            monitor.update(batch)

    def performance() -> None:
        monitor = PerformanceMonitor(stream.profile)
        for batch in batches:
            monitor.update(batch)

    folder = tempfile.TemporaryDirectory(prefix="bench-monitor-")
    opened: list[tuple[ModelMonitor, Any]] = []

    def whole() -> None:
        """The whole monitor on the stream, into a fresh database (the previous pass's is closed first)."""
        for _, services in opened:
            services.close()
        url = f"sqlite:///{folder.name}/monitoring-{len(opened)}.sqlite"
        services = open_services(MonitoringSettings(monitoring_url=SecretStr(url)), LoggingSink())
        monitor = ModelMonitor(stream.profile, services, model="bench")
        for batch in batches:
            monitor.update(batch)
        monitor.flush()
        opened.append((monitor, services))

    figures: dict[str, Any] = {"batch": size, "rows": rows}
    for name, run in (("scoring", scoring), ("drift", drift), ("performance", performance)):
        cpu, wall, _ = best(passes, run)
        figures[name] = {"cpu_us": cpu / rows * 1e6, "wall_us": wall / rows * 1e6}
    cpu, wall, _ = best(passes, whole)
    monitor, services = opened[-1]
    figures["monitor"] = {"cpu_us": cpu / rows * 1e6, "wall_us": wall / rows * 1e6}
    figures["alerts_raised"] = len(services.alerts.list_alerts())
    performance_monitor = monitor.performance
    figures["open_days"] = len(performance_monitor.open_days)
    figures["held_bytes"] = getattr(performance_monitor, "nbytes", None)
    labels = stream.labels
    chunks = [labels.iloc[lo:hi] for lo, hi in zip(*_bounds(len(labels), deliveries), strict=True)]
    c0, w0 = time.process_time(), time.perf_counter()
    for chunk in chunks:
        monitor.deliver_labels(chunk)
    figures["labels"] = {
        "labels": len(labels),
        "deliveries": len(chunks),
        "cpu_us_per_label": (time.process_time() - c0) / max(len(labels), 1) * 1e6,
        "wall_us_per_label": (time.perf_counter() - w0) / max(len(labels), 1) * 1e6,
        "open_days_after": len(monitor.performance.open_days),
    }
    services.close()
    folder.cleanup()
    return figures


def _bounds(total: int, parts: int) -> tuple[list[int], list[int]]:
    edges = np.linspace(0, total, parts + 1).astype(int).tolist()
    return edges[:-1], edges[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", default="250,1000,4000", help="micro-batch sizes, comma separated")
    parser.add_argument("--rows", type=int, default=100_000, help="transactions of the stream to monitor")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--customers", type=int, default=2_500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--label-deliveries", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    built = scored_stream(args.days, args.customers, args.seed)
    frame = built.frame.iloc[: args.rows].reset_index(drop=True)
    labels = built.labels[built.labels["transaction_id"].isin(frame["transaction_id"])].reset_index(drop=True)
    stream = Stream(built.profile, built.model, built.inputs, frame, labels)
    days = frame["timestamp"].dt.normalize().nunique()
    print(f"{len(frame):,} transactions over {days} days ({len(frame) / days:,.0f} a day), {len(labels):,} labels")
    print(f"budget: {BUDGET_US:.0f} µs of monitoring per transaction (10 % of a 10,000 transactions/s worker)\n")
    header = f"{'batch':>6} {'scoring':>9} {'drift':>8} {'perf.':>8} {'monitor':>9} {'wall':>8} {'/scoring':>9}"
    print(header + f" {'labels':>8}   (CPU µs per transaction; labels: CPU µs per label)")
    results = []
    for size in (int(text) for text in args.batches.split(",")):
        figures = measure(stream, size, args.repeat, args.label_deliveries)
        figures["monitor_over_scoring"] = figures["monitor"]["cpu_us"] / figures["scoring"]["cpu_us"]
        figures["budget_share"] = figures["monitor"]["cpu_us"] / BUDGET_US
        results.append(figures)
        print(
            f"{size:>6} {figures['scoring']['cpu_us']:>9.2f} {figures['drift']['cpu_us']:>8.2f} "
            f"{figures['performance']['cpu_us']:>8.2f} {figures['monitor']['cpu_us']:>9.2f} "
            f"{figures['monitor']['wall_us']:>8.1f} {figures['monitor_over_scoring']:>9.2f} "
            f"{figures['labels']['cpu_us_per_label']:>8.2f}"
        )
    report = {
        "machine": {"python": platform.python_version(), "processor": platform.processor(), "cpus": os.cpu_count()},
        "load_average": os.getloadavg(),
        "transactions": len(frame),
        "days": int(days),
        "labels": len(labels),
        "budget_us": BUDGET_US,
        "results": results,
    }
    print(json.dumps({"load_average": report["load_average"]}))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""The batch route's cost in process: CPU milliseconds per batch of ``POST /v1/score/batch``, through the real
application (``app_from_environment``, its middleware, key check, scoring and recording) driven by httpx's ASGI
transport in the same process, with no server, socket or load generator: a figure that a shared machine changes
much less than a throughput.

The model and the transactions are :func:`bench.api.prepare`'s (the demo's model trained, gated and promoted on
a simulated history; the next day's transactions). Each recording setup runs in a fresh process (the settings are
read from the environment): after a warm-up, ``--batches`` batches of ``--batch`` transactions, each with new
transaction ids, taken in turn from the day's transactions, each pass over the day shifted a day later (so that
the share of transactions not approved, which are explained, stays the day's own; the run prints it). The peer,
measured in the same process: ``POST /v1/noop`` with the same bodies (middleware, key check, body read).
Figures: the process's CPU time per batch (every thread: the audit trail's writer included), the event loop
thread's, and the wall time; the transactions per CPU second they give; and, with ``--stages``, the event loop
thread's CPU per stage of the batch path.

    python bench/api_batch.py --batches 20 --json bench-api-batch.json
"""

# ruff: noqa: E402  (the import path is fixed before the project packages are imported)
from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.api

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import orjson

from bench.models import DAYS

#: The stages timed with ``--stages`` (module, attribute path): each one's CPU, its callees included.
STAGES: tuple[tuple[str, str], ...] = (
    ("scoring_api.service.routes.score", "check_items"),
    ("scoring_api.pipeline.scorer", "Scorer.check"),
    ("scoring_api.pipeline.scorer", "Scorer.score_frame"),
    ("scoring_api.pipeline.scorer", "frame_fingerprints"),
    ("features.online", "OnlineFeatureEngine.update_and_read_batch"),
    ("scoring_api.pipeline.scorer", "Scorer._score"),
    ("scoring_api.decisions.policy", "DecisionPolicy.decide"),
    ("scoring_api.pipeline.scorer", "Scorer._explain"),
    ("scoring_api.deployments.served", "ServedModel.explain"),
    ("scoring_api.decisions.reasons", "ReasonWriter.rows_reasons"),
    ("scoring_api.sinks", "Sinks.batch_scored"),
    ("scoring_api.service.routes.score", "decision_body"),
    ("scoring_api.service.responses", "OrjsonResponse.render"),
)


def _timed_stages() -> dict[str, float]:
    """Wrap each stage to add its thread CPU time to the returned totals (milliseconds)."""
    import importlib

    totals: dict[str, float] = defaultdict(float)
    for module_name, path in STAGES:
        owner: Any = importlib.import_module(module_name)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        setattr(owner, name, _wrapped(getattr(owner, name), path, totals))
    return totals


def _wrapped(function: Callable[..., Any], label: str, totals: dict[str, float]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            totals[label] += (time.thread_time() - started) * 1e3

    return timed


def _bodies(records: list[dict[str, Any]], batch: int, tag: str, count: int, start: int = 0) -> list[bytes]:
    """``count`` batch bodies, the ``start``-th on: the day's transactions a batch at a time, each pass over the
    day a day later than the one before (so that a card's history in the online features stays the day's own,
    as if the traffic went on, instead of growing with every replay), every transaction with a new id."""
    import pandas as pd

    windows = max(1, len(records) // batch)
    stamps = pd.to_datetime([r["timestamp"] for r in records[: windows * batch]], format="ISO8601", utc=True)
    out = []
    for n in range(start, start + count):
        window, day = n % windows, n // windows
        shifted = (stamps[window * batch : (window + 1) * batch] + pd.Timedelta(days=day)).strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ"
        )
        rows = records[window * batch : (window + 1) * batch]
        items = [
            {**r, "transaction_id": f"{tag}{n}t{i}", "timestamp": t}
            for i, (r, t) in enumerate(zip(rows, shifted, strict=True))
        ]
        out.append(orjson.dumps({"transactions": items}))
    return out


async def _drive(key: str, records: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    from scoring_api.service.app import app_from_environment

    totals = _timed_stages() if args.stages else None
    app = app_from_environment()
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    out: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for body in _bodies(records, args.batch, "w", args.warmup):  # the first passes over the day
                answer = await client.post("/v1/score/batch", content=body, headers=headers)
                answer.raise_for_status()
            for route, tag in (("/v1/noop", "n"), ("/v1/score/batch", "b")):
                bodies = _bodies(records, args.batch, tag, args.batches, start=args.warmup)
                if totals is not None:
                    totals.clear()
                cpu, thread, wall = time.process_time(), time.thread_time(), time.perf_counter()
                for body in bodies:
                    answer = await client.post(route, content=body, headers=headers)
                    answer.raise_for_status()
                n = len(bodies)
                figures: dict[str, Any] = {
                    "cpu_ms_per_batch": (time.process_time() - cpu) / n * 1e3,
                    "loop_thread_cpu_ms_per_batch": (time.thread_time() - thread) / n * 1e3,
                    "wall_ms_per_batch": (time.perf_counter() - wall) / n * 1e3,
                }
                if route == "/v1/score/batch":
                    items = answer.json()["items"]
                    explained = sum(1 for i in items if i["decision"] and i["decision"]["decision"] != "approve")
                    figures["not_approved_share_last_batch"] = explained / len(items)
                    figures["transactions_per_cpu_s"] = args.batch / figures["cpu_ms_per_batch"] * 1e3
                    if totals is not None:
                        figures["stages_ms_per_batch"] = {k: v / n for k, v in totals.items()}
                out["noop" if route == "/v1/noop" else "batch"] = figures
    return out


#: What the service records, per setup (the environment each adds), as in ``bench/api.py``.
RECORDING: dict[str, dict[str, str]] = {
    "nothing recorded": {"FRAUD_SCORING_AUDIT": "false", "FRAUD_SCORING_MONITORING": "false"},
    "audit": {"FRAUD_SCORING_AUDIT": "true", "FRAUD_SCORING_MONITORING": "false"},
    "audit and monitoring": {"FRAUD_SCORING_AUDIT": "true", "FRAUD_SCORING_MONITORING": "true"},
}


def _child(args: argparse.Namespace) -> int:
    """One setup, in this process: its figures as JSON on the last line of the output."""
    prepared = json.loads((args.workdir / "env.json").read_text(encoding="utf-8"))
    key = prepared.pop("BENCH_KEY")
    stores = Path(tempfile.mkdtemp(prefix="stores-", dir=args.workdir))
    os.environ.update(prepared)
    os.environ.update(RECORDING[args.child])
    os.environ.update({
        "FRAUD_AUDIT_URL": f"sqlite:///{stores}/audit.sqlite",
        "FRAUD_AUDIT_ARCHIVE_DIR": str(stores / "archive"),
        "FRAUD_MONITORING_URL": f"sqlite:///{stores}/monitoring.sqlite",
    })  # fmt: skip
    records = orjson.loads((args.workdir / "records.json").read_bytes())
    print(json.dumps(asyncio.run(_drive(key, records, args))))
    return 0


def _prepare(workdir: Path, days: int) -> None:
    """The model and the transactions, once per working folder (a later run with the same folder reuses them)."""
    if (workdir / "env.json").exists():
        return
    from bench.api import prepare

    env, records = prepare(workdir, days)
    (workdir / "records.json").write_bytes(orjson.dumps(records))
    (workdir / "env.json").write_text(json.dumps(env), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=20, help="measured batches per route and setup")
    parser.add_argument("--warmup", type=int, default=3, help="batches before the measurement")
    parser.add_argument("--batch", type=int, default=1_000, help="transactions per batch")
    parser.add_argument("--days", type=int, default=DAYS, help="simulated history the model is trained on")
    parser.add_argument("--stages", action="store_true", help="also time the stages of the batch path")
    parser.add_argument("--workdir", type=Path, help="keep the model and transactions here (reused when present)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--child", choices=sorted(RECORDING), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        return _child(args)
    with tempfile.TemporaryDirectory(prefix="bench-api-batch-") as folder:
        workdir = (args.workdir or Path(folder)).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        _prepare(workdir, args.days)
        figures: dict[str, Any] = {"batch": args.batch, "batches": args.batches}
        passed = ["--batches", str(args.batches), "--warmup", str(args.warmup), "--batch", str(args.batch)]
        for setup in RECORDING:
            command = [sys.executable, __file__, "--child", setup, "--workdir", str(workdir), *passed]
            if args.stages:
                command.append("--stages")
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"the {setup!r} setup failed:\n{done.stderr[-4000:]}")
            figures[setup] = json.loads(done.stdout.strip().splitlines()[-1])
            _print(setup, figures[setup])
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


def _print(setup: str, f: dict[str, Any]) -> None:
    batch, noop = f["batch"], f["noop"]
    print(f"\n{setup}:")
    print(f"  batch: {batch['cpu_ms_per_batch']:.1f} ms CPU per batch (event loop thread "
          f"{batch['loop_thread_cpu_ms_per_batch']:.1f}), wall {batch['wall_ms_per_batch']:.1f} ms; "
          f"{batch['transactions_per_cpu_s']:,.0f} transactions per CPU second; "
          f"{batch['not_approved_share_last_batch']:.0%} of the last batch not approved")  # fmt: skip
    print(f"  noop with the same bodies: {noop['cpu_ms_per_batch']:.1f} ms CPU per request "
          f"(batch / noop: {batch['cpu_ms_per_batch'] / max(noop['cpu_ms_per_batch'], 1e-9):.1f})")  # fmt: skip
    for stage, ms in sorted(batch.get("stages_ms_per_batch", {}).items(), key=lambda kv: -kv[1]):
        print(f"    {stage:<45} {ms:7.2f} ms")


if __name__ == "__main__":
    sys.exit(main())

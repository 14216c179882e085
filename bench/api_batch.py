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
Figures: the CPU time per batch of the process (every thread) and of its children (the audit trail's recording
process, by default; ``audit, in a thread`` records in a thread of the service instead), the event loop
thread's, and the wall time; the transactions per CPU second they give; and, with ``--stages``, the event loop
thread's CPU per stage of the batch path.

The single-transaction route is measured the same way (``--singles``): ``POST /v1/score``, ``--in-flight``
requests at a time (as a load generator's connections, so that the audit writer commits several requests'
records together as it does in service), the process's CPU per request; the in-process client's own cost is
measured on a bare ASGI application that reads the body and answers (no framework), and taken off to give the
service's CPU. Each recording setup's cost is then its added CPU over the service's with nothing recorded, in
the same run: ``recording_over_service_cpu``, per route (issue 16: at most 10 %).

    python bench/api_batch.py --batches 20 --singles 3000 --json bench-api-batch.json
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
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

import orjson

from bench.models import DAYS
from bench.processes import descendants_cpu_seconds

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


def _singles(records: list[dict[str, Any]], tag: str, count: int, start_day: int) -> list[bytes]:
    """``count`` single-transaction bodies: the day's transactions in turn, ``start_day`` days later and a day
    later for each pass, every one with a new id."""
    import pandas as pd

    stamps = pd.to_datetime([r["timestamp"] for r in records], format="ISO8601", utc=True)
    out = []
    for n in range(count):
        at = stamps[n % len(records)] + pd.Timedelta(days=start_day + n // len(records))
        out.append(orjson.dumps({**records[n % len(records)], "transaction_id": f"{tag}s{n}",
                                 "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}))  # fmt: skip
    return out


async def _bare_app(scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
    """An ASGI application that reads the body and answers 200 with nothing else: the client's own cost."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body", False):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"{}"})


async def _concurrently(client: Any, route: str, bodies: list[bytes], headers: dict[str, str], in_flight: int) -> None:
    """Post every body, ``in_flight`` at a time (as many connections of a load generator); any failure raises."""
    queue = list(reversed(bodies))

    async def connection() -> None:
        while queue:
            answer = await client.post(route, content=queue.pop(), headers=headers)
            answer.raise_for_status()

    await asyncio.gather(*(connection() for _ in range(in_flight)))


def _cpu() -> tuple[float, float]:
    """CPU seconds so far of this process (every thread) and of its child processes (the audit trail's recording
    process, when it records in one)."""
    return time.process_time(), descendants_cpu_seconds(os.getpid())


async def _singles_cpu(
    client: Any, route: str, bodies: list[bytes], headers: dict[str, str], in_flight: int
) -> dict[str, float]:
    (own, children), wall = _cpu(), time.perf_counter()
    await _concurrently(client, route, bodies, headers, in_flight)
    own_after, children_after = _cpu()
    return {
        "cpu_us_per_request": (own_after - own + children_after - children) / len(bodies) * 1e6,
        "recording_process_cpu_us_per_request": (children_after - children) / len(bodies) * 1e6,
        "wall_us_per_request": (time.perf_counter() - wall) / len(bodies) * 1e6,
    }


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
                (own, children), thread, wall = _cpu(), time.thread_time(), time.perf_counter()
                for body in bodies:
                    answer = await client.post(route, content=body, headers=headers)
                    answer.raise_for_status()
                n = len(bodies)
                own_after, children_after = _cpu()
                figures: dict[str, Any] = {
                    "cpu_ms_per_batch": (own_after - own + children_after - children) / n * 1e3,
                    "recording_process_cpu_ms_per_batch": (children_after - children) / n * 1e3,
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
            if args.singles:
                # Single transactions, ``--in-flight`` at a time; dated after the batches' days.
                start_day = (args.warmup + args.batches) * args.batch // max(len(records), 1) + 2
                warm = _singles(records, "w", min(args.singles, 500), start_day)
                await _concurrently(client, "/v1/score", warm, headers, args.in_flight)
                bodies = _singles(records, "s", args.singles, start_day + 1)
                out["score"] = await _singles_cpu(client, "/v1/score", bodies, headers, args.in_flight)
                out["noop_single"] = await _singles_cpu(client, "/v1/noop", bodies, headers, args.in_flight)
        bare = httpx.ASGITransport(app=_bare_app)
        async with httpx.AsyncClient(transport=bare, base_url="http://bench") as client:
            if args.singles:
                out["client_single"] = await _singles_cpu(client, "/", bodies, headers, args.in_flight)
    return out


#: What the service records, per setup (the environment each adds), as in ``bench/api.py``.
RECORDING: dict[str, dict[str, str]] = {
    "nothing recorded": {"FRAUD_SCORING_AUDIT": "false", "FRAUD_SCORING_MONITORING": "false"},
    "audit": {"FRAUD_SCORING_AUDIT": "true", "FRAUD_SCORING_MONITORING": "false"},
    "audit, in a thread": {
        "FRAUD_SCORING_AUDIT": "true",
        "FRAUD_SCORING_MONITORING": "false",
        "FRAUD_AUDIT_WRITER": "thread",
    },
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
    parser.add_argument("--singles", type=int, default=3_000, help="single-transaction requests (0: none)")
    parser.add_argument("--in-flight", type=int, default=32, help="single-transaction requests in flight")
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
        passed = ["--batches", str(args.batches), "--warmup", str(args.warmup), "--batch", str(args.batch),
                  "--singles", str(args.singles), "--in-flight", str(args.in_flight)]  # fmt: skip
        for setup in RECORDING:
            command = [sys.executable, __file__, "--child", setup, "--workdir", str(workdir), *passed]
            if args.stages:
                command.append("--stages")
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"the {setup!r} setup failed:\n{done.stderr[-4000:]}")
            figures[setup] = json.loads(done.stdout.strip().splitlines()[-1])
            _print(setup, figures[setup])
        figures["recording_over_service_cpu"] = _recording_shares(figures)
        for setup, shares in figures["recording_over_service_cpu"].items():
            print(f"\n{setup}, recording over the service's CPU with nothing recorded: "
                  + ", ".join(f"{route} {share:.1%}" for route, share in shares.items()))  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


def _recording_shares(figures: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Each recording setup's added CPU over the service's own with nothing recorded, per route: the batch
    route per batch, the score route per request less the in-process client's cost (a bare application's)."""
    off = figures["nothing recorded"]
    out: dict[str, dict[str, float]] = {}
    for setup in RECORDING:
        if setup == "nothing recorded":
            continue
        on = figures[setup]
        batch_on, batch_off = on["batch"], off["batch"]["cpu_ms_per_batch"]
        shares = {
            "batch": batch_on["cpu_ms_per_batch"] / batch_off - 1,
            # The service's process alone: what recording takes from the core that scores.
            "batch, service process": (batch_on["cpu_ms_per_batch"] - batch_on["recording_process_cpu_ms_per_batch"])
            / batch_off
            - 1,
        }
        if "score" in on:
            single_on, single_off = on["score"], off["score"]["cpu_us_per_request"]
            service = single_off - off["client_single"]["cpu_us_per_request"]
            shares["score"] = (single_on["cpu_us_per_request"] - single_off) / service
            own = single_on["cpu_us_per_request"] - single_on["recording_process_cpu_us_per_request"]
            shares["score, service process"] = (own - single_off) / service
        out[setup] = shares
    return out


def _print(setup: str, f: dict[str, Any]) -> None:
    batch, noop = f["batch"], f["noop"]
    if "score" in f:
        print(f"\n{setup}: score {f['score']['cpu_us_per_request']:.0f} us CPU per request (recording process "
              f"{f['score']['recording_process_cpu_us_per_request']:.0f}), noop "
              f"{f['noop_single']['cpu_us_per_request']:.0f}, the client alone (bare application) "
              f"{f['client_single']['cpu_us_per_request']:.0f}")  # fmt: skip
    print(f"\n{setup}:")
    print(f"  batch: {batch['cpu_ms_per_batch']:.1f} ms CPU per batch (recording process "
          f"{batch['recording_process_cpu_ms_per_batch']:.1f}, event loop thread "
          f"{batch['loop_thread_cpu_ms_per_batch']:.1f}), wall {batch['wall_ms_per_batch']:.1f} ms; "
          f"{batch['transactions_per_cpu_s']:,.0f} transactions per CPU second; "
          f"{batch['not_approved_share_last_batch']:.0%} of the last batch not approved")  # fmt: skip
    print(f"  noop with the same bodies: {noop['cpu_ms_per_batch']:.1f} ms CPU per request "
          f"(batch / noop: {batch['cpu_ms_per_batch'] / max(noop['cpu_ms_per_batch'], 1e-9):.1f})")  # fmt: skip
    for stage, ms in sorted(batch.get("stages_ms_per_batch", {}).items(), key=lambda kv: -kv[1]):
        print(f"    {stage:<45} {ms:7.2f} ms")


if __name__ == "__main__":
    sys.exit(main())

"""The scoring API under load: single-transaction scoring against a no-op route of the same application, and
the batch route, driven by wrk on loopback.

A model is trained, gated and promoted on a simulated history (the demo's configuration, ``bench/models.py``);
``fraud serve`` then runs with 1 worker over the embedded feature state and, with Redis, 2 workers over shared
state (several processes over embedded state are refused: each would hold part of every card's history). For
each, wrk measures in the same run:

* ``noop``: ``POST /v1/noop`` (the middleware, the key check and the body read, nothing else): the ceiling;
* ``score``: ``POST /v1/score``, one transaction per request, each with its own id (replays would be cheaper);
* ``batch``: ``POST /v1/score/batch`` with ``--batch`` transactions per request over ``--batch-connections``
  connections (4: with 32 batches of 1,000 in flight, each waits behind the others past wrk's 10 s timeout);
  each pass over the batch bodies is dated a day later than the one before (each wrk thread in its own range of
  days), so that the replayed cards' histories stay a day's and the share of transactions not approved (and
  explained) stays the day's own.

The 1-worker service runs three times in the run: with nothing recorded (``FRAUD_SCORING_AUDIT=false``,
``FRAUD_SCORING_MONITORING=false``), with the audit trail (every decision and access committed before the answer),
and with the audit trail and monitoring (the default); the ratios to the first say what recording costs.

Targets (issue 10, 2 workers): scoring reaches 0.6 of the no-op route's requests/s at 32 connections with p99
under 10 ms; the batch route sustains 200,000 transactions/s. Recording every decision costs at most 10 % of the
throughput (issue 16). The machine is shared: wrk runs on the same cores. So each measurement also reads the
service's CPU time per request (its processes' user and system time, from /proc: its workers and their audit
recording processes), which other jobs change much less than the rates, and says how many cores the p99 target
needs at that cost: by Little's law, 32 connections each waiting on its answer reach a mean latency under 10 ms
only at 32 / 0.010 = 3,200 requests/s.

    python bench/api.py --duration 10 --json bench-api.json
"""

# ruff: noqa: E402  (the import path is fixed before the project packages are imported)
from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.models

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from typing import Any

import orjson

from bench.models import DAYS
from bench.processes import group_cpu_seconds

ROOT = Path(__file__).resolve().parents[1]
FRAUD = str(Path(sys.executable).with_name("fraud"))
_LUA = """
local templates = {%s}
local counter = 0
local prefix = ""
local threads = 0
local first_day = %d -- epoch seconds of the day the bodies' @D0@ stands for
local span = %d -- days each thread's replays may move forward
function setup(thread)
    thread:set("id", tostring(math.random(1, 1000000000)))
    thread:set("no", threads)
    threads = threads + 1
end
function init(args)
    prefix = "b" .. id .. "t" -- letters around the digits: "123456789-1234" would read as a card number
end
function request()
    counter = counter + 1
    local body = templates[(counter %% #templates) + 1]:gsub("@ID@", prefix .. counter)
    if body:find("@D0@", 1, true) then -- each pass over the templates a day later: a card's history stays a day's
        local shift = no * span + math.floor(counter / #templates)
        body = body:gsub("@D(%%d+)@", function(k)
            return os.date("!%%Y-%%m-%%d", first_day + (shift + tonumber(k)) * 86400)
        end)
    end
    return wrk.format("POST", "%s", {["Content-Type"] = "application/json", ["X-API-Key"] = "%s"}, body)
end
"""
_RATE = re.compile(r"Requests/sec:\s+([0-9.]+)")
_PERCENTILE = re.compile(r"^\s+(50|75|90|99)%\s+([0-9.]+)(us|ms|s)\s*$", re.M)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_ERRORS = re.compile(r"Socket errors: (.*)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(root: Path, days: int) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Train, gate and promote a model; the service's environment, and the next day's transactions."""
    from bench.models import promoted_model
    from lifecycle.registry.database import Database
    from scoring_api.access.keys import KeyStore, Role

    data, cut = promoted_model(root, days)
    day = data.transactions[data.transactions["timestamp"] >= cut]
    env = {
        "FRAUD_REGISTRY_URL": f"sqlite:///{root}/registry.sqlite",
        "FRAUD_MODEL_STORE": str(root / "models"),
        "FRAUD_SCORING_DATABASE_URL": f"sqlite:///{root}/service.sqlite",
        "FRAUD_SCORING_EXPOSE_NOOP": "true",
    }
    database = Database(env["FRAUD_SCORING_DATABASE_URL"])
    env["BENCH_KEY"] = KeyStore(database).create(Role.SCORER, "bench", "bench")[1]
    database.close()
    columns = [c for c in day.columns if c not in ("is_fraud", "fraud_scenario")]
    records = orjson.loads(day[columns].to_json(orient="records", date_format="iso"))
    return env, records


class Service:
    """``fraud serve`` in a subprocess, ready when /readyz says so."""

    def __init__(self, env: dict[str, str], workers: int, redis_url: str | None) -> None:
        self.port = _free_port()
        full = {**os.environ, **env, "FRAUD_SCORING_PORT": str(self.port), "FRAUD_SCORING_WORKERS": str(workers)}
        if redis_url:
            full["FRAUD_REDIS_URL"] = redis_url
        self.process = subprocess.Popen([FRAUD, "serve", "--log-level", "warning"], env=full, cwd=ROOT,
                                        start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"the service did not become ready (exit status {self.process.returncode})")
            time.sleep(0.5)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _wrk(
    port: int,
    path: str,
    key: str,
    bodies: list[str],
    args: argparse.Namespace,
    seconds: float,
    first_day: int = 0,
    connections: int | None = None,
) -> dict[str, Any]:
    templates = ",".join("[==[" + body + "]==]" for body in bodies)
    span = (_LAST_DAY - first_day) // 86_400 // max(args.threads, 1) if first_day else 0
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_LUA % (templates, first_day, span, path, key))
    command = ["wrk", f"-t{args.threads}", f"-c{connections or args.connections}", f"-d{seconds:g}s", "--latency",
               "--timeout", "10s", "-s", script.name, f"http://127.0.0.1:{port}{path}"]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    Path(script.name).unlink()
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    rate = _RATE.search(output)
    non_2xx = _NON_2XX.search(output)
    errors = _ERRORS.search(output)
    return {
        "requests_per_s": float(rate.group(1)) if rate else 0.0,
        "latency_ms": {f"p{p}": float(v) * unit[u] for p, v, u in _PERCENTILE.findall(output)},
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


#: The last day a replayed batch may be moved to (the contract refuses times from 2100 on).
_LAST_DAY = int(datetime(2099, 1, 1, tzinfo=UTC).timestamp())


def _dated(records: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    """The records with each timestamp's date written ``@D<k>@`` (k: days after the first day), and the first
    day's epoch seconds: the wrk script writes the dates of each pass over the batches a day later, so that
    replaying them does not pile the same cards' transactions onto the same hours (which soon makes most of
    them suspicious, and explained)."""
    days = sorted({r["timestamp"][:10] for r in records})
    first = datetime.fromisoformat(days[0]).replace(tzinfo=UTC)
    index = {day: (datetime.fromisoformat(day).replace(tzinfo=UTC) - first).days for day in days}
    return int(first.timestamp()), [{**r, "timestamp": f"@D{index[r['timestamp'][:10]]}@{r['timestamp'][10:]}"}
                                    for r in records]  # fmt: skip


def measure(service: Service, key: str, records: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    singles = [orjson.dumps({**r, "transaction_id": "@ID@"}).decode() for r in records[:500]]
    first_day, dated = _dated(records)
    batch = [
        orjson.dumps(
            {"transactions": [{**r, "transaction_id": f"@ID@-{i}"} for i, r in enumerate(dated[s : s + args.batch])]}
        ).decode()
        for s in range(0, min(len(records) - args.batch, 3 * args.batch) + 1, args.batch)
    ]
    _wrk(service.port, "/v1/score", key, singles, args, 3)  # warm-up
    out = {
        "noop": _measured_wrk(service, "/v1/noop", key, singles, args),
        "score": _measured_wrk(service, "/v1/score", key, singles, args),
        "batch": _measured_wrk(
            service,
            "/v1/score/batch",
            key,
            batch,
            args,
            first_day,
            connections=max(args.threads, args.batch_connections),
        ),
    }
    out["batch"]["transactions_per_s"] = out["batch"]["requests_per_s"] * args.batch
    out["score_over_noop"] = out["score"]["requests_per_s"] / max(out["noop"]["requests_per_s"], 1e-9)
    # Little's law: with every connection waiting on its answer, requests/s = connections / mean latency, so a
    # mean (hence a p99) under 10 ms needs connections / 0.010 requests/s, and the CPU to serve them.
    needed = args.connections / 0.010
    cpu = out["score"]["service_cpu_ms_per_request"]
    out["little"] = {
        "connections": args.connections,
        "score_requests_per_s_needed": needed,
        "score_cores_needed": None if cpu is None else needed * cpu / 1e3,
        "cores": os.cpu_count(),
    }
    return out


def _measured_wrk(
    service: Service,
    path: str,
    key: str,
    bodies: list[str],
    args: argparse.Namespace,
    first_day: int = 0,
    connections: int | None = None,
) -> dict[str, Any]:
    """One wrk measurement, with the service's CPU time per request over it (all its processes, user and
    system): what a request costs whatever else runs on the machine."""
    before = group_cpu_seconds(service.process.pid)
    figures = _wrk(service.port, path, key, bodies, args, args.duration, first_day, connections)
    spent = group_cpu_seconds(service.process.pid) - before
    requests = figures["requests_per_s"] * args.duration
    figures["service_cpu_ms_per_request"] = 1e3 * spent / requests if requests else None
    return figures


def _redis() -> tuple[subprocess.Popen[bytes], str] | None:
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    port = _free_port()
    process = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL)  # fmt: skip
    time.sleep(0.5)
    return process, f"redis://127.0.0.1:{port}/0"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk measurement")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--batch-connections", type=int, default=4,
                        help="connections for the batch route (32 batches of 1,000 in flight queue past wrk's 10 s "
                             "timeout on this machine, and a timed-out batch counts nothing)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--batch", type=int, default=1_000, help="transactions per batch request")
    parser.add_argument("--days", type=int, default=DAYS, help="simulated history the model is trained on")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--recording", action="append", choices=sorted(RECORDING),
                        help="only these 1-worker setups (repeatable; default: all, then 2 workers)")  # fmt: skip
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed; run infra/bootstrap.sh (apt-get install wrk)")
    figures: dict[str, Any] = {"connections": args.connections, "batch_connections": args.batch_connections,
                               "threads": args.threads, "batch": args.batch}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-api-") as folder:
        env, records = prepare(Path(folder), args.days)
        key = env.pop("BENCH_KEY")
        redis = _redis()
        setups: list[tuple[str, int, str | None, dict[str, str]]] = [
            (f"1 worker, embedded state, {label}", 1, None, recording)
            for label, recording in RECORDING.items()
            if args.recording is None or label in args.recording
        ]
        if redis is not None and args.recording is None:
            setups.append(
                ("2 workers, Redis state, audit and monitoring", 2, redis[1], RECORDING["audit and monitoring"])
            )
        try:
            for number, (name, workers, url, recording) in enumerate(setups):
                stores = {
                    "FRAUD_AUDIT_URL": f"sqlite:///{folder}/audit-{number}/audit.sqlite",
                    "FRAUD_AUDIT_ARCHIVE_DIR": f"{folder}/audit-{number}/archive",
                    "FRAUD_MONITORING_URL": f"sqlite:///{folder}/monitoring-{number}/monitoring.sqlite",
                }
                service = Service({**env, **stores, **recording}, workers, url)
                try:
                    figures[name] = measure(service, key, records, args)
                finally:
                    service.stop()
                _print(name, figures[name])
            _print_recording(figures)
        finally:
            if redis is not None:
                redis[0].terminate()
                redis[0].wait(timeout=10)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


#: What the service records, per measured setup (the environment each run adds).
RECORDING: dict[str, dict[str, str]] = {
    "nothing recorded": {"FRAUD_SCORING_AUDIT": "false", "FRAUD_SCORING_MONITORING": "false"},
    "audit": {"FRAUD_SCORING_AUDIT": "true", "FRAUD_SCORING_MONITORING": "false"},
    # The same records, written by a thread of each worker instead of its recording process.
    "audit, in a thread": {
        "FRAUD_SCORING_AUDIT": "true",
        "FRAUD_SCORING_MONITORING": "false",
        "FRAUD_AUDIT_WRITER": "thread",
    },
    "audit and monitoring": {"FRAUD_SCORING_AUDIT": "true", "FRAUD_SCORING_MONITORING": "true"},
}


def _print_recording(figures: dict[str, Any]) -> None:
    """What recording costs: each recording setup's throughput over the same service recording nothing."""
    base = figures.get("1 worker, embedded state, nothing recorded")
    if base is None:
        return
    print("\nrecording's cost (1 worker; throughput over the same service recording nothing, target >= 0.90):")
    ratios: dict[str, dict[str, float]] = {}
    for label in RECORDING:
        f = figures.get(f"1 worker, embedded state, {label}")
        if f is None or label == "nothing recorded":
            continue
        ratios[label] = {
            route: f[route]["requests_per_s"] / max(base[route]["requests_per_s"], 1e-9) for route in ("score", "batch")
        }
        print(f"  {label:<21} score {ratios[label]['score']:.2f}   batch {ratios[label]['batch']:.2f}")
    figures["recording_over_nothing"] = ratios


def _print(name: str, f: dict[str, Any]) -> None:
    print(f"\n{name}:")
    for route in ("noop", "score", "batch"):
        r = f[route]
        lat = r["latency_ms"]
        extra = f", {r['transactions_per_s']:,.0f} transactions/s" if route == "batch" else ""
        cpu = r.get("service_cpu_ms_per_request")
        cost = "" if cpu is None else f"; service CPU {cpu:.2f} ms/request"
        print(f"  {route:<6} {r['requests_per_s']:>10,.0f} requests/s{extra}; latency ms p50 {lat.get('p50', 0):.2f} "
              f"p99 {lat.get('p99', 0):.2f}{cost}; non-2xx {r['non_2xx']} {r['socket_errors']}")  # fmt: skip
    print(
        f"  score / noop: {f['score_over_noop']:.2f} (target >= 0.6, p99 < 10 ms); "
        f"batch {f['batch']['transactions_per_s']:,.0f} transactions/s (target >= 200,000)"
    )
    needed = f["little"]["score_requests_per_s_needed"]
    cores = f["little"]["score_cores_needed"]
    if cores is not None:
        print(f"  p99 < 10 ms at {f['little']['connections']} connections needs at least {needed:,.0f} requests/s "
              f"(Little's law): {cores:.2f} cores of the service alone at its CPU per scored request "
              f"(this machine: {os.cpu_count()} cores, wrk's included)")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())

"""The audit trail on SQLite: chained appends against a plain insert of the same records, then verification
and export.

The records are what the scoring service sends: decisions carrying the 28 model inputs of the baseline feature
set, three reason codes and the raw input fields (about 2 KB of JSON each), and API accesses (about 300
bytes). The peer, measured in the same run on the same kind of database (SQLite, WAL, synchronous FULL, 16 KiB
pages, the same batches), is a plain log: each event serialised with the same JSON library and inserted
as it is, with no card-number screening, no hash chain and no signed head. The chained figure is
:meth:`AuditLog.append <monitoring.audit.log.AuditLog.append>` with everything it does: screening, hashing,
chaining, inserting and signing the new head, one transaction per batch.

The second measure is what recording costs a scoring request, in process: requests on one event loop (as
the service's), each in its recording scope, recording its access and one decision through the service's
:class:`~scoring_api.recording.AuditRecorder` and group-commit writer and awaiting the commit before it
"answers", against the same requests recording nothing, in the same run. CPU time per request is the steadier
figure on a shared machine.

The third measures the columnar form of a scored batch's decisions (``--encode-decisions``, in batches of
``--encode-batch``): the CPU per decision of encoding a :class:`~monitoring.audit.DecisionBatch` a column at a
time, against making each row's event from the batch and encoding the events one by one (what the recording
side would do without the columnar encoder), with the same records checked equal first; and the CPU per
decision of the recorder building the batch from a scored frame of the stream worker's shape (which is what
recording adds to the scoring path).

    python bench/audit.py --records 0 --export-records 0 --requests 0 --encode-decisions 20000 --json audit.json
    python bench/audit.py --records 200000 --batch 2000 --requests 20000 --json audit.json
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder comes first on the path, and its features.py is not the features package.
_here = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
sys.path.insert(0, str(_here.parent))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import functools  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import sqlite3  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import orjson  # noqa: E402
import pandas as pd  # noqa: E402

from features.model_input import ModelInput  # noqa: E402
from ingest.contract import Transaction  # noqa: E402
from monitoring.audit import (  # noqa: E402
    AccessEvent,
    AuditEvent,
    AuditLog,
    AuditWriter,
    DecisionEvent,
    Reason,
    Signer,
    decision_batch_events,
    encode_decision_batch,
    export_bundle,
)
from monitoring.audit.decision_batch import decision_batch_of  # noqa: E402
from monitoring.audit.encoding import encode  # noqa: E402
from scoring_api.recording import AuditRecorder, recording_scope  # noqa: E402
from scoring_api.recording.audit import decision_batch  # noqa: E402
from scoring_api.records import Decision, ModelRole, Outcome, ReasonCode, RiskBand, ScoredBatch  # noqa: E402
from scoring_api.sinks import AccessEvent as ServiceAccess  # noqa: E402
from scoring_api.sinks import BatchScored, utc_now  # noqa: E402

#: The model inputs of the baseline feature set (amount, then the features), as a decision records them.
FEATURES = (
    "amount",
    "is_weekend",
    "is_night",
    "card_count_1d",
    "card_mean_amount_1d",
    "card_count_7d",
    "card_mean_amount_7d",
    "card_count_30d",
    "card_mean_amount_30d",
    "terminal_count_1d_lag7d",
    "terminal_fraud_share_1d_lag7d",
    "terminal_count_7d_lag7d",
    "terminal_fraud_share_7d_lag7d",
    "terminal_count_30d_lag7d",
    "terminal_fraud_share_30d_lag7d",
    "card_count_10m",
    "card_sum_amount_10m",
    "card_count_1h",
    "card_sum_amount_1h",
    "card_sum_amount_1d",
    "card_amount_ratio_30d",
    "card_amount_zscore_30d",
    "card_seconds_since_previous_30d",
    "card_terminal_is_new_30d",
    "card_country_is_new_30d",
    "terminal_count_1h",
    "terminal_count_1d",
    "terminal_mean_amount_1d",
)


def decision(i: int) -> DecisionEvent:
    return DecisionEvent(
        decision_id=f"dec-{i:010d}",
        transaction_id=f"tx-{i:010d}",
        card_token="tok_" + hashlib.sha256(f"card-{i % 50_000}".encode()).hexdigest()[:32],
        input={
            "transaction_id": f"tx-{i:010d}",
            "timestamp": "2026-03-01T10:00:00.123456+00:00",
            "customer_id": f"C-{i % 5_000}",
            "terminal_id": f"T-{i % 10_000}",
            "amount": round(5 + (i * 7.31) % 300, 2),
            "currency": "EUR",
            "mcc": "5411",
            "channel": "ecom",
            "entry_mode": "keyed",
            "country": "FR",
            "device_id": "",
        },
        features={name: ((i * 31 + k * 17) % 1000) / 7.0 for k, name in enumerate(FEATURES)},
        model_content_id="sha256:" + "ab" * 32,
        decision_config_version="cfg-3",
        score=((i * 7919) % 10_000) / 10_000.0,
        decision="review",
        reasons=tuple(
            Reason(code=f"R{k}", feature=FEATURES[k], contribution=0.123456789 / (k + 1), text="pushed the score up")
            for k in range(3)
        ),
        rules=(),
        card_display="497010******0014",
    )


def access(i: int) -> AccessEvent:
    return AccessEvent(
        key_id=f"key_{i % 20}",
        role="scorer",
        event_type="score",
        success=True,
        origin=f"10.0.{i % 4}.{i % 250}",
        resource="POST /v1/score",
        status=200,
    )


def plain_insert(path: Path, events: Sequence[AuditEvent], batch: int) -> None:
    """The peer: the same events as JSON, inserted as they are into the same kind of SQLite database."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA page_size = 16384")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY, recorded_at TEXT, kind TEXT, subject TEXT, payload TEXT)"
    )
    connection.execute("CREATE INDEX events_recorded_at ON events (recorded_at)")
    connection.execute("CREATE INDEX events_subject ON events (subject)")
    seq = 0
    for start in range(0, len(events), batch):
        rows = []
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        for event in events[start : start + batch]:
            seq += 1
            rows.append((seq, now, event.kind, str(getattr(event, event.subject_field)), orjson.dumps(event).decode()))
        connection.execute("BEGIN")
        connection.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows)
        connection.execute("COMMIT")
    connection.close()


def chained_append(log: AuditLog, events: Sequence[AuditEvent], batch: int) -> None:
    for start in range(0, len(events), batch):
        log.append(events[start : start + batch])


def timed(run: Callable[[], Any]) -> tuple[float, float]:
    """Wall and CPU seconds of ``run()`` (CPU time is steadier on a shared machine)."""
    began, began_cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - began, time.process_time() - began_cpu


def measure(name: str, events: Sequence[AuditEvent], batch: int, folder: Path, repeats: int) -> dict[str, Any]:
    """Best of ``repeats`` for the peer and the chained log, alternating, each into a fresh database."""
    plain, chained = [], []
    signer = Signer.from_hex("5e" * 32)
    for attempt in range(repeats):
        path = folder / f"plain-{name}-{attempt}.sqlite"
        plain.append(timed(functools.partial(plain_insert, path, events, batch)))
        log = AuditLog(f"sqlite:///{folder}/chained-{name}-{attempt}.sqlite", signer, archive_dir=folder / "archive")
        chained.append(timed(functools.partial(chained_append, log, events, batch)))
        log.close()
    best_plain, best_chained = min(plain), min(chained)
    size = round(sum(len(orjson.dumps(e)) for e in events[:1000]) / min(len(events), 1000))
    return {
        "records": len(events),
        "batch": batch,
        "payload_bytes": size,
        "plain_records_per_s": len(events) / best_plain[0],
        "chained_records_per_s": len(events) / best_chained[0],
        "plain_cpu_s": best_plain[1],
        "chained_cpu_s": best_chained[1],
        "plain_records_per_cpu_s": len(events) / best_plain[1],
        "chained_records_per_cpu_s": len(events) / best_chained[1],
        "chained_over_plain": best_plain[0] / best_chained[0],
    }


def export_and_verify(events: Sequence[AuditEvent], folder: Path) -> dict[str, Any]:
    log = AuditLog(f"sqlite:///{folder}/export.sqlite", Signer.from_hex("5e" * 32), archive_dir=folder / "archive")
    chained_append(log, events, 5_000)
    wall_verify, _ = timed(log.verify)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    wall_export, _ = timed(lambda: export_bundle(log, folder / "bundle", actor="bench"))
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    log.close()
    sizes = {p.name: p.stat().st_size for p in (folder / "bundle").iterdir()}
    return {
        "records": len(events),
        "verify_records_per_s": len(events) / wall_verify,
        "export_three_formats_records_per_s": len(events) / wall_export,
        "export_peak_rss_growth_mib": (rss_after - rss_before) / 1024,
        "bundle_bytes": sizes,
    }


def scored_request(i: int) -> tuple[ServiceAccess, BatchScored]:
    """What the score route hands its sink for one transaction: the granted access and the scored batch of one
    (a decision that was not approved, so with three reason codes)."""
    at = utc_now()
    transaction = Transaction(
        transaction_id=f"b1t{i}",
        timestamp=at,
        card_token="tok_" + hashlib.sha256(f"card-{i % 50_000}".encode()).hexdigest()[:32],
        customer_id=f"C-{i % 5_000}",
        terminal_id=f"T-{i % 10_000}",
        amount=round(5 + (i * 7.31) % 300, 2),
    )
    decision = Decision(
        decision_id=f"dec-{i:010d}",
        transaction_id=transaction.transaction_id,
        card_token=transaction.card_token,
        score=((i * 7919) % 10_000) / 10_000.0,
        risk_band=RiskBand.MEDIUM,
        outcome=Outcome.REVIEW,
        decided_by="model",
        rules_fired=(),
        reasons=tuple(
            ReasonCode(feature=FEATURES[k], value=1.0, contribution=0.123456789 / (k + 1), text="raised the risk")
            for k in range(3)
        ),
        review_threshold=0.5,
        decline_threshold=0.9,
        model_version="sha256:" + "ab" * 32,
        model_role=ModelRole.CHAMPION,
        decision_config_version=3,
        decided_at=at,
    )
    values = (np.arange(len(FEATURES)) * (i % 97 + 1) / 7).astype(np.float32).reshape(1, -1)
    batch = ScoredBatch((decision,), ModelInput(FEATURES, values), np.array([0]), scored=transaction)
    access = ServiceAccess(
        at=at, granted=True, status=200, method="POST", path="/v1/score", key_id=f"key_{i % 20}", role="scorer",
        origin=f"10.0.{i % 4}.{i % 250}", resource="/v1/score",
    )  # fmt: skip
    return access, BatchScored(at=at, source="api", batch=batch)


async def serve(
    requests: Sequence[tuple[ServiceAccess, BatchScored]], recorder: AuditRecorder | None, in_flight: int
) -> None:
    """Each request in its recording scope, ``in_flight`` at a time, answering once its records are committed."""
    slots = asyncio.Semaphore(in_flight)

    async def handle(access: ServiceAccess, scored: BatchScored) -> None:
        async with slots:
            with recording_scope() as scope:
                if recorder is not None:
                    recorder.access(access)
                    recorder.batch_scored(scored)
                await asyncio.sleep(0)  # the route's own await (reading the body)
                await scope.committed(30.0)

    await asyncio.gather(*(handle(access, scored) for access, scored in requests))


def recording_cost(count: int, in_flight: int, folder: Path, repeats: int) -> dict[str, Any]:
    """CPU and wall time per request recording an access and a decision, and recording nothing; best of each."""
    requests = [scored_request(i) for i in range(count)]
    off, on = [], []
    for attempt in range(repeats):
        off.append(timed(functools.partial(asyncio.run, serve(requests, None, in_flight))))
        log = AuditLog(
            f"sqlite:///{folder}/recorder-{attempt}.sqlite", Signer.from_hex("5e" * 32), archive_dir=folder / "archive"
        )
        recorder = AuditRecorder(AuditWriter(log), backend="numba")
        on.append(timed(functools.partial(asyncio.run, serve(requests, recorder, in_flight))))
        recorder.close()
        if not log.verify().ok or log.head().seq != 2 * count:
            raise RuntimeError(f"the recorded log is not the {2 * count} records submitted, chained")
        log.close()
    best_off, best_on = min(off, key=lambda t: t[1]), min(on, key=lambda t: t[1])
    return {
        "requests": count,
        "in_flight": in_flight,
        "off_requests_per_s": count / min(off)[0],
        "audit_requests_per_s": count / min(on)[0],
        "off_cpu_us_per_request": best_off[1] / count * 1e6,
        "audit_cpu_us_per_request": best_on[1] / count * 1e6,
        "recording_cpu_us_per_request": (best_on[1] - best_off[1]) / count * 1e6,
    }


def cpu_best(run: Callable[[], Any], repeats: int) -> float:
    """The least CPU seconds of ``repeats`` runs."""
    return min(timed(run)[1] for _ in range(repeats))


def columnar_encoding(count: int, batch: int, repeats: int) -> dict[str, Any]:
    """CPU per decision to encode the same decisions (the ``decisions`` workload) in batches of ``batch``: a
    column at a time from a :class:`~monitoring.audit.DecisionBatch`, against one event per row (made from the
    batch, as the recording process would without the columnar encoder) encoded one by one; and the encoding
    alone of events already made."""
    batches = [
        decision_batch_of([decision(i) for i in range(s, min(s + batch, count))]) for s in range(0, count, batch)
    ]
    events = [decision_batch_events(b) for b in batches]
    for b, made in zip(batches, events, strict=True):
        if encode_decision_batch(b) != [encode(e) for e in made]:
            raise RuntimeError("the columnar records differ from the per-event records")
    columnar = cpu_best(lambda: [encode_decision_batch(b) for b in batches], repeats)
    per_event = cpu_best(lambda: [[encode(e) for e in decision_batch_events(b)] for b in batches], repeats)
    encode_only = cpu_best(lambda: [[encode(e) for e in made] for made in events], repeats)
    return {
        "decisions": count,
        "batch": batch,
        "columnar_cpu_us_per_decision": columnar / count * 1e6,
        "per_event_cpu_us_per_decision": per_event / count * 1e6,
        "encode_only_cpu_us_per_decision": encode_only / count * 1e6,
        "per_event_over_columnar": per_event / columnar,
    }


def scored_frame(count: int) -> BatchScored:
    """What the stream worker hands its sink for a batch of ``count`` transactions: the scored frame, the model
    input and the decisions (a third not approved, with three reason codes)."""
    requests = [scored_request(i)[1] for i in range(count)]
    transactions = [r.batch.scored for r in requests]
    frame = pd.DataFrame([t.model_dump() for t in transactions if isinstance(t, Transaction)])
    decisions = tuple(d for r in requests for d in r.batch.new_decisions)
    values = np.concatenate([r.batch.model_input.values for r in requests])
    batch = ScoredBatch(decisions, ModelInput(FEATURES, values), np.arange(count), scored=frame)
    return BatchScored(at=utc_now(), source="stream", batch=batch)


def batch_building(count: int, batch: int, repeats: int) -> dict[str, Any]:
    """CPU per decision to build the recorder's :class:`~monitoring.audit.DecisionBatch` of scored batches of
    ``batch`` transactions (what recording adds to the scoring path before the writer takes it)."""
    events = [scored_frame(batch) for _ in range(max(1, count // batch))]
    build = cpu_best(lambda: [decision_batch(e, backend="numba") for e in events], repeats)
    return {
        "decisions": batch * len(events),
        "batch": batch,
        "build_cpu_us_per_decision": build / (batch * len(events)) * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000, help="records appended per measurement (0: skip)")
    parser.add_argument("--batch", type=int, default=2_000, help="events per append (one transaction)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each; the best is reported")
    parser.add_argument("--export-records", type=int, default=200_000, help="records verified and exported (0: skip)")
    parser.add_argument("--requests", type=int, default=20_000, help="requests for the recording cost (0: skip)")
    parser.add_argument("--in-flight", type=int, default=32, help="requests in flight for the recording cost")
    parser.add_argument(
        "--encode-decisions", type=int, default=20_000, help="decisions for the columnar encoding (0: skip)"
    )
    parser.add_argument("--encode-batch", type=int, default=1_000, help="decisions per batch for the encoding")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args()

    results: dict[str, Any] = {"machine": platform.platform(), "python": platform.python_version()}
    if args.encode_decisions:
        encoding = columnar_encoding(args.encode_decisions, args.encode_batch, args.repeats)
        building = batch_building(args.encode_decisions, args.encode_batch, args.repeats)
        results["columnar"] = {**encoding, **{k: v for k, v in building.items() if k.startswith("build")}}
        print(
            f"decisions in batches of {encoding['batch']}: columnar encoding "
            f"{encoding['columnar_cpu_us_per_decision']:.1f} us CPU each, per event (made from the batch, then "
            f"encoded) {encoding['per_event_cpu_us_per_decision']:.1f} us "
            f"({encoding['per_event_over_columnar']:.1f}x), "
            f"encoding events already made {encoding['encode_only_cpu_us_per_decision']:.1f} us; the recorder builds "
            f"the batch in {building['build_cpu_us_per_decision']:.2f} us each"
        )
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        folder = Path(tmp)
        workloads: dict[str, list[AuditEvent]] = {
            "decisions": [decision(i) for i in range(args.records)],
            "accesses": [access(i) for i in range(args.records)],
        }
        pairs = zip(workloads["decisions"], workloads["accesses"], strict=True)
        workloads["mixed"] = [event for pair in pairs for event in pair][: args.records]
        for name, events in workloads.items() if args.records else ():
            figures = measure(name, events, args.batch, folder, args.repeats)
            results[name] = figures
            print(
                f"{name:9s} {figures['payload_bytes']:5d} B/record  plain {figures['plain_records_per_s']:9,.0f}/s "
                f"({figures['plain_records_per_cpu_s']:9,.0f} per CPU s)  chained "
                f"{figures['chained_records_per_s']:9,.0f}/s ({figures['chained_records_per_cpu_s']:9,.0f} per CPU s)  "
                f"chained/plain {figures['chained_over_plain']:.2f}"
            )
        if args.export_records:
            exported = export_and_verify([decision(i) for i in range(args.export_records)], folder)
            results["export"] = exported
            print(
                f"verify {exported['verify_records_per_s']:,.0f} records/s; export to JSONL+CSV+Parquet "
                f"{exported['export_three_formats_records_per_s']:,.0f} records/s, peak memory growth "
                f"{exported['export_peak_rss_growth_mib']:.0f} MiB for {exported['records']:,} records"
            )
        if args.requests:
            cost = recording_cost(args.requests, args.in_flight, folder, args.repeats)
            results["recording"] = cost
            print(
                f"score request, {cost['in_flight']} in flight: nothing recorded {cost['off_requests_per_s']:,.0f}/s "
                f"({cost['off_cpu_us_per_request']:.0f} us CPU each), access and decision recorded "
                f"{cost['audit_requests_per_s']:,.0f}/s ({cost['audit_cpu_us_per_request']:.0f} us CPU each): "
                f"recording costs {cost['recording_cpu_us_per_request']:.0f} us CPU per request"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""The audit trail on SQLite: chained appends against a plain insert of the same records, then verification
and export.

The records are what the scoring service sends: decisions carrying the 28 model inputs of the baseline feature
set, three reason codes and the raw input fields (about 2 KB of JSON each), and API accesses (about 300
bytes). The peer, measured in the same run on the same kind of database (SQLite, WAL, synchronous FULL, 16 KiB
pages, the same batches), is a plain log: each event serialised with the same JSON library and inserted
as it is, with no card-number screening, no hash chain and no signed head. The chained figure is
:meth:`AuditLog.append <monitoring.audit.log.AuditLog.append>` with everything it does: screening, hashing,
chaining, inserting and signing the new head, one transaction per batch.

    python bench/audit.py --records 200000 --batch 2000 --json audit.json
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import resource
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from monitoring.audit import AccessEvent, AuditEvent, AuditLog, DecisionEvent, Reason, Signer, export_bundle

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
    import hashlib

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000, help="records appended per measurement")
    parser.add_argument("--batch", type=int, default=2_000, help="events per append (one transaction)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each; the best is reported")
    parser.add_argument("--export-records", type=int, default=200_000, help="records verified and exported")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args()

    results: dict[str, Any] = {"machine": platform.platform(), "python": platform.python_version()}
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        folder = Path(tmp)
        workloads: dict[str, list[AuditEvent]] = {
            "decisions": [decision(i) for i in range(args.records)],
            "accesses": [access(i) for i in range(args.records)],
        }
        pairs = zip(workloads["decisions"], workloads["accesses"], strict=True)
        workloads["mixed"] = [event for pair in pairs for event in pair][: args.records]
        for name, events in workloads.items():
            figures = measure(name, events, args.batch, folder, args.repeats)
            results[name] = figures
            print(
                f"{name:9s} {figures['payload_bytes']:5d} B/record  plain {figures['plain_records_per_s']:9,.0f}/s "
                f"({figures['plain_records_per_cpu_s']:9,.0f} per CPU s)  chained "
                f"{figures['chained_records_per_s']:9,.0f}/s ({figures['chained_records_per_cpu_s']:9,.0f} per CPU s)  "
                f"chained/plain {figures['chained_over_plain']:.2f}"
            )
        exported = export_and_verify([decision(i) for i in range(args.export_records)], folder)
        results["export"] = exported
        print(
            f"verify {exported['verify_records_per_s']:,.0f} records/s; export to JSONL+CSV+Parquet "
            f"{exported['export_three_formats_records_per_s']:,.0f} records/s, peak memory growth "
            f"{exported['export_peak_rss_growth_mib']:.0f} MiB for {exported['records']:,} records"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

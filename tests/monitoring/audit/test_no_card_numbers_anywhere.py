"""End to end with known test card numbers typed into every field a person or a client controls: the audit
database (SQLite and PostgreSQL), its archive segments, every export format, a model's evidence bundle, the
registry's history and the log file hold none of them in clear."""

from __future__ import annotations

import gzip
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from lifecycle.registry.registry import ModelRegistry
from monitoring.audit import (
    AccessEvent,
    AlertActionEvent,
    AuditEvent,
    DecisionConfigEvent,
    apply_retention,
    export_bundle,
)
from monitoring.audit.evidence import export_evidence
from monitoring.audit.sinks import AuditSink
from tests.lifecycle.registry import support as registry_support
from tests.monitoring.audit import support
from tests.monitoring.audit.test_card_numbers import TEST_CARDS


def forms(card: str) -> list[bytes]:
    """A card number as it may appear in clear: plain, in groups of four spaced or dashed."""
    groups = [card[i : i + 4] for i in range(0, len(card), 4)]
    return [card.encode(), " ".join(groups).encode(), "-".join(groups).encode()]


def carded_events(i: int) -> list[AuditEvent]:
    card = TEST_CARDS[i % len(TEST_CARDS)]
    spaced = " ".join(card[k : k + 4] for k in range(0, len(card), 4))
    return [
        support.decision(
            i,
            transaction_id=f"tx-{card}",
            input={"transaction_id": f"tx-{card}", "device_id": spaced, "amount": float(card), "note": card},
            rules=(f"deny:{card}",),
        ),
        AccessEvent(
            key_id=card,
            event_type="score",
            success=False,
            origin=f"10.0.0.1 {card}",
            resource=f"POST /v1/score?pan={card}",
            detail=f"card {spaced} in a query string",
        ),
        AlertActionEvent(
            actor=f"analyst {card}", alert_id=card, action="noted", state="open", note=spaced, ticket=card
        ),
        DecisionConfigEvent(
            actor="risk",
            config_version=f"cfg-{i}",
            action="created",
            configuration={"deny_list": [card, int(card)], card: {"nested": [spaced]}},
        ),
    ]


def scan_files(root: Path) -> Iterator[tuple[Path, bytes]]:
    """Every file under ``root`` as the bytes a reader would see (gzip and Parquet opened)."""
    import pyarrow.parquet as pq

    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        elif path.suffix == ".parquet":
            data = str(pq.read_table(path).to_pylist()).encode()
        yield path, data


def postgres_dump(url: str) -> bytes:
    import psycopg

    with psycopg.connect(url) as connection:
        rows = [
            row
            for table in ("audit_records", "audit_head", "audit_segments")
            for row in connection.execute(f"SELECT t::text FROM {table} t").fetchall()
        ]
    return str(rows).encode()


def test_the_scan_finds_a_card_number_where_it_is(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(b'{"x": "card 4111-1111-1111-1111"}'))
    pq.write_table(pa.table({"x": ["5555 5555 5555 4444"]}), tmp_path / "b.parquet", compression="zstd")
    found = {p.name for p, data in scan_files(tmp_path) for card in TEST_CARDS for f in forms(card) if f in data}
    assert found == {"a.jsonl.gz", "b.parquet"}


def test_no_card_number_in_clear_anywhere(audit_url: str, tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "audit.log"
    log_file.parent.mkdir()
    handler = logging.FileHandler(log_file)
    logging.getLogger("monitoring").addHandler(handler)
    logging.getLogger("monitoring").setLevel(logging.INFO)
    clock = support.Clock(datetime(2025, 11, 10, tzinfo=UTC))
    try:
        with support.open_log(audit_url, tmp_path / "archive", clock) as log:
            for month in range(5):
                clock.now = datetime(2025 + (10 + month) // 12, (10 + month) % 12 + 1, 10, tzinfo=UTC)
                result = log.append([e for i in range(month * 10, month * 10 + 10) for e in carded_events(i)])
                assert result.masked_events == 40
            registry = ModelRegistry(
                f"sqlite:///{tmp_path}/registry.sqlite",
                tmp_path / "store",
                signing_key=registry_support.KEY,
                events=AuditSink(log),
            )
            data = registry_support.make_data()
            version = registry.register(
                registry_support.forest_artifact(tmp_path / "artifact", data),
                name="rf",
                lineage=registry_support.lineage(),
                actor="trainer",
            )
            registry_support.judge_and_record(registry, version.content_id, data)
            registry.promote(
                version.content_id,
                actor=f"ops {TEST_CARDS[0]}",
                reason=f"customer {TEST_CARDS[1]} complained",
                ticket=TEST_CARDS[2],
            )
            apply_retention(log, now=clock.now, hot_months=2, retention_months=4, actor="ops")
            examiner = f"examiner {TEST_CARDS[3]}"
            export_bundle(log, tmp_path / "export", actor=examiner)
            export_evidence(registry, "champion", tmp_path / "evidence", signer=log.signer, actor=examiner)
            registry.close()
            assert log.verify().ok
            dump = postgres_dump(audit_url) if audit_url.startswith("postgresql") else b""
    finally:
        logging.getLogger("monitoring").removeHandler(handler)
        handler.close()

    assert (tmp_path / "archive").exists()
    assert "masked" in log_file.read_text()
    scanned = list(scan_files(tmp_path))
    names = {p.name for p, _ in scanned}
    assert {"records.jsonl", "records.csv", "records.parquet", "audit.log", "registry.sqlite"} <= names
    assert any(name.endswith(".jsonl.gz") for name in names)
    for card in TEST_CARDS:
        for form in forms(card):
            found = [str(p.relative_to(tmp_path)) for p, data in scanned if form in data]
            assert found == [], f"{form!r} in clear in {found}"
            assert form not in dump
